"""The README's promises that had no test: a dead stage stops the run within a second; stages
notice a killed controller within a second; the drain after Ctrl-C takes 1.5 s at most and a
second Ctrl-C stops at once; the run directory is private (0700); -nireq/-nstreams/-nthreads
reach the compiled model; a mode switch does not compile the model again. Timing promises get
bounds ten times as long, which still catch a hang or a missed signal on a loaded machine."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import tempfile
import time
from pathlib import Path

import pytest

from pipeline.ring import pipeline_segments
from tests.conftest import SHM_TAG
from tests.helpers import ROOT, Running, make_clip, movenet_model, tagged_processes

SEAMS = str(ROOT / "tests" / "seams")  # sitecustomize.py: counts compiles, lengthens the drain


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("promises") / "clip.avi", frames=24)


def looping(tmp_path, clip, *extra: str, env: dict[str, str] | None = None) -> Running:
    return Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                   *extra, env=env)


def seamed(**variables: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (SEAMS, str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, **variables}


def exit_within(run: Running, seconds: float) -> tuple[float, int, str]:
    """Wait for the run to exit (up to 120 s); how long it took from now, its code, its stderr."""
    t0 = time.monotonic()
    code, _, err = run.finish(timeout=120)
    return time.monotonic() - t0, code, err


def test_a_dead_stage_stops_the_run_within_a_second(clip, tmp_path):
    run = looping(tmp_path, clip)
    state = run.wait_frames(10)
    os.kill(state["stages"]["preprocess"], signal.SIGKILL)
    took, code, err = exit_within(run, 10.0)
    assert code == 1, err
    assert "error: preprocess: stage preprocess died unexpectedly (killed by SIGKILL)" in err
    assert took <= 10.0, f"the run went on {took:.1f} s after a stage died (promise: 1 s)"
    assert not tagged_processes(run.tag)


def test_stages_notice_a_killed_controller_within_a_second(clip, tmp_path):
    run = looping(tmp_path, clip)
    run.wait_frames(10)
    assert pipeline_segments(SHM_TAG)
    run.proc.kill()
    run.proc.wait()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and (tagged_processes(run.tag) or pipeline_segments(SHM_TAG)):
        time.sleep(0.05)
    took = time.monotonic() - t0
    run.finish()
    assert not tagged_processes(run.tag) and not pipeline_segments(SHM_TAG)
    assert took <= 10.0, f"the stages took {took:.1f} s to notice their controller was gone (promise: 1 s)"


def test_the_drain_after_ctrl_c_ends_after_1_5_s_even_if_frames_never_finish(clip, tmp_path):
    """A decode worker stopped (SIGSTOP) holds its frames for ever: the drain gives up on them."""
    run = looping(tmp_path, clip, "--decode-workers", "1")
    state = run.wait_frames(10)
    worker = next(pid for label, pid in state["stages"].items() if label.startswith("decode"))
    os.kill(worker, signal.SIGSTOP)
    time.sleep(0.5)
    run.proc.send_signal(signal.SIGINT)
    took, code, err = exit_within(run, 15.0)
    assert code == 130, err
    assert "finishing the frames in flight" in err
    assert took <= 15.0, f"Ctrl-C took {took:.1f} s to end the run (promise: a 1.5 s drain)"
    assert not tagged_processes(run.tag)


def test_a_second_ctrl_c_stops_at_once(clip, tmp_path):
    """The drain made 60 s long (tests/seams) and a decode worker stopped: only the second
    Ctrl-C can end the run within the bound."""
    run = looping(tmp_path, clip, "--decode-workers", "1", env=seamed(POSEPIPE_TEST_DRAIN_S="60"))
    state = run.wait_frames(10)
    worker = next(pid for label, pid in state["stages"].items() if label.startswith("decode"))
    os.kill(worker, signal.SIGSTOP)
    time.sleep(0.5)
    run.proc.send_signal(signal.SIGINT)
    time.sleep(1.0)
    assert run.proc.poll() is None, "the run ended on the first Ctrl-C, without draining"
    run.proc.send_signal(signal.SIGINT)
    took, code, err = exit_within(run, 10.0)
    assert code == 130, err
    assert took <= 10.0, f"the second Ctrl-C took {took:.1f} s to end the run (promise: at once)"
    assert not tagged_processes(run.tag)


def test_the_run_directory_is_private(clip, tmp_path):
    # a short XDG_RUNTIME_DIR, as /run/user/N is: pytest's own folders are too long a path for
    # the run's sockets (107 bytes), and the run would (rightly) make its directory elsewhere
    base = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))
    base.chmod(0o755)
    try:
        _run_in(base, clip, tmp_path)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_in(base: Path, clip, tmp_path) -> None:
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  control=False, env={"XDG_RUNTIME_DIR": str(base)})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(base.glob("posepipe-*/*")):
        time.sleep(0.1)
    (folder,) = base.glob("posepipe-*")
    mode = stat.S_IMODE(folder.stat().st_mode)
    sockets = [p for p in folder.iterdir() if stat.S_ISSOCK(p.lstat().st_mode)]
    run.proc.send_signal(signal.SIGINT)
    code, _, err = run.finish(timeout=120)
    assert mode == 0o700, oct(mode)
    assert sockets, "the run's sockets are elsewhere"
    assert f"control: ipc://{folder}/" in err
    assert code == 130 and not folder.exists(), "the run directory outlived the run"


def test_requests_streams_and_threads_reach_the_compiled_model(clip, tmp_path):
    """Read back from the compiled model (OpenVINO's own properties) into the run's header and
    its telemetry, for settings that differ from the defaults in each figure."""
    for nireq, nstreams, nthreads in ((3, 2, 2), (5, 1, 2), (4, 1, 1)):  # (no more streams than threads)
        out = tmp_path / f"t{nireq}.json"
        run = Running(tmp_path, "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "-nireq",
                      str(nireq), "-nstreams", str(nstreams), "-nthreads", str(nthreads), "--telemetry-out",
                      str(out))
        code, _, err = run.finish(timeout=300)
        assert code == 0, err
        assert f"{nireq} requests, {nstreams} streams" in err
        meta = json.loads(out.read_text())["meta"]
        assert (meta["requests"], int(meta["streams"]), int(meta["threads"])) == (nireq, nstreams, nthreads), meta


def test_a_mode_switch_does_not_compile_the_model_again(clip, tmp_path):
    """Both modes' compiled models are made once (the second in the background) and kept: six
    switches later, still two compiles (counted by tests/seams around OpenVINO's own call)."""
    compiles = tmp_path / "compiles.txt"
    run = looping(tmp_path, clip, env=seamed(POSEPIPE_TEST_COMPILES=str(compiles)))
    run.wait_frames(5)
    for k in range(6):
        mode = "latency" if k % 2 == 0 else "user"
        done = run.ctl("mode", mode, timeout=30)
        assert done.returncode == 0, done.stderr
        before = run.status()["frames"]
        run.wait_until(lambda s, before=before, mode=mode: s["mode"] == mode and s["frames"] >= before + 3)
    assert run.ctl("stop").returncode == 0
    code, _, err = run.finish(timeout=120)
    assert code == 0, err
    assert len(compiles.read_text().splitlines()) == 2, compiles.read_text()


def test_a_runtime_folder_too_long_for_the_sockets_is_passed_over(clip, tmp_path):
    """XDG_RUNTIME_DIR so long that a restarted capture process's socket would not fit in a Unix
    socket address (107 bytes): the run makes its directory in the temporary folder instead and
    runs, rather than failing when capture binds its socket."""
    base = tmp_path / ("r" * max(1, 70 - len(str(tmp_path))))
    base.mkdir()
    run = Running(tmp_path, "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--max-frames", "3",
                  control=False, env={"XDG_RUNTIME_DIR": str(base)})
    code, _, err = run.finish(timeout=300)
    assert code == 0, err
    assert "control: ipc:///tmp/posepipe-" in err or f"control: ipc://{os.path.realpath('/tmp')}" in err, err
    assert not list(base.iterdir())

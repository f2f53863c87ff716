"""Nothing outlives a dead controller: SIGKILL of the controller at any moment of start-up (the
OOM killer does this) leaves no process of the run, no shared-memory segment of its run and no
run directory, within a generous bound; the run's guardian (:mod:`pipeline.lifetime.guardian`)
removes what the controller made before any stage could, and exits with a controller that ends
as it should."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from pipeline.lifetime.guardian import Guardian
from pipeline.ring import SHM_TAG_ENV, pipeline_segments
from tests.helpers import ROOT, make_clip, movenet_model, tagged_processes

GONE_WITHIN_S = 10.0  # by design about 2 s after the stages notice (GRACE_S at most); generous on a loaded host


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=30, size=(384, 288))


def _gone(tag: str, shm_tag: str, private: Path) -> tuple[list[int], list[str], list[Path]]:
    """Wait (up to GONE_WITHIN_S) until nothing of the run is left; return what is."""
    deadline = time.monotonic() + GONE_WITHIN_S
    while time.monotonic() < deadline:
        left = tagged_processes(tag), pipeline_segments(shm_tag), list(private.iterdir())
        if not any(left):
            break
        time.sleep(0.1)
    return tagged_processes(tag), pipeline_segments(shm_tag), list(private.iterdir())


def _kill_tagged(tag: str) -> None:
    for pid in tagged_processes(tag):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _wait_for(check, proc: subprocess.Popen, err: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, err.read_text()
        assert time.monotonic() < deadline, f"start-up never got there: {err.read_text()}"
        time.sleep(0.002)


# the moments: as the first segment appears in /dev/shm, as the run directory appears, at the
# header line (every ring made, no stage started yet), and at fixed times into start-up
MOMENTS = ["first-segment", "run-directory", "header", 0.2, 0.5, 1.0, 2.0]


@pytest.mark.parametrize("moment", MOMENTS)
def test_nothing_of_the_run_survives_a_controller_sigkill_at_any_moment_of_start_up(clip, tmp_path, moment):
    private = Path(tempfile.mkdtemp(prefix="ppg", dir="/tmp"))  # short: socket paths have a limit
    tag = uuid.uuid4().hex
    shm_tag = f"g{os.getpid()}{MOMENTS.index(moment)}"
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF", TMPDIR=str(private),
               XDG_RUNTIME_DIR=str(private), **{SHM_TAG_ENV: shm_tag})
    env.pop("DISPLAY", None)
    err = tmp_path / "stderr.txt"
    with open(err, "w") as err_file:
        proc = subprocess.Popen([sys.executable, "-m", "pipeline", "-i", str(clip), "--loop", "-at", "movenet",
                                 "-m", movenet_model(), "-no_show"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err_file, start_new_session=True)
    try:
        if moment == "first-segment":
            _wait_for(lambda: pipeline_segments(shm_tag), proc, err)
        elif moment == "run-directory":
            _wait_for(lambda: any(private.iterdir()), proc, err)
        elif moment == "header":
            _wait_for(lambda: "control: " in err.read_text(), proc, err)
        else:
            time.sleep(float(moment))
        proc.kill()
        proc.wait(10)
        processes, segments, dirs = _gone(tag, shm_tag, private)
    finally:
        _kill_tagged(tag)
        shutil.rmtree(private, ignore_errors=True)
        for name in pipeline_segments(shm_tag):
            Path("/dev/shm", name).unlink(missing_ok=True)
    assert not processes, [Path(f"/proc/{p}/cmdline").read_text() for p in processes if os.path.exists(f"/proc/{p}")]
    assert not segments
    assert not dirs
    assert "Traceback" not in err.read_text()


def _controller(script: str, tmp_path: Path) -> subprocess.Popen:
    """A stand-in controller: a Python process that starts a guardian, then runs ``script``."""
    code = ("import sys, time\nfrom pipeline.lifetime.guardian import Guardian\n"
            "g = Guardian.start(sys.argv[1], sys.argv[2], sys.argv[3])\n"
            "print(g.proc.pid, flush=True)\n" + script)
    return subprocess.Popen([sys.executable, "-c", code, f"posepipe-{tmp_path.name}-", str(tmp_path), "posepipe-1-"],
                            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _leftovers(tmp_path: Path) -> tuple[Path, Path]:
    segment = Path("/dev/shm", f"posepipe-{tmp_path.name}-tensors-abc")
    segment.write_bytes(b"x")
    folder = tmp_path / "posepipe-1-xyz"
    folder.mkdir()
    (folder / "ctl").write_text("")
    return segment, folder


def _exits(pid: int, timeout: float = GONE_WITHIN_S) -> bool:
    from pipeline.lifetime.guardian import alive
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_the_guardian_removes_what_a_killed_controller_left_and_nothing_else(tmp_path):
    segment, folder = _leftovers(tmp_path)
    other = tmp_path / "posepipe-12-abc"  # another controller's run directory
    other.mkdir()
    proc = _controller("time.sleep(600)", tmp_path)
    guardian = int(proc.stdout.readline())
    try:
        os.kill(guardian, signal.SIGINT)  # the terminal's Ctrl-C and SIGTERM do not stop it
        os.kill(guardian, signal.SIGTERM)
        time.sleep(0.5)
        assert _exits(guardian, 0) is False and segment.exists() and folder.exists()
        proc.kill()
        proc.wait()
        assert _exits(guardian)
    finally:
        proc.kill()
        segment.unlink(missing_ok=True)
    assert not segment.exists() and not folder.exists() and other.exists()


def test_the_guardian_waits_for_the_stages_it_was_told_of(tmp_path):
    segment, folder = _leftovers(tmp_path)
    stage = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    proc = _controller("g.watch(int(sys.stdin.readline()))\nprint('ok', flush=True)\ntime.sleep(600)", tmp_path)
    guardian = int(proc.stdout.readline())
    try:
        proc.stdin.write(f"{stage.pid}\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"
        proc.kill()
        proc.wait()
        time.sleep(1.0)
        assert segment.exists() and folder.exists()  # the stage still runs: it is given its chance first
        stage.kill()
        stage.wait()
        assert _exits(guardian)
        assert not segment.exists() and not folder.exists()
    finally:
        stage.kill()
        proc.kill()
        segment.unlink(missing_ok=True)


def test_the_guardian_leaves_with_a_controller_that_ends_normally_and_touches_nothing(tmp_path):
    segment, folder = _leftovers(tmp_path)
    try:
        guardian = Guardian.start(f"posepipe-{tmp_path.name}-", str(tmp_path), "posepipe-1-")
        guardian.release()
        assert guardian.proc.returncode == 0
        assert segment.exists() and folder.exists()
    finally:
        segment.unlink(missing_ok=True)

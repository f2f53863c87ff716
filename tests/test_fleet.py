"""Many cameras in production: one camera that is down, silent or talking garbage never stops the
other sources, at start or when added with ``ctl add``; it waits in state ``connecting`` and is
retried with back-off in its capture process (real TCP servers and the RTSP test server on
127.0.0.1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import (
    ROOT,
    Running,
    make_clip,
    movenet_model,
    read_poses,
    run_pipeline,
    tagged_processes,
)
from tests.hostile_servers import GarbageServer, SilentServer, refused_port


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=30, size=(384, 288))


def source(state: dict, sid: int) -> dict:
    return state["sources"].get(str(sid), {})


def test_a_file_runs_to_its_end_beside_cameras_that_are_down_silent_or_garbage(clip, tmp_path):
    out = tmp_path / "p.jsonl"
    refused = f"rtsp://127.0.0.1:{refused_port()}/cam"
    with SilentServer() as silent, GarbageServer() as garbage, \
            Running(tmp_path, "-i", str(clip), "-i", refused, "-i", silent.url(), "-i", garbage.url(),
                    "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(out)) as run:
        state = run.wait_until(lambda s: source(s, 0).get("state") == "ended"
                               and all(source(s, i).get("retries", 0) >= 1 for i in (1, 2, 3)), timeout=180)
        for sid in (1, 2, 3):
            assert source(state, sid)["state"] == "connecting", state["sources"]
            assert source(state, sid)["kind"] == "stream" and source(state, sid)["frames"] == 0
        assert silent.accepted >= 1 and garbage.accepted >= 1  # tried again in the background
        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=120)
    assert code == 0, err
    assert "retrying it in the background" in err and "Traceback" not in err
    assert [r["frame"] for r in read_poses(out) if r["source"] == 0] == list(range(30))  # the whole file


def test_require_sources_keeps_the_all_or_nothing_start(clip, tmp_path):
    refused = f"rtsp://127.0.0.1:{refused_port()}/cam"
    res = run_pipeline("-i", str(clip), "-i", refused, "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--require-sources", "--poses-out", str(tmp_path / "p.jsonl"))
    assert res.code == 1, res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: source 1: cannot open stream")
    assert not (tmp_path / "p.jsonl").exists()


def test_ctl_add_of_a_silent_camera_answers_at_once_and_stops_nothing(clip, tmp_path):
    with SilentServer() as silent, Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet",
                                           "-m", movenet_model(), "-no_show") as run:
        run.wait_until(lambda s: source(s, 0).get("frames", 0) >= 3)
        added = run.ctl("add", silent.url(), timeout=5)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["added"] == 1
        state = run.status(timeout=10)
        assert source(state, 1)["input"] == silent.url()
        # past the watchdog's 10 s: every answer comes, and the file goes on
        end = time.monotonic() + 14
        before = source(state, 0)["frames"]
        while time.monotonic() < end:
            done = run.ctl("status", timeout=5)
            assert done.returncode == 0, done.stderr
            time.sleep(1)
        state = run.wait_until(lambda s: source(s, 1).get("retries", 0) >= 1, timeout=60)
        assert source(state, 1)["state"] == "connecting"
        assert source(state, 0)["state"] == "reading" and source(state, 0)["frames"] > before
        assert silent.accepted >= 1
        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=120)
    assert code == 0, err


def test_a_camera_added_before_its_server_starts_goes_live_when_it_does(rtsp_servers, tmp_path, sample):
    """Its frames (384x288) are larger than the run's frame slots (planned for a 192x144 clip):
    they are scaled into them."""
    small = make_clip(tmp_path / "small.avi", frames=30, size=(192, 144))
    port = refused_port()
    out = tmp_path / "p.jsonl"
    with Running(tmp_path, "-i", str(small), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                 "--poses-out", str(out)) as run:
        run.wait_until(lambda s: source(s, 0).get("frames", 0) >= 3)
        url = f"rtsp://127.0.0.1:{port}/cam"
        added = run.ctl("add", url, timeout=5)
        assert added.returncode == 0, added.stderr
        run.wait_until(lambda s: source(s, 1).get("state") == "connecting" and source(s, 1).get("retries", 0) >= 1)
        server = rtsp_servers(fps=15, name="cam", port=port)
        assert server.url == url
        state = run.wait_until(lambda s: source(s, 1).get("state") == "live" and source(s, 1)["frames"] >= 5,
                               timeout=120)
        assert source(state, 1)["retries"] == 0 and source(state, 1)["kind"] == "stream"
        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=120)
    assert code == 0, err
    assert "source 1: 384x288 frames are larger than this run's frame slots" in err
    assert any(r["source"] == 1 and r["poses"] for r in read_poses(out))  # people found in the scaled frames


@pytest.mark.parametrize("stages_up", [1, 4, 7])
def test_nothing_outlives_a_controller_killed_while_starting(clip, tmp_path, stages_up):
    """SIGKILL of the controller (the OOM killer) while its stages are still starting: every
    stage exits on its own, and the run directory and shared memory go with the last one."""
    from pipeline.ring import SHM_TAG_ENV, pipeline_segments
    private = Path(tempfile.mkdtemp(prefix="ppk", dir="/tmp"))  # short: socket paths have a limit
    shm_tag = f"t{os.getpid()}{stages_up}"
    env = {"TMPDIR": str(private), "XDG_RUNTIME_DIR": str(private), SHM_TAG_ENV: shm_tag}
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--decode-workers", "2", env=env, control=False)
    deadline = time.monotonic() + 120
    while len(tagged_processes(run.tag)) < 1 + stages_up and time.monotonic() < deadline:
        assert run.proc.poll() is None, run.proc.communicate()
        time.sleep(0.02)
    assert len(tagged_processes(run.tag)) >= 1 + stages_up
    run.proc.kill()
    run.proc.wait(10)
    deadline = time.monotonic() + 30  # 2 s by design; generous on a loaded host
    while (tagged_processes(run.tag) or list(private.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = tagged_processes(run.tag)
    run.kill()
    stale = list(private.iterdir())
    shutil.rmtree(private, ignore_errors=True)
    assert not left, [Path(f"/proc/{pid}/comm").read_text() for pid in left if os.path.exists(f"/proc/{pid}")]
    assert not stale
    assert not pipeline_segments(shm_tag)


def test_a_run_directory_left_by_a_dead_controller_is_removed_by_the_next_run(tmp_path):
    from pipeline.transport import remove_stale_run_dirs
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"posepipe-{dead.pid}-abc123"
    stale.mkdir()
    (stale / "ctl").write_text("")
    other = tmp_path / "posepipe-cluster-xyz"  # not a run directory
    other.mkdir()
    mine = tmp_path / f"posepipe-{os.getpid()}-live"  # its controller lives
    mine.mkdir()
    remove_stale_run_dirs(str(tmp_path))
    assert not stale.exists() and other.exists() and mine.exists()


@pytest.mark.parametrize("server", ["refused", "silent"])
def test_the_cluster_driver_gives_up_on_an_unreachable_ray_address(clip, server):
    """Nothing there, or a host that accepts and never speaks Ray: one error line, exit 1, no
    Ray chatter and no process left (well within 30 s: the subprocess timeout is a safety net)."""
    pytest.importorskip("ray")
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    with SilentServer() as silent:
        port = silent.port if server == "silent" else refused_port()
        done = subprocess.run([sys.executable, "-m", "pipeline.cluster", "--ray-address", f"127.0.0.1:{port}",
                               "-at", "movenet", "-m", movenet_model(), "-no_show", "-i", str(clip)],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: cannot join the Ray cluster at 127.0.0.1:{port}"), lines
    assert not tagged_processes(tag)


def test_a_ray_address_that_is_no_address_is_a_usage_error(clip):
    done = subprocess.run([sys.executable, "-m", "pipeline.cluster", "--ray-address", "nowhere", "-at", "movenet",
                           "-m", movenet_model(), "-no_show", "-i", str(clip)], cwd=ROOT, capture_output=True,
                          text=True, timeout=90, check=False)
    assert done.returncode == 2 and done.stderr.startswith("error: --ray-address nowhere: give HOST:PORT"), done.stderr


# -- values checked at parse time, before any stage starts ---------------------------------------


@pytest.mark.parametrize("args, words", [
    (("--start-at", "0=" + "9" * 40), "at most"),
    (("--source-ids", "1" * 30), "at most"),
    (("--start-at", "0=1", "--start-at", "0=2"), "given twice"),
    (("--publish", "mqtt://127.0.0.1/" + "t" * 70000), "topic is 70000 bytes"),
    (("--publish", "mqtt://127.0.0.1/cams\x1bx"), "control characters"),
])
def test_values_that_would_kill_the_run_later_are_refused_at_start(clip, args, words):
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", *args)
    assert res.code == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], lines
    assert len(lines[0]) < 400  # the 70 000-character topic is not echoed back
    assert not tagged_processes(res.tag)


def test_an_output_of_the_wrong_kind_on_disk_is_refused_at_start(clip, tmp_path):
    (tmp_path / "x.mp4").mkdir()
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(tmp_path / "x.mp4"))
    assert res.code == 2 and "is a folder" in res.stderr and "control:" not in res.stderr, res.stderr
    (tmp_path / "annotated").write_text("a file where a folder is wanted")
    res = run_pipeline("-i", str(clip), "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(tmp_path / "annotated"))
    assert res.code == 2 and "annotated" in res.stderr and "control:" not in res.stderr, res.stderr


@pytest.mark.parametrize("delay", [0.3, 1.0, 1.5, 3.0])
def test_sigterm_while_starting_is_exit_130(clip, tmp_path, delay):
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "-i", str(clip), "--loop", "-at", "movenet",
                             "-m", movenet_model(), "-no_show"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    proc.terminate()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not tagged_processes(tag)


def test_control_characters_in_names_are_escaped_in_every_message(clip, tmp_path):
    listing = tmp_path / "cams.streams"
    listing.write_text(f"{clip}\nrtsp://127.0.0.1:{refused_port()}/\x1b[2J\x07cam\n")
    with Running(tmp_path, "-i", str(listing), "-at", "movenet", "-m", movenet_model(), "-no_show") as run:
        run.wait_until(lambda s: source(s, 0).get("state") == "ended")
        bad = run.ctl("add", str(tmp_path / "gone\x1b]0;pwned\x07.avi"))
        assert bad.returncode == 1 and "\\x1b]0;pwned\\x07" in bad.stderr, bad.stderr
        assert run.ctl("stop").returncode == 0
        code, out, err = run.finish(timeout=120)
    assert code == 0, err
    assert "\x1b" not in err + out and "\x07" not in err + out
    assert "/\\x1b[2J\\x07cam" in err  # the warning about the camera, escaped
    missing = run_pipeline("-i", str(clip), "-i", str(tmp_path / "no\x1b[31m\x07.avi"), "-at", "movenet",
                           "-m", movenet_model(), "-no_show")
    assert missing.code != 0 and "no\\x1b[31m\\x07.avi" in missing.stderr and "\x1b" not in missing.stderr

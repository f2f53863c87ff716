"""Crashes and hangs found by trying: file names that are not UTF-8 (OpenCV crashed on them), a
FIFO as input (the probe blocked for ever), a stage stopped with SIGSTOP (never noticed)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import cv2
import pytest

from tests.helpers import ROOT, Running, make_clip, movenet_model, read_poses, tagged_processes
from tests.test_reliability import assert_poses_file_whole, signal_a_decode_worker


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("hang") / "clip.avi", frames=12)


def run_bytes(*args: bytes | str, timeout: float = 180) -> tuple[int, str, str, str]:
    """Run the pipeline with arguments that may be raw bytes (file names that are not UTF-8)."""
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=timeout)
    return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"), tag


def test_file_names_that_are_not_utf8(clip, tmp_path):
    base = os.fsencode(tmp_path)
    frame = cv2.imread(str(ROOT / "docs" / "demo.jpg"))
    ok, jpeg = cv2.imencode(".jpg", cv2.resize(frame, (320, 180)))
    assert ok
    image = base + b"/photo-\xff.jpg"
    with open(image, "wb") as f:
        f.write(jpeg.tobytes())
    folder = base + b"/album-\xfe"
    os.mkdir(folder)
    for name in (b"a.jpg", b"b-\xfd.jpg"):
        with open(folder + b"/" + name, "wb") as f:
            f.write(jpeg.tobytes())
    video = base + b"/clip-\xfc.avi"
    shutil.copy(clip, video)
    model = movenet_model()
    cases = [(image, base + b"/out-\xfb.jpg", 1), (folder, base + b"/out-\xfa", 2), (video, base + b"/out-\xf9.mp4", 12),
             (video, base + b"/out-\xf8.avi", 12)]
    for source, output, frames in cases:
        poses = base + b"/poses-\xf7.jsonl"
        code, out, err, tag = run_bytes("-i", source, "-at", "movenet", "-m", model, "-no_show", "-o", output,
                                        "--poses-out", poses)
        assert code == 0, (source, err)
        assert f"Frames: {frames}" in out
        assert os.path.exists(output)
        assert len(read_poses(poses)) == frames
        assert not tagged_processes(tag)
    assert sorted(os.listdir(base + b"/out-\xfa")) == [b"a.jpg", b"b-\xfd.jpg"]
    for name in (b"/out-\xf9.mp4", b"/out-\xf8.avi"):
        link = tmp_path / f"plain{name[-4:].decode()}"
        os.symlink(base + name, link)
        cap = cv2.VideoCapture(str(link))
        n = 0
        while cap.read()[0]:
            n += 1
        cap.release()
        assert n == 12, name


def test_a_fifo_as_input_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe.avi"
    os.mkfifo(fifo)
    code, out, err, tag = run_bytes("-i", str(fifo), "-at", "movenet", "-m", movenet_model(), "-no_show",
                                    timeout=60)
    assert code == 1
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "not a regular file" in errors[0], err
    assert not tagged_processes(tag)


def test_a_stopped_stage_is_noticed_and_the_run_fails_with_one_line(clip, tmp_path):
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses))
    state = run.wait_frames(5)
    os.kill(state["stages"]["preprocess"], signal.SIGSTOP)
    code, out, err = run.finish(timeout=120)  # the watchdog's 10 s, and the shutdown
    assert code == 1, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "preprocess" in errors[0] and "stopped responding" in errors[0], err
    assert_poses_file_whole(poses)
    assert not tagged_processes(run.tag)


def test_a_stopped_decode_worker_is_replaced(clip, tmp_path):
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--decode-workers", "2", "--poses-out", str(poses))
    victim, state = signal_a_decode_worker(run, signal.SIGSTOP, after=5)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = run.status()
        if victim not in state["stages"]:
            break
        time.sleep(0.5)
    assert victim not in state["stages"]
    run.wait_frames(state["frames"] + 12)
    done = run.ctl("stop", timeout=10)
    assert done.returncode == 0, done.stderr
    code, out, err = run.finish()
    assert code == 0, err
    assert "silent for" in err and "restarting it" in err
    assert assert_poses_file_whole(poses) >= state["frames"] + 12
    assert not tagged_processes(run.tag)

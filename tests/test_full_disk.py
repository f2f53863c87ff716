"""A file system that fills up while the video is written: one line, exit 1, and the video and
the poses file whole up to the failure (an .mp4 finalised, an .avi cut at its last whole frame).
Uses a 2 MiB tmpfs, so it needs root (skipped otherwise)."""

from __future__ import annotations

import os
import struct
import subprocess
import uuid

import pytest

from tests.helpers import make_clip, movenet_model, run_pipeline, tagged_processes
from tests.test_reliability import assert_poses_file_whole, count_video_frames


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("disk") / "clip.avi", frames=24, size=(640, 480))


@pytest.mark.parametrize("ext", ["mp4", "mkv", "avi"])
def test_a_full_disk_stops_the_run_with_whole_files(ext, small_disk, clip, tmp_path):
    video, poses = small_disk / f"out.{ext}", tmp_path / "p.jsonl"
    res = run_pipeline("-i", str(clip), "--loop", "--max-frames", "400", "-at", "movenet", "-m", movenet_model(),
                       "-no_show", "-o", str(video), "--poses-out", str(poses))
    assert res.code == 1, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "space" in errors[0].lower(), res.stderr
    assert "Traceback" not in res.stderr
    written = assert_poses_file_whole(poses)
    assert written >= 5
    playable = count_video_frames(video)
    assert written <= playable <= written + 1  # the frame being written when the disk filled, at most
    if ext == "avi":
        data = video.read_bytes()
        assert struct.unpack("<I", data[4:8])[0] == len(data) - 8  # whole: no torn chunk at the end
    assert not tagged_processes(res.tag)
    os.unlink(video)

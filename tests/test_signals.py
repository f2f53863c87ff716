"""Signals as the world sends them: to the controller alone or to the whole process group
(``timeout``, systemd, container runtimes, a closed terminal). The run drains, finalises its
outputs and exits 130; nothing of its process group outlives it; nothing is left in /dev/shm.
And if the controller itself is killed, the stages notice, exit and remove the segments."""

from __future__ import annotations

import os
import signal
import time

import pytest

from pipeline.ring import pipeline_segments
from tests.conftest import SHM_TAG
from tests.helpers import Running, group_left, make_clip, movenet_model, read_poses, tagged_processes
from tests.test_reliability import assert_poses_file_whole, count_video_frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("sig") / "clip.avi", frames=24)


@pytest.mark.parametrize("how, to_group", [(signal.SIGTERM, True), (signal.SIGHUP, True), (signal.SIGHUP, False),
                                           (signal.SIGINT, True)])
def test_signal_drains_and_exits_130_leaving_nothing(how, to_group, clip, tmp_path):
    poses, video = tmp_path / "p.jsonl", tmp_path / "v.mp4"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses), "-o", str(video))
    run.wait_frames(10)
    if to_group:
        os.killpg(run.proc.pid, how)
    else:
        run.proc.send_signal(how)
    code, out, err = run.finish(timeout=60)
    left = group_left(run.proc.pid)  # at once: nothing may linger, the resource tracker included
    assert code == 130, err
    assert "died unexpectedly" not in err and "Traceback" not in err
    assert not left and not tagged_processes(run.tag)
    written = assert_poses_file_whole(poses)
    assert written >= 10 and count_video_frames(video) == written  # the mp4 has its index
    assert "FPS:" in out


def test_killed_controller_leaves_no_process_and_no_segment(clip, tmp_path):
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses))
    run.wait_frames(10)
    assert pipeline_segments(SHM_TAG)
    run.proc.kill()
    run.proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (tagged_processes(run.tag) or pipeline_segments(SHM_TAG)):
        time.sleep(0.2)
    assert not tagged_processes(run.tag), "stages outlived their controller"
    assert not pipeline_segments(SHM_TAG), "segments left behind"
    records = read_poses(poses)[:-1]  # the last line may be cut: nobody was left to trim it
    assert [r["frame"] for r in records] == list(range(len(records)))
    run.finish()

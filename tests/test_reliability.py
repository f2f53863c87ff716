"""Bad input, crashed stages and shutdown: one clear line, the right exit code, outputs
finalised, and no process or shared-memory segment left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import cv2
import pytest

from tests.helpers import ROOT, STANDIN, Running, make_clip, movenet_model, read_poses, run_pipeline, tagged_processes


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=24)


def assert_clean_failure(res, expected: str, code: int = 1):
    assert res.code == code, (res.code, res.stderr)
    assert expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.stderr
    assert not tagged_processes(res.tag)


# -- bad input ---------------------------------------------------------------------------------

def test_missing_input(tmp_path):
    assert_clean_failure(run_pipeline("-i", str(tmp_path / "nope.mp4"), "-at", "movenet", "-m", movenet_model(),
                                      "-no_show"), "input not found")


def test_empty_folder(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    assert_clean_failure(run_pipeline("-i", str(tmp_path), "-at", "movenet", "-m", movenet_model(), "-no_show"),
                         "no images in folder")


def test_camera_that_does_not_exist():
    assert_clean_failure(run_pipeline("-i", "57", "-at", "movenet", "-m", movenet_model(), "-no_show"),
                         "cannot open camera 57")


def test_file_that_is_neither_image_nor_video(tmp_path):
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"\0" * 1000)
    assert_clean_failure(run_pipeline("-i", str(bogus), "-at", "movenet", "-m", movenet_model(), "-no_show"),
                         "clip.mp4")


def test_damaged_image(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0garbage")
    assert_clean_failure(run_pipeline("-i", str(bad), "-at", "movenet", "-m", movenet_model(), "-no_show"),
                         "photo.jpg")


def test_missing_model_file(clip, tmp_path):
    assert_clean_failure(run_pipeline("-i", str(clip), "-at", "openpose", "-m", str(tmp_path / "m.xml"), "-no_show"),
                         "model file not found")


def test_missing_weights(clip, tmp_path):
    xml = tmp_path / "m.xml"
    xml.write_text("<net/>")
    assert_clean_failure(run_pipeline("-i", str(clip), "-at", "openpose", "-m", str(xml), "-no_show"),
                         "weights file not found")


def test_file_that_is_not_a_model(clip, tmp_path):
    bogus = tmp_path / "m.onnx"
    bogus.write_text("hello")
    assert_clean_failure(run_pipeline("-i", str(clip), "-at", "openpose", "-m", str(bogus), "-no_show"),
                         "cannot read model")


def test_architecture_that_does_not_fit_the_model(clip):
    res = run_pipeline("-i", str(clip), "-at", "openpose", "-m", movenet_model(), "-no_show")
    assert_clean_failure(res, "model outputs do not fit -at openpose")
    assert "found" in res.stderr and "Mconv7_stage2_L1" in res.stderr


@pytest.mark.skipif(not STANDIN.exists(), reason="stand-in weights not generated (make standin)")
def test_ae_model_given_as_openpose(clip):
    xml = STANDIN / "human-pose-estimation-0005" / "FP32" / "human-pose-estimation-0005.xml"
    res = run_pipeline("-i", str(clip), "-at", "openpose", "-m", str(xml), "-no_show")
    assert_clean_failure(res, "heatmaps")


def test_unknown_device(clip):
    assert_clean_failure(run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                                      "-d", "NPU7"), "device 'NPU7' is not available")


def test_unwritable_output(clip):
    assert_clean_failure(run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                                      "-o", "/proc/nope/out.mp4"), "cannot write there", code=2)


def test_truncated_video_keeps_the_good_frames_then_fails(clip, tmp_path):
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) * 6 // 10])
    poses = tmp_path / "cut.jsonl"
    res = run_pipeline("-i", str(cut), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(poses))
    assert_clean_failure(res, "truncated or damaged")
    frames = [r["frame"] for r in read_poses(poses)]
    assert 5 < len(frames) < 24 and frames == list(range(len(frames)))


# -- crashes and shutdown ----------------------------------------------------------------------

def assert_poses_file_whole(path):
    frames = [r["frame"] for r in read_poses(path)]  # every line parses
    assert frames == list(range(len(frames)))
    return len(frames)


def count_video_frames(path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def signal_a_decode_worker(run: Running, how: signal.Signals, after: int = 10) -> tuple[str, dict]:
    """Once ``after`` frames are through, send ``how`` to one decode worker: (its label, status)."""
    state = run.wait_frames(after)
    victim = next(label for label in state["stages"] if label.startswith("decode"))
    os.kill(state["stages"][victim], how)
    return victim, state


def without_ids(poses: list[dict]) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "id"} for p in poses]


def test_killed_decode_worker_is_replaced_and_nothing_is_lost(clip, tmp_path):
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--decode-workers", "2", "--poses-out", str(poses))
    victim, state = signal_a_decode_worker(run, signal.SIGKILL)
    state = run.wait_frames(state["frames"] + 50)
    assert victim not in state["stages"] and len([s for s in state["stages"] if s.startswith("decode")]) == 2
    subprocess.run([sys.executable, "-m", "pipeline.ctl", run.address, "stop"], cwd=ROOT, check=True,
                   capture_output=True)
    code, out, err = run.finish()
    assert code == 0, err
    assert "restarting it" in err
    assert assert_poses_file_whole(poses) >= 60
    # The clip loops every 24 frames: every frame, those the dead worker held and decoded again
    # by another included, has the poses of the same frame in the first pass.
    records = read_poses(poses)  # in output order, which is frame order (checked above)
    assert any(r["poses"] for r in records[:24])
    for k, record in enumerate(records):
        # the same poses (ids aside: to the tracker, the people of the next pass jumped back)
        assert without_ids(record["poses"]) == without_ids(records[k % 24]["poses"]), f"frame {k} differs"
    assert not tagged_processes(run.tag)


@pytest.mark.parametrize("stage, ext", [  # a capture process is restarted instead: test_many_sources
                                        ("preprocess", "avi"), ("infer", "avi"), ("sink", "avi"),
                                        ("preprocess", "mp4"), ("infer", "mp4")])
def test_killed_stage_stops_the_run_with_outputs_finalised(stage, ext, clip, tmp_path):
    poses, video = tmp_path / "p.jsonl", tmp_path / f"v.{ext}"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses), "-o", str(video))
    state = run.wait_frames(10)
    os.kill(state["stages"][stage], signal.SIGKILL)
    code, out, err = run.finish()
    assert code == 1
    assert f"error: {stage}: stage {stage} died unexpectedly (killed by SIGKILL)" in err
    assert "Traceback" not in err
    written = assert_poses_file_whole(poses)
    assert written >= 10
    if ext == "mp4":  # a stage other than the sink died: the sink finalised the .mp4 (it has its index)
        assert count_video_frames(video) == written
    else:
        assert count_video_frames(video) >= written - 2  # the .avi plays up to the crash
    assert not tagged_processes(run.tag)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything_with_outputs_finalised(how, clip, tmp_path):
    poses, video = tmp_path / "p.jsonl", tmp_path / "v.mp4"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses), "-o", str(video))
    run.wait_frames(10)
    run.proc.send_signal(how)
    code, out, err = run.finish(timeout=30)
    assert code == 130, err
    written = assert_poses_file_whole(poses)
    assert count_video_frames(video) == written
    assert "FPS:" in out
    assert not tagged_processes(run.tag)


def test_ctl_stop_drains_and_exits_zero(clip, tmp_path):
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses))
    run.wait_frames(5)
    subprocess.run([sys.executable, "-m", "pipeline.ctl", run.address, "stop"], cwd=ROOT, check=True,
                   capture_output=True)
    code, out, err = run.finish()
    assert code == 0, err
    assert assert_poses_file_whole(poses) >= 5
    assert not os.path.exists(run.address[len("ipc://"):])


def test_the_running_helper_kills_a_pipeline_its_test_left(clip, tmp_path):
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show")
    run.wait_frames(3)
    with pytest.raises(AssertionError):
        assert run.status()["frames"] < 0  # a test failing mid-run leaves its pipeline looping
    assert tagged_processes(run.tag)
    assert Running.kill_all() == 1  # what conftest does after every test
    assert not tagged_processes(run.tag)

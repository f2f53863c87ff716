"""The yolo-pose family end to end, on OpenVINO IRs with the I/O of an Ultralytics pose export
built here (no torch needed): letterboxing, NMS, thresholds and the way back to frame pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.decode.test_pose_nms import person
from tests.helpers import read_poses, run_pipeline, tagged_processes


def yolo_like_model(path, dynamic: bool) -> str:
    """An IR with one input (1, 3, 640, 640) (or dynamic) and one output (1, 56, 5) named output0:
    a fixed set of candidates in network-input pixels (two overlapping candidates of one person,
    another person, a candidate under the family's threshold, one under the NMS floor), tied to
    the input by a zero-weighted mean so that the network really reads the tensor."""
    import openvino as ov
    import openvino.opset13 as ops

    cols = np.stack([person(200, 150, 100, 200, 0.9), person(204, 152, 100, 196, 0.8),
                     person(500, 300, 80, 160, 0.6), person(60, 60, 30, 50, 0.2),
                     person(400, 80, 40, 60, 0.01)], axis=1)[None]
    shape = [1, 3, -1, -1] if dynamic else [1, 3, 640, 640]
    x = ops.parameter(ov.PartialShape(shape), ov.Type.f32, name="images")
    mean = ops.reduce_mean(x, np.array([1, 2, 3], np.int64), keep_dims=True)  # (1, 1, 1)
    out = ops.add(ops.constant(cols), ops.multiply(mean, np.float32(0.0)))
    out.output(0).get_tensor().set_names({"output0"})
    target = str(path / ("dyn.xml" if dynamic else "static.xml"))
    ov.save_model(ov.Model([ops.result(out)], [x], "yolo-like"), target)
    return target


@pytest.fixture(scope="module")
def frame_1280(tmp_path_factory):
    path = tmp_path_factory.mktemp("yolo") / "frame.png"
    cv2.imwrite(str(path), np.full((720, 1280, 3), 90, np.uint8))
    return path


@pytest.mark.parametrize("dynamic", [False, True])
def test_people_come_back_in_frame_pixels_after_nms_and_threshold(tmp_path, frame_1280, dynamic):
    model = yolo_like_model(tmp_path, dynamic)
    out = tmp_path / "p.jsonl"
    # the stand-in's output is the same at every input size: one size (--tsize 640) for dynamic
    one_size = ["--tsize", "640"] if dynamic else []
    res = run_pipeline("-i", str(frame_1280), "-at", "yolo-pose", "-m", model, "-no_show", "--poses-out", str(out),
                       *one_size)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)
    # fixed 640x640 and dynamic 640x384 (long side 640) both scale the 1280x720 frame by 1/2
    assert ("input 640x384" if dynamic else "input 640x640") in res.stderr
    poses = read_poses(out)[0]["poses"]
    assert [round(p["score"], 3) for p in poses] == [0.9, 0.6]  # duplicate gone, 0.2 < default 0.25
    first = np.array(poses[0]["keypoints"])
    np.testing.assert_allclose(first[0], [(200 - 50) * 2, (150 - 100) * 2, 0.9], atol=0.01)
    np.testing.assert_allclose(first[16], [(200 - 50 + 100 * (16 % 4) / 3) * 2, (150 + 100) * 2, 0.9], atol=0.01)


def test_threshold_option_overrides_the_family_default(tmp_path, frame_1280):
    model = yolo_like_model(tmp_path, False)
    out = tmp_path / "p.jsonl"
    res = run_pipeline("-i", str(frame_1280), "-at", "yolo-pose", "-m", model, "-no_show", "-t", "0.1",
                       "--poses-out", str(out))
    assert res.code == 0, res.stderr
    assert [round(p["score"], 3) for p in read_poses(out)[0]["poses"]] == [0.9, 0.6, 0.2]


def test_a_model_of_another_family_is_a_one_line_error(tmp_path, frame_1280):
    model = yolo_like_model(tmp_path, False)
    res = run_pipeline("-i", str(frame_1280), "-at", "movenet", "-m", model, "-no_show")
    assert res.code != 0
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "do not fit -at movenet" in lines[0], res.stderr
    res = run_pipeline("-i", str(frame_1280), "-at", "yolo-pose", "-m", model, "--tsize", "320", "-no_show")
    assert res.code != 0 and "Traceback" not in res.stderr

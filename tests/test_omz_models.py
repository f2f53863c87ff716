"""The whole pipeline on each Open Model Zoo topology (stand-in weights: interface and reshape only)."""

from __future__ import annotations

import pytest

from tests.helpers import STANDIN, make_clip, read_poses, run_pipeline, tagged_processes

pytestmark = pytest.mark.skipif(not STANDIN.exists(), reason="stand-in weights not generated (make standin)")

CASES = [  # model, precision, family, --tsize (None = the model's), clip size (w, h)
    ("human-pose-estimation-0001", "FP32", "openpose", None, (320, 240)),
    ("human-pose-estimation-0001", "FP16", "openpose", "368", (640, 360)),
    ("human-pose-estimation-0001", "FP16-INT8", "openpose", "192", (300, 400)),
    ("human-pose-estimation-0005", "FP32", "ae", None, (320, 240)),
    ("human-pose-estimation-0005", "FP16", "ae", "256", (500, 280)),
    ("human-pose-estimation-0006", "FP32", "ae", "320", (400, 300)),
    ("human-pose-estimation-0007", "FP16", "ae", None, (288, 352)),
]


@pytest.mark.parametrize("name, precision, family, tsize, size", CASES)
def test_pipeline_runs_on_the_topology(name, precision, family, tsize, size, tmp_path, sample):
    clip = make_clip(tmp_path / "clip.avi", frames=6, size=size)
    xml = STANDIN / name / precision / f"{name}.xml"
    poses = tmp_path / "p.jsonl"
    args = ["-i", str(clip), "-at", family, "-m", str(xml), "-no_show", "--poses-out", str(poses),
            "--decode-workers", "2"]
    if tsize:
        args += ["--tsize", tsize]
    res = run_pipeline(*args)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)
    records = read_poses(poses)
    assert [r["frame"] for r in records] == list(range(6))
    w, h = size
    for record in records:  # whatever the stand-in maps decode to lies inside the frame
        for pose in record["poses"]:
            for x, y, score in pose["keypoints"]:
                assert 0 <= x <= w - 1 and 0 <= y <= h - 1 and score >= 0
    stride = 8 if family == "openpose" else 32
    net = next(ln for ln in res.stderr.splitlines() if ln.startswith("model:")).split("input ")[1].split(",")[0]
    net_w, net_h = map(int, net.split("x"))
    assert net_w % stride == 0 and net_h % stride == 0
    if family == "openpose":
        assert net_h == int(tsize or 256)
    elif tsize:
        assert min(net_w, net_h) >= int(tsize)

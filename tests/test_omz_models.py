"""The whole pipeline on each Open Model Zoo topology (stand-in weights: interface and reshape only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import pytest

from tests.decode import render
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
    for record in records:  # whatever the stand-in maps decode to lies inside the frame (the
        # openpose stand-ins decode nobody: test_openpose_topology_finds_the_people_its_maps_hold)
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


def _openpose_holding(standin_xml: Path, pafs: np.ndarray, heat: np.ndarray, out_xml: Path) -> Path:
    """An OpenVINO model with the stand-in's interface (its input's name and size, its outputs'
    names) whose outputs are ``pafs`` and ``heat``: maps that hold people, which the random
    stand-in weights never do. The input still feeds the outputs (times zero)."""
    from openvino import opset13 as ops

    standin = ov.Core().read_model(str(standin_xml))
    net_h, net_w = heat.shape[1] * 8, heat.shape[2] * 8
    data = ops.parameter([1, 3, net_h, net_w], ov.Type.f32, name=standin.inputs[0].get_any_name())
    data.output(0).set_names({standin.inputs[0].get_any_name()})
    zero = ops.multiply(ops.reduce_mean(data, ops.constant(np.array([1, 2, 3], np.int64)), keep_dims=True),
                        ops.constant(np.float32(0)))
    results = []
    for maps, port in zip((pafs, heat), standin.outputs, strict=True):
        out = ops.add(ops.constant(maps[None].astype(np.float32)), zero)
        out.output(0).set_names(set(port.get_names()))
        results.append(ops.result(out))
    ov.save_model(ov.Model(results, [data], "openpose-holding-people"), str(out_xml))
    return out_xml


@pytest.mark.parametrize("name, precision, family, tsize, size", [c for c in CASES if c[2] == "openpose"])
def test_openpose_topology_finds_the_people_its_maps_hold(name, precision, family, tsize, size, tmp_path, sample):
    """The stand-in's maps hold nobody, so keypoints inside the frame would hold for a decoder that
    returns no one. Here the topology's outputs hold three rendered people: every frame must
    report the three, each keypoint within a third of an output cell of where the maps put it."""
    w, h = size
    net_h = int(tsize or 256)
    net_w = (w * net_h / h + 7) // 8 * 8
    net_w = int(max(8, net_w))
    cells_h, cells_w = net_h // 8, net_w // 8
    truth = render.crowd(np.random.default_rng(5), 3, cells_h, cells_w)
    pafs, heat = render.render_openpose(truth, cells_h, cells_w)
    xml = _openpose_holding(STANDIN / name / precision / f"{name}.xml", pafs, heat, tmp_path / "holding.xml")
    clip = make_clip(tmp_path / "clip.avi", frames=4, size=size)
    poses = tmp_path / "p.jsonl"
    args = ["-i", str(clip), "-at", family, "-m", str(xml), "-no_show", "--poses-out", str(poses),
            "--decode-workers", "2"]
    if tsize:
        args += ["--tsize", tsize]
    res = run_pipeline(*args)
    assert res.code == 0, res.stderr
    assert f"input {net_w}x{net_h}" in res.stderr, res.stderr
    records = read_poses(poses)
    assert [r["frame"] for r in records] == list(range(4))
    scale = min(net_w / w, net_h / h)  # frames are letterboxed into the top left of the input
    for record in records:
        got = np.array([p["keypoints"] for p in record["poses"]], np.float64).reshape(-1, 17, 3)
        assert np.all((got[..., 0] >= 0) & (got[..., 0] <= w - 1) & (got[..., 1] >= 0) & (got[..., 1] <= h - 1))
        got[..., :2] *= scale
        problems = render.match_poses(render.to_cells(got, 8), truth, tol=0.35)
        assert not problems, f"frame {record['frame']}: " + "; ".join(problems)

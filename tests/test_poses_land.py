"""Where poses land: known poses through the whole pipeline, checked in frame pixels.

For each family, the test builds an OpenVINO model (opset, in the test) whose outputs are maps
rendered for known poses: a constant added to ``0 * sum(input)``, so the graph depends on its
input and the pipeline runs it like any model. The clip's frames need rescaling (and padding
where the family's input sides are rounded), so a keypoint only lands on its true frame pixel if
the letterbox, the decoder's cell convention and the mapping back to the frame all agree.

The truth is stated here, not taken from the product: a frame pixel ``x`` appears in the network
input at ``(x + 0.5) * s - 0.5`` (the frame scaled by ``s = min(net_w / w, net_h / h)``, placed
at the top-left corner, resized with half-pixel centres), and an input pixel ``u`` lies in output
cell ``(u + 0.5) / stride - 0.5``.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from tests.decode import render
from tests.helpers import read_poses, run_pipeline, tagged_processes

FRAME_W, FRAME_H = 410, 300  # 4:3-ish: every family rescales it, and ae/higherhrnet/movenet pad it

# family: (declared input (h, w), input sides rounded to, output stride, --tsize)
FAMILIES = {
    "openpose": ((256, 456), 8, 8, 0),
    "ae": ((288, 288), 32, 2, 0),
    "higherhrnet": ((512, 512), 32, 2, 0),
    "movenet": ((256, 256), 32, 0, 256),
}

# Three people in frame pixels: (centre x, top, height)
PEOPLE = [(70.0, 40.0, 230.0), (215.0, 120.0, 150.0), (340.0, 60.0, 200.0)]


def truth_poses() -> np.ndarray:
    rng = np.random.default_rng(42)
    return np.stack([render.make_pose(rng, cx, top, h) for cx, top, h in PEOPLE])


def net_size(family: str) -> tuple[int, int, float]:
    """Network input (h, w) for the clip's frames and the scale, computed here from the rules
    the README states (openpose: height fixed, width by aspect; ae/higherhrnet: short side;
    movenet: long side = --tsize), sides rounded up."""
    (dh, dw), multiple, _, tsize = FAMILIES[family]

    def up(v: float) -> int:
        return max(multiple, math.ceil(v / multiple) * multiple)
    if family == "openpose":
        h = dh
        w = up(FRAME_W * h / FRAME_H)
    elif family in ("ae", "higherhrnet"):
        s = min(dh, dw) / min(FRAME_H, FRAME_W)
        h, w = up(FRAME_H * s), up(FRAME_W * s)
    else:
        s = tsize / max(FRAME_H, FRAME_W)
        h, w = up(FRAME_H * s), up(FRAME_W * s)
    return h, w, min(w / FRAME_W, h / FRAME_H)


def frame_to_net(poses: np.ndarray, scale: float) -> np.ndarray:
    out = poses.copy()
    out[..., :2] = (poses[..., :2] + 0.5) * scale - 0.5
    return out


def output_maps(family: str) -> tuple[list[np.ndarray], float]:
    """The model's outputs (batch axis included) for the known poses, and the keypoint tolerance
    in frame pixels."""
    net_h, net_w, scale = net_size(family)
    stride = FAMILIES[family][2]
    truth_net = frame_to_net(truth_poses(), scale)
    rng = np.random.default_rng(0)
    if family == "movenet":
        rows = np.zeros((1, 6, 56), np.float32)
        for p, pose in enumerate(truth_net):
            rows[0, p, 0:51:3] = pose[:, 1] / net_h  # y first
            rows[0, p, 1:51:3] = pose[:, 0] / net_w
            rows[0, p, 2:51:3] = 0.9
            rows[0, p, 55] = 0.8
        rows[0, 0, 2 + 3 * 9] = 0.1  # person 0's left wrist below the keypoint threshold: kept, faint
        rows[0, 4, 51:] = 0.05  # a weak candidate row: below -t
        return [rows], 1.5
    cells = truth_net.copy()
    cells[..., :2] = (truth_net[..., :2] + 0.5) / stride - 0.5
    mh, mw = net_h // stride, net_w // stride
    if family == "openpose":
        pafs, heat = render.render_openpose(cells, mh, mw, rng=rng)
        return [pafs[None], heat[None]], max(2.0, 0.35 * stride / scale)
    heat, emb = render.render_ae(cells, render.spaced_tags(rng, len(cells)), mh, mw,
                                 nms_negate=True, rng=rng)
    return [heat[None], emb[None]], max(2.0, 0.35 * stride / scale)


def build_model(path, family: str, maps: list[np.ndarray]) -> None:
    import openvino as ov
    import openvino.opset13 as ops

    (dh, dw), _, _, _ = FAMILIES[family]
    if family == "movenet":
        x = ops.parameter([1, dh, dw, 3], ov.Type.u8, name="input")
        total = ops.reduce_sum(ops.convert(x, ov.Type.f32), ops.constant(np.array([0, 1, 2, 3])), False)
        names = [["output"]]
    else:
        x = ops.parameter([1, 3, dh, dw], ov.Type.f32, name="image")
        total = ops.reduce_sum(x, ops.constant(np.array([0, 1, 2, 3])), False)
        names = ([["Mconv7_stage2_L1"], ["Mconv7_stage2_L2"]] if family == "openpose"
                 else [["heatmaps"], ["embeddings"]])
    zero = ops.multiply(total, ops.constant(np.float32(0.0)))
    results = [ops.result(ops.add(ops.constant(m), zero)) for m in maps]
    model = ov.Model(results, [x])
    for out, name in zip(model.outputs, names):
        out.get_tensor().set_names(set(name))
    ov.save_model(model, str(path), compress_to_fp16=False)


def make_clip(path, frames: int = 3) -> None:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (FRAME_W, FRAME_H))
    for i in range(frames):
        out.write(np.full((FRAME_H, FRAME_W, 3), 40 * i + 20, np.uint8))
    out.release()


def match(decoded: list[np.ndarray], truth: np.ndarray) -> list[int]:
    """For each true person, the index of the decoded person nearest by median keypoint distance."""
    pairs = []
    for person in truth:
        d = [np.median(np.hypot(*(got[:, :2] - person[:, :2]).T)) for got in decoded]
        pairs.append(int(np.argmin(d)))
    return pairs


@pytest.mark.parametrize("family", list(FAMILIES))
def test_known_poses_land_on_their_frame_pixels(family, tmp_path):
    maps, tol = output_maps(family)
    model = tmp_path / f"{family}.xml"
    build_model(model, family, maps)
    clip = tmp_path / "clip.avi"
    make_clip(clip)
    out = tmp_path / "poses.jsonl"
    args = ["-i", str(clip), "-at", family, "-m", str(model), "-no_show", "--poses-out", str(out)]
    if FAMILIES[family][3]:
        args += ["--tsize", str(FAMILIES[family][3])]
    res = run_pipeline(*args)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)
    records = read_poses(out)
    assert sorted(r["frame"] for r in records) == [0, 1, 2]
    truth = truth_poses()
    for record in records:
        assert set(record) >= {"frame", "poses"}
        people = record["poses"]
        assert len(people) == len(truth), f"{family}: {len(people)} people, expected {len(truth)}"
        for person in people:
            assert len(person["keypoints"]) == 17
            assert all(len(k) == 3 for k in person["keypoints"])
            assert isinstance(person["score"], float) and 0.0 < person["score"] <= 1.5
        decoded = [np.array(p["keypoints"], np.float64) for p in people]
        for t, d in enumerate(match(decoded, truth)):
            got = decoded[d]
            for j in range(17):
                if family == "movenet" and t == 0 and j == 9:  # not drawn, but where the network put it
                    assert abs(got[j, 2] - 0.1) < 1e-3, "a keypoint under the threshold keeps its score"
                assert got[j, 2] > 0, f"{family}: person {t} keypoint {j} missing"
                err = math.hypot(got[j, 0] - truth[t, j, 0], got[j, 1] - truth[t, j, 1])
                assert err <= tol, (f"{family}: person {t} keypoint {j} at {got[j, :2]}, "
                                    f"expected {truth[t, j, :2]} (off by {err:.1f} px > {tol:.1f})")

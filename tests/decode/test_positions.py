"""Where the decoders put keypoints, on clean rendered maps: within a quarter of an output cell
of the truth (2 px at OpenPose's stride 8), so that a decoder off by half a cell (a cell's corner
taken for its centre, say) fails. (tests/decode/test_openpose.py's coordinate test allows a whole
cell.)"""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae, higherhrnet, openpose
from tests.decode import render

QUARTER = 0.25


def off_by(keypoints: np.ndarray, truth: np.ndarray, stride: float) -> np.ndarray:
    """Each truth keypoint's distance (cells) to the decoded one of the nearest decoded person."""
    cells = render.to_cells(keypoints, stride)
    assert cells.shape[0] == truth.shape[0], f"decoded {cells.shape[0]} people, expected {truth.shape[0]}"
    out = []
    for person in truth:
        best = min(cells, key=lambda c: float(np.median(np.hypot(*(c[:, :2] - person[:, :2]).T))))
        out.append(np.hypot(*(best[:, :2] - person[:, :2]).T))
    return np.concatenate(out)


@pytest.mark.parametrize("seed", [0, 1])
def test_openpose_keypoints_within_a_quarter_cell(seed):
    rng = np.random.default_rng(seed)
    truth = render.crowd(rng, 3, 40, 60)
    pafs, heat = render.render_openpose(truth, 40, 60)
    keypoints, _ = openpose.decode(pafs, heat, stride=8)
    assert off_by(keypoints, truth, 8).max() <= QUARTER


@pytest.mark.parametrize("seed", [0, 1])
def test_ae_keypoints_within_a_quarter_cell(seed):
    rng = np.random.default_rng(seed)
    truth = render.crowd(rng, 3, 64, 64)
    heat, emb = render.render_ae(truth, render.spaced_tags(rng, 3), 64, 64, nms_negate=True)
    keypoints, _ = ae.decode(heat, emb)
    assert off_by(keypoints, truth, 2).max() <= QUARTER


def test_higherhrnet_keypoints_within_a_quarter_cell():
    rng = np.random.default_rng(3)
    truth = render.crowd(rng, 3, 64, 64)
    lo, hi, emb = render.render_higherhrnet(truth, render.spaced_tags(rng, 3), 64, 64)
    keypoints, _ = higherhrnet.decode_two_scale(lo, hi, emb)
    assert off_by(keypoints, truth, 2).max() <= QUARTER

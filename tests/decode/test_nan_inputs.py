"""Non-finite values in the maps never reach the output: keypoints and scores stay finite."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import (ae, ae_kernels, ae_reference, higherhrnet, openpose, openpose_kernels,
                           openpose_reference)
from tests.decode import render

# The inputs are poisoned on purpose: numpy's warnings about NaN arithmetic (plain Python kernels
# under NUMBA_DISABLE_JIT=1, and the reference twins) are expected here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

def poison(maps: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    out = maps.copy()
    mask = rng.random(out.shape) < fraction
    out[mask] = rng.choice(np.array([np.nan, np.inf, -np.inf], np.float32), mask.sum())
    return out


def assert_finite(result):
    keypoints, scores = result
    assert keypoints.dtype == np.float32 and keypoints.shape == (len(scores), 17, 3)
    assert np.all(np.isfinite(keypoints)) and np.all(np.isfinite(scores))
    return keypoints


@pytest.mark.parametrize("fraction", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("backend", [openpose_kernels, openpose_reference], ids=["numba", "numpy"])
def test_openpose(fraction, backend):
    rng = np.random.default_rng(0)
    pafs, heat = render.render_openpose(render.crowd(rng, 5, 32, 57), 32, 57)
    assert_finite(openpose.decode_with(backend, poison(pafs, rng, fraction), heat))
    assert_finite(openpose.decode_with(backend, pafs, poison(heat, rng, fraction)))


@pytest.mark.parametrize("fraction", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_ae(fraction, backend):
    rng = np.random.default_rng(1)
    poses = render.crowd(rng, 5, 64, 64)
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 5), 64, 64, nms_negate=True)
    assert_finite(ae.decode_with(backend, poison(heat, rng, fraction), emb))
    assert_finite(ae.decode_with(backend, heat, poison(emb, rng, fraction)))


def test_nan_tags_only_lose_the_poisoned_joints():
    rng = np.random.default_rng(2)
    poses = render.crowd(rng, 3, 96, 96)
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 3), 96, 96, nms_negate=True)
    emb[9] = np.nan  # every left wrist's tag is unusable
    keypoints = assert_finite(ae.decode(heat, emb))
    problems = render.match_poses(render.to_cells(keypoints, 2), render.hide(
        render.hide(render.hide(poses, 0, [9]), 1, [9]), 2, [9]))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("fraction", [0.01, 1.0])
def test_higherhrnet(fraction):
    rng = np.random.default_rng(3)
    poses = render.crowd(rng, 4, 64, 64)
    lo, hi, emb = render.render_higherhrnet(poses, render.spaced_tags(rng, 4), 64, 64)
    assert_finite(higherhrnet.decode_two_scale(poison(lo, rng, fraction), hi, emb))
    assert_finite(higherhrnet.decode(poison(hi, rng, fraction), poison(emb, rng, fraction)))

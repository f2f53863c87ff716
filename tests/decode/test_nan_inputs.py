"""Non-finite values in the maps never reach the output: keypoints and scores stay finite, and a
few poisoned values (1 %) cost only the joints they touch: everyone is still found."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import (
    ae,
    ae_kernels,
    ae_reference,
    higherhrnet,
    openpose,
    openpose_kernels,
    openpose_reference,
)
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


def assert_people_survive(keypoints: np.ndarray, truth: np.ndarray, stride: float, fraction: float) -> None:
    """At 1 % poisoning every person is still decoded, with at least 85 % of the joints within a
    cell of the truth (a NaN on a limb's field may cost that limb; nothing more)."""
    if fraction > 0.01:
        return
    problems = render.match_poses(render.to_cells(keypoints, stride), truth)
    assert keypoints.shape[0] == truth.shape[0], problems
    lost = [p for p in problems if "joint" in p]
    assert len(lost) <= 0.15 * truth.shape[0] * 17, problems


@pytest.mark.parametrize("fraction", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("backend", [openpose_kernels, openpose_reference], ids=["numba", "numpy"])
def test_openpose(fraction, backend):
    rng = np.random.default_rng(0)
    truth = render.crowd(rng, 5, 32, 57)
    pafs, heat = render.render_openpose(truth, 32, 57)
    assert_people_survive(assert_finite(openpose.decode_with(backend, poison(pafs, rng, fraction), heat)),
                          truth, 8, fraction)
    assert_people_survive(assert_finite(openpose.decode_with(backend, pafs, poison(heat, rng, fraction))),
                          truth, 8, fraction)


@pytest.mark.parametrize("fraction", [0.01, 0.2, 1.0])
@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_ae(fraction, backend):
    rng = np.random.default_rng(1)
    poses = render.crowd(rng, 5, 64, 64)
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 5), 64, 64, nms_negate=True)
    assert_people_survive(assert_finite(ae.decode_with(backend, poison(heat, rng, fraction), emb)),
                          poses, 2, fraction)
    assert_people_survive(assert_finite(ae.decode_with(backend, heat, poison(emb, rng, fraction))),
                          poses, 2, fraction)


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
    assert_people_survive(assert_finite(higherhrnet.decode_two_scale(poison(lo, rng, fraction), hi, emb)),
                          poses, 2, fraction)
    assert_people_survive(assert_finite(higherhrnet.decode(poison(hi, rng, fraction), poison(emb, rng, fraction))),
                          poses, 2, fraction)

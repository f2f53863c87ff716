"""Round trips for the HigherHRNet decoder (OMZ higher-hrnet-w32-human-pose-estimation)."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae_kernels, ae_reference, heatmap_kernels, higherhrnet
from tests.decode import render

S, STRIDE = 128, 2  # a 256x256 input; the OMZ model's own 512x512 gives 256x256 maps


def omz_outputs(heat_lo, heat_hi, emb_lo):
    """What the OMZ IR computes inside its graph from the raw two-resolution outputs: upsample
    the 1/4 maps, average the heatmaps, ReLU, 5x5 max-pool NMS with negation."""
    up = np.zeros(heat_hi.shape, np.float32)
    heatmap_kernels.upsample_bilinear(heat_lo, up)
    heat = np.maximum((up + heat_hi) / 2, 0.0)
    emb = np.zeros(heat_hi.shape, np.float32)
    heatmap_kernels.upsample_bilinear(emb_lo, emb)
    return render.maxpool_negate(heat).astype(np.float32), emb


def check(keypoints, scores, poses):
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    assert np.all(np.isfinite(keypoints))
    problems = render.match_poses(render.to_cells(keypoints, STRIDE), poses)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("n_people", [1, 5, 15])
def test_round_trip_omz_outputs(n_people):
    rng = np.random.default_rng(n_people)
    poses = render.crowd(rng, n_people, S, S)
    raw = render.render_higherhrnet(poses, render.spaced_tags(rng, n_people), S, S, rng=rng)
    heat, emb = omz_outputs(*raw)
    check(*higherhrnet.decode(heat[None], emb[None]), poses)


@pytest.mark.parametrize("n_people", [1, 5, 15])
def test_round_trip_raw_two_scale_outputs(n_people):
    rng = np.random.default_rng(30 + n_people)
    poses = render.crowd(rng, n_people, S, S)
    heat_lo, heat_hi, emb_lo = render.render_higherhrnet(poses, render.spaced_tags(rng, n_people),
                                                         S, S, rng=rng)
    check(*higherhrnet.decode_two_scale(heat_lo, heat_hi, emb_lo), poses)


@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_partial_skeletons_and_backends_agree(backend):
    rng = np.random.default_rng(7)
    poses = render.crowd(rng, 4, S, S)
    poses = render.hide(render.hide(poses, 0, [9, 10]), 2, [0, 1, 2, 15])
    heat_lo, heat_hi, emb_lo = render.render_higherhrnet(poses, render.spaced_tags(rng, 4), S, S,
                                                         rng=rng)
    got = higherhrnet.decode_with(backend, heat_hi, emb_lo, heatmaps_lo=heat_lo)
    check(*got, poses)
    want = higherhrnet.decode_two_scale(heat_lo, heat_hi, emb_lo)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-5)


def test_decode_maps_takes_the_workers_list_of_outputs():
    """The decode worker passes the output maps with their batch axis, in preset order, and the
    network input size."""
    rng = np.random.default_rng(8)
    poses = render.crowd(rng, 3, S, S // 2 * 3)
    raw = render.render_higherhrnet(poses, render.spaced_tags(rng, 3), S, S // 2 * 3, rng=rng)
    heat, emb = omz_outputs(*raw)
    net_h, net_w = S * STRIDE, S // 2 * 3 * STRIDE
    check(*higherhrnet.decode_maps([heat[None], emb[None, ..., None]], net_h, net_w), poses)
    check(*higherhrnet.decode_maps([m[None] for m in raw], net_h, net_w), poses)
    with pytest.raises(ValueError, match="scale"):
        higherhrnet.decode_maps([heat[None], emb[None]], net_h, net_h)
    with pytest.raises(ValueError, match="2 or 3"):
        higherhrnet.decode_maps([heat[None]], net_h, net_w)


def test_empty_frame():
    heat, emb = omz_outputs(*render.render_higherhrnet(np.zeros((0, 17, 3)), np.zeros(0), S, S))
    keypoints, scores = higherhrnet.decode(heat, emb)
    assert keypoints.shape == (0, 17, 3) and scores.shape == (0,)


"""Round trips on maps with a trained network's kinds of noise (:data:`render.NOISE_LEVELS`):
Gaussian noise on the heatmaps, peak heights varying, noise on the fields and on the tags.

Each case renders known poses, adds seeded noise at one level, decodes, and checks what a user
sees: every person found (people recall), no fragments or duplicates beyond a few (precision),
and the keypoints where they belong (the share of true keypoints within 4 input pixels). The
figures required fall with the noise level; the bench (``scripts/bench_decode.py --noise``)
measures the same figures over many more frames.
"""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae, higherhrnet, openpose
from tests.decode import render, scenes

# family: (map height, map width, stride) at the model's default input
SIZES = {"openpose": (32, 57, 8), "ae": (144, 144, 2), "higherhrnet": (256, 256, 2)}
SPACING = 1.5

# level: (recall, precision, keypoints within 4 px) at least, over one case
REQUIRED = {
    "low": (1.0, 1.0, 0.95),
    "medium": (1.0, 0.9, 0.9),
    "high": (0.9, 0.7, 0.8),
}


def people(case: str, family: str, rng: np.random.Generator) -> np.ndarray:
    """True poses in network-input pixels for a case."""
    h, w, stride = SIZES[family]
    net_h, net_w = h * stride, w * stride
    if case.startswith("crowd"):
        cells = render.crowd(rng, int(case[5:]), h, w)
        out = cells.copy()
        out[..., :2] = (cells[..., :2] + 0.5) * stride - 0.5
        return out
    if case == "overlapping":  # three people, each partly in front of the next
        tall = 0.8 * net_h
        return np.stack([render.make_pose(rng, net_w * f, 0.05 * net_h + d, tall - d)
                         for f, d in ((0.35, 0.0), (0.47, 6.0), (0.59, 12.0))])
    # tiny: a row of people 40 px tall, and one 40 px person standing in front of a big one
    row = [render.make_pose(rng, x, 0.05 * net_h, 40.0) for x in np.linspace(30, net_w - 30, 6)]
    big = render.make_pose(rng, 0.5 * net_w, 0.15 * net_h, 0.8 * net_h)
    small = render.make_pose(rng, 0.5 * net_w + 0.12 * net_h, 0.55 * net_h, 40.0)
    return np.stack(row + [big, small])


def decode(family: str, truth_px: np.ndarray, level: str, seed: int) -> np.ndarray:
    h, w, stride = SIZES[family]
    rng = np.random.default_rng(seed)
    noise = render.NOISE_LEVELS[level]
    cells = scenes.to_cells(truth_px, stride)
    if family == "openpose":
        pafs, heat = render.render_openpose(cells, h, w, level=noise, rng=rng)
        kpts, scores = openpose.decode(pafs, heat, stride=stride)
    else:
        tags = render.spaced_tags(rng, len(cells), SPACING)
        if family == "ae":
            heat, emb = render.render_ae(cells, tags, h, w, level=noise, tag_spacing=SPACING,
                                         nms_negate=True, rng=rng)
            kpts, scores = ae.decode(heat, emb, stride=stride)
        else:
            lo, hi, emb = render.render_higherhrnet(cells, tags, h, w, level=noise,
                                                    tag_spacing=SPACING, rng=rng)
            kpts, scores = higherhrnet.decode_two_scale(lo, hi, emb, stride=stride)
    return kpts[scores >= 0.1].astype(np.float64)  # the pipeline's default -t


@pytest.mark.parametrize("level", list(REQUIRED))
@pytest.mark.parametrize("case", ["crowd1", "crowd5", "crowd15", "overlapping", "tiny"])
@pytest.mark.parametrize("family", list(SIZES))
def test_noisy_round_trip(family, case, level):
    seed = sum(map(ord, family + case + level))
    truth = people(case, family, np.random.default_rng(seed))
    tally = scenes.evaluate(decode(family, truth, level, seed), truth)
    recall, precision, close = REQUIRED[level]
    figures = (f"{family} {case} {level}: recall {tally.recall:.3f}, precision "
               f"{tally.precision:.3f}, keypoints within 4 px {tally.keypoints_within:.3f} "
               f"({tally.matched}/{tally.truth} people, {tally.decoded} decoded)")
    print(figures)
    assert tally.recall >= recall, figures
    assert tally.precision >= precision, figures
    assert tally.keypoints_within >= close, figures

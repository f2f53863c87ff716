"""The OpenPose decoder in crowds: many people of mixed sizes close together, some joints hidden
(clean rendered maps, human-pose-estimation-0001's 32x57 output, limb fields one cell wide as
OpenPose trains them).

Small people side by side are where assembly goes wrong: their own limbs are under a cell long,
and a long limb from one person's joint to a neighbour's runs through the neighbours' fields,
which point the same way. The decoder used to score a limb under a cell at half its field, so
the neighbour's limb won, and since 876bf01 (a person's scale is its largest limb ratio) that
wrong limb also set the person's scale so high that more neighbours' joints were let in.
"""

from __future__ import annotations

import numpy as np

from stages.decode import openpose
from tests.decode import render, scenes

H, W, STRIDE = 32, 57, 8


def _tally(make, frames: int, seed: int) -> tuple[scenes.Tally, int]:
    """People found over ``frames`` scenes from ``make(rng)`` (at the default -t 0.1), and how
    many people were decoded in all."""
    tally, decoded = scenes.Tally(), 0
    for i in range(frames):
        rng = np.random.default_rng([seed, i])
        truth = make(rng)
        pafs, heat = render.render_openpose(scenes.to_cells(truth, STRIDE), H, W, paf_width=1.0,
                                            rng=rng)
        keypoints, scores = openpose.decode(pafs, heat, stride=STRIDE)
        got = keypoints[scores >= 0.1].astype(np.float64)
        decoded += len(got)
        tally.add(scenes.evaluate(got, truth))
    return tally, decoded


def _assert_found(tally: scenes.Tally, decoded: int) -> None:
    """Nearly everyone found whole, nearly every joint where it is, and about as many people as
    there are: a person mixed with a neighbour loses joints to it and leaves a fragment behind."""
    summary = (f"recall {tally.recall:.3f}, within 4 px {tally.keypoints_within:.3f}, "
               f"{decoded} people decoded for {tally.truth}")
    assert tally.recall >= 0.96, summary
    assert tally.keypoints_within >= 0.87, summary
    assert abs(decoded - tally.truth) <= 0.05 * tally.truth, summary


def test_rows_of_people_shoulder_to_shoulder_are_not_mixed():
    """Rows of 40-100 px people touching their neighbours, 10 % of joints hidden: ~40 people a
    frame. Before this fix (876bf01 and main): recall 0.73, within 4 px 0.57, 316 people decoded
    for 249."""
    _assert_found(*_tally(lambda rng: scenes.rows(rng, H * STRIDE, W * STRIDE), 6, seed=1))


def _scattered(rng: np.random.Generator) -> np.ndarray:
    truth = scenes.scene(rng, int(rng.integers(4, 16)), H * STRIDE, W * STRIDE)
    truth[..., 2][rng.random(truth.shape[:2]) < 0.08] = 0.0
    return truth


def test_people_of_mixed_sizes_standing_close_with_hidden_joints():
    """4-15 people of 40-250 px placed close together (boxes overlapping up to 30 %), 8 % of
    joints hidden."""
    _assert_found(*_tally(_scattered, 40, seed=2))

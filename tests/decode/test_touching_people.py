"""People close enough to touch are still decoded as separate, complete people."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae, openpose
from tests.decode import render


def side_by_side(rng, n, height, gap, left=2.0, top=1.0):
    """``n`` people in a row, each ``height`` cells tall, the hands of neighbours ``gap`` cells
    apart (right wrist of one next to the left wrist of the other)."""
    poses = []
    x = left
    for _ in range(n):
        pose = render.make_pose(rng, 0.0, top, height, jitter=0.0)
        pose[:, 0] += x - pose[:, 0].min()
        poses.append(pose)
        x = pose[:, 0].max() + gap
    return np.stack(poses)


@pytest.mark.parametrize("gap", [1.0, 2.0])
def test_openpose_hand_in_hand(gap):
    rng = np.random.default_rng(0)
    poses = side_by_side(rng, 4, 26.0, gap)
    pafs, heat = render.render_openpose(poses, 32, int(poses[:, :, 0].max()) + 3)
    keypoints, _ = openpose.decode(pafs, heat)
    problems = render.match_poses(render.to_cells(keypoints, 8), poses)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("gap", [1.0, 3.0])
@pytest.mark.parametrize("tag_gap", [1.5, 0.6])
def test_ae_hand_in_hand(gap, tag_gap):
    rng = np.random.default_rng(1)
    poses = side_by_side(rng, 5, 100.0, gap, left=4.0, top=10.0)
    w = int(poses[:, :, 0].max()) + 6
    tags = np.arange(5) * tag_gap
    heat, emb = render.render_ae(poses, tags, 128, w, nms_negate=True, tag_jitter=0.1, rng=rng)
    keypoints, _ = ae.decode(heat, emb)
    problems = render.match_poses(render.to_cells(keypoints, 2), poses)
    assert not problems, "\n".join(problems)


def test_ae_one_person_in_front_of_another():
    """Two people overlapping almost completely, distinguished by tags alone."""
    rng = np.random.default_rng(2)
    a = render.make_pose(rng, 70.0, 10.0, 110.0)
    b = a.copy()
    b[:, 0] += 6.0
    b[:, 1] += 4.0
    heat, emb = render.render_ae(np.stack([a, b]), np.array([0.0, 2.0]), 144, 144,
                                 nms_negate=True, rng=rng)
    keypoints, _ = ae.decode(heat, emb)
    problems = render.match_poses(render.to_cells(keypoints, 2), np.stack([a, b]))
    assert not problems, "\n".join(problems)

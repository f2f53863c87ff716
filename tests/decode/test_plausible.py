"""The rule for a family's weakest people: lying shapes under ``upright_below`` are dropped,
standing ones and confident people of any shape are kept (stages/decode/plausible.py)."""

from __future__ import annotations

import numpy as np

from stages.decode.plausible import upright


def _pose(x0: float, y0: float, w: float, h: float, n: int = 12, score: float = 0.5) -> np.ndarray:
    k = np.zeros((17, 3), np.float32)
    rng = np.random.default_rng(int(w * 7 + h))
    k[:, 0] = x0 + rng.uniform(0, w, 17)
    k[:, 1] = y0 + rng.uniform(0, h, 17)
    k[[0, 1], 0], k[[0, 1], 1] = [x0, x0 + w], [y0, y0 + h]  # the box is exactly w x h
    k[:n, 2] = score
    k[n:, 2] = 0.05  # faint: kept in the outputs, not seen
    return k


def test_a_weak_lying_shape_is_dropped_and_a_weak_walker_kept():
    clothes = _pose(60, 500, 43, 16)  # vtest's clothes on the grass: 43 px wide, 16 tall
    walker = _pose(300, 200, 15, 62)
    kpts = np.stack([clothes, walker])
    keep = upright(kpts, np.array([0.12, 0.12]), below=0.15, min_ratio=0.7, seen=0.2)
    assert keep.tolist() == [False, True]


def test_confident_people_are_kept_whatever_their_shape():
    lying = _pose(60, 500, 120, 30)  # someone on the floor, sure
    kpts = np.stack([lying, lying])
    keep = upright(kpts, np.array([0.6, 0.14]), below=0.15, min_ratio=0.7, seen=0.2)
    assert keep.tolist() == [True, False]


def test_only_seen_keypoints_count_and_a_weak_person_seen_by_one_is_dropped():
    walker = _pose(300, 200, 15, 62)
    walker[2:, 0] += 500  # faint keypoints far to the side must not widen the box
    walker[2:, 2] = 0.1
    lone = _pose(10, 10, 5, 40, n=1)
    keep = upright(np.stack([walker, lone]), np.array([0.12, 0.12]), below=0.15, min_ratio=0.7, seen=0.2)
    assert keep.tolist() == [True, False]

"""Weak people must look like people: a rule for the people a network is least sure of.

A person scoring under the family's ``upright_below`` (down to the run's ``-t``) is reported only
when the keypoints it is seen by (score above the family's keypoint threshold) stand at least
``upright_min_ratio`` as tall as they are wide. MoveNet reports clothes lying on vtest.avi's grass
as a person scoring 0.10-0.13 with 10-14 keypoints in a box 16 px tall and 43 px wide (ratio
0.37), while the walkers it is as unsure of stand 62 px tall and 15 px wide (ratio 3.96). People
scoring at or above ``upright_below`` are kept whatever their shape (someone lying on the floor).
"""

from __future__ import annotations

import numpy as np


def upright(keypoints: np.ndarray, scores: np.ndarray, below: float, min_ratio: float, seen: float) -> np.ndarray:
    """A mask of the people kept: those scoring at least ``below``, and the others whose seen
    keypoints' box is at least ``min_ratio`` times as tall as it is wide."""
    keep = np.ones(len(scores), bool)
    for i in np.flatnonzero(scores < below):
        pts = keypoints[i, keypoints[i, :, 2] > max(seen, 0.0), :2]
        if len(pts) < 2:
            keep[i] = False
            continue
        height, width = np.ptp(pts[:, 1]), np.ptp(pts[:, 0])
        keep[i] = height >= min_ratio * max(width, 1.0)
    return keep

"""MoveNet MultiPose decoder: the network already groups people; this only unpacks its rows.

The output is float32 ``(6, 56)``: per candidate person 17 × (y, x, score) normalised to the
network input, then a box (ymin, xmin, ymax, xmax) and the person's score.
"""

from __future__ import annotations

import numpy as np

ROW = 56


def decode(raw: np.ndarray, net_h: int, net_w: int, keypoint_threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` (n, 56) → keypoints (n, 17, 3) in network-input pixels (x, y, score) and scores (n,).

    MoveNet gives every joint a position and a score; all are kept (the family's
    ``keypoint_threshold`` decides later what is drawn and tracked). Keypoints scoring below
    ``keypoint_threshold`` here (0: none) are reported missing (all zero)."""
    raw = np.asarray(raw, dtype=np.float32).reshape(-1, ROW)
    yxs = raw[:, :51].reshape(-1, 17, 3)
    kpts = np.empty_like(yxs)
    kpts[..., 0] = yxs[..., 1] * net_w
    kpts[..., 1] = yxs[..., 0] * net_h
    kpts[..., 2] = yxs[..., 2]
    kpts[yxs[..., 2] < keypoint_threshold] = 0.0
    return kpts, raw[:, 55].copy()


def warmup() -> None:
    """Nothing to compile: kept for the common decoder interface."""

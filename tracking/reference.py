"""Plain-numpy twins of :mod:`tracking.kernels`: same names, signatures and results, written
for clarity. The tests compare each kernel with its twin and run the whole tracker on both."""

from __future__ import annotations

import numpy as np

from .assignment_reference import FORBIDDEN, hungarian
from .kernels import COCO_SIGMAS

__all__ = ["COCO_SIGMAS", "assign", "iou_matrix", "oks_matrix", "pose_boxes"]


def pose_boxes(keypoints: np.ndarray, min_score: float, out: np.ndarray) -> None:
    """See :func:`tracking.kernels.pose_boxes`."""
    for i, pose in enumerate(keypoints):
        seen = pose[:, 2] > min_score
        pts = pose[seen, :2] if seen.any() else pose[:, :2]
        out[i] = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()) if len(pts) else 0.0


def iou_matrix(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """See :func:`tracking.kernels.iou_matrix`."""
    a, b = a[:, None, :], b[None, :, :]
    area_a = np.clip(a[..., 2] - a[..., 0], 0, None) * np.clip(a[..., 3] - a[..., 1], 0, None)
    area_b = np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    union = area_a + area_b - w * h
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:] = np.where(union > 0, w * h / np.where(union > 0, union, 1.0), 0.0)


def oks_matrix(a: np.ndarray, b: np.ndarray, areas: np.ndarray, sigmas: np.ndarray, min_score: float,
               out: np.ndarray) -> None:
    """See :func:`tracking.kernels.oks_matrix`."""
    both = (a[:, None, :, 2] > min_score) & (b[None, :, :, 2] > min_score)  # (t, n, k)
    d2 = ((a[:, None, :, :2].astype(np.float64) - b[None, :, :, :2]) ** 2).sum(-1)
    area = np.maximum(np.asarray(areas, np.float64), 1.0)[:, None, None]
    e = np.exp(-d2 / (2.0 * area * 4.0 * np.asarray(sigmas, np.float64) ** 2))
    count = both.sum(-1)
    out[:] = np.where(count > 0, (e * both).sum(-1) / np.maximum(count, 1), 0.0)


def assign(similarity: np.ndarray, min_similarity: float, out_col: np.ndarray) -> None:
    """See :func:`tracking.kernels.assign`."""
    allowed = similarity >= min_similarity
    cost = np.where(allowed, 1.0 - similarity, FORBIDDEN).astype(np.float64)
    hungarian(cost, out_col)
    rows = np.nonzero(out_col >= 0)[0]
    out_col[rows[~allowed[rows, out_col[rows]]]] = -1

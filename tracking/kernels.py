"""Numba kernels of the tracker: pose boxes, box IoU, keypoint similarity (OKS), assignment.

Every function is a pure ``@numba.njit(cache=True)`` function over numpy arrays that writes its
result into arrays the caller preallocates. Each has a plain-numpy twin of the same name and
signature in :mod:`tracking.reference`; the tests run both over the same inputs.

Poses are ``(n, 17, 3)`` float arrays (x, y, score) in frame pixels, COCO-17 order; a keypoint
counts as seen when its score is above ``min_score``. Boxes are ``(n, 4)`` float64
``(x1, y1, x2, y2)``.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .assignment_kernels import FORBIDDEN, hungarian

# COCO keypoint sigmas (the OKS of the COCO keypoint benchmark), nose … right ankle.
COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                        0.107, 0.107, 0.087, 0.087, 0.089, 0.089], np.float64)


@nb.njit(cache=True)
def pose_boxes(keypoints: np.ndarray, min_score: float, out: np.ndarray) -> None:
    """The box around each pose's seen keypoints (around all of them if none is seen)."""
    n, k = keypoints.shape[0], keypoints.shape[1]
    for i in range(n):
        seen = 0
        for j in range(k):
            if keypoints[i, j, 2] > min_score:
                seen += 1
        x1 = np.inf
        y1 = np.inf
        x2 = -np.inf
        y2 = -np.inf
        for j in range(k):
            if seen == 0 or keypoints[i, j, 2] > min_score:
                x = keypoints[i, j, 0]
                y = keypoints[i, j, 1]
                x1 = min(x1, x)
                y1 = min(y1, y)
                x2 = max(x2, x)
                y2 = max(y2, y)
        if k == 0:
            x1 = y1 = x2 = y2 = 0.0
        out[i, 0] = x1
        out[i, 1] = y1
        out[i, 2] = x2
        out[i, 3] = y2


@nb.njit(cache=True)
def iou_matrix(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Intersection over union of every box of ``a`` (t, 4) with every box of ``b`` (n, 4)."""
    for i in range(a.shape[0]):
        area_a = max(0.0, a[i, 2] - a[i, 0]) * max(0.0, a[i, 3] - a[i, 1])
        for j in range(b.shape[0]):
            area_b = max(0.0, b[j, 2] - b[j, 0]) * max(0.0, b[j, 3] - b[j, 1])
            w = min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0])
            h = min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1])
            inter = max(0.0, w) * max(0.0, h)
            union = area_a + area_b - inter
            out[i, j] = inter / union if union > 0.0 else 0.0


@nb.njit(cache=True)
def oks_matrix(a: np.ndarray, b: np.ndarray, areas: np.ndarray, sigmas: np.ndarray, min_score: float,
               out: np.ndarray) -> None:
    """Object keypoint similarity of every pose of ``a`` (t, k, 3) with every pose of ``b``
    (n, k, 3): the mean over keypoints seen in both of ``exp(-d² / (2 · area · (2σ)²))``, with
    ``areas`` (t,) the scale² of each pose of ``a``; 0 when no keypoint is seen in both."""
    k = a.shape[1]
    for i in range(a.shape[0]):
        area = max(areas[i], 1.0)
        for j in range(b.shape[0]):
            total = 0.0
            count = 0
            for p in range(k):
                if a[i, p, 2] > min_score and b[j, p, 2] > min_score:
                    dx = a[i, p, 0] - b[j, p, 0]
                    dy = a[i, p, 1] - b[j, p, 1]
                    var = 4.0 * sigmas[p] * sigmas[p]
                    total += np.exp(-(dx * dx + dy * dy) / (2.0 * area * var))
                    count += 1
            out[i, j] = total / count if count > 0 else 0.0


@nb.njit(cache=True)
def assign(similarity: np.ndarray, min_similarity: float, out_col: np.ndarray) -> None:
    """One-to-one matching of rows (tracks) to columns (poses) over pairs of at least
    ``min_similarity``: the most pairs, and among those the largest total similarity; writes
    ``out_col`` (t,) int64, the column of each row or -1."""
    t, n = similarity.shape
    cost = np.empty((t, n), np.float64)
    for i in range(t):
        for j in range(n):
            s = similarity[i, j]
            cost[i, j] = 1.0 - s if s >= min_similarity else FORBIDDEN
    hungarian(cost, out_col)
    for i in range(t):
        j = out_col[i]
        if j >= 0 and not similarity[i, j] >= min_similarity:
            out_col[i] = -1

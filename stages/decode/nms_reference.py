"""Plain-numpy twins of :mod:`stages.decode.nms_kernels` (same names, signatures and results)."""

from __future__ import annotations

import numpy as np

from .nms_kernels import COCO_SIGMAS  # noqa: F401 - same data for both backends


def box_iou(ax0: float, ay0: float, ax1: float, ay1: float,
            bx0: float, by0: float, bx1: float, by1: float) -> float:
    """See :func:`stages.decode.nms_kernels.box_iou`."""
    iw = min(ax1, bx1) - max(ax0, bx0)
    ih = min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return float(inter / union) if union > 0 else 0.0


def yolo_pose_nms(raw: np.ndarray, score_threshold: float, iou_threshold: float,
                  keypoint_threshold: float, out_kpts: np.ndarray, out_scores: np.ndarray) -> int:
    """See :func:`stages.decode.nms_kernels.yolo_pose_nms`."""
    raw = raw.astype(np.float64)
    with np.errstate(invalid="ignore"):
        cand = np.flatnonzero(raw[4] > score_threshold)
    cand = cand[np.argsort(-raw[4, cand], kind="mergesort")]
    boxes = np.stack([raw[0] - raw[2] / 2, raw[1] - raw[3] / 2, raw[0] + raw[2] / 2, raw[1] + raw[3] / 2])
    kept: list[int] = []
    for i in cand:
        if len(kept) >= len(out_scores):
            break
        if all(box_iou(*boxes[:, i], *boxes[:, k]) <= iou_threshold for k in kept):
            kept.append(int(i))
    for n, i in enumerate(kept):
        k = raw[5:, i].reshape(-1, 3)
        ok = (k[:, 2] >= keypoint_threshold) & np.isfinite(k[:, 0]) & np.isfinite(k[:, 1])
        out_kpts[n] = np.where(ok[:, None], k, 0.0)
        out_scores[n] = raw[4, i]
    return len(kept)


def oks(a: np.ndarray, b: np.ndarray, sigmas: np.ndarray) -> float:
    """See :func:`stages.decode.nms_kernels.oks`."""
    present = a[a[:, 2] > 0, :2]
    if len(present) == 0:
        return 0.0
    span = present.max(axis=0) - present.min(axis=0)
    area = max(float(span[0] * span[1]), 1.0)
    both = (a[:, 2] > 0) & (b[:, 2] > 0)
    if not both.any():
        return 0.0
    d2 = ((a[both, :2] - b[both, :2]) ** 2).sum(axis=1)
    return float(np.mean(np.exp(-d2 / (2.0 * area * (2.0 * sigmas[both]) ** 2))))


def pose_nms(kpts: np.ndarray, scores: np.ndarray, groups: np.ndarray, sigmas: np.ndarray,
             oks_threshold: float, out_keep: np.ndarray) -> int:
    """See :func:`stages.decode.nms_kernels.pose_nms`."""
    kept: list[int] = []
    for i in np.argsort(-scores.astype(np.float64), kind="mergesort"):
        if all(groups[k] == groups[i] or oks(kpts[k], kpts[i], sigmas) <= oks_threshold for k in kept):
            kept.append(int(i))
    out_keep[:len(kept)] = kept
    return len(kept)

"""Numba kernels for detector-style pose outputs: box NMS (YOLO-pose) and pose NMS by OKS.

Same conventions as :mod:`stages.decode.heatmap_kernels` (pure ``@numba.njit(cache=True)``
functions over numpy arrays, results written into arrays the caller preallocates, float64
arithmetic); each kernel has a plain-numpy twin of the same name and signature in
:mod:`stages.decode.nms_reference`, and the tests run both over the same inputs. They live apart
from the heat-map kernels because they serve different families.
"""

from __future__ import annotations

import numba as nb
import numpy as np

# COCO keypoint sigmas (OKS), nose .. right ankle.
COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
                        0.107, 0.107, 0.087, 0.087, 0.089, 0.089])


@nb.njit(cache=True)
def box_iou(ax0: float, ay0: float, ax1: float, ay1: float,
            bx0: float, by0: float, bx1: float, by1: float) -> float:
    """Intersection over union of two boxes given by their corners (0 for empty boxes)."""
    iw = min(ax1, bx1) - max(ax0, bx0)
    ih = min(ay1, by1) - max(ay0, by0)
    if iw <= 0.0 or ih <= 0.0:
        return 0.0
    inter = iw * ih
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    if union <= 0.0:
        return 0.0
    return inter / union


@nb.njit(cache=True)
def yolo_pose_nms(raw: np.ndarray, score_threshold: float, iou_threshold: float,
                  keypoint_threshold: float, out_kpts: np.ndarray, out_scores: np.ndarray) -> int:
    """Decode a YOLO-pose output ``raw`` (56, N): rows 0-3 box centre x, y, width, height, row 4
    the person score, rows 5.. 17 × (x, y, visibility), all in network-input pixels (scores
    already through the sigmoid, as Ultralytics exports them).

    Candidates scoring above ``score_threshold`` are taken best first (stable order for equal
    scores); one whose box overlaps a kept box by more than ``iou_threshold`` (IoU) is dropped.
    Up to ``len(out_scores)`` people are written to ``out_kpts`` (n, 17, 3: x, y, visibility;
    keypoints under ``keypoint_threshold`` all zero) and ``out_scores``. Returns n.
    """
    n_anchors = raw.shape[1]
    n_kpts = (raw.shape[0] - 5) // 3
    cand = np.empty(n_anchors, np.int64)
    cand_score = np.empty(n_anchors, np.float64)
    m = 0
    for i in range(n_anchors):
        s = raw[4, i]
        if s > score_threshold:  # NaN fails this test and is never a candidate
            cand[m] = i
            cand_score[m] = s
            m += 1
    order = np.argsort(-cand_score[:m], kind="mergesort")
    max_out = out_scores.shape[0]
    kept_box = np.empty((max_out, 4), np.float64)
    n = 0
    for r in range(m):
        if n >= max_out:
            break
        i = cand[order[r]]
        cx = float(raw[0, i])
        cy = float(raw[1, i])
        hw = 0.5 * float(raw[2, i])
        hh = 0.5 * float(raw[3, i])
        x0, y0, x1, y1 = cx - hw, cy - hh, cx + hw, cy + hh
        keep = True
        for k in range(n):
            if box_iou(x0, y0, x1, y1, kept_box[k, 0], kept_box[k, 1], kept_box[k, 2],
                       kept_box[k, 3]) > iou_threshold:
                keep = False
                break
        if not keep:
            continue
        kept_box[n, 0] = x0
        kept_box[n, 1] = y0
        kept_box[n, 2] = x1
        kept_box[n, 3] = y1
        out_scores[n] = cand_score[order[r]]
        for j in range(n_kpts):
            v = float(raw[5 + 3 * j + 2, i])
            x = float(raw[5 + 3 * j, i])
            y = float(raw[5 + 3 * j + 1, i])
            if v >= keypoint_threshold and np.isfinite(x) and np.isfinite(y):
                out_kpts[n, j, 0] = x
                out_kpts[n, j, 1] = y
                out_kpts[n, j, 2] = v
            else:
                out_kpts[n, j, 0] = 0.0
                out_kpts[n, j, 1] = 0.0
                out_kpts[n, j, 2] = 0.0
        n += 1
    return n


@nb.njit(cache=True)
def oks(a: np.ndarray, b: np.ndarray, sigmas: np.ndarray) -> float:
    """Object keypoint similarity of pose ``b`` to pose ``a`` (17, 3: x, y, score; score 0 =
    missing), over the keypoints both have, with the area of ``a``'s keypoint box as the scale
    (``a`` plays the ground truth). 0 when they share no keypoint."""
    x0 = 1e300
    y0 = 1e300
    x1 = -1e300
    y1 = -1e300
    for j in range(a.shape[0]):
        if a[j, 2] > 0.0:
            x0 = min(x0, a[j, 0])
            y0 = min(y0, a[j, 1])
            x1 = max(x1, a[j, 0])
            y1 = max(y1, a[j, 1])
    if x1 < x0:
        return 0.0
    area = max((x1 - x0) * (y1 - y0), 1.0)
    total = 0.0
    count = 0
    for j in range(a.shape[0]):
        if a[j, 2] > 0.0 and b[j, 2] > 0.0:
            dx = a[j, 0] - b[j, 0]
            dy = a[j, 1] - b[j, 1]
            var = (2.0 * sigmas[j]) ** 2
            total += np.exp(-(dx * dx + dy * dy) / (2.0 * area * var))
            count += 1
    if count == 0:
        return 0.0
    return total / count


@nb.njit(cache=True)
def pose_nms(kpts: np.ndarray, scores: np.ndarray, groups: np.ndarray, sigmas: np.ndarray,
             oks_threshold: float, out_keep: np.ndarray) -> int:
    """Greedy pose NMS across groups: people best first (stable for equal scores); one whose OKS
    to a kept person of another group (the kept person's box as the scale) exceeds
    ``oks_threshold`` is dropped (people of one group, one network output, are never merged).
    Writes the kept indices, best first, to ``out_keep`` and returns how many."""
    order = np.argsort(-scores.astype(np.float64), kind="mergesort")
    n = 0
    for r in range(order.shape[0]):
        i = order[r]
        keep = True
        for k in range(n):
            if groups[out_keep[k]] != groups[i] and oks(kpts[out_keep[k]], kpts[i], sigmas) > oks_threshold:
                keep = False
                break
        if keep:
            out_keep[n] = i
            n += 1
    return n

"""Merging the people found at several network input sizes into one list (pose NMS by OKS).

From the smaller sizes only people tall in the picture are taken (``near_min_height`` of the
input's height in the preset): those sizes are there for people near the camera. Each scale's
people are then mapped to the first (full) scale's input pixels. People scoring
under the run's threshold are dropped, then the rest are taken in order of their keypoint mass
(the sum of their keypoint scores, so that a whole skeleton seen at one scale wins over a
fragment of the same person, e.g. only the face, seen at another), and one whose OKS to a kept
person of another scale exceeds ``oks_threshold`` is dropped (people of one scale were already
told apart by the network) (:func:`stages.decode.nms_kernels.pose_nms`).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import nms_kernels


def to_first_scale(keypoints: np.ndarray, size: tuple[int, int], first: tuple[int, int]) -> np.ndarray:
    """Keypoints in the pixels of an input of ``size`` (h, w), resized from an input of ``first``
    (h, w) in the graph (pixel centres aligned), mapped to ``first``'s pixels; missing stay zero."""
    out = keypoints.astype(np.float32, copy=True)
    present = out[..., 2] > 0
    sy, sx = first[0] / size[0], first[1] / size[1]
    out[..., 0] = np.where(present, (out[..., 0] + 0.5) * sx - 0.5, 0.0)
    out[..., 1] = np.where(present, (out[..., 1] + 0.5) * sy - 0.5, 0.0)
    return out


def seen_only(keypoints: np.ndarray, seen: float) -> np.ndarray:
    """A copy of ``keypoints`` with those not seen (score at or under ``seen``, or 0) zeroed."""
    out = keypoints.copy()
    out[~(out[..., 2] > max(seen, 0.0))] = 0.0
    return out


def tall_only(keypoints: np.ndarray, scores: np.ndarray, min_height: float,
              seen: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The people whose seen keypoints (score above ``seen``) span at least ``min_height``
    pixels vertically. At a smaller input size a network sees people far from the camera worse
    than at the full size (fewer pixels), so from those sizes only people near the camera are
    taken."""
    present = keypoints[..., 2] > max(seen, 0.0)
    top = np.where(present, keypoints[..., 1], np.inf).min(axis=1) if len(keypoints) else np.zeros(0)
    bottom = np.where(present, keypoints[..., 1], -np.inf).max(axis=1) if len(keypoints) else np.zeros(0)
    span = np.where(present.any(axis=1), bottom - top, 0.0) if len(keypoints) else np.zeros(0)
    keep = span >= min_height
    return keypoints[keep], scores[keep]


def merge(found: list[tuple[np.ndarray, np.ndarray]], min_score: float, oks_threshold: float,
          backend: ModuleType = nms_kernels, seen: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``found``: per scale, (keypoints (n, 17, 3), scores (n,)) in the same pixels. Returns the
    people kept, keypoints (m, 17, 3) float32 and scores (m,) float32, best score first. Mass
    and OKS count only the keypoints seen (score above ``seen``); every keypoint is returned."""
    kpts = np.concatenate([k.reshape(-1, 17, 3) for k, _ in found]).astype(np.float32)
    scores = np.concatenate([s.reshape(-1) for _, s in found]).astype(np.float32)
    groups = np.concatenate([np.full(len(s.reshape(-1)), g, np.int64) for g, (_, s) in enumerate(found)])
    ok = scores >= min_score
    kpts, scores, groups = np.ascontiguousarray(kpts[ok]), scores[ok], groups[ok]
    visible = seen_only(kpts, seen)
    mass = visible[..., 2].sum(axis=1).astype(np.float64)
    keep = np.zeros(len(scores), np.int64)
    n = backend.pose_nms(visible.astype(np.float64), mass, groups, nms_kernels.COCO_SIGMAS, float(oks_threshold), keep)
    keep = keep[:n]
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return kpts[keep], scores[keep]

"""Decoder for Ultralytics YOLOv8/YOLO11 pose models exported to OpenVINO IR or ONNX.

The network's one output is ``(1, 56, N)``: for each of N anchors the person's box (centre x, y,
width, height), its score, then 17 COCO keypoints × (x, y, visibility), in network-input pixels
with the scores already through the sigmoid (Ultralytics' export decodes the head in the graph).
Frames reach the network letterboxed (see ``stages/preprocess.py``), and the keypoints this
returns are in network-input pixels; the worker maps them back to the frame.

Algorithm: candidates above ``score_threshold``, best first, greedy box NMS (IoU above
``iou_threshold`` suppresses, Ultralytics' default 0.7), at most ``max_people``. Every keypoint
keeps its position and visibility (the family's ``keypoint_threshold`` decides later what is
drawn and tracked); keypoints whose visibility is under ``keypoint_threshold`` here (0: none) or
whose position is not finite are reported missing.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import nms_kernels

ROW = 56


def decode(raw: np.ndarray, *, score_threshold: float = 0.05, iou_threshold: float = 0.7,
           keypoint_threshold: float = 0.0, max_people: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """``raw`` (56, N) (a leading batch axis of 1 accepted) → keypoints (n, 17, 3) float32 in
    network-input pixels and scores (n,) float32, best first."""
    return decode_with(nms_kernels, raw, score_threshold=score_threshold, iou_threshold=iou_threshold,
                       keypoint_threshold=keypoint_threshold, max_people=max_people)


def decode_with(backend: ModuleType, raw: np.ndarray, *, score_threshold: float = 0.05,
                iou_threshold: float = 0.7, keypoint_threshold: float = 0.0,
                max_people: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on a kernel backend: :mod:`~stages.decode.nms_kernels` or its numpy twin
    :mod:`~stages.decode.nms_reference` (used by the tests)."""
    raw = np.asarray(raw)
    if raw.ndim == 3 and raw.shape[0] == 1:
        raw = raw[0]
    if raw.ndim != 2 or raw.shape[0] != ROW:
        raise ValueError(f"yolo-pose: output must be (56, N), got {raw.shape}")
    raw = np.ascontiguousarray(raw, dtype=np.float32)
    kpts = np.zeros((max_people, 17, 3), np.float32)
    scores = np.zeros(max_people, np.float32)
    n = backend.yolo_pose_nms(raw, float(score_threshold), float(iou_threshold), float(keypoint_threshold),
                              kpts, scores)
    return kpts[:n].copy(), scores[:n].copy()


def warmup() -> None:
    """Compile (or load from the cache) the kernel on a tiny synthetic output."""
    raw = np.zeros((ROW, 4), np.float32)
    raw[:4] = np.array([[10, 11, 30, 40], [10, 11, 30, 40], [5, 5, 5, 5], [8, 8, 8, 8]], np.float32)
    raw[4] = [0.9, 0.8, 0.0, 0.3]
    raw[5::3] = 10.0
    raw[7::3] = 0.9
    decode(raw)

"""Decoders by model family: each takes the output maps of one frame (in the order the family's
preset lists them, batch axis included) and returns keypoints in network-input pixels."""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from pipeline.families import Family, ModelPlan

Decoder = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]


def make_decoder(plan: ModelPlan) -> tuple[Decoder, Callable[[], None]]:
    """The decoder for ``plan``'s family and its warm-up function."""
    family = Family.get(plan.family)
    module = importlib.import_module(f"stages.decode.{plan.family}")
    if plan.family == "movenet":
        threshold = float(family.preset.get("keypoint_threshold", 0.2))

        def decode(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], plan.net_h, plan.net_w, threshold)
    elif plan.family == "openpose":
        def decode(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], maps[1][0], stride=family.output_stride)
    elif plan.family == "ae":
        def decode(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], maps[1][0].reshape(maps[1].shape[1:4]),
                                 stride=plan.net_h // maps[0].shape[2])
    else:
        def decode(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            return module.decode_maps(maps, plan.net_h, plan.net_w)
    return decode, module.warmup


def to_frame(keypoints: np.ndarray, scale: float, pad_x: float, pad_y: float,
             frame_w: int, frame_h: int) -> np.ndarray:
    """Map keypoints from network-input pixels to frame pixels, in place; missing stay zero."""
    present = keypoints[..., 2] > 0
    keypoints[..., 0] = np.clip((keypoints[..., 0] - pad_x) / scale, 0, frame_w - 1)
    keypoints[..., 1] = np.clip((keypoints[..., 1] - pad_y) / scale, 0, frame_h - 1)
    keypoints[~present] = 0.0
    return keypoints

"""Decoders by model family: each takes the output maps of one frame (in the order the family's
preset lists them, batch axis included, one group per scale for a multi-scale plan) and returns
keypoints in network-input pixels (of the first scale)."""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from pipeline.models.families import Family, ModelPlan

from . import multiscale, plausible

Decoder = Callable[[list[np.ndarray]], tuple[np.ndarray, np.ndarray]]
ScaleDecoder = Callable[[list[np.ndarray], int, int], tuple[np.ndarray, np.ndarray]]


def _scale_decoder(plan: ModelPlan, family: Family, module, min_score: float = 0.0) -> ScaleDecoder:
    """The family's decoder for one scale's outputs at network input (h, w); people scoring under
    ``min_score`` may be left out."""
    if plan.family == "movenet":
        def decode(maps: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], h, w)
    elif plan.family == "openpose":
        limbs = np.array(family.preset["limbs"], dtype=np.int64)
        to_coco17 = np.array(family.preset["to_coco17"], dtype=np.int64)
        heat_out, heat_first, heat_end = family.preset["heatmaps"]
        paf_out, paf_first, paf_end = family.preset["pafs"]
        options = dict(family.preset.get("decode", {}))
        upsample = int(family.preset.get("map_upsample", 1))

        def decode(maps: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            pafs, heatmaps = maps[paf_out][0, paf_first:paf_end], maps[heat_out][0, heat_first:heat_end]
            if upsample > 1:
                pafs, heatmaps = module.upsample_maps(pafs, upsample), module.upsample_maps(heatmaps, upsample)
            return module.decode(pafs, heatmaps, stride=family.output_stride / upsample, limbs=limbs,
                                 to_coco17=to_coco17, **options)
    elif plan.family == "yolo-pose":
        options = dict(family.preset.get("decode", {}))
        if 0 < min_score < options.get("score_threshold", 0.0):  # -t under the candidates' floor
            options["score_threshold"] = min_score

        def decode(maps: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], **options)
    elif plan.family == "ae":
        def decode(maps: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            return module.decode(maps[0][0], maps[1][0].reshape(maps[1].shape[1:4]),
                                 stride=h // maps[0].shape[2])
    else:
        def decode(maps: list[np.ndarray], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
            return module.decode_maps(maps, h, w)
    return decode


def make_decoder(plan: ModelPlan, min_score: float = 0.0) -> tuple[Decoder, Callable[[], None]]:
    """The decoder for ``plan``'s family and its warm-up function. With several scales, people
    under ``min_score`` are dropped before the scales are merged."""
    family = Family.get(plan.family, plan.variant)
    module = importlib.import_module(f"stages.decode.{plan.family.replace('-', '_')}")
    single = _scale_decoder(plan, family, module, min_score)
    sizes = plan.all_scales
    if len(sizes) == 1:
        def decode(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            return single(maps, plan.net_h, plan.net_w)
        return decode, module.warmup

    per_scale = len(plan.outputs) // len(sizes)
    seen = family.keypoint_threshold
    oks_threshold = float(family.preset.get("oks_threshold", 0.5))
    near_min_height = float(family.preset.get("near_min_height", 0.0))

    def decode_all(maps: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        found = []
        for i, (h, w) in enumerate(sizes):
            kpts, scores = single(maps[i * per_scale:(i + 1) * per_scale], h, w)
            if i:  # the smaller sizes are there for people near the camera
                kpts, scores = multiscale.tall_only(kpts, scores, near_min_height * h, seen)
            found.append((multiscale.to_first_scale(kpts, (h, w), sizes[0]), scores))
        return multiscale.merge(found, min_score, oks_threshold, seen=seen)

    def warmup() -> None:
        module.warmup()
        multiscale.merge([(np.zeros((2, 17, 3), np.float32), np.ones(2, np.float32))], 0.0, 0.5)
    return decode_all, warmup


WeakFilter = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (keypoints, scores) -> the people kept


def weak_filter(plan: ModelPlan) -> WeakFilter | None:
    """The family's rule for its weakest people (see :mod:`.plausible`), or None."""
    family = Family.get(plan.family, plan.variant)
    below = float(family.preset.get("upright_below", 0.0))
    if below <= 0:
        return None
    ratio, seen = float(family.preset.get("upright_min_ratio", 0.6)), family.keypoint_threshold
    return lambda keypoints, scores: plausible.upright(keypoints, scores, below, ratio, seen)


def reported(keypoints: np.ndarray, scores: np.ndarray, threshold: float,
             weak: WeakFilter | None) -> tuple[np.ndarray, np.ndarray]:
    """The people a run reports of a decoder's ``(keypoints, scores)``: those scoring at least
    ``threshold`` that the family's ``weak`` rule (:func:`weak_filter`) keeps, as contiguous
    float32 arrays (still in network-input pixels: :func:`to_frame` maps them)."""
    keypoints = np.ascontiguousarray(keypoints, dtype=np.float32)
    scores = np.ascontiguousarray(scores, dtype=np.float32)
    keep = scores >= threshold
    keypoints, scores = keypoints[keep], scores[keep]
    if weak is not None and len(scores):
        keep = weak(keypoints, scores)
        keypoints, scores = keypoints[keep], scores[keep]
    return keypoints, scores


def default_threshold(plan: ModelPlan) -> float:
    """The pose score threshold of ``plan``'s family (its preset's ``prob_threshold``), for runs
    without ``-t``."""
    return float(Family.get(plan.family, plan.variant).preset["prob_threshold"])


def keypoint_threshold(plan: ModelPlan) -> float:
    """The keypoint score above which ``plan``'s keypoints are seen (drawn, tracked, counted)."""
    return Family.get(plan.family, plan.variant).keypoint_threshold


def to_frame(keypoints: np.ndarray, scale: float, pad_x: float, pad_y: float,
             frame_w: int, frame_h: int) -> np.ndarray:
    """Map keypoints from network-input pixels to frame pixels, in place; missing (score 0) stay
    zero. Positions are clipped to the frame."""
    present = keypoints[..., 2] > 0
    keypoints[..., 0] = np.clip((keypoints[..., 0] - pad_x) / scale, 0, frame_w - 1)
    keypoints[..., 1] = np.clip((keypoints[..., 1] - pad_y) / scale, 0, frame_h - 1)
    keypoints[~present] = 0.0
    return keypoints

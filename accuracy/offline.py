"""COCO keypoint AP of a compiled model, computed in this process (see the package's docstring)."""

from __future__ import annotations

import os
import threading
from typing import Any

import cv2
import numpy as np

from pipeline.errors import UsageError
from pipeline.eval.coco import Annotations, score
from pipeline.models.families import Family, ModelPlan, match_outputs, plan_model
from pipeline.models.inputs import input_converter, letterbox
from stages.decode.registry import make_decoder, reported, to_frame, weak_filter

Item = tuple[str, int]  # an image's path and its COCO id


class OfflineScorer:
    """``scorer(compiled_model, items) -> (AP, None)``: NNCF's validation function. ``items`` are
    :attr:`items` (or some of them); :meth:`tensor` gives an item's input tensor at its first size
    (what NNCF compares the outputs of candidate models on). ``threshold`` is the pose score under
    which nobody is reported (the evaluation's 0.01, as ``pipeline.eval`` uses)."""

    def __init__(self, model_path: str, family: str, annotations: str, images: str, tsize: int = 0,
                 threshold: float = 0.01, limit: int = 0) -> None:
        import openvino as ov

        self.model_path, self.family, self.tsize, self.threshold = model_path, family, tsize, threshold
        self.annotations = Annotations.load(annotations)
        if not os.path.isdir(images):
            raise UsageError(f"--images {images}: no such folder")
        names, _ = self.annotations.present(images)
        if not names:
            raise UsageError(f"--images {images}: none of the {len(self.annotations.ids)} images of {annotations} "
                             "is there")
        self.items: list[Item] = [(os.path.join(images, n), self.annotations.ids[n]) for n in names][:limit or None]
        self.core = ov.Core()
        self._element_type: Any = None
        self._plans: dict[tuple[int, int], tuple[ModelPlan, Any, Any]] = {}
        self._converters: dict[tuple[int, int], Any] = {}
        self._frames: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # NNCF may call from several threads; the caches and converters are shared

    # -- the steps of a run, in one process ------------------------------------------------------
    def frame(self, path: str) -> np.ndarray:
        if path not in self._frames:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise UsageError(f"cannot read image {path}")
            self._frames[path] = image
        return self._frames[path]

    def plan(self, frame_hw: tuple[int, int]) -> tuple[ModelPlan, Any, Any]:
        """The sizes, decoder and weak-people rule a run gives an image of ``frame_hw``."""
        if frame_hw not in self._plans:
            plan = plan_model(self.model_path, self.family, frame_hw, self.tsize)
            self._plans[frame_hw] = (plan, make_decoder(plan, self.threshold)[0], weak_filter(plan))
        return self._plans[frame_hw]

    def inputs(self, frame: np.ndarray, plan: ModelPlan) -> tuple[list[np.ndarray], float]:
        """The network's input tensor at each of the plan's sizes, and the first size's scale."""
        if self._element_type is None:
            from pipeline.models.families import read_model
            self._element_type = read_model(self.core, self.model_path).inputs[0].get_element_type()
        family = Family.get(plan.family, plan.variant)
        (h0, w0), tensors = plan.all_scales[0], []
        letterboxed = np.zeros((h0, w0, 3), np.uint8)
        first = letterbox(frame, letterboxed)
        for h, w in plan.all_scales:
            # the further sizes are the first size's tensor resized, as the run's model computes
            # them (stages/multiscale.py: the decoder maps their keypoints back by that ratio)
            pixels = letterboxed if (h, w) == (h0, w0) else cv2.resize(letterboxed, (w, h), interpolation=cv2.INTER_AREA)
            if (h, w) not in self._converters:
                self._converters[(h, w)] = input_converter(self.core, family, self._element_type, (h, w))
            tensors.append(np.asarray(self._converters[(h, w)](pixels[None])[0]))
        return tensors, first

    def poses(self, compiled: Any, path: str) -> tuple[np.ndarray, np.ndarray]:
        """Keypoints (people, 17, 3) in the image's pixels and the pose scores, as a run finds them."""
        with self._lock:
            frame = self.frame(path)
            plan, decode, weak = self.plan(frame.shape[:2])
            tensors, scale = self.inputs(frame, plan)
        family = Family.get(plan.family, plan.variant)
        ports = match_outputs(family, list(compiled.outputs))
        if ports is None:
            raise UsageError(f"{self.model_path}: its outputs do not fit -at {self.family}")
        maps: list[np.ndarray] = []
        for tensor in tensors:
            result = compiled(tensor)
            for port in ports:
                out = np.asarray(result[port])
                maps.append(out.transpose(0, 3, 1, 2) if family.output_layout == "NHWC" and out.ndim == 4 else out)
        keypoints, scores = reported(*decode(maps), self.threshold, weak)
        to_frame(keypoints, scale, 0.0, 0.0, frame.shape[1], frame.shape[0])
        return keypoints, scores

    # -- what NNCF calls ------------------------------------------------------------------------
    def ap(self, compiled: Any, items: Any = None) -> float:
        """COCO keypoint AP of ``compiled`` over ``items`` (default: all)."""
        chosen = list(self.items if items is None else items)
        results = []
        for path, image_id in chosen:
            keypoints, scores = self.poses(compiled, path)
            for person, pose_score in zip(keypoints, scores):
                flat = [round(float(v), 2) for v in person.reshape(-1)]
                results.append({"image_id": image_id, "category_id": 1, "keypoints": flat, "score": float(pose_score)})
        return float(score(self.annotations, results, [image_id for _, image_id in chosen])["AP"] or 0.0)

    def __call__(self, compiled: Any, items: Any) -> tuple[float, None]:
        return self.ap(compiled, items), None

    def tensor(self, item: Item) -> np.ndarray:
        with self._lock:
            frame = self.frame(item[0])
            tensors, _ = self.inputs(frame, self.plan(frame.shape[:2])[0])
        return tensors[0]

"""Calibration frames for quantization: ``count`` frames spread evenly over a clip (or the images
of a folder, or one image), each letterboxed to the network input size a run would give it and
converted by the run's own input steps, so NNCF sees the tensors the network sees in a run.

The set re-reads its frames on every pass NNCF makes over it (a grab skips between the chosen
frames without decoding them), so memory stays at one frame whatever ``count`` is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..models.families import Family, ModelPlan, plan_model, plan_scales
from ..models.inputs import input_converter, letterbox
from ..sources import SourceInfo, is_camera_id, is_stream_url, open_reader, probe


def spread(total: int, count: int) -> list[int]:
    """``count`` frame indices (at most ``total``) spread evenly over ``0..total-1``."""
    if total <= 0 or count <= 0:
        return []
    count = min(count, total)
    return sorted({int(i * total / count + total / (2 * count)) for i in range(count)})


def calibration_source(path: str) -> SourceInfo:
    """What ``--calibration`` names, or :class:`InputError`: a file or folder, not a camera."""
    if is_camera_id(path) or is_stream_url(path):  # refused before anything is opened
        raise InputError(f"--calibration {path}: a camera or stream; give a video file, an image or a folder of "
                         "images")
    info = probe(path)
    if info.live:
        raise InputError(f"--calibration {path}: a {info.kind}; give a video file, an image or a folder of images")
    return info


def zoomed(frame: np.ndarray, crops: int, number: int) -> list[np.ndarray]:
    """``crops`` crops of ``frame``, the k-th (k = 1, 2, …) 1/(k+1) of its sides, placed on a grid
    that moves from frame to frame (``number``): the people of a wide clip as a camera closer to
    them would see them, so that activation ranges also cover people filling the picture."""
    h, w = frame.shape[:2]
    out = []
    for k in range(1, crops + 1):
        ch, cw = max(1, h // (k + 1)), max(1, w // (k + 1))
        cells = (k + 1) * (k + 1)
        cell = (number * 7 + k) % cells
        y, x = (cell // (k + 1)) * (h - ch) // max(1, k), (cell % (k + 1)) * (w - cw) // max(1, k)
        out.append(frame[y:y + ch, x:x + cw])
    return out


@dataclass
class CalibrationSet:
    """The calibration frames of one source, as the model's input tensors (an iterable NNCF
    reads with :meth:`transform`)."""

    path: str
    info: SourceInfo
    family: str
    plan: ModelPlan
    count: int
    core: Any
    element_type: Any
    zoom: int = 0  # per frame, this many crops (1/2, 1/3, … of its sides) as well: people seen closer

    def __post_init__(self) -> None:
        self._family = Family.get(self.family, self.plan.variant)
        self._converters: dict[tuple[int, int], Any] = {}
        known = max(0, self.info.frames)
        self.indices = spread(known, self.count) if known else list(range(self.count))
        self.frame_hw = (self.info.frame_h, self.info.frame_w)

    def sizes(self, frame_hw: tuple[int, int]) -> list[tuple[int, int]]:
        """The network input sizes a run gives a frame of ``frame_hw`` (several with multi-scale)."""
        if frame_hw == self.frame_hw:
            return list(self.plan.all_scales)
        return plan_scales(self._family, frame_hw, 0, self.plan.model_input_hw)

    def frames(self) -> Iterator[np.ndarray]:
        """The chosen frames, BGR, in order."""
        reader = open_reader(self.path, self.info, loop=False)
        try:
            position = 0
            for index in self.indices:
                if index > position:
                    position += reader.skip(index - position)
                got = reader.read()
                if got is None:
                    return  # fewer frames than the container said
                position += 1
                yield got.frame
        finally:
            reader.close()

    def __iter__(self) -> Iterator[np.ndarray]:
        for number, frame in enumerate(self.frames()):
            for image in (frame, *zoomed(frame, self.zoom, number)):
                for h, w in self.sizes(image.shape[:2]):
                    out = np.zeros((h, w, 3), np.uint8)
                    letterbox(image, out)
                    yield out

    def __len__(self) -> int:
        return len(self.indices) * (1 + self.zoom) * len(self.plan.all_scales)

    def transform(self, pixels: np.ndarray) -> np.ndarray:
        """A letterboxed uint8 BGR frame → the model's input tensor, by the run's own input steps."""
        size = pixels.shape[:2]
        if size not in self._converters:
            self._converters[size] = input_converter(self.core, self._family, self.element_type, size)
        return self._converters[size](pixels[None])[0]


def calibration_set(model_path: str, family: str, path: str, count: int, core: Any, element_type: Any,
                    zoom: int = 0) -> CalibrationSet:
    """The calibration set for ``model_path`` of ``family`` from ``path``; one-line errors for a
    model that does not fit the family and an input that is no clip, image or folder."""
    info = calibration_source(path)
    plan = plan_model(model_path, family, (info.frame_h, info.frame_w))
    found = CalibrationSet(path, info, family, plan, count, core, element_type, zoom)
    if not found.indices:
        raise InputError(f"--calibration {path}: no frames")
    return found

"""One source of the run: what the user typed, and what probing it found."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SourceInfo:
    """What the launcher learnt about the input before starting the stages."""

    kind: str  # "image", "folder", "video", "camera", "stream"
    frame_h: int  # the first frame's size (network input size is chosen from it)
    frame_w: int
    max_frame_bytes: int  # the largest frame's size, for the frame ring's slots
    fps: float  # the source's own rate (0 if unknown)
    frames: int  # frames in one pass (0 if unknown or live)
    files: tuple[str, ...] = ()  # image files, in order, for image/folder inputs
    skipped: tuple[str, ...] = ()  # folder entries that are not readable images
    sizes: tuple[tuple[int, int], ...] = ()  # a folder's image sizes (h, w), in the order of ``files``

    @property
    def live(self) -> bool:
        return self.kind in ("camera", "stream")

    @property
    def sized(self) -> bool:
        """False for a live source that was not opened yet (down at start, or added with ``ctl
        add``): its frame size is learnt from its first frame, which is scaled into a frame slot."""
        return self.frame_h > 0 and self.frame_w > 0

    @classmethod
    def unopened(cls, kind: str) -> "SourceInfo":
        """A camera or stream not opened yet: size and rate unknown."""
        return cls(kind, 0, 0, 0, 0.0, 0)


@dataclass(frozen=True)
class SourceSpec:
    """One source of the run: its id, what the user typed, and what probing it found."""

    id: int
    text: str
    info: SourceInfo
    model: int = 0  # the network input shape its frames are letterboxed into (RunPlan.models)
    # a folder of images of several sizes: (h, w, model) for each size, so that each image is
    # inferred at the size it would get alone; other sizes use ``model``
    models_by_size: tuple[tuple[int, int, int], ...] = ()

    def model_of(self, h: int, w: int) -> int:
        """The model a frame of ``h`` × ``w`` of this source is inferred with."""
        for fh, fw, m in self.models_by_size:
            if (fh, fw) == (h, w):
                return m
        return self.model

    @property
    def live(self) -> bool:
        return self.info.live

    def to_dict(self) -> dict[str, Any]:
        info = dataclasses.asdict(self.info)
        info["files"], info["skipped"] = list(self.info.files), list(self.info.skipped)
        info["sizes"] = [list(s) for s in self.info.sizes]
        return {"id": self.id, "text": self.text, "info": info, "model": self.model,
                "models_by_size": [list(m) for m in self.models_by_size]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "SourceSpec":
        info = dict(raw["info"])
        info["files"], info["skipped"] = tuple(info.get("files", ())), tuple(info.get("skipped", ()))
        info["sizes"] = tuple((int(h), int(w)) for h, w in info.get("sizes", ()))
        by_size = tuple((int(h), int(w), int(m)) for h, w, m in raw.get("models_by_size", ()))
        return cls(int(raw["id"]), str(raw["text"]), SourceInfo(**info), int(raw.get("model", 0)), by_size)

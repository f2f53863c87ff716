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

    @property
    def live(self) -> bool:
        return self.info.live

    def to_dict(self) -> dict[str, Any]:
        info = dataclasses.asdict(self.info)
        info["files"], info["skipped"] = list(self.info.files), list(self.info.skipped)
        return {"id": self.id, "text": self.text, "info": info, "model": self.model}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "SourceSpec":
        info = dict(raw["info"])
        info["files"], info["skipped"] = tuple(info.get("files", ())), tuple(info.get("skipped", ()))
        return cls(int(raw["id"]), str(raw["text"]), SourceInfo(**info), int(raw.get("model", 0)))

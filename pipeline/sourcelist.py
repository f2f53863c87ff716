"""The run's sources: what ``-i`` names, how they are spread over capture processes, and where
each one's annotated output goes.

``-i`` may be given several times; ``-i LIST.streams`` reads one source per line (``#`` starts a
comment). A source's id is its 0-based position in the expanded list; sources added at run time
(``ctl add``) take the next free id.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Sequence

from .config import SourceInfo
from .errors import InputError, UsageError

STREAMS_SUFFIX = ".streams"


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


def is_stream_url(text: str) -> bool:
    """``rtsp://``, ``http(s)://`` and any other ``scheme://`` OpenCV's FFmpeg backend may open."""
    scheme, sep, rest = text.partition("://")
    return bool(sep and rest and scheme.replace("+", "").isalnum() and not os.path.exists(text))


def read_streams_file(path: str) -> list[str]:
    """The sources listed in a ``.streams`` file: one a line, ``#`` starts a comment."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the source list {path}: {getattr(exc, 'strerror', None) or exc}") from None
    found = []
    for line in lines:
        text = line.split("#", 1)[0].strip()
        if text:
            found.append(text)
    if not found:
        raise InputError(f"the source list {path} names no source")
    return found


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """``-i`` values in order, with every ``.streams`` file replaced by the sources it lists."""
    out: list[str] = []
    for text in inputs:
        if text.lower().endswith(STREAMS_SUFFIX) and os.path.isfile(text):
            out.extend(read_streams_file(text))
        else:
            out.append(text)
    if not out:
        raise UsageError("no input: give -i at least once")
    return out


def assign(source_ids: Sequence[int], workers: int) -> dict[int, list[int]]:
    """Spread sources over ``workers`` capture processes, round robin: worker -> source ids."""
    table: dict[int, list[int]] = {w: [] for w in range(workers)}
    for i, sid in enumerate(source_ids):
        table[i % workers].append(sid)
    return table


def capture_workers(requested: int, sources: int, cores: int | None = None) -> int:
    """``--capture-workers``, or by default one per two cores and never more than sources."""
    if requested:
        return max(1, min(requested, sources))
    cores = cores or os.cpu_count() or 2
    return max(1, min(sources, cores // 2))


def output_for(template: str | None, source: int, sources: int, info: SourceInfo) -> str | None:
    """Where source ``source``'s annotated output goes.

    One source: ``-o`` as given. Several: a ``{source}`` placeholder is filled in, or ``-o`` is a
    folder holding ``source<i>.mp4`` for videos and live sources, and a sub-folder ``source<i>/``
    of images for image and folder inputs."""
    if not template:
        return None
    if "{source}" in template:
        return template.replace("{source}", str(source))
    if sources == 1 and source == 0:
        return template
    ext = os.path.splitext(template)[1]
    if ext:
        raise UsageError(f"-o {template}: with several sources give a folder or a name with {{source}} "
                         f"(for example out_{{source}}{ext})")
    if info.kind in ("image", "folder"):
        return os.path.join(template, f"source{source}")
    return os.path.join(template, f"source{source}.mp4")

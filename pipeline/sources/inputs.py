"""What ``-i`` names: files, folders, camera ids and stream URLs, and ``.streams`` lists of them.

``-i`` may be given several times; ``-i LIST.streams`` reads one source per line (``#`` starts a
comment). A source's id is its 0-based position in the expanded list; sources added at run time
(``ctl add``) take the next free id.
"""

from __future__ import annotations

import os
from typing import Sequence

from ..errors import InputError, UsageError

STREAMS_SUFFIX = ".streams"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2")


def is_camera_id(text: str) -> bool:
    return text.isdigit()


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

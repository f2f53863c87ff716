"""What ``-i`` names: files, folders, camera ids and stream URLs, and ``.streams`` lists of them.

``-i`` may be given several times; ``-i LIST.streams`` reads one source per line (``#`` starts a
comment; a relative path in it is taken from the list's folder). A source's id is its 0-based position in the expanded list; sources added at run time
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


def live_kind(text: str) -> str | None:
    """"camera" for a camera id, "stream" for a stream URL, None for a file or folder."""
    if is_camera_id(text):
        return "camera"
    return "stream" if is_stream_url(text) else None


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


def _against_list(entry: str, listing: str) -> str:
    """A relative file or folder named in a list is relative to the list's folder (as in a
    playlist), whatever the working directory; camera ids and URLs are kept as they are."""
    if live_kind(entry) is not None or os.path.isabs(entry):
        return entry
    return os.path.join(os.path.dirname(listing), entry)


def is_source_list(text: str) -> bool:
    return text.lower().endswith(STREAMS_SUFFIX) and os.path.isfile(text)


def source_lists(inputs: Sequence[str]) -> list[str]:
    """The ``.streams`` files among ``-i`` values (inputs of the run too: no output may be one)."""
    return [text for text in inputs if is_source_list(text)]


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """``-i`` values in order, with every ``.streams`` file replaced by the sources it lists
    (relative paths in it taken from the list's folder)."""
    out: list[str] = []
    for text in inputs:
        if is_source_list(text):
            out.extend(_against_list(entry, text) for entry in read_streams_file(text))
        else:
            out.append(text)
    if not out:
        raise UsageError("no input: give -i at least once")
    return out

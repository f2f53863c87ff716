"""Checks on input files that do not trust what a container says about itself.

* :func:`gif_frames`: walks a GIF's blocks and counts its frames; a GIF that ends before its
  trailer is damaged, whatever frame count FFmpeg estimates for it (it counts only the frames
  it could decode, so a truncated GIF would otherwise look whole).
* :func:`looks_like_text`: FFmpeg's ``tty`` demuxer plays any text file as a video of rendered
  characters; a file whose start is plain text is not a video for this pipeline.
* :func:`fit_pixels`: the size to scale an image down to so that it fits a ring slot.
"""

from __future__ import annotations

import math
from typing import BinaryIO

TEXT_SNIFF_BYTES = 4096


def _skip_sub_blocks(f: BinaryIO) -> bool:
    """Skip a chain of GIF data sub-blocks; False if the file ends inside it."""
    while True:
        size = f.read(1)
        if not size:
            return False
        if size[0] == 0:
            return True
        data = f.read(size[0])
        if len(data) < size[0]:
            return False


def gif_frames(path: str) -> tuple[int, bool] | None:
    """(complete frames, whether the file is whole) for a GIF; None if ``path`` is not a GIF.
    "Whole" means every block parses and the trailer is there."""
    with open(path, "rb") as f:
        head = f.read(13)
        if len(head) < 13 or head[:6] not in (b"GIF87a", b"GIF89a"):
            return None
        packed = head[10]
        if packed & 0x80:  # global colour table
            size = 3 * (1 << ((packed & 7) + 1))
            if len(f.read(size)) < size:
                return 0, False
        frames = 0
        while True:
            kind = f.read(1)
            if not kind:
                return frames, False
            if kind == b"\x3b":  # trailer
                return frames, True
            if kind == b"\x21":  # extension: label, then sub-blocks
                if not f.read(1) or not _skip_sub_blocks(f):
                    return frames, False
            elif kind == b"\x2c":  # image descriptor
                desc = f.read(9)
                if len(desc) < 9:
                    return frames, False
                if desc[8] & 0x80:  # local colour table
                    size = 3 * (1 << ((desc[8] & 7) + 1))
                    if len(f.read(size)) < size:
                        return frames, False
                if not f.read(1) or not _skip_sub_blocks(f):  # LZW minimum code size, then data
                    return frames, False
                frames += 1
            else:
                return frames, False  # not a GIF block: damaged


def looks_like_text(path: str) -> bool:
    """Whether the file starts like a text file: no NUL byte, valid UTF-8 (a character cut at
    the end of the sample aside) and printable characters, tabs, line ends or ANSI escapes."""
    with open(path, "rb") as f:
        head = f.read(TEXT_SNIFF_BYTES)
    if not head or b"\0" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return False
        text = head[:exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f\v\x1b" for ch in text)


def fit_pixels(h: int, w: int, max_bytes: int, channels: int = 3) -> tuple[int, int]:
    """The largest (h, w) with the aspect ratio of ``h`` x ``w`` whose pixels fit ``max_bytes``
    (itself if it fits already)."""
    if h * w * channels <= max_bytes:
        return h, w
    scale = math.sqrt(max_bytes / (h * w * channels))
    nh, nw = max(1, int(h * scale)), max(1, int(w * scale))
    while nh * nw * channels > max_bytes:
        nh, nw = max(1, nh - 1), max(1, nw - 1)
    return nh, nw


__all__ = ["fit_pixels", "gif_frames", "looks_like_text"]

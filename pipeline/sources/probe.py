"""What an input is: :func:`probe` looks at it once, before any stage starts, and says what it
is, how large its frames are and (for folders) which files are images. Errors are
:class:`InputError` with one line: "wrong kind of input" and "input is broken" are told apart.
"""

from __future__ import annotations

import os
import stat
import struct

import cv2
import numpy as np
from config import load_defaults

from ..errors import InputError
from . import cvpath
from .filecheck import fit_pixels, looks_like_text
from .inputs import IMAGE_EXTENSIONS, is_camera_id, is_stream_url
from .readers import open_capture
from .spec import SourceInfo

_LIMITS = load_defaults()["limits"]
MAX_FRAME_PIXELS = int(_LIMITS["max_frame_pixels"])  # images beyond are scaled down when read
MAX_IMAGE_PIXELS = int(_LIMITS["max_image_pixels"])  # a header claiming more is not believed



# ---------------------------------------------------------------------------------------------
# image sizes without decoding


def _png_size(head: bytes) -> tuple[int, int] | None:
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return h, w
    return None


def _jpeg_size(path: str) -> tuple[int, int] | None:
    with open(path, "rb") as f:
        if f.read(2) != b"\xff\xd8":
            return None
        while True:
            marker = f.read(2)
            if len(marker) < 2 or marker[0] != 0xFF:
                return None
            code = marker[1]
            if code in (0xD8, 0x01) or 0xD0 <= code <= 0xD7:
                continue
            length_raw = f.read(2)
            if len(length_raw) < 2:
                return None
            length = struct.unpack(">H", length_raw)[0]
            if code in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                data = f.read(5)
                if len(data) < 5:
                    return None
                h, w = struct.unpack(">HH", data[1:5])
                return h, w
            f.seek(length - 2, os.SEEK_CUR)


def image_size(path: str) -> tuple[int, int] | None:
    """(height, width) of an image file, read from its header where possible; None if the file
    is not a readable image."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
        size = _png_size(head) or (_jpeg_size(path) if head[:2] == b"\xff\xd8" else None)
        if size and size[0] > 0 and size[1] > 0:
            return size
        img = cvpath.imread(path)
        return None if img is None else (img.shape[0], img.shape[1])
    except (OSError, struct.error, cv2.error):
        return None


# ---------------------------------------------------------------------------------------------
# probing


def probe(text: str, stream_timeout_s: float = 0.0) -> SourceInfo:
    """Say what ``text`` names and how large its frames are, or raise :class:`InputError`.
    ``stream_timeout_s`` bounds opening a stream URL and reading its first frame (0: FFmpeg's
    timeouts as the readers use them)."""
    if is_camera_id(text):
        frame, fps, _ = _first_frame(int(text), f"cannot open camera {text}: no such camera or it is busy",
                                     f"camera {text} opened but delivered no frame")
        h, w = frame.shape[:2]
        return SourceInfo("camera", h, w, _frame_bytes(h, w), fps, 0)
    if is_stream_url(text):
        frame, fps, _ = _first_frame(text, f"cannot open stream {text}: unreachable, refused, or not a stream FFmpeg "
                                           "can read", f"stream {text} opened but delivered no frame",
                                     stream_timeout_s)
        h, w = frame.shape[:2]
        return SourceInfo("stream", h, w, _frame_bytes(h, w), fps if 0 < fps < 1000 else 0.0, 0)
    if not os.path.exists(text):
        raise InputError(f"input not found: {text}")
    if not (stat.S_ISREG(os.stat(text).st_mode) or os.path.isdir(text)):
        # opening a FIFO blocks until a writer comes, and a device may never end
        raise InputError(f"{text}: not a regular file (a FIFO, socket or device); give an image, a folder, "
                         "a video file or a camera id")
    if os.path.isdir(text):
        return _probe_folder(text)
    if text.lower().endswith(IMAGE_EXTENSIONS):
        size = image_size(text)
        if size is None:
            raise InputError(f"cannot read image {text}: not an image or the file is damaged")
        if size[0] * size[1] > MAX_IMAGE_PIXELS:
            raise InputError(f"cannot read image {text}: its header claims {size[1]}x{size[0]} pixels "
                             "(damaged?)")
        # the frame ring holds what capture will put there: an image beyond the limit, scaled down
        slot = min(_frame_bytes(*size), MAX_FRAME_PIXELS * 3)
        return SourceInfo("image", size[0], size[1], slot, 0.0, 1, files=(text,))
    return _probe_video(text)


def _frame_bytes(h: int, w: int) -> int:
    return h * w * 3


def _probe_folder(folder: str) -> SourceInfo:
    names = sorted(os.listdir(folder))
    files: list[str] = []
    skipped: list[str] = []
    sizes: list[tuple[int, int]] = []
    for name in names:
        path = os.path.join(folder, name)
        if not os.path.isfile(path) or name.startswith("."):
            continue
        size = image_size(path) if name.lower().endswith(IMAGE_EXTENSIONS) else None
        if size is None or size[0] * size[1] > MAX_IMAGE_PIXELS:  # unreadable, or claims a size no image has
            skipped.append(name)
            continue
        files.append(path)
        sizes.append(size)
    if not files:
        what = f" ({len(skipped)} other files)" if skipped else ""
        raise InputError(f"no images in folder {folder}{what}")
    h, w = sizes[0]
    biggest = min(max(_frame_bytes(*s) for s in sizes), MAX_FRAME_PIXELS * 3)  # larger ones are scaled down
    # an image larger than a frame slot is scaled down by the reader: record the size it will have
    sizes = [s if _frame_bytes(*s) <= biggest else fit_pixels(s[0], s[1], biggest) for s in sizes]
    return SourceInfo("folder", h, w, biggest, 0.0, len(files), files=tuple(files), skipped=tuple(skipped),
                      sizes=tuple(sizes))


def _first_frame(target: str | int, cannot_open: str, no_frame: str,
                 timeout_s: float = 0.0) -> tuple[np.ndarray, float, int]:
    """Open a video or camera, read its first frame; (frame, fps, frame count) or InputError."""
    cap = open_capture(target, timeout_s, timeout_s)
    try:
        if not cap.isOpened():
            raise InputError(cannot_open)
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InputError(no_frame)
        return frame, float(cap.get(cv2.CAP_PROP_FPS) or 0.0), int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()


def _probe_video(path: str) -> SourceInfo:
    if looks_like_text(path):
        raise InputError(f"cannot read {path}: a text file, not an image, a video or a camera id")
    frame, fps, count = _first_frame(path, f"cannot open {path}: not an image, a video or a camera id OpenCV can read",
                                     f"cannot read any frame from {path}: the video is empty or damaged")
    h, w = frame.shape[:2]
    return SourceInfo("video", h, w, _frame_bytes(h, w), fps if 0 < fps < 1000 else 0.0, max(count, 0))

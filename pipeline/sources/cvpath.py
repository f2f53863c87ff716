"""File names OpenCV can take, whatever bytes they hold.

OpenCV's Python bindings convert a ``str`` path to UTF-8; a name that is not valid UTF-8 (on
Linux a file name is any bytes; Python carries the odd ones as lone surrogates) makes that
conversion crash the process with SIGSEGV. So images are read and written through Python's own
file functions (``imdecode``/``imencode``), and a video opened or written by FFmpeg gets a
plainly named symbolic link to the file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator

import cv2
import numpy as np


def opencv_safe(path: str) -> bool:
    """Whether OpenCV can take ``path`` as it is (it encodes to UTF-8)."""
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


@contextlib.contextmanager
def opencv_name(path: str) -> Iterator[str]:
    """A name for ``path`` that OpenCV can take, valid inside the ``with`` block: the path
    itself, or a symbolic link to it with a plain name and the same extension (FFmpeg chooses
    a container by extension) in a private temporary folder. FFmpeg opens the file when the
    capture or writer is made, so the link may go right after."""
    if opencv_safe(path):
        yield path
        return
    ext = os.path.splitext(path)[1]
    folder = tempfile.mkdtemp(prefix="posepipe-name-")
    link = os.path.join(folder, "file" + (ext if opencv_safe(ext) else ""))
    try:
        os.symlink(os.path.abspath(path), link)
        yield link
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def imread(path: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray | None:
    """``cv2.imread`` for any file name; None if the file cannot be read or decoded."""
    if opencv_safe(path):
        return cv2.imread(path, flags)
    try:
        with open(path, "rb") as f:
            data = np.frombuffer(f.read(), np.uint8)
    except OSError:
        return None
    return cv2.imdecode(data, flags) if data.size else None


def imwrite(path: str, image: np.ndarray) -> bool:
    """``cv2.imwrite`` for any file name; False if it could not be encoded or written."""
    if opencv_safe(path):
        return bool(cv2.imwrite(path, image))
    ext = os.path.splitext(path)[1] or ".jpg"
    try:
        ok, data = cv2.imencode(ext, image)
    except cv2.error:
        return False
    if not ok:
        return False
    try:
        with open(path, "wb") as f:
            f.write(data.tobytes())
    except OSError:
        return False
    return True


__all__ = ["imread", "imwrite", "opencv_name", "opencv_safe"]

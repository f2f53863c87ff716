"""Where the run's outputs go, checked before any stage starts: each source's ``-o`` path, what
kind of output it is, and that its folder can be written.

* ``-o out.mp4`` / ``.avi`` / ``.mkv`` / ``.mov`` / ``.m4v``: a video at the source's rate;
* ``-o out.jpg`` (or another image extension) with a single image input: that image;
* ``-o DIR`` (no extension) with image or folder inputs: one image per input file, same names;
  with a video or camera input: one numbered JPEG per frame.
"""

from __future__ import annotations

import os
import tempfile

from ..errors import UsageError
from ..sources.inputs import IMAGE_EXTENSIONS
from ..sources.spec import SourceInfo

# the video containers -o may name, with the codec the writer (stages.writers) uses for each
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "XVID"}


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


def output_kind(path: str, source: SourceInfo) -> str:
    """"video", "image" or "folder"; raises :class:`UsageError` for a path that cannot work."""
    ext = os.path.splitext(path)[1].lower()
    if ext in VIDEO_CODECS:
        kind = "video"
    elif ext in IMAGE_EXTENSIONS:
        if source.kind != "image":
            raise UsageError(f"-o {path}: an image file holds one frame; give a video file or a folder")
        kind = "image"
    elif ext == "":
        kind = "folder"
    else:
        raise UsageError(f"-o {path}: unknown extension {ext!r} (video: {', '.join(VIDEO_CODECS)}; "
                         "image: .jpg, .png, …; or a folder)")
    if kind != "folder" and os.path.isdir(path):
        raise UsageError(f"-o {path}: is a folder, not a {kind} file")
    if kind == "folder" and os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"-o {path}: is a file, not a folder (give a video name, or a folder)")
    check_writable_folder(os.path.abspath(path) if kind == "folder" else os.path.dirname(os.path.abspath(path)),
                          f"-o {path}")
    return kind


def check_writable_folder(folder: str, what: str) -> None:
    """Create ``folder`` if needed and prove a file can be written in it; else :class:`UsageError`."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".posepipe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{what}: cannot write there ({exc.strerror or exc})") from None


def check_writable_file(path: str, option: str) -> None:
    """``--poses-out`` and the like: a file (not a folder) in a folder that can be written."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a folder")
    check_writable_folder(os.path.dirname(os.path.abspath(path)), f"{option} {path}")

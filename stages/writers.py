"""``-o`` outputs: an annotated video, or annotated images for image and folder inputs (which
kind a path asks for, and the checks made before the run starts: :mod:`pipeline.outputs.paths`).

.avi goes through this project's Motion-JPEG writer (:mod:`stages.avi`), which writes every frame
as it comes: if the process is killed the file still plays up to that frame. The other
containers go through OpenCV/FFmpeg and are finalised on close.
"""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np

from pipeline.outputs.paths import VIDEO_CODECS, output_kind
from pipeline.sources import cvpath
from pipeline.sources.spec import SourceInfo

from .avi import MjpegAviWriter

# room kept free on the output's file system while FFmpeg writes, so that the container can be
# finalised: its index (an .mp4's moov atom) takes a few dozen bytes a frame
FINALISE_RESERVE_BYTES = 1 << 20
INDEX_BYTES_PER_FRAME = 64



class OutputWriter:
    def __init__(self, path: str, kind: str, fps: float) -> None:
        self.path, self.kind, self.fps = path, kind, fps
        self._video: cv2.VideoWriter | MjpegAviWriter | None = None
        self._size: tuple[int, int] | None = None
        self.count = 0
        if kind == "folder":
            os.makedirs(path, exist_ok=True)

    def write(self, image: np.ndarray, name: str = "") -> None:
        if self.kind == "video":
            self._write_video(image)
        elif self.kind == "image":
            self._imwrite(self.path, image)
        else:
            base = name or f"frame_{self.count:06d}.jpg"
            self._imwrite(os.path.join(self.path, base), image)
        self.count += 1

    def _imwrite(self, path: str, image: np.ndarray) -> None:
        if not cvpath.imwrite(path, image):
            try:
                os.unlink(path)  # no torn image left behind
            except OSError:
                pass
            raise OSError(f"cannot write {path}")

    def _write_video(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._video is None:
            ext = os.path.splitext(self.path)[1].lower()
            if ext == ".avi":
                self._video = MjpegAviWriter(self.path, self.fps)
            else:
                fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[ext])
                with cvpath.opencv_name(self.path) as name:
                    self._video = cv2.VideoWriter(name, cv2.CAP_FFMPEG, fourcc, self.fps, (w, h))
                if not self._video.isOpened():
                    raise OSError(f"cannot open video writer for {self.path}")
            self._size = (w, h)
        if (w, h) != self._size:
            image = cv2.resize(image, self._size)
        self._video.write(image)
        if isinstance(self._video, cv2.VideoWriter):
            self._check_room()

    def _check_room(self) -> None:
        """``cv2.VideoWriter.write`` reports nothing, and FFmpeg drops what it cannot write: stop
        while the file system still has room to finalise the container (the index of an .mp4
        is written last), so that the video plays up to here."""
        try:
            st = os.statvfs(os.path.dirname(os.path.abspath(self.path)))
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        if free < FINALISE_RESERVE_BYTES + INDEX_BYTES_PER_FRAME * (self.count + 1):
            raise OSError(errno.ENOSPC, f"no space left on the device for {self.path} (stopped after "
                                        f"{self.count + 1} frames, with room to finalise it)")

    def close(self) -> None:
        if self._video is None:
            return
        video, self._video = self._video, None
        video.release()
        if isinstance(video, cv2.VideoWriter):
            self._verify()

    def _verify(self) -> None:
        """A finalised video must read back with every frame written (a full disk or a file
        size limit leaves an unreadable or short file, silently)."""
        with cvpath.opencv_name(self.path) as name:
            cap = cv2.VideoCapture(name)
        try:
            found = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        finally:
            cap.release()
        if found < self.count:
            raise OSError(errno.EIO, f"{self.path} is incomplete: {found} of {self.count} frames can be read back "
                                     "(disk full or file size limit?)")


def open_output(path: str, source: SourceInfo) -> OutputWriter:
    fps = source.fps if source.fps > 0 else (1.0 if source.kind in ("image", "folder") else 25.0)
    return OutputWriter(path, output_kind(path, source), fps)

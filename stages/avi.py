"""A Motion-JPEG AVI writer that survives being killed.

Each frame is JPEG-encoded with ``cv2.imencode`` (libjpeg-turbo: about a sixth of the CPU time of
OpenCV's own MJPEG writer here) and appended to the file at once. The header is written first
with provisional sizes, and the index and the final sizes on :meth:`close`; a file whose writer
was killed has no index, which players rebuild by scanning, so it still plays up to the last
frame written. A file that would pass the RIFF limit is continued in ``name-001.avi`` and so on.
"""

from __future__ import annotations

import os
import struct

import cv2
import numpy as np

AVIF_HASINDEX = 0x10
AVIIF_KEYFRAME = 0x10
LIMIT_BYTES = 3_900_000_000  # RIFF sizes are 32-bit; stay clear of 4 GiB
_INDEX_ENTRY = struct.Struct("<4sIII")
# Provisional sizes written before the file is finished: "as long as the file", for readers
# of a file whose writer died.
_OPEN_SIZE = 0x7FFFFFF0


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    pad = b"\0" if len(payload) % 2 else b""
    return fourcc + struct.pack("<I", len(payload)) + payload + pad


def _header(width: int, height: int, fps: float, frames: int, riff_size: int, movi_size: int,
            max_chunk: int, indexed: bool = True) -> bytes:
    usec = int(round(1e6 / fps)) if fps > 0 else 40000
    rate, scale = (int(round(fps * 1000)), 1000) if fps > 0 else (25, 1)
    flags = AVIF_HASINDEX if indexed else 0
    avih = struct.pack("<IIIIIIIIII16x", usec, max_chunk * int(fps or 25), 0, flags, frames, 0, 1,
                       max_chunk, width, height)
    strh = struct.pack("<4s4sIHHIIIIIIIIhhhh", b"vids", b"MJPG", 0, 0, 0, 0, scale, rate, 0, frames, max_chunk,
                       0xFFFFFFFF, 0, 0, 0, width, height)
    strf = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
    strl = b"LIST" + struct.pack("<I", 4 + 8 + len(strh) + 8 + len(strf)) + b"strl" + _chunk(b"strh", strh) + \
        _chunk(b"strf", strf)
    hdrl_body = b"hdrl" + _chunk(b"avih", avih) + strl
    hdrl = b"LIST" + struct.pack("<I", len(hdrl_body)) + hdrl_body
    return b"RIFF" + struct.pack("<I", riff_size) + b"AVI " + hdrl + b"LIST" + struct.pack("<I", movi_size) + b"movi"


class MjpegAviWriter:
    """``write(image)`` appends one BGR frame; ``close()`` writes the index and final sizes."""

    def __init__(self, path: str, fps: float, quality: int = 90) -> None:
        self.base, self.fps, self.quality = path, fps, quality
        self.frames_total = 0
        self._part = 0
        self._file = None
        self._size: tuple[int, int] | None = None
        self._open(path)

    def _open(self, path: str) -> None:
        self._path = path
        self._file = open(path, "wb")
        self._index = bytearray()  # the idx1 entries, 16 bytes a frame (offset from 'movi', size)
        self._frames = 0
        self._max_chunk = 0
        self._header_len = 0
        self._bytes = 0

    def _next_part(self) -> None:
        self.close()
        self._part += 1
        stem, ext = os.path.splitext(self.base)
        self._open(f"{stem}-{self._part:03d}{ext}")

    def write(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        if self._size is None:
            self._size = (w, h)
        elif (w, h) != self._size:
            image = cv2.resize(image, self._size)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise OSError(f"cannot encode a frame for {self._path}")
        data = jpeg.tobytes()
        if self._bytes + len(data) + len(self._index) + 16 > LIMIT_BYTES:
            self._next_part()
        assert self._file is not None
        try:
            if not self._header_len:
                header = _header(self._size[0], self._size[1], self.fps, 0, _OPEN_SIZE, _OPEN_SIZE, 1 << 20)
                self._file.write(header)
                self._file.flush()
                self._header_len = len(header)
            self._file.write(_chunk(b"00dc", data))
            self._file.flush()  # in the kernel now: it survives this process being killed
        except OSError:
            self._cut_back()  # a disk that filled up: the file keeps every whole frame, and no torn one
            raise
        self._index += _INDEX_ENTRY.pack(b"00dc", AVIIF_KEYFRAME, 4 + self._bytes, len(data))
        self._frames += 1
        self._bytes += 8 + len(data) + len(data) % 2
        self._max_chunk = max(self._max_chunk, len(data))
        self.frames_total += 1

    def _cut_back(self) -> None:
        """After a failed write: drop what the buffer still holds and truncate the file to its
        last whole frame, so that it plays (by scanning) up to there."""
        assert self._file is not None
        f, self._file = self._file, None
        good = self._header_len + self._bytes
        fd = os.dup(f.fileno())
        try:
            try:
                f.close()  # flushes, and fails again: what it held is dropped with it
            except OSError:
                pass
            os.ftruncate(fd, good)
            if self._header_len:
                assert self._size is not None
                header = _header(self._size[0], self._size[1], self.fps, self._frames, good - 8,
                                 4 + self._bytes, self._max_chunk, indexed=False)
                os.pwrite(fd, header, 0)  # rewrites bytes already there: needs no new space
        finally:
            os.close(fd)

    def release(self) -> None:
        """``close`` under ``cv2.VideoWriter``'s name, so that callers treat both alike."""
        self.close()

    def close(self) -> None:
        if self._file is None:
            return
        f = self._file
        try:
            if not self._header_len:
                return  # nothing written: leave an empty file
            index = bytes(self._index)
            try:
                f.write(_chunk(b"idx1", index))
                f.flush()
            except OSError:
                self._cut_back()  # no room for the index: players rebuild it by scanning
                raise
            self._file = None
            movi_size = 4 + self._bytes
            riff_size = self._header_len - 8 + self._bytes + 8 + len(index)
            assert self._size is not None
            header = _header(self._size[0], self._size[1], self.fps, self._frames, riff_size, movi_size,
                             self._max_chunk)
            f.seek(0)
            f.write(header)
        finally:
            self._file = None
            if not f.closed:
                f.close()

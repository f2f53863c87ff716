"""Readers: what yields a source's frames in its capture process. :func:`open_reader` gives the
reader for what :func:`~pipeline.sources.probe.probe` found: images (one, or a folder), a video
file, or a live camera or stream (opened, reopened with back-off and watched for stalls on a
thread of its own).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..errors import InputError
from . import cvpath
from .filecheck import fit_pixels, gif_frames
from .inputs import is_stream_url
from .spec import SourceInfo

# How long FFmpeg may take to open a network stream, and to wait for its next frame, before the
# read fails (and the live reader reopens it with back-off).
STREAM_OPEN_TIMEOUT_S = 10.0


def open_capture(target: str | int, read_timeout_s: float = 0.0, open_timeout_s: float = 0.0) -> cv2.VideoCapture:
    """OpenCV's capture of a camera id, a stream URL (with FFmpeg's timeouts) or a video file."""
    # FFmpeg keeps its own decoding threads: one thread saves ~0.07 ms of CPU per 768x432 frame
    # but adds ~0.2 ms to each frame's latency in Min latency mode (measured), so leave them be
    if isinstance(target, int):
        return cv2.VideoCapture(target)
    if is_stream_url(target):
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int((open_timeout_s or STREAM_OPEN_TIMEOUT_S) * 1000)]
        if read_timeout_s > 0:
            params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]
        return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
    with cvpath.opencv_name(target) as name:  # FFmpeg opens the file here: any file name works
        return cv2.VideoCapture(name)


@dataclass
class Captured:
    frame: np.ndarray  # BGR uint8 (h, w, 3), owned by the reader until the next read
    index: int  # the frame's number in its source (counting across loops)
    name: str  # file name for image inputs, "" otherwise
    t_read_ns: int  # when reading this frame started (live: when it was grabbed)


class Reader:
    """Yields frames; :meth:`read` returns None at the end of the input (a live reader: when no
    new frame is there yet)."""

    live = False
    error: str = ""  # set when the input broke before its end
    warnings: list[str]

    def read(self, into: np.ndarray | None = None) -> Captured | None:
        """The next frame. A reader may decode straight into ``into`` (a buffer of the expected
        frame size) and return it as the frame; callers check with ``np.shares_memory``."""
        raise NotImplementedError

    def skip(self, frames: int) -> int:
        """Pass over the next ``frames`` frames (a restarted capture resumes after the last frame
        its predecessor delivered); returns how many there were."""
        for done in range(frames):
            if self.read() is None:
                return done
        return frames

    @property
    def state(self) -> str:
        return "reading"

    def fileno(self) -> int | None:
        """A descriptor that becomes readable when a new frame is there (live readers), else None."""
        return None

    def close(self) -> None:
        pass


def _to_bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


class ImageReader(Reader):
    def __init__(self, files: tuple[str, ...], loop: bool, max_bytes: int = 0) -> None:
        self.files, self.loop = files, loop
        self.max_bytes = max_bytes  # a ring slot: an image that grew since the probe is scaled down
        self._shrunk: set[str] = set()
        self.warnings = []
        self._next = 0
        self._count = 0  # frames delivered, across loops
        self._cache: np.ndarray | None = None  # a single image looped is decoded once

    def skip(self, frames: int) -> int:
        if frames <= 0:
            return 0
        if not self.loop:
            frames = min(frames, len(self.files) - self._next)
        self._next = (self._next + frames) % len(self.files) if self.loop else self._next + frames
        self._count += frames
        return frames

    def read(self, into: np.ndarray | None = None) -> Captured | None:
        while True:
            if self._next >= len(self.files):
                if not self.loop:
                    return None
                self._next = 0
            i = self._next
            self._next += 1
            t = time.monotonic_ns()
            path = self.files[i % len(self.files)]
            if len(self.files) == 1 and self._cache is not None:
                img = self._cache
            else:
                img = cvpath.imread(path)
            if img is None:
                self.warnings.append(f"skipped {path}: cannot be decoded")
                if len(self.warnings) > len(self.files) + len(self._shrunk):
                    return None  # every file is broken: do not spin on --loop
                continue
            if self.max_bytes and img.shape[0] * img.shape[1] * 3 > self.max_bytes:
                h, w = fit_pixels(img.shape[0], img.shape[1], self.max_bytes)
                if path not in self._shrunk:  # once per file, not once per loop
                    self._shrunk.add(path)
                    self.warnings.append(f"{path} ({img.shape[1]}x{img.shape[0]}) is larger than a frame slot "
                                         f"(the pixel limit, or its size when the run started): processed at "
                                         f"{w}x{h}")
                img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
            if len(self.files) == 1:
                self._cache = img
            self._count += 1
            return Captured(_to_bgr(img), self._count - 1, os.path.basename(path), t)


class VideoReader(Reader):
    def __init__(self, path: str, loop: bool, expected_frames: int = 0) -> None:
        self.path, self.loop, self.expected = path, loop, expected_frames
        self.warnings = []
        self._cap = open_capture(path)
        if not self._cap.isOpened():
            raise InputError(f"cannot open {path}")
        self._count = 0
        self._in_pass = 0
        gif = gif_frames(path)  # a GIF's own blocks say whether it is whole; FFmpeg's count cannot
        self._damaged = gif is not None and not gif[1]

    def skip(self, frames: int) -> int:
        """Grab without decoding the pixels: resuming deep into a file costs little."""
        done = 0
        while done < frames:
            if self._cap.grab():
                self._count += 1
                self._in_pass += 1
                done += 1
                continue
            if not self.loop or self._in_pass == 0:
                break
            self._reopen()
        return done

    def _reopen(self) -> None:
        """Back to the first frame for the next pass of ``--loop``: a seek, not a new capture.
        OpenCV opens every FFmpeg capture of a process under one lock, so a reopen would wait
        for a network stream of the same process that hangs in its own open (up to the stream's
        open timeout), and with it every other source of the process."""
        self._in_pass = 0
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0) and self._cap.get(cv2.CAP_PROP_POS_FRAMES) == 0:
            return
        self._cap.release()  # a container that cannot seek: open it again
        self._cap = open_capture(self.path)

    def read(self, into: np.ndarray | None = None) -> Captured | None:
        while True:
            t = time.monotonic_ns()
            ok, frame = self._cap.read(into) if into is not None else self._cap.read()
            if ok and frame is not None:
                self._count += 1
                self._in_pass += 1
                return Captured(_to_bgr(frame), self._count - 1, "", t)
            if self.expected and self._in_pass < self.expected * 0.95 - 1 and not self.error:
                self.error = (f"{self.path}: video ended after {self._in_pass} of {self.expected} frames "
                              "(truncated or damaged)")
            if self._damaged and not self.error:
                self.error = f"{self.path}: the file ends after {self._in_pass} frames (truncated or damaged)"
            if not self.loop or self._in_pass == 0:
                return None
            self._reopen()

    def close(self) -> None:
        self._cap.release()


class LiveReader(Reader):
    """A camera or a network stream, grabbed on a thread so that the newest frame is always at
    hand.

    Frames the pipeline had no room for are dropped (counted in ``dropped``). A source that stops
    delivering (a failed read, or no frame for ``stall_s`` seconds) is reopened with exponential
    back-off (counted in ``reopens``); meanwhile :attr:`state` says ``reconnecting``. One that has
    never delivered a frame (down when the run started, or added with ``ctl add``) says
    ``connecting`` and is retried the same way; :attr:`retries` counts the failed attempts since
    the last frame. Each new
    frame makes :meth:`fileno` readable, so the capture loop sleeps in ``poll`` instead of
    spinning.
    """

    live = True

    def __init__(self, target: int | str, backoff: tuple[float, float] = (0.5, 8.0), stall_s: float = 5.0) -> None:
        self.target, self.backoff, self.stall_s = target, backoff, stall_s
        self.what = f"camera {target}" if isinstance(target, int) else f"stream {target}"
        self.warnings = []
        self.dropped = 0
        self.reopens = 0
        self.retries = 0  # failed opens or reads since the last frame
        self._delivered = False  # a frame came since the reader started
        self._lock = threading.Condition()
        self._latest: Captured | None = None
        self._count = 0
        self._connected = True
        self._stop = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        # opened on the thread, never on the caller's: a stream that hangs while it opens (a
        # frozen server accepts the connection and says nothing) must not hold up the process
        # that reads the other sources (the run probed the source before, so it did open once)
        self._cap: Any = None
        self._reading_since = 0.0  # when the open or read in progress began (0: none)
        self.stalls = 0  # reads that hung for longer than stall_s
        self._stall_seen = 0.0
        self._thread = threading.Thread(target=self._grab, name="live", daemon=True)
        self._thread.start()

    @property
    def state(self) -> str:
        """``connecting`` (no frame yet: opening, or retrying with back-off), ``live``,
        ``reconnecting`` (failed, reopening with back-off) or ``stalled`` (a read has hung for
        longer than ``stall_s``; FFmpeg sources give up after that long and reconnect)."""
        if not self._delivered:
            return "connecting"
        if not self._connected:
            return "reconnecting"
        since = self._reading_since
        return "stalled" if since and time.monotonic() - since > self.stall_s else "live"

    def fileno(self) -> int | None:
        return self._wake_r

    def skip(self, frames: int) -> int:
        self._count = max(self._count, frames)  # a live source resumes live; numbering goes on
        return frames

    def _grab(self) -> None:
        delay = self.backoff[0]
        while not self._stop.is_set():
            if self._cap is None:
                self._reading_since = time.monotonic()
                cap = open_capture(self.target, self.stall_s)
                self._reading_since = 0.0
                if self._stop.is_set():
                    cap.release()
                    return
                self._cap = cap
            t = time.monotonic_ns()
            self._reading_since = time.monotonic()
            ok, frame = self._cap.read() if self._cap.isOpened() else (False, None)
            self._reading_since = 0.0
            if not ok or frame is None:
                self._connected = False
                self._cap.release()
                self._cap = None
                self.retries += 1
                with self._lock:
                    if self._delivered:
                        self.warnings.append(f"{self.what} stopped delivering; reopening in {delay:.1f}s")
                    elif self.retries == 1:  # once: ctl status shows the retries
                        self.warnings.append(f"{self.what} cannot be opened yet; retrying with back-off "
                                             f"({delay:g} s doubling to {self.backoff[1]:g} s)")
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, self.backoff[1])
                if self._delivered:  # not yet opened once: counted in retries only
                    self.reopens += 1
                continue
            delay = self.backoff[0]
            self._connected = True
            self.retries = 0
            with self._lock:
                self._delivered = True
                if self._latest is not None:
                    self.dropped += 1
                self._latest = Captured(_to_bgr(frame), self._count, "", t)
                self._count += 1
                self._lock.notify_all()
            try:
                os.write(self._wake_w, b"\0")
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already

    def read(self, into: np.ndarray | None = None, timeout: float = 0.0) -> Captured | None:
        """The newest frame not yet read, or None if none came within ``timeout`` seconds (the
        caller loops: a live source has no end)."""
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            if self._latest is None and timeout > 0:
                self._lock.wait(timeout)
            got, self._latest = self._latest, None
            since = self._reading_since
            if got is None and since and time.monotonic() - since > self.stall_s and since != self._stall_seen:
                self._stall_seen = since  # once per hung read
                self.stalls += 1
                self.warnings.append(f"{self.what} has not answered a read for {self.stall_s:g} s "
                                     "(the source or its driver hangs)")
            return got

    def _close_pipe(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=max(2.0, self.stall_s + 1.0))
        if self._cap is not None:
            self._cap.release()
        self._close_pipe()


CameraReader = LiveReader  # the name earlier versions used


def open_reader(text: str, info: SourceInfo, loop: bool, backoff: tuple[float, float] = (0.5, 8.0),
                stall_s: float = 5.0) -> Reader:
    if info.kind == "camera":
        return LiveReader(int(text), backoff, stall_s)
    if info.kind == "stream":
        return LiveReader(text, backoff, stall_s)
    if info.kind in ("image", "folder"):
        return ImageReader(info.files, loop, info.max_frame_bytes)
    return VideoReader(text, loop, info.frames)

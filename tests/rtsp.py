"""A real RTSP server for the tests, on 127.0.0.1, run by Debian's GStreamer RTSP server.

``tests/rtsp_server.py`` runs under the system Python (``/usr/bin/python3``, which imports
``gi``; the project's venv cannot). This module starts it as a child process and never leaves it
behind::

    with RtspServer(sample, fps=10) as server:   # a clip (cut to JPEG frames) or a frames folder
        cap = open_capture(server.url)
        server.stop()      # the port stays ours: start() and restart() reuse it
        server.start()
        server.freeze()    # SIGSTOP: the connection stays open but no frame comes (a hung camera)
        server.thaw()

``start()`` returns once a client has really read a frame. Tests that need the server call
:func:`rtsp_server_missing` (or use the ``rtsp_server`` fixture in ``conftest.py``) and skip with
its reason when the packages are not installed.
"""

from __future__ import annotations

import functools
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import cv2

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")
APT_PACKAGES = ("python3-gi", "gir1.2-gst-rtsp-server-1.0", "gstreamer1.0-plugins-base",
                "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad")
FRAME_SIZE = (384, 288)  # RTP/JPEG needs sides that are multiples of 8

_CHECK = """
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("multifilesrc", "jpegparse", "identity", "rtpjpegpay")
           if Gst.ElementFactory.find(e) is None]
print(" ".join(missing))
"""


@functools.cache
def rtsp_server_missing() -> str | None:
    """Why the RTSP server cannot run here (a skip reason), or None when it can."""
    install = "apt-get install " + " ".join(APT_PACKAGES)
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} not found ({install})"
    try:
        done = subprocess.run([SYSTEM_PYTHON, "-c", _CHECK], capture_output=True, text=True,
                              timeout=60)
    except subprocess.TimeoutExpired:
        return "checking GStreamer's RTSP server timed out"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return f"GStreamer's RTSP server is not installed ({last}): {install}"
    if done.stdout.strip():
        return f"GStreamer elements missing ({done.stdout.strip()}): {install}"
    return None


def cut_frames(clip: Path, out_dir: Path, count: int = 50, size: tuple[int, int] = FRAME_SIZE,
               quality: int = 80) -> Path:
    """Write the first ``count`` frames of ``clip``, resized to ``size``, as
    ``out_dir/00000.jpg``, … (the server's input). Returns ``out_dir``."""
    cap = cv2.VideoCapture(str(clip))
    try:
        written = 0
        while written < count:
            ok, frame = cap.read()
            if not ok:
                break
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
            if not cv2.imwrite(str(out_dir / f"{written:05d}.jpg"), frame,
                               [cv2.IMWRITE_JPEG_QUALITY, quality]):
                raise OSError(f"cannot write JPEG frames to {out_dir}")
            written += 1
    finally:
        cap.release()
    if written == 0:
        raise ValueError(f"{clip}: no frames could be read")
    return out_dir


def open_capture(url: str, open_timeout_ms: int = 5000,
                 read_timeout_ms: int = 2000) -> cv2.VideoCapture:
    """OpenCV's FFmpeg capture of ``url`` with bounded open and read times."""
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG,
                            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, open_timeout_ms,
                             cv2.CAP_PROP_READ_TIMEOUT_MSEC, read_timeout_ms])


def read_one_frame(url: str, timeout: float) -> bool:
    """True once a fresh capture of ``url`` reads a frame, trying until ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left_ms = int((deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            return False
        cap = open_capture(url, open_timeout_ms=left_ms, read_timeout_ms=left_ms)
        try:
            if cap.isOpened() and cap.read()[0]:
                return True
        finally:
            cap.release()
        time.sleep(0.1)


class RtspServer:
    """``tests/rtsp_server.py`` as a child process serving ``source`` at ``fps``.

    ``source`` is a video clip (its first ``frames`` frames are cut to JPEG in a temporary
    folder this object removes) or a folder already holding ``00000.jpg``, …. ``port=0`` lets the
    first start pick a free port; later starts reuse it, so ``url`` never changes.
    """

    def __init__(self, source: Path | str, fps: int = 10, port: int = 0, name: str = "stream",
                 frames: int = 50) -> None:
        self.fps = fps
        self.port = port
        self.name = name
        self._source = Path(source)
        self._frame_count = frames
        self._frames: Path | None = None
        self._tmp: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log: Path | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the server has no port yet: start() it first")
        return f"rtsp://127.0.0.1:{self.port}/{self.name}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running else None

    @property
    def frames_dir(self) -> Path:
        """The folder of JPEG frames being served (00000.jpg, …)."""
        return self._prepare()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _prepare(self) -> Path:
        if self._frames is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="posepipe-rtsp-"))
            if self._source.is_dir():
                self._frames = self._source
            else:
                self._frames = cut_frames(self._source, self._tmp, self._frame_count)
        return self._frames

    def start(self, timeout: float = 30.0) -> RtspServer:
        """Start serving; return once a client has read a frame. Raises RuntimeError (with the
        server's stderr) if that does not happen within ``timeout`` seconds."""
        if self.running:
            return self
        frames = self._prepare()
        assert self._tmp is not None
        self._log = self._tmp / "server.log"
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(
                [SYSTEM_PYTHON, str(SERVER), str(frames), "--fps", str(self.fps),
                 "--port", str(self.port), "--name", self.name],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout
            line = self._ready_line(deadline)
            self.port = int(line.rsplit(":", 1)[1].split("/", 1)[0])
            if not read_one_frame(self.url, max(0.1, deadline - time.monotonic())):
                raise RuntimeError(f"no client could read a frame from {self.url} "
                                   f"within {timeout:g} s")
        except BaseException as e:
            self.stop()
            if isinstance(e, RuntimeError):
                raise RuntimeError(f"{e}; server log: {self.log().strip()!r}") from None
            raise
        return self

    def _ready_line(self, deadline: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError("the RTSP server printed no ready line")
                if sel.select(left):
                    line = self._proc.stdout.readline().decode(errors="replace").strip()
                    if line.startswith("ready rtsp://"):
                        return line
                    if not line and self._proc.poll() is not None:
                        raise RuntimeError(f"the RTSP server exited ({self._proc.returncode})")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (SIGTERM, then SIGKILL after ``timeout`` s); clients see the connection
        close. Does nothing if the server is not running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)  # a frozen server must be able to handle SIGTERM
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def restart(self, timeout: float = 30.0) -> RtspServer:
        """Stop, then start again on the same port (same ``url``)."""
        self.stop()
        return self.start(timeout)

    def freeze(self) -> None:
        """SIGSTOP the server: connections stay open but no data flows (a hung camera)."""
        if not self.running:
            raise RuntimeError("the RTSP server is not running")
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT a frozen server."""
        if self.running:
            assert self._proc is not None
            self._proc.send_signal(signal.SIGCONT)

    def log(self) -> str:
        """What the server wrote on stderr so far."""
        try:
            return self._log.read_text(errors="replace") if self._log else ""
        except OSError:
            return ""

    def close(self) -> None:
        """Stop the server and remove the temporary frames."""
        self.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
            self._frames = None

    def __enter__(self) -> RtspServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()

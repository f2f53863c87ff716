"""A real RTSP server (GStreamer, tests/rtsp_server.py) read by OpenCV's FFmpeg backend, as the
pipeline's live-source reader will read it: frames arrive in order at the served rate, a stopped
or hung server makes reads fail within the read timeout, and a new capture reads again once the
server is back on the same URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.rtsp import SERVER, SYSTEM_PYTHON, RtspServer, open_capture, rtsp_server_missing

# FFmpeg probes ~20 frames before an open returns: 0.8 s at 25 FPS, 2 s at 10 FPS.
FPS = 25


class ClipFrames:
    """The served JPEG frames, to tell which one a decoded frame is."""

    def __init__(self, folder: Path) -> None:
        self.frames = np.stack([cv2.imread(str(p)) for p in sorted(folder.glob("*.jpg"))])

    def index_of(self, frame: np.ndarray) -> int | None:
        """Index of the served frame ``frame`` decodes to (FFmpeg's and libjpeg's decoders differ
        by ~1 grey level; neighbouring frames of the clip by ≥ 2.5), or None."""
        if frame is None or frame.shape != self.frames.shape[1:]:
            return None
        mad = np.abs(self.frames.astype(np.int16) - frame.astype(np.int16)).mean(axis=(1, 2, 3))
        best = int(mad.argmin())
        return best if mad[best] < 2.0 else None


def read_until_failure(cap: cv2.VideoCapture, limit: int = 100) -> tuple[int, float]:
    """Read until a read fails; return (frames read before it, seconds until it failed)."""
    start = time.monotonic()
    for count in range(limit):
        if not cap.read()[0]:
            return count, time.monotonic() - start
    pytest.fail(f"reads kept succeeding ({limit} frames) after the server went away")


def udp_sockets_of_this_process() -> int:
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/udp", "/proc/self/net/udp6"):
        with open(table) as f:
            count += sum(line.split()[9] in inodes for line in list(f)[1:])
    return count


def test_client_reads_every_frame_of_the_looping_clip_in_order_at_the_served_rate(rtsp_servers):
    fps = FPS
    server = rtsp_servers(fps=fps)
    clip = ClipFrames(server.frames_dir)
    n_served = len(clip.frames)
    start = time.monotonic()
    cap = open_capture(server.url, read_timeout_ms=5000)
    try:
        assert cap.isOpened()
        assert cap.get(cv2.CAP_PROP_FPS) == fps
        indices = []
        for _ in range(n_served + 20):  # past the end: the clip loops
            ok, frame = cap.read()
            assert ok, f"read {len(indices)} failed"
            indices.append(clip.index_of(frame))
        elapsed = time.monotonic() - start
    finally:
        cap.release()
    assert None not in indices, "a frame that is not one of the served frames"
    steps = {(b - a) % n_served for a, b in zip(indices, indices[1:])}
    assert steps == {1}, f"frames skipped or repeated: {indices}"
    # The stream starts when the client connects, so frame k cannot arrive before k / fps
    # (a lower bound only: a loaded machine makes reading slower, never faster).
    assert elapsed >= (len(indices) - 1) / fps * 0.95, f"{len(indices)} frames in {elapsed:.2f} s"
    print(f"{len(indices)} frames in {elapsed:.2f} s ({len(indices) / elapsed:.1f} FPS, "
          f"served at {fps})")


def test_reads_fail_once_the_server_stops_and_a_new_capture_reads_after_it_starts(rtsp_servers):
    rtsp_server = rtsp_servers(fps=FPS)
    clip = ClipFrames(rtsp_server.frames_dir)
    url = rtsp_server.url
    cap = open_capture(url, read_timeout_ms=2000)
    try:
        ok, frame = cap.read()
        assert ok and clip.index_of(frame) is not None
        rtsp_server.stop()
        frames_after_stop, seconds = read_until_failure(cap)
        print(f"after stop: {frames_after_stop} more frames, read failed after {seconds:.3f} s")
        # The broken capture stays broken: the reader must release it and open a new one.
        assert not cap.read()[0]
    finally:
        cap.release()

    down = open_capture(url, open_timeout_ms=2000)
    try:
        assert not down.isOpened(), "a capture opened while the server was down"
    finally:
        down.release()

    rtsp_server.start()
    assert rtsp_server.url == url
    again = open_capture(url)
    try:
        ok, frame = again.read()
        assert ok and clip.index_of(frame) is not None
    finally:
        again.release()


def test_a_hung_server_makes_reads_fail_after_the_read_timeout(rtsp_servers):
    rtsp_server = rtsp_servers(fps=FPS)
    read_timeout = 1.0
    cap = open_capture(rtsp_server.url, read_timeout_ms=int(read_timeout * 1000))
    try:
        assert cap.read()[0]
        rtsp_server.freeze()  # connection open, no data: a camera that hangs
        _, seconds = read_until_failure(cap)
        print(f"hung server: read failed after {seconds:.3f} s (read timeout {read_timeout} s)")
        assert seconds >= read_timeout * 0.9  # the timeout, not a closed connection
        rtsp_server.thaw()
        assert not cap.read()[0], "a capture that timed out read again"
    finally:
        cap.release()
    again = open_capture(rtsp_server.url)
    try:
        assert again.read()[0]
    finally:
        again.release()


def test_restart_right_after_stop_reuses_the_port_while_clients_were_connected(rtsp_servers):
    server = rtsp_servers(fps=FPS)
    url = server.url
    for _ in range(2):
        clients = [open_capture(url) for _ in range(2)]
        try:
            assert all(c.read()[0] for c in clients)
            server.restart()  # the port has connections just closed (TIME_WAIT)
        finally:
            for c in clients:
                c.release()
        assert server.url == url and server.running


def test_default_transport_is_tcp_and_udp_works_on_loopback_too(rtsp_servers, monkeypatch):
    rtsp_server = rtsp_servers(fps=FPS)
    monkeypatch.delenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", raising=False)
    cap = open_capture(rtsp_server.url)
    try:
        assert cap.read()[0]
        assert udp_sockets_of_this_process() == 0, "OpenCV's default RTSP transport is not TCP"
    finally:
        cap.release()
    monkeypatch.setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;udp")
    cap = open_capture(rtsp_server.url)
    try:
        assert all(cap.read()[0] for _ in range(30))
        assert udp_sockets_of_this_process() >= 1
    finally:
        cap.release()


def test_the_server_is_gone_after_an_exception_inside_the_context_manager(sample):
    if reason := rtsp_server_missing():
        pytest.skip(reason)
    with pytest.raises(ZeroDivisionError):
        with RtspServer(sample, fps=FPS) as server:
            pid, frames = server.pid, server.frames_dir
            1 / 0
    assert not process_alive(pid)
    assert not frames.exists(), "temporary frames left behind"


def process_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def frames(tmp_path, sample):
    if reason := rtsp_server_missing():
        pytest.skip(reason)
    from tests.rtsp import cut_frames
    return cut_frames(sample, tmp_path, count=5)


def test_server_exits_cleanly_on_sigterm_and_when_its_parent_dies(frames):
    proc = subprocess.Popen([SYSTEM_PYTHON, str(SERVER), str(frames), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("ready rtsp://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()

    # A parent killed with SIGKILL cannot stop its server: the server notices and exits.
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         f"p = subprocess.Popen([{SYSTEM_PYTHON!r}, {str(SERVER)!r}, {str(frames)!r}, "
         "'--port', '0'], stdout=subprocess.PIPE)\n"
         "p.stdout.readline()\nprint(p.pid, flush=True)\ntime.sleep(600)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        server_pid = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    try:
        assert wait_gone(server_pid), "the server outlived its parent"
    finally:
        if process_alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


@pytest.mark.parametrize("case", ["no frames", "port in use"])
def test_server_bad_input_is_one_error_line(frames, tmp_path, case):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        if case == "no frames":
            args = [str(tmp_path / "missing"), "--port", "0"]
        else:
            args = [str(frames), "--port", str(busy.getsockname()[1])]
        done = subprocess.run([SYSTEM_PYTHON, str(SERVER), *args], capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr

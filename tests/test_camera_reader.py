"""A live camera that stops delivering is reopened with back-off; frames with no room are dropped
and counted. (No camera here: a fake capture stands in for OpenCV's.)"""

from __future__ import annotations

import time

import numpy as np

from pipeline.sources import readers as sources


class FakeCapture:
    """Delivers ``frames`` frames at ~200 fps, then fails until reopened."""

    opened = 0

    def __init__(self, frames: int) -> None:
        FakeCapture.opened += 1
        self.left = frames
        self.number = FakeCapture.opened

    def isOpened(self) -> bool:
        return True

    def read(self, *args):
        time.sleep(0.005)
        if self.left <= 0:
            return False, None
        self.left -= 1
        return True, np.full((4, 6, 3), self.number, np.uint8)

    def release(self) -> None:
        pass


def test_camera_is_reopened_after_it_stops_and_drops_are_counted(monkeypatch):
    FakeCapture.opened = 0
    monkeypatch.setattr(sources, "open_capture", lambda target, *timeout: FakeCapture(20))
    reader = sources.CameraReader(3, backoff=(0.05, 0.2))
    try:
        seen = set()
        deadline = time.monotonic() + 20
        while len(seen) < 3 and time.monotonic() < deadline:
            got = reader.read(timeout=0.5)
            if got is not None:
                seen.add(int(got.frame[0, 0, 0]))  # which opening of the camera it came from
            time.sleep(0.03)  # a slow pipeline: the camera outruns it
        assert len(seen) >= 3, seen  # frames kept coming after each failure
        assert reader.reopens >= 2
        assert any("stopped delivering" in w for w in reader.warnings)
        assert reader.dropped > 0
    finally:
        reader.close()


class HangingCapture(FakeCapture):
    """Delivers a few frames, then a read that never returns (until released)."""

    def __init__(self, frames: int) -> None:
        super().__init__(frames)
        import threading
        self.released = threading.Event()

    def read(self, *args):
        if self.left <= 0:
            self.released.wait(30)
            return False, None
        return super().read()

    def release(self) -> None:
        self.released.set()


def test_a_camera_whose_read_hangs_is_noticed(monkeypatch):
    FakeCapture.opened = 0
    monkeypatch.setattr(sources, "open_capture", lambda target, *timeout: HangingCapture(5))
    reader = sources.CameraReader(3, backoff=(0.05, 0.2), stall_s=0.5)
    try:
        deadline = time.monotonic() + 20
        while not reader.stalls and time.monotonic() < deadline:
            reader.read(timeout=0.2)
        assert reader.stalls == 1
        assert any("has not answered a read" in w for w in reader.warnings)
        assert reader.state == "stalled"  # what ctl status shows for the source
        for _ in range(5):
            reader.read(timeout=0.2)
        assert reader.stalls == 1  # one warning per hung read, not one per poll
    finally:
        reader._cap.release()
        reader.close()


def test_a_stream_that_hangs_while_it_opens_holds_up_no_other_source(tmp_path):
    """A server that accepts the connection and never answers (a frozen camera): the stream's
    open hangs until its timeout, on the reader's own thread. OpenCV opens FFmpeg captures under
    one lock per process, so a looping file beside it must not open itself again on every pass:
    it keeps delivering, and creating the stream's reader does not wait for the open either."""
    import socket
    import threading

    from tests.helpers import make_clip

    clip = make_clip(tmp_path / "clip.avi", frames=5, size=(64, 48))
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(server.accept()[0]) for _ in range(4)], daemon=True).start()
    url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/cam"
    video = sources.VideoReader(str(clip), loop=True)  # opened before the stream hangs in its open
    started = time.monotonic()
    stream = sources.LiveReader(url, backoff=(0.05, 0.2), stall_s=1.0)
    try:
        assert time.monotonic() - started < 2.0  # not the open timeout (STREAM_OPEN_TIMEOUT_S)
        time.sleep(0.5)  # the stream's thread is inside its open now
        assert stream.read() is None
        began = time.monotonic()
        frames = [video.read() for _ in range(15)]  # three passes
        took = time.monotonic() - began
        assert [f.index for f in frames] == list(range(15))
        assert took < sources.STREAM_OPEN_TIMEOUT_S / 2, f"the file waited {took:.1f} s for the stream"
    finally:
        video.close()
        stream.close()
        for s in held:
            s.close()
        server.close()

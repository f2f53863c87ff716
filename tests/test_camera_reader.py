"""A live camera that stops delivering is reopened with back-off; frames with no room are dropped
and counted. (No camera here: a fake capture stands in for OpenCV's.)"""

from __future__ import annotations

import time

import numpy as np

from pipeline import sources


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
    monkeypatch.setattr(sources, "_open_capture", lambda target, *timeout: FakeCapture(20))
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
    monkeypatch.setattr(sources, "_open_capture", lambda target, *timeout: HangingCapture(5))
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

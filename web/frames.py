"""Pictures for the page and the MJPEG streams: what the sink leaves on the preview board, encoded
as JPEG once per new picture however many viewers there are.

Every viewer's thread calls :meth:`Pictures.jpeg` for the sources it shows; the first one to see
a new picture encodes it (outside the lock of every other source), the others reuse the bytes.
The wish on the board is renewed on each call and lapses ``HOLD_S`` after the last viewer goes:
from then on the sink copies nothing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import cv2

from pipeline.outputs.preview import PreviewBoard

HOLD_S = 2.0  # a wish outlives its last viewer this long
JPEG_QUALITY = 80


@dataclass
class Encoded:
    seq: int  # the board's sequence number of the picture (grows with every new picture)
    index: int  # the frame's index in its source
    jpeg: bytes
    width: int
    height: int
    slot: int  # the board's slot it came from (a new slot starts its sequence numbers afresh)


class Pictures:
    def __init__(self, board: PreviewBoard, fps: float) -> None:
        self.board = board
        self.period_ns = int(1e9 / fps)
        self.lock = threading.Lock()  # the board's wishes (one writer at a time)
        self.cache: dict[int, Encoded] = {}
        self.source_locks: dict[int, threading.Lock] = {}
        self.encoded = 0  # JPEGs made (the stage's items)
        self.encode_ns = 0

    def jpeg(self, source: int) -> Encoded | None | bool:
        """The newest encoded picture of ``source``: an :class:`Encoded`, None while there is
        none yet, or False when every slot of the board is watched for another source."""
        with self.lock:
            slot = self.board.watch(source, int(HOLD_S * 1e9), self.period_ns)
            if slot is None:
                return False
            source_lock = self.source_locks.setdefault(source, threading.Lock())
        with source_lock:
            known = self.cache.get(source)
            after = known.seq if known is not None and known.slot == slot else 0
            found = self.board.latest(slot, source, after)
            if found is None:
                return known
            seq, index, image = found
            t0 = time.monotonic_ns()
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            self.encode_ns += time.monotonic_ns() - t0
            if not ok:
                return known
            self.encoded += 1
            encoded = Encoded(seq, index, data.tobytes(), image.shape[1], image.shape[0], slot)
            self.cache[source] = encoded
            return encoded

    def wait_newer(self, source: int, last: Encoded | None, timeout_s: float) -> Encoded | None | bool:
        """Like :meth:`jpeg`, but waits (polling at twice the picture rate) up to ``timeout_s``
        for a picture other than ``last``."""
        deadline = time.monotonic() + timeout_s
        step = self.period_ns / 2e9
        while True:
            found = self.jpeg(source)
            if found is False or (found is not None and found is not last) or time.monotonic() >= deadline:
                return found
            time.sleep(step)

    def forget(self, keep: set[int]) -> None:
        """Drop the cached pictures of sources no longer in the run."""
        with self.lock:
            for source in [s for s in self.cache if s not in keep]:
                self.cache.pop(source, None)
                self.board.release(source)

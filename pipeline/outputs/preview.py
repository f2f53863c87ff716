"""The preview board: the latest annotated frame of each watched source, in shared memory, for
``--http`` (the :mod:`web` process) to encode and serve.

One segment of ``slots`` slots, each a header of eight int64 and room for one frame. The web
process, and only it, writes a slot's *wish*: which source it wants there, until when, and how
often at most. The sink, and only it, writes the picture: it copies a frame into the slot of its
source only while the wish holds and the last copy is older than the period, so with nobody
watching the sink's cost is one dictionary lookup per frame. A copy is framed by a sequence
number made odd while it is written (a seqlock): the reader copies the pixels out, then checks
that the number did not move, and never needs a lock the sink could wait on.
"""

from __future__ import annotations

import time

import numpy as np

from ..ring import RingSpec, SlotRing

HEADER = 16  # int64 fields per slot (9 used)
WANT, UNTIL, SEQ, HEIGHT, WIDTH, INDEX, WRITTEN, PERIOD, SOURCE = range(9)
HEADER_BYTES = 8 * HEADER
REFRESH_NS = 100_000_000  # the sink rereads the wishes this often


def preview_slots(sources: int, configured: int = 0) -> int:
    """Slots of the board: ``configured``, else room for every source and two more added later
    (at least 4, at most 32)."""
    return configured if configured > 0 else max(4, min(32, sources + 2))


def create_board(slots: int, frame_bytes: int, run_id: str) -> SlotRing:
    """The segment, made by the controller (which unlinks it with the other rings)."""
    ring = SlotRing.create("preview", slots, HEADER_BYTES + frame_bytes, run_id)
    for slot in range(slots):
        header = ring.view(slot, (HEADER,), np.int64)
        header[:] = 0
        header[WANT] = header[SOURCE] = -1
    return ring


class PreviewBoard:
    """Both ends of the board over an attached (or created) ring."""

    def __init__(self, ring: SlotRing) -> None:
        self.ring = ring
        self.slots = ring.slots
        self.frame_bytes = ring.spec.slot_bytes - HEADER_BYTES
        self.headers = [ring.view(s, (HEADER,), np.int64) for s in range(self.slots)]
        self.pixels = [ring.view(s, (ring.spec.slot_bytes,), np.uint8)[HEADER_BYTES:] for s in range(self.slots)]
        self._wanted: dict[int, int] = {}
        self._read_ns = 0

    @classmethod
    def attach(cls, spec: RingSpec) -> tuple[PreviewBoard, SlotRing]:
        ring = SlotRing.attach(spec)
        return cls(ring), ring

    # -- the sink's side ---------------------------------------------------------------------
    def wanted(self, now_ns: int) -> dict[int, int]:
        """Source -> slot, for the wishes that hold now (reread every 0.1 s)."""
        if now_ns - self._read_ns >= REFRESH_NS:
            self._read_ns = now_ns
            self._wanted = {int(h[WANT]): s for s, h in enumerate(self.headers) if h[WANT] >= 0 and h[UNTIL] > now_ns}
        return self._wanted

    def offer(self, source: int, image: np.ndarray, index: int, now_ns: int | None = None) -> bool:
        """Copy ``image`` (H x W x 3 uint8) into its source's slot if someone wants it and the
        last copy is at least the asked period old; returns whether it copied."""
        now = time.monotonic_ns() if now_ns is None else now_ns
        slot = self.wanted(now).get(source)
        if slot is None:
            return False
        header = self.headers[slot]
        if now - header[WRITTEN] < header[PERIOD] or image.nbytes > self.frame_bytes or image.ndim != 3:
            return False
        h, w = image.shape[:2]
        header[SEQ] += 1  # odd: being written
        np.copyto(self.pixels[slot][:image.nbytes].reshape(image.shape), image)
        header[HEIGHT], header[WIDTH], header[INDEX], header[WRITTEN], header[SOURCE] = h, w, index, now, source
        header[SEQ] += 1
        return True

    # -- the web process's side (callers serialise these) -----------------------------------
    def watch(self, source: int, hold_ns: int, period_ns: int, now_ns: int | None = None) -> int | None:
        """Ask for ``source``'s frames for ``hold_ns`` more, at most one per ``period_ns``; the
        slot, or None when every slot is wanted for another source."""
        now = time.monotonic_ns() if now_ns is None else now_ns
        free = None
        for slot, header in enumerate(self.headers):
            if header[WANT] == source:
                header[PERIOD] = period_ns
                header[UNTIL] = max(int(header[UNTIL]), now + hold_ns)
                return slot
            if free is None and (header[WANT] < 0 or header[UNTIL] <= now):
                free = slot
        if free is None:
            return None
        header = self.headers[free]
        header[UNTIL] = 0  # the sink stops writing before the slot changes hands
        header[WANT] = source
        header[PERIOD] = period_ns
        header[UNTIL] = now + hold_ns
        return free

    def release(self, source: int) -> None:
        for header in self.headers:
            if header[WANT] == source:
                header[UNTIL] = 0

    def latest(self, slot: int, source: int, after: int = -1) -> tuple[int, int, np.ndarray] | None:
        """(sequence, frame index, a copy of the picture) if ``slot`` holds a picture of ``source``
        newer than ``after``, else None."""
        header = self.headers[slot]
        for _ in range(3):
            seq = int(header[SEQ])
            if seq == 0 or seq <= after or seq % 2:
                return None
            h, w, index = int(header[HEIGHT]), int(header[WIDTH]), int(header[INDEX])
            if header[SOURCE] != source or h <= 0 or w <= 0 or h * w * 3 > self.frame_bytes:
                return None
            image = self.pixels[slot][:h * w * 3].reshape(h, w, 3).copy()
            if int(header[SEQ]) == seq:
                return seq, index, image
        return None

    def close(self) -> None:
        self.headers = []
        self.pixels = []


__all__ = ["PreviewBoard", "create_board", "preview_slots"]

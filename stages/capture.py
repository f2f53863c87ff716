"""Capture: reads the input and admits frames into the frame ring under a credit limit.

The sink returns credit with :class:`Finished` once a frame is shown or written. At most
``limit`` frames are in flight: all the ring's slots in "User specified" mode, one in "Min
latency" mode. File inputs wait for credit (lossless back-pressure); a live camera keeps grabbing
on its own thread, and frames that found no credit are dropped, oldest first, and counted.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import zmq

from pipeline import sources, transport
from pipeline.messages import EndOfStream, Finished, Frame, Stamp, new_stamps
from pipeline.ring import SlotRing

from .base import Stage


class Capture(Stage):
    name = "capture"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.reader = sources.open_reader(self.config.input, plan.source, self.config.loop,
                                          self.config.reopen_backoff)
        self.ring = SlotRing.attach(plan.frames_ring)
        self.out = self.socket(zmq.PUSH, plan.endpoints.frames, bind=False)
        self.credits = self.socket(zmq.PULL, plan.endpoints.credits, bind=True)
        self.admitted = 0
        self.finished = 0
        self._warned = 0
        self._busy_from = 0  # when the work on the batch being read began (for busy_ns)
        # video files decode straight into the ring slot (no copy)
        self.direct = plan.source.kind == "video"
        self.frame_shape = (plan.source.frame_h, plan.source.frame_w, 3)
        return {"kind": plan.source.kind, "live": self.reader.live}

    def limit(self) -> int:
        return 1 if self.mode == "latency" else self.ring.slots

    def _take_credits(self) -> None:
        for msg in transport.drain(self.credits):
            if isinstance(msg, Finished):
                self.finished = max(self.finished, msg.upto)

    def _forward_warnings(self) -> None:
        while self._warned < len(self.reader.warnings):
            self.warn(self.reader.warnings[self._warned])
            self._warned += 1

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        figs.update(in_flight=self.admitted - self.finished, limit=self.limit(),
                    dropped=getattr(self.reader, "dropped", 0))
        return figs

    def batch_size(self) -> int:
        """Frames read and sent together: ``--batch`` for files in User specified mode; one at a
        time in Min latency mode and from a live camera (never wait for a frame to fill a batch)."""
        if self.mode == "latency" or self.reader.live:
            return 1
        return min(self.plan.batch, self.limit())

    def run(self) -> None:
        max_frames = self.config.max_frames
        while not self.started and not self.draining:
            self.poll([], 100)
        ended = False
        while not self.draining and not ended:
            self._take_credits()
            want = self.batch_size()
            if max_frames:
                want = min(want, max_frames - self.admitted)
                if want <= 0:
                    break
            if self.limit() - (self.admitted - self.finished) < want:
                self.poll([self.credits], 100)
                continue
            batch, ended = self._read(want)
            if batch:
                now = time.monotonic_ns()
                for frame in batch:
                    frame.stamps[Stamp.CAPTURED] = now
                transport.send_all(self.out, batch)
                self.items += len(batch)
                self.busy_ns += now - self._busy_from
            elif self.reader.live and not ended:
                self.poll([], 0)
                continue
            self.poll([], 0)
        self._forward_warnings()
        transport.send(self.out, EndOfStream(count=self.admitted, error=self.reader.error))
        self.wait_for_stop()

    def _read(self, want: int) -> tuple[list[Frame], bool]:
        """Read up to ``want`` frames into the ring; also says whether the input has ended."""
        batch: list[Frame] = []
        while len(batch) < want:
            seq = self.admitted
            slot_view = self.ring.view(self.ring.slot_of(seq), self.frame_shape) if self.direct else None
            got = self.reader.read(slot_view)
            del slot_view
            self._forward_warnings()
            if got is None:
                return batch, not self.reader.live
            if not batch:  # busy from decoding a file's frame, or from a camera's frame arriving
                self._busy_from = time.monotonic_ns() if self.reader.live else got.t_read_ns
            h, w = got.frame.shape[:2]
            view = self.ring.view(self.ring.slot_of(seq), (h, w, 3))
            if not np.shares_memory(view, got.frame):  # decoded elsewhere: copy it in
                view[...] = got.frame
            del view
            slot = self.ring.commit(seq)
            stamps = new_stamps()
            stamps[Stamp.READ] = got.t_read_ns
            batch.append(Frame(seq=seq, slot=slot, height=h, width=w, index=got.index, name=got.name,
                               mode=self.mode, stamps=stamps))
            self.admitted += 1
        return batch, False

    def close(self) -> None:
        self.reader.close()
        self.ring.close()

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

    def run(self) -> None:
        max_frames = self.config.max_frames
        while not self.started and not self.draining:
            self.poll([], 100)
        while not self.draining:
            self._take_credits()
            if self.admitted - self.finished >= self.limit():
                self.poll([self.credits], 100)
                continue
            if max_frames and self.admitted >= max_frames:
                break
            seq = self.admitted
            slot_view = self.ring.view(self.ring.slot_of(seq), self.frame_shape) if self.direct else None
            got = self.reader.read(slot_view)
            del slot_view
            self._forward_warnings()
            if got is None:
                if self.reader.live:
                    self.poll([], 0)
                    continue
                break
            t0 = time.monotonic_ns()
            h, w = got.frame.shape[:2]
            view = self.ring.view(self.ring.slot_of(seq), (h, w, 3))
            if not np.shares_memory(view, got.frame):  # decoded elsewhere: copy it in
                view[...] = got.frame
            del view
            slot = self.ring.commit(seq)
            stamps = new_stamps()
            stamps[Stamp.READ] = got.t_read_ns
            now = time.monotonic_ns()
            stamps[Stamp.CAPTURED] = now
            transport.send(self.out, Frame(seq=seq, slot=slot, height=h, width=w, index=got.index,
                                           name=got.name, mode=self.mode, stamps=stamps))
            self.admitted += 1
            self.items += 1
            self.busy_ns += now - got.t_read_ns if not self.reader.live else now - t0
            self.poll([], 0)
        self._forward_warnings()
        transport.send(self.out, EndOfStream(count=self.admitted, error=self.reader.error))
        self.wait_for_stop()

    def close(self) -> None:
        self.reader.close()
        self.ring.close()

"""Preprocess: admits the frames of every source into one sequence and letterboxes each into the
network's input size, straight into the tensor ring.

It is where the sources meet (a stream muxer): frames arrive from every capture process, fairly
queued by ZeroMQ, and get the run's sequence number ``seq``, which fixes their slot in the tensor
and map rings and the output order. At most as many frames as those rings have slots are in
flight; the sink gives slots back with :class:`Finished`. Frames leave for inference in batches:
when a batch is full, when the run's window is full (no other frame can come before one goes
out), or when its first frame has waited ``--batch-timeout-ms``, so that a slow camera never holds
the others back.

Every source's frame indices only grow: a frame whose index this stage has seen already (sent
by a capture process that died, then again by its successor) is released unused, and on
:class:`CaptureLost` this stage tells the controller where each source must resume.

The frame is scaled by ``min(net_w / w, net_h / h)`` and placed at the top-left corner; the rest
is zero, so sources of any size and aspect ratio share one network input size (the first
source's; others pay for their padding). The tensor stays uint8 BGR NHWC: conversion to the
network's element type, layout and colour order happens inside the compiled model (OpenVINO's
PrePostProcessor), on its own threads.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from typing import Any

import zmq

from pipeline import transport
from pipeline.models.inputs import letterbox
from pipeline.messages import CaptureLost, EndOfStream, Finished, Frame, Message, ResumeAt, SetWindow, Stamp
from pipeline.ring import RingSet, SlotRing

from pipeline.stage import Stage
from .release import Releaser


class Preprocess(Stage):
    name = "preprocess"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.frames = RingSet(plan.frame_slots, plan.frame_bytes)
        self.tensors = SlotRing.attach(plan.tensors_ring)
        self.shapes = [(m.net_h, m.net_w, 3) for m in plan.models]  # by Frame.model
        self.inp = self.socket(zmq.PULL, plan.endpoints.frames, bind=True)
        self.credits = self.socket(zmq.PULL, plan.endpoints.credits, bind=True)
        self.out = self.socket(zmq.PUSH, plan.endpoints.tensors, bind=False)
        self.releaser = Releaser(self)
        self.admitted = 0  # frames given a seq
        self.finished = 0  # frames out of the sink (seq < finished)
        self.backlog: collections.deque[Message] = collections.deque()  # received, not yet admitted
        self.next_index: dict[int, int] = {}  # per source: the first frame index not yet received
        self.pending: list[Message] = []  # the batch being formed
        self.pending_since = 0
        self.duplicates = 0
        self.window = plan.window or self.tensors.slots  # the run's frames in flight (capture keeps to it)
        return {"net_input": ", ".join(f"{m.net_w}x{m.net_h}" for m in plan.models)}

    def run(self) -> None:
        while True:
            # the sink's Finished matters only when every tensor slot is taken: otherwise it is
            # taken in passing, and does not wake this process once a frame for nothing
            listen = [self.inp, self.credits] if self._slots_full() else [self.inp]
            ready = self.poll(listen, self._timeout_ms())
            self._take_finished()
            if self.inp in ready:
                self._receive()
            self._admit()
            if self.pending and self._batch_due():
                self._flush()

    def _take_finished(self) -> None:
        for msg in transport.drain(self.credits):
            if isinstance(msg, Finished):
                self.finished = max(self.finished, msg.upto)

    def _slots_full(self) -> bool:
        return self.admitted - self.finished >= self.tensors.slots

    def _receive(self) -> None:
        """Take everything waiting; a frame of a source already seen this far is released."""
        stale: list[Frame] = []
        for msg in transport.drain(self.inp):
            if isinstance(msg, Frame):
                if msg.index < self.next_index.get(msg.source, 0):
                    stale.append(msg)
                    continue
                self.next_index[msg.source] = msg.index + 1
            self.backlog.append(msg)
        if stale:
            self.duplicates += len(stale)
            self.releaser.release(stale)

    def _admit(self) -> None:
        """Letterbox what the backlog holds while tensor slots are free; keep the order."""
        while self.backlog:
            msg = self.backlog[0]
            if isinstance(msg, Frame):
                if self._slots_full():
                    return
                if not self.pending:
                    self.pending_since = time.monotonic_ns()
                self.pending.append(self.process(msg))
                self.admitted += 1
            elif isinstance(msg, EndOfStream):
                self.pending.append(dataclasses.replace(msg, count=self.admitted))
                if not self.pending_since:
                    self.pending_since = time.monotonic_ns()
            self.backlog.popleft()
            if self._batch_full():
                self._flush()

    def _batch_target(self) -> int:
        return self.plan.batch if self.mode == "user" else 1

    def _batch_full(self) -> bool:
        return sum(isinstance(m, Frame) for m in self.pending) >= self._batch_target()

    def _batch_due(self) -> bool:
        if self._batch_full() or self._batch_target() == 1 or not any(isinstance(m, Frame) for m in self.pending):
            return True
        if self.admitted - self.finished >= self.window:
            return True  # no other frame may come in before one goes out: waiting would only add latency
        return time.monotonic_ns() - self.pending_since >= self.config.batch_timeout_ms * 1e6

    def _timeout_ms(self) -> int:
        if not self.pending:
            return 200
        left = self.pending_since + self.config.batch_timeout_ms * 1e6 - time.monotonic_ns()
        return max(0, int(left / 1e6))

    def _flush(self) -> None:
        now = time.monotonic_ns()
        for msg in self.pending:
            if isinstance(msg, Frame):
                msg.stamps[Stamp.PRE_OUT] = now  # a batch's wait for its last frame counts here
        transport.send_all(self.out, self.pending)
        self.pending = []
        self.pending_since = 0

    def process(self, frame: Frame) -> Frame:
        t0 = time.monotonic_ns()
        frame.stamps[Stamp.PRE_IN] = t0
        seq = self.admitted
        slot = self.tensors.slot_of(seq)
        image = self.frames.read(frame.ring, frame.lseq, (frame.height, frame.width, 3))
        tensor = self.tensors.view(slot, self.shapes[frame.model])
        scale = letterbox(image, tensor)
        del image, tensor
        self.tensors.commit(seq)
        t1 = time.monotonic_ns()
        self.items += 1
        self.busy_ns += t1 - t0
        return dataclasses.replace(frame, seq=seq, slot=slot, scale=scale, pad_x=0.0, pad_y=0.0)

    def on_message(self, msg: Message) -> None:
        if isinstance(msg, SetWindow):
            self.window = msg.frames
        elif isinstance(msg, CaptureLost):
            self._receive()  # whatever the lost process managed to send counts as received
            self.releaser.lost(msg.identity)
            self.emit(ResumeAt(msg.identity, {str(k): v for k, v in self.next_index.items()}))

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        figs.update(backlog=len(self.backlog), in_flight=self.admitted - self.finished, duplicates=self.duplicates)
        return figs

    def close(self) -> None:
        self.frames.close()
        self.tensors.close()

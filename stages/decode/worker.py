"""Decode worker: turns one frame's output maps into people, in frame pixels.

Workers ask the inference stage for work (DEALER → ROUTER), so frames go to whichever worker is
free and a dead worker's frames can be handed out again. A worker gets one message at a time (a
frame, or a batch of them in User specified mode) and answers it with one message of poses to
the sink and one of acknowledgements, which also asks for more. Results go to the sink, which restores
the input order. Run as many workers as there are spare cores (``--decode-workers``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import zmq

from pipeline import transport
from pipeline.messages import Frame, Poses, Stamp, WorkerReady
from pipeline.ring import SlotRing
from pipeline.stage import Stage

from .registry import default_threshold, make_decoder, reported, to_frame, weak_filter


class DecodeWorker(Stage):
    name = "decode"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.maps = SlotRing.attach(plan.maps_ring)
        # one decoder per network input shape (Frame.model); they share the family's kernels
        self.shapes = [[shape for _, shape in m.outputs] for m in plan.models]
        given = self.config.prob_threshold
        self.threshold = default_threshold(plan.model) if given is None else given
        self.decoders = [make_decoder(m, self.threshold) for m in plan.models]
        self.weak = weak_filter(plan.model)  # the family's rule for its least sure people
        t0 = time.monotonic()
        self.decoders[0][1]()
        self.work = self.socket(zmq.DEALER, plan.endpoints.work, bind=False, identity=self.identity.encode())
        self.out = self.socket(zmq.PUSH, plan.endpoints.poses, bind=False)
        return {"warmup_s": round(time.monotonic() - t0, 3)}

    def run(self) -> None:
        transport.send(self.work, WorkerReady(-1))
        while True:
            if not self.poll([self.work], 200):
                continue
            for msgs in transport.drain_batches(self.work):  # one answer per message (frame or batch)
                frames = [m for m in msgs if isinstance(m, Frame)]
                if frames:
                    poses = [p for p in map(self.process, frames) if p is not None]
                    now = time.monotonic_ns()
                    for p in poses:
                        p.frame.stamps[Stamp.DECODE_OUT] = now  # a batch leaves when its last frame is done
                    transport.send_all(self.out, poses)
                    transport.send_all(self.work, [WorkerReady(f.seq) for f in frames])

    def process(self, frame: Frame) -> Poses | None:
        """The frame's people, or None for a frame that is out already: the map slot holds a
        later frame, which the slot only takes once the sink has shown this one. That happens to
        a frame handed out again because its worker was lost after it sent the poses but before
        its acknowledgement reached inference (SIGSTOP can fall between the two sends)."""
        held = self.maps.committed(frame.slot)
        if held > frame.seq:
            return None
        if held != frame.seq:
            raise RuntimeError(f"map slot {frame.slot} does not hold frame {frame.seq}")
        t0 = time.monotonic_ns()
        frame.stamps[Stamp.DECODE_IN] = t0
        maps = self.maps.views(frame.slot, self.shapes[frame.model])
        keypoints, scores = reported(*self.decoders[frame.model][0](maps), self.threshold, self.weak)
        del maps
        to_frame(keypoints, frame.scale, frame.pad_x, frame.pad_y, frame.width, frame.height)
        t1 = time.monotonic_ns()
        frame.stamps[Stamp.DECODE_OUT] = t1
        self.items += 1
        self.busy_ns += t1 - t0
        return Poses(frame=dataclasses.replace(frame, worker=self.instance), keypoints=keypoints, scores=scores)

    def close(self) -> None:
        self.maps.close()

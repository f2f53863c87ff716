"""Preprocess: letterboxes each frame into the network's input size, straight into the tensor ring.

The frame is scaled by ``min(net_w / w, net_h / h)`` and placed at the top-left corner; the rest
is zero. The tensor stays uint8 BGR NHWC: conversion to the network's element type, layout and
colour order happens inside the compiled model (OpenVINO's PrePostProcessor), on its own threads.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import cv2
import numpy as np
import zmq

from pipeline import transport
from pipeline.messages import EndOfStream, Frame, Message, Stamp
from pipeline.ring import SlotRing

from .base import Stage


def letterbox(frame: np.ndarray, out: np.ndarray) -> float:
    """Scale ``frame`` (h, w, 3) into the top-left of ``out`` (H, W, 3), zero the rest, and return
    the scale. ``out`` is written in place."""
    h, w = frame.shape[:2]
    net_h, net_w = out.shape[:2]
    scale = min(net_w / w, net_h / h)
    rw, rh = min(net_w, max(1, round(w * scale))), min(net_h, max(1, round(h * scale)))
    target = out[:rh, :rw]
    if (rw, rh) == (w, h):
        target[...] = frame
    else:
        resized = cv2.resize(frame, (rw, rh), dst=target, interpolation=cv2.INTER_LINEAR)
        if resized is not None and not np.shares_memory(resized, out):
            target[...] = resized
    if rh < net_h:
        out[rh:] = 0
    if rw < net_w:
        out[:rh, rw:] = 0
    return scale


class Preprocess(Stage):
    name = "preprocess"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.frames = SlotRing.attach(plan.frames_ring)
        self.tensors = SlotRing.attach(plan.tensors_ring)
        self.shape = (plan.model.net_h, plan.model.net_w, 3)
        self.inp = self.socket(zmq.PULL, plan.endpoints.frames, bind=True)
        self.out = self.socket(zmq.PUSH, plan.endpoints.tensors, bind=False)
        return {"net_input": f"{plan.model.net_w}x{plan.model.net_h}"}

    def run(self) -> None:
        while True:
            if not self.poll([self.inp], 200):
                continue
            out: list[Message] = []  # what arrived together leaves together, in order
            for msg in transport.drain(self.inp):
                if isinstance(msg, Frame):
                    out.append(self.process(msg))
                elif isinstance(msg, EndOfStream):
                    out.append(msg)
            now = time.monotonic_ns()
            for msg in out:
                if isinstance(msg, Frame):
                    msg.stamps[Stamp.PRE_OUT] = now  # a batch's wait for its last frame counts here
            transport.send_all(self.out, out)

    def process(self, frame: Frame) -> Frame:
        t0 = time.monotonic_ns()
        frame.stamps[Stamp.PRE_IN] = t0
        image = self.frames.read(frame.seq, (frame.height, frame.width, 3))
        tensor = self.tensors.view(frame.slot, self.shape)
        scale = letterbox(image, tensor)
        del image, tensor
        self.tensors.commit(frame.seq)
        t1 = time.monotonic_ns()
        self.items += 1
        self.busy_ns += t1 - t0
        return dataclasses.replace(frame, scale=scale, pad_x=0.0, pad_y=0.0)

    def close(self) -> None:
        self.frames.close()
        self.tensors.close()

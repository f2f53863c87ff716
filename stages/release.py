"""Giving frame ring slots back to the capture process that owns them (from the sink once a
frame is out, from preprocess for a frame it had already)."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import numpy as np
import zmq

from pipeline import transport
from pipeline.messages import Frame, Released

if TYPE_CHECKING:
    from pipeline.stage import Stage


class Releaser:
    """Gives frame ring slots back to the capture process that owns them."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.sockets: dict[str, zmq.Socket] = {}
        self.gone: set[str] = set()

    def release(self, frames: list[Frame]) -> None:
        by_cap: dict[str, list[int]] = collections.defaultdict(list)
        for f in frames:
            if f.cap and f.cap not in self.gone:
                by_cap[f.cap].append(f.lseq)
        for cap, lseqs in by_cap.items():
            sock = self.sockets.get(cap)
            if sock is None:
                address = self.stage.plan.endpoints.capture_credits(cap)
                sock = self.sockets[cap] = self.stage.socket(zmq.PUSH, address, bind=False)
            transport.send(sock, Released(np.asarray(lseqs, np.int64)))

    def lost(self, identity: str) -> None:
        self.gone.add(identity)
        sock = self.sockets.pop(identity, None)
        if sock is not None:
            sock.close(linger=0)

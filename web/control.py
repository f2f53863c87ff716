"""The web process's requests to the controller: exactly those of ``python -m pipeline.ctl``
(:func:`pipeline.ctl.request`), sent to the REP socket the controller bound for this process.

``status`` is shared: a reply younger than ``FRESH_S`` answers every viewer, so that four pages
polling once a second cost the controller a few requests a second, not one per viewer and tile.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import zmq

from pipeline.ctl import request
from pipeline.messages import ControlReply, WireError

FRESH_S = 0.4
TIMEOUT_S = 3.0


class NoAnswer(Exception):
    """The controller did not answer in time (the run is ending, or stuck)."""


class Controller:
    def __init__(self, address: str) -> None:
        self.address = address
        self.lock = threading.Lock()  # one request at a time: the controller serves them in turn
        self._status: tuple[float, dict[str, Any]] | None = None

    def ask(self, command: str, arg: str = "") -> ControlReply:
        with self.lock:
            try:
                reply = request(self.address, command, arg, TIMEOUT_S)
            except (zmq.ZMQError, WireError) as exc:
                raise NoAnswer(f"the pipeline did not answer ({type(exc).__name__}: {exc})") from None
            if command != "metrics" and reply.state:  # every other reply's state is the status
                self._status = (time.monotonic(), reply.state)
            return reply

    def status(self) -> dict[str, Any]:
        cached = self._status
        if cached is not None and time.monotonic() - cached[0] < FRESH_S:
            return cached[1]
        return self.ask("status").state

    def cached_status(self) -> dict[str, Any] | None:
        return self._status[1] if self._status is not None else None

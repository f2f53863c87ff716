"""Replies that wait for slow work without stopping the controller's loop.

``ctl add`` of a file has to read it (its frame size, its length) before the run can take it, and
a folder of thousands of images or a file on a slow disk can take seconds. The controller must go
on hearing its stages meanwhile, or its watchdog would take its own silence for theirs. So the
reading runs on a thread (:func:`on_thread`), the request's reply is a :class:`Later`, and the
:class:`Responder` sends it when the work is done, from the loop's thread. A REP socket answers
one request at a time: the next one waits in the socket until this reply has gone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import zmq

from .. import transport
from ..messages import ControlReply, ControlRequest

T = TypeVar("T")


def on_thread(work: Callable[[], T], name: str = "posepipe-later") -> "Future[T]":
    """Run ``work`` on a daemon thread (one that hangs can never hold up the process's exit)."""
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # handed to whoever reads the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


@dataclass
class Later:
    """A reply still to come: ``then`` makes it from the finished ``future`` (on the loop's
    thread); past ``deadline`` (monotonic seconds) ``overdue`` is sent instead."""

    future: "Future[Any]"
    then: Callable[["Future[Any]"], ControlReply]
    deadline: float
    overdue: Callable[[], ControlReply]

    @classmethod
    def after(cls, work: Callable[[], T], then: Callable[["Future[T]"], ControlReply], timeout_s: float,
              overdue: Callable[[], ControlReply]) -> "Later":
        return cls(on_thread(work), then, time.monotonic() + timeout_s, overdue)


Apply = Callable[[ControlRequest], "ControlReply | Later"]


class Responder:
    """One REP socket whose replies may come :class:`Later`."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = sock
        self.waiting: Later | None = None

    def serve(self, apply: Apply) -> None:
        """Answer the request waiting on the socket, if any and if no reply is still owed."""
        if self.waiting is not None:
            self.flush()
            return
        try:
            msg = transport.recv(self.sock, zmq.NOBLOCK)
        except zmq.Again:
            return
        except ValueError as exc:
            transport.send(self.sock, ControlReply(False, {}, f"bad request: {exc}"))
            return
        reply = apply(msg) if isinstance(msg, ControlRequest) else ControlReply(False, {}, "not a request")
        if isinstance(reply, Later):
            self.waiting = reply
            self.flush()
        else:
            transport.send(self.sock, reply)

    def flush(self) -> None:
        """Send the reply owed, once its work is done (or overdue)."""
        later = self.waiting
        if later is None:
            return
        if later.future.done():
            reply = later.then(later.future)
        elif time.monotonic() > later.deadline:
            reply = later.overdue()
        else:
            return
        self.waiting = None
        transport.send(self.sock, reply)

    def abandon(self, reason: str) -> None:
        """The run is ending: whoever waits hears why instead of a timeout."""
        if self.waiting is not None:
            self.waiting = None
            try:
                transport.send(self.sock, ControlReply(False, {}, reason), flags=zmq.NOBLOCK)
            except zmq.ZMQError:
                pass

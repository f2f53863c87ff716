"""Headless control of a running pipeline: ``python -m pipeline.ctl ADDRESS COMMAND``.

Commands: ``toggle`` (switch between User specified and Min latency), ``mode user|latency``,
``status`` (print the current state as JSON, with every source's state and figures), ``stop``
(finish the frames in flight and exit), ``add SOURCE`` (read one more source), ``remove ID``
(stop reading source ID), ``metrics`` (the status with the whole-run latency histograms and each
process's CPU and memory, what ``--http``'s ``/metrics`` shows).
ADDRESS is the one the pipeline prints at start (``control: ipc://…``) or gave ``--control``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Callable, Sequence

import zmq

from .. import transport
from ..config import MODES
from .keys import apply_client
from .later import Responder
from ..errors import UsageError, printable
from ..messages import ControlReply, ControlRequest, WireError


def request(address: str, command: str, arg: str = "", timeout_s: float = 3.0,
            keys: str | None = None) -> ControlReply:
    """Send one request to the controller at ``address`` and return its reply. A ``tcp://``
    address is reached with the CurveZMQ client keys in ``keys`` (default: :func:`keys_dir`)."""
    ctx = transport.new_context()
    try:
        sock = ctx.socket(zmq.REQ)
        sock.linger = 0
        if address.startswith("tcp://"):
            apply_client(sock, keys)
        sock.connect(address)
        sock.rcvtimeo = int(timeout_s * 1000)
        sock.sndtimeo = int(timeout_s * 1000)
        transport.send(sock, ControlRequest(command, arg))
        reply = transport.recv(sock)
        if not isinstance(reply, ControlReply):
            raise WireError("unexpected reply")
        return reply
    finally:
        ctx.destroy(linger=0)


def serve_one(sock: zmq.Socket, apply: Callable[[ControlRequest], ControlReply]) -> None:
    """The other end: answer one request waiting on the REP socket ``sock`` (if any) with
    ``apply``'s reply (see :class:`pipeline.ctl.later.Responder` for replies that come later)."""
    Responder(sock).serve(apply)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.ctl", description=__doc__.splitlines()[0])
    parser.add_argument("address", help="the controller's address, as printed at start")
    parser.add_argument("command", choices=("toggle", "mode", "status", "stop", "add", "remove", "metrics"))
    parser.add_argument("arg", nargs="?", metavar="ARG",
                        help="with 'mode': user or latency; with 'add': the source; with 'remove': its id")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for an answer (default 3)")
    parser.add_argument("--keys", metavar="DIR", help="CurveZMQ keys for a tcp:// address (default: $POSEPIPE_KEYS "
                                                      "or ~/.config/posepipe/keys; see python -m pipeline.ctlkeys)")
    ns = parser.parse_args(argv)
    if ns.command == "mode" and ns.arg not in MODES:
        parser.error("'mode' needs a mode name: " + " or ".join(MODES))
    if ns.command in ("add", "remove") and not ns.arg:
        parser.error(f"'{ns.command}' needs " + ("a source" if ns.command == "add" else "a source id"))
    if not (math.isfinite(ns.timeout) and 0 < ns.timeout <= 86400):
        parser.error(f"--timeout must be a number of seconds between 0 and 86400 (got {ns.timeout})")
    try:
        reply = request(ns.address, ns.command, ns.arg or "", ns.timeout, ns.keys)
    except zmq.Again:
        print(f"error: no answer from {ns.address} within {ns.timeout:g} s (is the pipeline running?)",
              file=sys.stderr)
        return 1
    except (zmq.ZMQError, WireError) as exc:
        print(printable(f"error: {ns.address}: {exc}"), file=sys.stderr)
        return 1
    except UsageError as exc:
        print(printable(f"error: {exc}"), file=sys.stderr)
        return 2
    if not reply.ok:
        print(printable(f"error: {reply.error}"), file=sys.stderr)
        return 1
    print(json.dumps(reply.state, sort_keys=True))
    return 0


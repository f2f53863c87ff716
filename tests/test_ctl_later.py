"""Replies that come later (pipeline/ctl/later.py), over real ZeroMQ sockets: the loop that
serves them never waits for the slow work, a second request waits its turn, and a reply whose
work overruns its deadline, or whose run ends, still reaches the one who asked."""

from __future__ import annotations

import threading
import time

import zmq

from pipeline import transport
from pipeline.ctl import Later, Responder
from pipeline.messages import ControlReply, ControlRequest


def _pair(tmp_path):
    ctx = transport.new_context()
    address = f"ipc://{tmp_path}/rep"
    rep = transport.socket(ctx, zmq.REP, address, bind=True)
    return ctx, address, Responder(rep)


def _ask(ctx, address: str, command: str, arg: str = "") -> zmq.Socket:
    req = transport.socket(ctx, zmq.REQ, address, bind=False)
    transport.send(req, ControlRequest(command, arg))
    return req


def _answer(req: zmq.Socket, timeout_s: float = 10) -> ControlReply | None:
    if req.poll(int(timeout_s * 1000)):
        return transport.recv(req)
    return None


def _serve_until(responder: Responder, apply, done, timeout_s: float = 10) -> int:
    """The controller's loop in small: returns how many turns it made."""
    turns, deadline = 0, time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        responder.serve(apply)
        turns += 1
        time.sleep(0.01)
    return turns


def test_the_loop_turns_while_the_work_runs_and_the_next_request_waits_its_turn(tmp_path):
    ctx, address, responder = _pair(tmp_path)
    release = threading.Event()
    try:
        def apply(req: ControlRequest) -> ControlReply | Later:
            if req.command == "add":
                return Later.after(lambda: release.wait(10) and req.arg, lambda f: ControlReply(True, {"added": f.result()}),
                                   30, lambda: ControlReply(False, {}, "overdue"))
            return ControlReply(True, {"asked": req.command})

        slow = _ask(ctx, address, "add", "folder")
        _serve_until(responder, apply, lambda: responder.waiting is not None)
        assert responder.waiting is not None
        second = _ask(ctx, address, "status")
        turns = _serve_until(responder, apply, lambda: False, timeout_s=0.5)  # the loop goes on meanwhile
        assert turns > 10
        assert _answer(slow, 0.1) is None and _answer(second, 0.1) is None  # neither answered yet
        release.set()
        _serve_until(responder, apply, lambda: responder.waiting is None)
        assert _answer(slow).state == {"added": "folder"}
        _serve_until(responder, apply, lambda: second.poll(0) != 0)
        assert _answer(second).state == {"asked": "status"}
    finally:
        release.set()
        ctx.destroy(linger=0)


def test_work_past_its_deadline_is_answered_as_overdue_and_an_ended_run_says_so(tmp_path):
    ctx, address, responder = _pair(tmp_path)
    never = threading.Event()
    try:
        def apply(req: ControlRequest) -> Later:
            return Later.after(lambda: never.wait(10), lambda f: ControlReply(True), 0.3 if req.arg == "short" else 30,
                               lambda: ControlReply(False, {}, "still not read; not added"))

        req = _ask(ctx, address, "add", "short")
        _serve_until(responder, apply, lambda: req.poll(0) != 0)
        reply = _answer(req)
        assert reply is not None and not reply.ok and reply.error == "still not read; not added"
        req = _ask(ctx, address, "add", "long")
        _serve_until(responder, apply, lambda: responder.waiting is not None)
        responder.abandon("the run ended before the source could be added")
        reply = _answer(req)
        assert reply is not None and not reply.ok and "run ended" in reply.error
    finally:
        never.set()
        ctx.destroy(linger=0)

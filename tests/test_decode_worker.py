"""A decode worker, run alone as its process runs in a pipeline, with this test in the place of
inference (the work ROUTER), the sink (the poses PULL) and the controller (events, control)."""

from __future__ import annotations

import multiprocessing as mp
import time

import cv2
import zmq

from pipeline import transport
from pipeline.cli import config_from_args
from pipeline.controller import STAGES, Controller
from pipeline.messages import Frame, Poses, StageError, Stop, WorkerReady
from pipeline.ring import SlotRing
from pipeline.stage import stage_main
from tests.helpers import movenet_model


def _arrived(sock: zmq.Socket, seconds: float) -> list:
    """Every message that arrives on ``sock`` (a ROUTER: from any peer) within ``seconds``."""
    got: list = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not sock.poll(100):
            continue
        if sock.type == zmq.ROUTER:
            got.extend(m for _, batch in transport.drain_routed(sock) for m in batch)
        else:
            got.extend(transport.drain(sock))
    return got


def test_a_frame_handed_out_again_after_the_sink_showed_it_is_acknowledged(tmp_path, sample):
    """Inference hands a lost worker's frames out again; one whose poses had reached the sink
    (the worker was stopped between its two sends) finds its map slot holding a later frame.
    The worker acknowledges it and sends no poses for it (the sink showed it already), instead
    of failing the run; a frame whose slot holds it is decoded as ever."""
    image = tmp_path / "a.png"
    cap = cv2.VideoCapture(str(sample))
    ok, frame = cap.read()
    cap.release()
    assert ok and cv2.imwrite(str(image), frame)
    controller = Controller(config_from_args(["-i", str(image), "-at", "movenet", "-m", movenet_model(), "-no_show"]))
    plan = controller.prepare()
    ctx = transport.new_context()
    proc = None
    maps = None
    try:
        events = transport.socket(ctx, zmq.PULL, plan.endpoints.events, bind=True)
        control = transport.socket(ctx, zmq.PUB, plan.endpoints.control, bind=True)
        work = transport.socket(ctx, zmq.ROUTER, plan.endpoints.work, bind=True)
        poses = transport.socket(ctx, zmq.PULL, plan.endpoints.poses, bind=True)
        maps = SlotRing.attach(plan.maps_ring)
        module, cls = STAGES["decode"]
        proc = mp.get_context("spawn").Process(target=stage_main, args=(module, cls, plan, 0, "decode0.0"))
        proc.start()
        assert work.poll(120_000), "the worker never asked for work"
        identity, first = next(transport.drain_routed(work))
        assert first == [WorkerReady(-1)]

        slots = plan.maps_ring.slots
        shown, current = 3, 5
        maps.commit(shown + slots)  # the slot of frame 3 has moved on to a later frame
        maps.commit(current)  # its maps are all zero (a new segment): nobody there
        h, w = frame.shape[:2]
        batch = [Frame(seq=shown, slot=maps.slot_of(shown), height=h, width=w),
                 Frame(seq=current, slot=maps.slot_of(current), height=h, width=w)]
        transport.send_all(work, batch, prefix=[identity])

        acks = _arrived(work, 30)
        assert sorted(m.done for m in acks if isinstance(m, WorkerReady)) == [shown, current]
        out = [m for m in _arrived(poses, 2) if isinstance(m, Poses)]
        assert [p.frame.seq for p in out] == [current] and len(out[0].scores) == 0
        assert not [m for m in transport.drain(events) if isinstance(m, StageError)]
        assert proc.is_alive()
    finally:
        if maps is not None:
            maps.close()
        if proc is not None:
            deadline = time.monotonic() + 30
            while proc.is_alive() and time.monotonic() < deadline:
                transport.send(control, Stop(drain=False, reason="test"))
                proc.join(0.1)
            if proc.is_alive():
                proc.kill()
        ctx.destroy(linger=0)
        controller.shutdown()
    assert proc.exitcode == 0

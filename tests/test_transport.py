"""ZeroMQ helpers: batches arrive as the messages they carry, in the order they were sent."""

from __future__ import annotations

import zmq

from pipeline import transport
from pipeline.messages import EndOfStream, Frame


def test_drain_unpacks_batches_in_order():
    ctx = transport.new_context()
    try:
        pull = transport.socket(ctx, zmq.PULL, "inproc://t", bind=True)
        push = transport.socket(ctx, zmq.PUSH, "inproc://t", bind=False)
        transport.send_all(push, [Frame(seq=i, slot=i, height=1, width=1) for i in range(3)])
        transport.send(push, Frame(seq=3, slot=3, height=1, width=1))
        transport.send_all(push, [])  # nothing to send: nothing sent
        transport.send_all(push, [Frame(seq=4, slot=0, height=1, width=1), EndOfStream(count=5)])
        got = []
        for _ in range(100):
            got.extend(transport.drain(pull))
            if len(got) >= 6:
                break
            pull.poll(50)
        assert [getattr(m, "seq", "eos") for m in got] == [0, 1, 2, 3, 4, "eos"]
        assert list(transport.drain(pull)) == []
    finally:
        ctx.destroy(linger=0)

"""The decoder under attack: whatever bytes arrive, it returns a message whose fields have their
declared types, or raises WireError; no other exception escapes (the controller answers a bad
control request with an error and goes on)."""

from __future__ import annotations

import dataclasses
import json
import math
import random

import numpy as np
import pytest

from pipeline import messages as m

TAGS = sorted(m._REGISTRY)
WEIRD = [None, True, False, 0, -1, 1, 2**63, -2**63 - 1, 10**400, 1e308, -0.0, float("nan"), float("inf"),
         float("-inf"), "", "x" * 1000, "\udcff", "user", "latency", [], [1, 2], [[]], {}, {"a": 1},
         [-1], [2**40, 2**40], [3, -3], [0], [1] * 20]


def random_value(rnd: random.Random, depth: int = 0):
    pick = rnd.random()
    if pick < 0.5 or depth > 3:
        return rnd.choice(WEIRD)
    if pick < 0.75:
        return [random_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    return {rnd.choice(["a", "seq", "command", "arg", "stamps"]): random_value(rnd, depth + 1)
            for _ in range(rnd.randrange(4))}


def random_header(rnd: random.Random, cls) -> bytes:
    names = [f.name for f in dataclasses.fields(cls)]
    kind = rnd.random()
    if kind < 0.1:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
    if kind < 0.15:
        return b"[" * 5000 + b"]" * 5000  # deep nesting
    if kind < 0.25:
        return json.dumps(random_value(rnd)).encode()
    if kind < 0.6:
        # a real message with one field replaced
        header = {n: rnd.choice(WEIRD) for n in names if rnd.random() < 0.9}
        return json.dumps(header, allow_nan=True).encode()
    # a valid message, mutated
    base = {n: random_value(rnd) for n in names}
    if rnd.random() < 0.5 and names:
        base.pop(rnd.choice(names))
    if rnd.random() < 0.2:
        base["nope"] = 1
    return json.dumps(base).encode()


def random_parts(rnd: random.Random) -> list[bytes]:
    r = rnd.random()
    if r < 0.05:
        return [bytes(rnd.randrange(256) for _ in range(rnd.randrange(8))) for _ in range(rnd.randrange(4))]
    tag = rnd.choice(TAGS + [0, 0, 99])
    head = b"PP" + bytes((m.WIRE_VERSION if rnd.random() < 0.95 else rnd.randrange(256), tag))
    cls = m._REGISTRY.get(tag, m.Finished)
    if tag == 0:
        inner = [random_parts(rnd) for _ in range(rnd.randrange(1, 3))]
        counts = [len(p) for p in inner] if rnd.random() < 0.7 else random_value(rnd)
        return [head, json.dumps(counts).encode(), *[x for p in inner for x in p]]
    parts = [head, random_header(rnd, cls)]
    for _ in range(rnd.randrange(4)):
        parts.append(bytes(rnd.randrange(256) for _ in range(rnd.choice([0, 1, 8, 136, 204, 7]))))
    return parts


def assert_well_typed(msg: m.Message) -> None:
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        declared = str(f.type)
        if f.name in msg.ARRAYS:
            assert isinstance(value, np.ndarray) and value.dtype == msg.ARRAYS[f.name]
        elif declared == "int":
            assert type(value) is int
        elif declared == "float":
            assert isinstance(value, float) and math.isfinite(value)
        elif declared == "str":
            assert isinstance(value, str)
        elif declared == "bool":
            assert isinstance(value, bool)
        elif declared.startswith("dict"):
            assert isinstance(value, dict)


def test_ten_thousand_random_messages_never_raise_anything_but_wire_error():
    rnd = random.Random(14)
    decoded = refused = 0
    for _ in range(12000):
        parts = random_parts(rnd)
        for fn in (m.decode, m.decode_all):
            try:
                out = fn(parts)
            except m.WireError:
                refused += 1
                continue
            decoded += 1
            for msg in (out if isinstance(out, list) else [out]):
                assert_well_typed(msg)
    assert refused > 10000 and decoded > 0  # both paths were exercised


@pytest.mark.parametrize("parts", [
    [b"PP\x01\x0c", b"[]"],  # a list where an object belongs: AttributeError before
    [b"PP\x01\x0c", b'{"command": 1}'],
    [b"PP\x01\x0c", b'{"command": ["toggle"]}'],
    [b"PP\x01\x09", b'{"stage": "infer", "pid": 1, "info": []}'],
    [b"PP\x01\x01", b'{"seq": 1, "slot": 0, "height": 1, "width": 1, "scale": NaN}'],
    [b"PP\x01\x01", b'{"seq": 1e400, "slot": 0, "height": 1, "width": 1}'],
    [b"PP\x01\x04", b'{"upto": 100000000000000000000000000000}'],
    [b"PP\x01\x01", b'{"seq": 1, "slot": 0, "height": 1, "width": 1, "stamps": [1000000000000]}', b"\0" * 88],
    [b"PP\x01\x01", b'{"seq": 1, "slot": 0, "height": 1, "width": 1, "stamps": [11]}'],
    [b"PP\x01\x04", b'{"upto": 1}', b"extra"],
    [b"PP\x01\x0c", b"\xff\xfe"],
    [b"PP\x01\x0c", b"[" * 100000],
])
def test_the_reported_malformed_messages_are_refused(parts):
    with pytest.raises(m.WireError):
        m.decode(parts)

"""Message schemas and their wire format: every type round-trips; nothing else is accepted."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import messages as m


def roundtrip(msg):
    return m.decode([bytes(p) for p in m.encode(msg)])


def test_frame_roundtrip_keeps_every_field_and_stamp():
    frame = m.Frame(seq=41, slot=3, height=576, width=768, source=2, index=99, name="a.jpg",
                    scale=0.5, pad_x=1.0, pad_y=2.0)
    frame.stamped(m.Stamp.READ, 123).stamped(m.Stamp.SINK_OUT, 456)
    back = roundtrip(frame)
    assert back == frame
    assert back.stamps.tolist() == frame.stamps.tolist()
    back.stamps[m.Stamp.PRE_IN] = 7  # received stamps are writable for the next stage
    assert frame.stamps[m.Stamp.PRE_IN] == 0


def test_poses_roundtrip_with_people_and_without():
    rng = np.random.default_rng(0)
    frame = m.Frame(seq=1, slot=1, height=10, width=10)
    for n in (0, 1, 6):
        poses = m.Poses(frame=frame, keypoints=rng.random((n, 17, 3), dtype=np.float32),
                        scores=rng.random(n, dtype=np.float32))
        back = roundtrip(poses)
        np.testing.assert_array_equal(back.keypoints, poses.keypoints)
        np.testing.assert_array_equal(back.scores, poses.scores)
        assert back.frame == frame and back.count == n


def test_poses_validate_their_shapes():
    frame = m.Frame(seq=1, slot=1, height=10, width=10)
    with pytest.raises(ValueError):
        m.Poses(frame=frame, keypoints=np.zeros((2, 17), np.float32), scores=np.zeros(2, np.float32))
    with pytest.raises(ValueError):
        m.Poses(frame=frame, keypoints=np.zeros((2, 17, 3), np.float32), scores=np.zeros(3, np.float32))


@pytest.mark.parametrize("msg", [
    m.EndOfStream(count=10, source=1, error="truncated"),
    m.Finished(upto=5),
    m.WorkerReady(done=3),
    m.SetMode("latency"),
    m.SetWindow(4),
    m.Stop(drain=True, reason="x"),
    m.WorkerLost("decode1.0"),
    m.StageReady("infer", 123, {"precision": "bf16", "requests": 2}),
    m.StageError("capture", "cannot open", 2),
    m.StageStats("sink", {"fps": 30.5}, final=True),
    m.ControlRequest("mode", "user"),
    m.ControlReply(True, {"mode": "user"}),
    m.Log("capture", "skipped x"),
    m.Start(),
])
def test_every_small_message_roundtrips(msg):
    assert roundtrip(msg) == msg


def test_frames_are_never_pickled():
    parts = m.encode(m.Frame(seq=1, slot=0, height=1, width=1))
    assert not any(bytes(p).startswith(b"\x80") for p in parts)  # pickle protocol marker


@pytest.mark.parametrize("parts", [
    [b"XX\x01\x01", b"{}"],  # not ours
    [b"PP\x09\x01", b"{}"],  # other version
    [b"PP\x01\xee", b"{}"],  # unknown type
    [b"PP\x01\x04", b"not json"],
    [b"PP\x01\x04", b'{"nope": 1}'],
    [b"PP\x01"],
])
def test_malformed_messages_are_refused(parts):
    with pytest.raises(m.WireError):
        m.decode(parts)


def test_a_batch_carries_every_message_in_order():
    rng = np.random.default_rng(3)
    msgs = [m.Frame(seq=i, slot=i % 4, height=432, width=768, stamps=rng.integers(0, 2**40, m.NUM_STAMPS))
            for i in range(5)]
    poses = m.Poses(frame=msgs[0], keypoints=rng.random((2, 17, 3), dtype=np.float32),
                    scores=np.array([0.9, 0.5], np.float32))
    batch = [*msgs, poses, m.EndOfStream(count=5)]
    parts = [bytes(p) for p in m.encode_batch(batch)]
    out = m.decode_all(parts)
    assert [type(x) for x in out] == [type(x) for x in batch]
    assert [x.seq for x in out[:5]] == [0, 1, 2, 3, 4]
    assert all(np.array_equal(a.stamps, b.stamps) for a, b in zip(out[:5], msgs))
    assert np.array_equal(out[5].keypoints, poses.keypoints) and out[6] == batch[6]


def test_a_batch_of_one_is_a_plain_message():
    frame = m.Frame(seq=7, slot=1, height=2, width=2)
    assert m.encode_batch([frame])[0] == m.encode(frame)[0]
    assert m.decode_all(m.encode(frame)) == [frame]
    with pytest.raises(ValueError):
        m.encode_batch([])


def test_decode_refuses_a_batch_where_one_message_is_expected():
    parts = m.encode_batch([m.Finished(upto=1), m.Finished(upto=2)])
    with pytest.raises(m.WireError, match="batch"):
        m.decode(parts)


@pytest.mark.parametrize("counts", [b"[2, 2, 2]", b"[1, 3]", b"not json", b'{"a": 1}'])
def test_malformed_batches_are_refused(counts):
    parts = m.encode_batch([m.Finished(upto=1), m.Finished(upto=2)])
    parts[1] = counts
    with pytest.raises(m.WireError):
        m.decode_all(parts)


def test_a_batch_inside_a_batch_is_refused():
    inner = m.encode_batch([m.Finished(upto=1), m.Finished(upto=2)])
    parts = [m.encode_batch([m.Finished(upto=0), m.Finished(upto=0)])[0], f"[{len(inner)}]".encode(), *inner]
    with pytest.raises(m.WireError, match="inside a batch"):
        m.decode_all(parts)

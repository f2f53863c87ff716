"""The shared-memory slot ring: wrap-around, slot reuse, order, overwrite detection, ownership."""

from __future__ import annotations

import multiprocessing as mp
import os

import numpy as np
import pytest

from pipeline.ring import SlotOverwritten, SlotRing, packed_bytes, pipeline_segments


def test_create_attach_and_unlink_leave_nothing():
    ring = SlotRing.create("test", 4, 1000)
    assert ring.spec.name in pipeline_segments()
    other = SlotRing.attach(ring.spec)
    other.view(2, (10, 10))[...] = 7
    assert ring.view(2, (10, 10)).sum() == 700  # same memory
    other.close()
    ring.close()
    ring.unlink()
    assert ring.spec.name not in pipeline_segments()
    ring.unlink()  # twice is harmless


def test_only_the_owner_unlinks():
    with SlotRing.create("test", 2, 64) as ring:
        other = SlotRing.attach(ring.spec)
        with pytest.raises(RuntimeError):
            other.unlink()
        other.close()


def test_wrap_around_reuses_slots_in_order():
    with SlotRing.create("test", 3, 16) as ring:
        slots = [ring.slot_of(seq) for seq in range(7)]
        assert slots == [0, 1, 2, 0, 1, 2, 0]
        for seq in range(7):
            ring.view(ring.slot_of(seq), (4,), np.int32)[...] = seq
            ring.commit(seq)
        # the last `slots` frames are readable, in order, with their own contents
        assert [int(ring.read(seq, (4,), np.int32)[0]) for seq in (4, 5, 6)] == [4, 5, 6]


def test_reading_an_overwritten_frame_is_detected():
    with SlotRing.create("test", 2, 16) as ring:
        for seq in range(3):
            ring.commit(seq)
        with pytest.raises(SlotOverwritten):
            ring.read(0, (4,))  # slot 0 now holds frame 2
        with pytest.raises(SlotOverwritten):
            ring.read(5, (4,))  # never written


def test_views_respect_slot_size_and_alignment():
    with SlotRing.create("test", 2, packed_bytes([(3, 5), (7,)])) as ring:
        a, b = ring.views(1, [(3, 5), (7,)])
        assert a.ctypes.data % 64 == 0 and b.ctypes.data % 64 == 0
        a[...] = 1.5
        b[...] = 2.5
        assert not np.shares_memory(a, b)
        assert ring.views(1, [(3, 5), (7,)])[0].sum() == pytest.approx(22.5)
        with pytest.raises(ValueError):
            ring.view(0, (1000,))
        with pytest.raises(IndexError):
            ring.view(2, (1,))
        del a, b


def _writer(spec, count):
    ring = SlotRing.attach(spec)
    for seq in range(count):
        ring.view(ring.slot_of(seq), (8,), np.int64)[...] = seq * 10
        ring.commit(seq)
    ring.close()


def test_another_process_writes_what_this_one_reads():
    with SlotRing.create("test", 5, 64) as ring:
        proc = mp.get_context("spawn").Process(target=_writer, args=(ring.spec, 12))
        proc.start()
        proc.join(60)
        assert proc.exitcode == 0
        for seq in range(7, 12):
            assert ring.read(seq, (8,), np.int64).tolist() == [seq * 10] * 8


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        SlotRing.create("test", 0, 10)


def test_a_full_dev_shm_is_a_clear_error_not_a_crash_later(monkeypatch):
    """A sparse segment on a full /dev/shm would kill the first process that writes a frame with
    SIGBUS; the ring reserves its memory up front and says what to do instead."""
    import errno

    from pipeline import ring as ring_mod
    from pipeline.errors import ResourceError

    def full(shm, size):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ring_mod, "_reserve", full)
    before = pipeline_segments()
    with pytest.raises(ResourceError, match=r"frames ring \(12 slots.*--shm-size.*--ring-slots or --batch"):
        SlotRing.create("frames", 12, 6 * 2**20)
    assert pipeline_segments() == before


def test_a_ring_is_backed_by_memory_when_created():
    ring = SlotRing.create("frames", 3, 2**20)
    try:
        usage = os.stat(f"/dev/shm/{ring.spec.name}")
        assert usage.st_blocks * 512 >= 3 * 2**20  # allocated, not sparse
    finally:
        ring.close()
        ring.unlink()


def test_every_segment_of_a_run_is_found_by_its_id():
    """A controller that dies cannot unlink its rings; the stages that outlive it find every
    segment of the run by its id, the frame rings of capture processes restarted before anyone
    read from them included, and leave other runs' segments alone."""
    from pipeline.ring import new_run_id, run_segments, unlink_segments

    run, other = new_run_id(), new_run_id()
    mine = [SlotRing.create(role, 2, 64, run) for role in ("tensors", "frames", "frames")]
    theirs = SlotRing.create("frames", 2, 64, other)
    try:
        assert sorted(r.spec.name for r in mine) == run_segments(run)
        assert run_segments("") == []
        unlink_segments(run_segments(run))
        assert run_segments(run) == []
        assert run_segments(other) == [theirs.spec.name]
    finally:
        for ring in mine:
            ring.close()
        theirs.close()
        theirs.unlink()

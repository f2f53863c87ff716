"""A ring of fixed-size slots in one named shared-memory segment.

The launcher creates every ring (:meth:`SlotRing.create`) and is the only process that unlinks
it; stages attach by name (:meth:`SlotRing.attach`) and only close. Frames never cross a socket:
a message names the slot and the frame's sequence number.

Which slot a frame uses is ``seq % slots``, and the capture stage admits a new frame only while
fewer than ``slots`` frames are in flight (see :mod:`stages.capture`), so a writer never
overwrites a slot that a reader still needs. Each slot's header records the sequence number last
committed to it, so that a reader can still detect a stale or overwritten slot
(:class:`SlotOverwritten`) instead of reading wrong pixels.

Layout: ``slots`` int64 sequence numbers (a 64-byte aligned header), then the slots, each
``slot_bytes`` long rounded up to 64 bytes.
"""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
from dataclasses import dataclass
from typing import Iterator
from multiprocessing import shared_memory

import numpy as np

from .errors import ResourceError

_ALIGN = 64
NAME_PREFIX = "posepipe"


def _round_up(n: int, to: int = _ALIGN) -> int:
    return (n + to - 1) // to * to


def packed_bytes(shapes: list[tuple[int, ...]], itemsize: int = 4) -> int:
    """Bytes a slot needs to hold arrays of ``shapes`` packed by :meth:`SlotRing.views`."""
    return sum(_round_up(int(np.prod(s)) * itemsize) for s in shapes)


class SlotOverwritten(RuntimeError):
    """The slot no longer holds the frame the message names."""


@dataclass(frozen=True)
class RingSpec:
    """What a process needs to attach to a ring: picklable, no handles."""

    name: str
    slots: int
    slot_bytes: int

    @property
    def stride(self) -> int:
        return _round_up(self.slot_bytes)

    @property
    def header_bytes(self) -> int:
        return _round_up(8 * self.slots)

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + self.stride * self.slots


SHM_TAG_ENV = "POSEPIPE_SHM_TAG"


def _tag_prefix(tag: str | None) -> str:
    return f"{NAME_PREFIX}-{tag}-" if tag else f"{NAME_PREFIX}-"


def unique_name(role: str, run: str = "") -> str:
    """A segment name unique to this run: ``posepipe-<run>-<role>-<random>``, or
    ``posepipe-<tag>-<run>-<role>-<random>`` where ``POSEPIPE_SHM_TAG`` is set (the tests set it,
    so that they count only their own segments on a host where other pipelines run)."""
    return f"{_run_prefix(run)}{role}-{secrets.token_hex(6)}"


def _run_prefix(run: str) -> str:
    return _tag_prefix(os.environ.get(SHM_TAG_ENV)) + (f"{run}-" if run else "")


def segment_prefix(run: str) -> str:
    """What every segment name of run ``run`` starts with (:func:`unique_name`); empty for an
    empty id (which names no run)."""
    return _run_prefix(run) if run else ""


def new_run_id() -> str:
    """An id for one run's segments (:func:`unique_name`), so that all of them can be found by
    name, those of capture processes long gone included (:func:`run_segments`)."""
    return secrets.token_hex(4)


def run_segments(run: str) -> list[str]:
    """The segments of run ``run`` still in /dev/shm (none for an empty id)."""
    return _segments_named(_run_prefix(run)) if run else []


def _segments_named(prefix: str) -> list[str]:
    try:
        return sorted(n for n in os.listdir("/dev/shm") if n.startswith(prefix))
    except FileNotFoundError:
        return []


def _reserve(shm: shared_memory.SharedMemory, size: int) -> None:
    """Back the whole segment with memory now. A segment is sparse until written, and a write
    that finds /dev/shm full kills the writer with SIGBUS: better to fail here, with a message."""
    fd = getattr(shm, "_fd", -1)
    if fd >= 0 and hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)


class _NoTracker:
    """Stands in for multiprocessing's resource tracker while a segment is opened or unlinked."""

    @staticmethod
    def register(name: str, rtype: str) -> None:
        pass

    @staticmethod
    def unregister(name: str, rtype: str) -> None:
        pass


@contextlib.contextmanager
def _untracked() -> Iterator[None]:
    """Open or unlink segments without Python's resource tracker.

    The tracker is one more process, started on first use and left running for a moment after
    the controller exits, and it dies with the rest of the process group on SIGHUP, leaving
    segments behind. Here the controller unlinks every segment it created on every exit path,
    and if the controller itself is killed the stages unlink them (:func:`unlink_segments`).
    (Python 3.13's ``track=False`` does the same; this works on 3.11 and 3.12 too.)"""
    saved = shared_memory.resource_tracker
    shared_memory.resource_tracker = _NoTracker  # type: ignore[assignment]
    try:
        yield
    finally:
        shared_memory.resource_tracker = saved


def _segment(name: str, create: bool = False, size: int = 0) -> shared_memory.SharedMemory:
    with _untracked():
        return shared_memory.SharedMemory(name=name, create=create, size=size)


def unlink_segments(names: list[str]) -> None:
    """Remove the named segments if they are still there (a stage cleaning up after a controller
    that was killed). Removing a name twice is harmless."""
    for name in names:
        try:
            with _untracked():
                shm = shared_memory.SharedMemory(name=name, create=False)
                shm.close()
                shm.unlink()
        except (FileNotFoundError, OSError):
            pass


def stop_resource_tracker() -> None:
    """Stop the resource tracker that starting processes with ``spawn`` launched, and wait for
    it: called once every child is reaped, so that no process of the run outlives the
    controller. Nothing is registered with it (see :func:`_untracked`)."""
    from multiprocessing import resource_tracker
    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        try:
            stop()
        except (OSError, ChildProcessError):
            pass


class SlotRing:
    """One shared-memory segment holding ``slots`` slots of ``slot_bytes`` bytes each.

    The ring owns every numpy view it hands out; :meth:`close` drops them before closing the
    mapping, so callers must not keep views past ``close``.
    """

    def __init__(self, spec: RingSpec, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self.spec = spec
        self._shm: shared_memory.SharedMemory | None = shm
        self._owner = owner
        self._handle = shm  # kept after close: unlink needs only the name
        self._bytes: np.ndarray | None = np.frombuffer(shm.buf, dtype=np.uint8, count=spec.total_bytes)
        self._seqs: np.ndarray | None = self._bytes[: 8 * spec.slots].view(np.int64)

    # -- life cycle -----------------------------------------------------------------------
    @classmethod
    def create(cls, role: str, slots: int, slot_bytes: int, run: str = "") -> "SlotRing":
        if slots < 1 or slot_bytes < 1:
            raise ValueError(f"a ring needs at least one slot of one byte (got {slots} x {slot_bytes})")
        spec = RingSpec(unique_name(role, run), slots, slot_bytes)
        shm = _segment(spec.name, create=True, size=spec.total_bytes)
        try:
            _reserve(shm, spec.total_bytes)
        except OSError as exc:
            shm.close()
            with _untracked():
                shm.unlink()
            need = spec.total_bytes / 2**20
            raise ResourceError(f"not enough shared memory for the {role} ring ({slots} slots, {need:.0f} MiB): "
                                f"{exc.strerror or exc}; free /dev/shm (in Docker: --shm-size), or lower "
                                "--ring-slots or --batch") from None
        ring = cls(spec, shm, owner=True)
        assert ring._seqs is not None
        ring._seqs[:] = -1
        return ring

    @classmethod
    def attach(cls, spec: RingSpec) -> "SlotRing":
        return cls(spec, _segment(spec.name), owner=False)

    def close(self) -> None:
        """Drop the views and unmap. Safe to call twice."""
        self._seqs = None
        self._bytes = None
        shm = self._shm
        if shm is None:
            return
        try:
            shm.close()
        except BufferError:
            gc.collect()  # a caller's view outlived its use; collect it and retry once
            try:
                shm.close()
            except BufferError:
                return  # a view is still alive: close() again once its holder is gone
        self._shm = None

    def unlink(self) -> None:
        """Remove the segment's name (owner only). Safe to call twice."""
        if not self._owner:
            raise RuntimeError("only the process that created a ring unlinks it")
        try:
            with _untracked():
                self._handle.unlink()
        except FileNotFoundError:
            pass

    def __enter__(self) -> "SlotRing":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self._owner:
            self.unlink()

    # -- access ---------------------------------------------------------------------------
    @property
    def slots(self) -> int:
        return self.spec.slots

    def slot_of(self, seq: int) -> int:
        return seq % self.spec.slots

    def _raw(self, slot: int) -> np.ndarray:
        if self._bytes is None:
            raise RuntimeError("ring is closed")
        if not 0 <= slot < self.spec.slots:
            raise IndexError(f"slot {slot} out of range 0..{self.spec.slots - 1}")
        start = self.spec.header_bytes + slot * self.spec.stride
        return self._bytes[start : start + self.spec.slot_bytes]

    def view(self, slot: int, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
        """A writable array of ``shape``/``dtype`` over the start of ``slot`` (no copy)."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if nbytes > self.spec.slot_bytes:
            raise ValueError(f"{shape} {dtype} needs {nbytes} bytes; slots hold {self.spec.slot_bytes}")
        return self._raw(slot)[:nbytes].view(dtype).reshape(shape)

    def views(self, slot: int, shapes: list[tuple[int, ...]], dtype: np.dtype | type = np.float32) -> list[np.ndarray]:
        """Several arrays packed one after another (64-byte aligned) in ``slot``; see
        :func:`packed_bytes` for the room they need."""
        dtype = np.dtype(dtype)
        raw = self._raw(slot)
        out, offset = [], 0
        for shape in shapes:
            nbytes = int(np.prod(shape)) * dtype.itemsize
            if offset + nbytes > raw.shape[0]:
                raise ValueError(f"{shapes} do not fit in slots of {self.spec.slot_bytes} bytes")
            out.append(raw[offset : offset + nbytes].view(dtype).reshape(shape))
            offset += _round_up(nbytes)
        return out

    def commit(self, seq: int) -> int:
        """Mark the slot of ``seq`` as holding frame ``seq``; returns the slot."""
        if self._seqs is None:
            raise RuntimeError("ring is closed")
        slot = self.slot_of(seq)
        self._seqs[slot] = seq
        return slot

    def committed(self, slot: int) -> int:
        """The sequence number last committed to ``slot`` (-1 if none)."""
        if self._seqs is None:
            raise RuntimeError("ring is closed")
        return int(self._seqs[slot])

    def read(self, seq: int, shape: tuple[int, ...], dtype: np.dtype | type = np.uint8) -> np.ndarray:
        """The view of frame ``seq``; raises :class:`SlotOverwritten` if the slot moved on."""
        slot = self.slot_of(seq)
        found = self.committed(slot)
        if found != seq:
            raise SlotOverwritten(f"slot {slot} holds frame {found}, not {seq}")
        return self.view(slot, shape, dtype)


def pipeline_segments(tag: str | None = None) -> list[str]:
    """Names of this product's segments currently in /dev/shm (for tests and leak checks); with
    ``tag``, only those created under that ``POSEPIPE_SHM_TAG``."""
    return _segments_named(_tag_prefix(tag) if tag else NAME_PREFIX)


class RingSet:
    """Rings of one geometry attached by name on first use (every capture process, restarted
    ones too, has a frame ring of the run's frame geometry); closed together."""

    def __init__(self, slots: int, slot_bytes: int) -> None:
        self.slots, self.slot_bytes = slots, slot_bytes
        self.rings: dict[str, SlotRing] = {}

    def get(self, name: str) -> SlotRing:
        ring = self.rings.get(name)
        if ring is None:
            ring = self.rings[name] = SlotRing.attach(RingSpec(name, self.slots, self.slot_bytes))
        return ring

    def read(self, name: str, seq: int, shape: tuple[int, ...]) -> np.ndarray:
        return self.get(name).read(seq, shape)

    def close(self) -> None:
        for ring in self.rings.values():
            ring.close()
        self.rings.clear()

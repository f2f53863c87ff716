"""Every message that crosses a ZeroMQ socket, with its wire format.

A message is a frozen dataclass. On the wire it is a multipart ZeroMQ message:

* part 0: ``b"PP" + version + tag`` (4 bytes) naming the type;
* part 1: a small JSON object with the scalar fields;
* parts 2…: the raw bytes of the array fields, in the order of ``ARRAYS``; their dtype is fixed
  per field and their shape travels in the JSON header.

Several messages bound for the same socket can travel as one *batch* (tag 0): part 1 is then
the JSON list of each message's part count, followed by every message's parts in order. A batch
costs one ZeroMQ hop and one wake-up of the receiver, however many frames it carries.

Nothing is pickled, and pixels never travel here: frames stay in the shared-memory rings and a
message only names the slot (see :mod:`pipeline.ring`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Sequence

import numpy as np

WIRE_VERSION = 1
_MAGIC = b"PP"
BATCH_TAG = 0  # several messages in one multipart message


class Stamp(IntEnum):
    """Indices into a frame's ``stamps`` array: ``time.monotonic_ns()`` at each stage boundary."""

    READ = 0  # capture started reading the frame
    CAPTURED = 1  # frame is in the ring, message sent
    PRE_IN = 2
    PRE_OUT = 3
    INFER_IN = 4  # inference stage received the tensor
    INFER_START = 5  # request started
    INFER_DONE = 6  # request completed, outputs in the ring
    DECODE_IN = 7  # a decode worker started on it
    DECODE_OUT = 8
    SINK_IN = 9
    SINK_OUT = 10  # shown and/or written


NUM_STAMPS = len(Stamp)


def new_stamps() -> np.ndarray:
    return np.zeros(NUM_STAMPS, dtype=np.int64)


class Message:
    """Base of every message type; subclasses are frozen dataclasses registered by ``TAG``."""

    TAG: ClassVar[int]
    ARRAYS: ClassVar[dict[str, np.dtype]] = {}

    def encode(self) -> list[bytes]:
        return encode(self)


_REGISTRY: dict[int, type[Message]] = {}


def _register(cls: type[Message]) -> type[Message]:
    if cls.TAG in _REGISTRY:
        raise RuntimeError(f"message tag {cls.TAG} used twice")
    _REGISTRY[cls.TAG] = cls
    return cls


@_register
@dataclass(frozen=True)
class Frame(Message):
    """A frame in flight: capture → preprocess → inference → decode worker → sink.

    The pixels sit in the frame ring of the capture process that read it (``ring``, at
    ``lseq``). Preprocess admits frames of every source into one sequence: ``seq`` counts them
    from 0 and fixes the output order, and ``slot`` indexes the tensor and map rings. ``source``
    is the source's id (its 0-based position among the inputs) and ``index`` the frame's own
    number in that source, counted across loops.
    ``scale``/``pad_x``/``pad_y`` map frame pixels to network-input pixels:
    ``net = frame * scale + pad``.
    """

    TAG: ClassVar[int] = 1
    ARRAYS: ClassVar[dict[str, np.dtype]] = {"stamps": np.dtype(np.int64)}

    seq: int
    slot: int
    height: int
    width: int
    source: int = 0
    index: int = 0
    name: str = ""
    cap: str = ""  # the capture process that read it (its identity, e.g. "capture0.1")
    ring: str = ""  # that process's frame ring (segment name) …
    lseq: int = -1  # … and the frame's sequence number in it
    model: int = 0  # which of the run's network input shapes it is letterboxed into
    scale: float = 1.0
    pad_x: float = 0.0
    pad_y: float = 0.0
    worker: int = -1  # the decode worker that decoded it
    mode: str = "user"  # the mode the frame was admitted in
    stamps: np.ndarray = field(default_factory=new_stamps, compare=False)

    def stamped(self, which: Stamp, t_ns: int) -> "Frame":
        """Record a timestamp in place and return self (stamps are the one mutable part)."""
        self.stamps[which] = t_ns
        return self


@_register
@dataclass(frozen=True)
class Poses(Message):
    """Decoded people of one frame, in source-frame pixels and COCO-17 order.

    ``keypoints`` is float32 ``(n, 17, 3)`` (x, y, score; score 0 = not found; scores under the model's keypoint threshold are kept) and ``scores``
    float32 ``(n,)``.
    """

    TAG: ClassVar[int] = 2
    ARRAYS: ClassVar[dict[str, np.dtype]] = {
        "keypoints": np.dtype(np.float32),
        "scores": np.dtype(np.float32),
    }

    frame: Frame
    keypoints: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        kp, sc = self.keypoints, self.scores
        if kp.ndim != 3 or kp.shape[2] != 3:
            raise ValueError(f"keypoints must be (n, k, 3), got {kp.shape}")
        if sc.shape != (kp.shape[0],):
            raise ValueError(f"scores must be ({kp.shape[0]},), got {sc.shape}")

    @property
    def count(self) -> int:
        return int(self.scores.shape[0])


@_register
@dataclass(frozen=True)
class EndOfStream(Message):
    """A source is exhausted, removed or stopped. It travels behind the source's frames; the sink
    acts on it once every frame admitted before it (``count``) is out."""

    TAG: ClassVar[int] = 3
    count: int  # capture → preprocess: -1; after preprocess: frames of the whole run admitted before it
    source: int = 0
    error: str = ""  # non-empty when the input broke before its end
    frames: int = 0  # frames of this source delivered (capture) or finished (sink → controller)


@_register
@dataclass(frozen=True)
class Finished(Message):
    """Sink → preprocess: every frame with ``seq < upto`` is shown/written; its tensor and map
    slots are free."""

    TAG: ClassVar[int] = 4
    upto: int


@_register
@dataclass(frozen=True)
class WorkerReady(Message):
    """Decode worker → dispatcher: ready for work; ``done`` is the seq just finished or -1."""

    TAG: ClassVar[int] = 5
    done: int = -1


@_register
@dataclass(frozen=True)
class SetMode(Message):
    """Controller → stages: switch to ``mode`` ("user" or "latency")."""

    TAG: ClassVar[int] = 6
    mode: str


@_register
@dataclass(frozen=True)
class Stop(Message):
    """Controller → stages. ``drain``: capture stops reading and the frames in flight finish;
    otherwise every stage stops at once (finalising its outputs)."""

    TAG: ClassVar[int] = 7
    drain: bool = False
    reason: str = ""


@_register
@dataclass(frozen=True)
class WorkerLost(Message):
    """Controller → dispatcher: the decode worker ``identity`` died; decode its frames again."""

    TAG: ClassVar[int] = 8
    identity: str


@_register
@dataclass(frozen=True)
class StageReady(Message):
    """Stage → controller: opened and running. ``info`` carries facts worth reporting."""

    TAG: ClassVar[int] = 9
    stage: str
    pid: int
    info: dict[str, Any] = field(default_factory=dict)


@_register
@dataclass(frozen=True)
class StageError(Message):
    """Stage → controller: a one-line error; the stage exits non-zero after sending it."""

    TAG: ClassVar[int] = 10
    stage: str
    message: str
    exit_code: int = 1


@_register
@dataclass(frozen=True)
class StageStats(Message):
    """Stage → controller: figures of the last period (and ``final`` ones at exit)."""

    TAG: ClassVar[int] = 11
    stage: str
    figures: dict[str, Any]
    final: bool = False


@_register
@dataclass(frozen=True)
class ControlRequest(Message):
    """Window or ``pipeline.ctl`` → controller: ``toggle``, ``mode`` (with ``arg``), ``status``, ``stop``."""

    TAG: ClassVar[int] = 12
    command: str
    arg: str = ""


@_register
@dataclass(frozen=True)
class ControlReply(Message):
    """Controller → ``pipeline.ctl``: the outcome of a request and the current state."""

    TAG: ClassVar[int] = 13
    ok: bool
    state: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@_register
@dataclass(frozen=True)
class Log(Message):
    """Stage → controller: a warning worth showing the user (a skipped file, a dropped camera)."""

    TAG: ClassVar[int] = 14
    stage: str
    message: str
    level: str = "warning"


@_register
@dataclass(frozen=True)
class FrameTimes(Message):
    """Sink → controller, about once a second: the timestamps of the frames it finished.

    ``stamps`` is int64 ``(n, NUM_STAMPS)``; ``seqs``, ``workers``, ``latency_mode`` (1 for
    frames admitted in Min latency mode) and ``sources`` are ``(n,)``."""

    TAG: ClassVar[int] = 16
    ARRAYS: ClassVar[dict[str, np.dtype]] = {
        "stamps": np.dtype(np.int64),
        "seqs": np.dtype(np.int64),
        "workers": np.dtype(np.int32),
        "latency_mode": np.dtype(np.uint8),
        "sources": np.dtype(np.int32),
    }

    stamps: np.ndarray
    seqs: np.ndarray
    workers: np.ndarray
    latency_mode: np.ndarray
    sources: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))

    @property
    def modes(self) -> list[str]:
        return ["latency" if m else "user" for m in self.latency_mode]


@_register
@dataclass(frozen=True)
class Start(Message):
    """Controller → stages: every stage is up; capture may begin reading."""

    TAG: ClassVar[int] = 15


@_register
@dataclass(frozen=True)
class Released(Message):
    """Sink or preprocess → a capture process: these frames (``lseq`` in its frame ring) are done
    with; their slots are free."""

    TAG: ClassVar[int] = 17
    ARRAYS: ClassVar[dict[str, np.dtype]] = {"lseqs": np.dtype(np.int64)}
    lseqs: np.ndarray


@_register
@dataclass(frozen=True)
class AddSource(Message):
    """Controller → the capture process ``worker``: read source ``source`` (``spec`` is a
    :class:`pipeline.sources.spec.SourceSpec` as a dict), starting at frame ``resume``."""

    TAG: ClassVar[int] = 18
    worker: str
    source: int
    spec: dict[str, Any]
    resume: int = 0


@_register
@dataclass(frozen=True)
class RemoveSource(Message):
    """Controller → capture processes: stop reading ``source`` (it ends like a file that ended)."""

    TAG: ClassVar[int] = 19
    source: int


@_register
@dataclass(frozen=True)
class CaptureLost(Message):
    """Controller → stages: the capture process ``identity`` died. Preprocess answers with
    :class:`ResumeAt`; nobody sends it credit any more."""

    TAG: ClassVar[int] = 20
    identity: str


@_register
@dataclass(frozen=True)
class ResumeAt(Message):
    """Preprocess → controller: for each source (id as text), the first frame index it has not
    received, so that a restarted capture process neither loses nor repeats a frame."""

    TAG: ClassVar[int] = 21
    identity: str
    next_index: dict[str, int]


@_register
@dataclass(frozen=True)
class SetWindow(Message):
    """Controller → capture and preprocess: frames the run may have in flight at once in User
    specified mode (sized from inference's figures, :mod:`pipeline.window`)."""

    TAG: ClassVar[int] = 22
    frames: int


# --------------------------------------------------------------------------------------------
# wire format


@functools.cache
def _field_names(cls: type[Message]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]


def _flatten(msg: Message, arrays: list[np.ndarray]) -> dict[str, Any]:
    """Scalar fields as a JSON-able dict; array fields (nested messages too) appended depth-first."""
    out: dict[str, Any] = {}
    for name in _field_names(type(msg)):
        value = getattr(msg, name)
        if name in msg.ARRAYS:
            arr = np.ascontiguousarray(value, dtype=msg.ARRAYS[name])
            arrays.append(arr)
            out[name] = list(arr.shape)
        elif isinstance(value, Message):
            out[name] = _flatten(value, arrays)
        else:
            out[name] = value
    return out


def _unflatten(cls: type[Message], header: Any, arrays: list[Any]) -> Message:
    if not isinstance(header, dict):
        raise WireError(f"malformed {cls.__name__}: the header is not an object")
    kwargs: dict[str, Any] = {}
    names = _field_names(cls)
    for name, value in header.items():
        if name not in names:
            raise WireError(f"{cls.__name__} has no field {name!r}")
        if name in cls.ARRAYS:
            if not arrays:
                raise WireError(f"malformed {cls.__name__}: no data for {name!r}")
            kwargs[name] = _array(cls.ARRAYS[name], value, arrays.pop(0), f"{cls.__name__}.{name}")
        elif name in _NESTED.get(cls, {}):
            kwargs[name] = _unflatten(_NESTED[cls][name], value, arrays)
        else:
            declared = _field_types(cls)[name]
            kind = type(value)
            if _FAST.get(declared) is kind and (kind is not int or -_INT64 <= value < _INT64):
                kwargs[name] = value  # the common case, checked in one look-up
            else:
                kwargs[name] = _scalar(declared, value, f"{cls.__name__}.{name}")
    return cls(**kwargs)


@functools.cache
def _field_types(cls: type[Message]) -> dict[str, str]:
    """Each field's declared type as written (``int``, ``str``, ``dict[str, Any]``, …)."""
    return {f.name: str(f.type) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]


_INT64 = 2**63
_FAST = {"int": int, "str": str, "bool": bool}  # declared type -> the exact type that passes as is (floats: finite check)


def _scalar(declared: str, value: Any, where: str) -> Any:
    """``value`` if it has the field's declared type (ints fit in 64 bits, floats are finite);
    else :class:`WireError`. A message that decodes is one its receiver can use as it is."""
    if declared == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64
    elif declared == "float":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    elif declared == "bool":
        ok = isinstance(value, bool)
    elif declared == "str":
        ok = isinstance(value, str)
    elif declared.startswith("dict"):
        ok = isinstance(value, dict)
    else:
        ok = False
    if not ok:
        raise WireError(f"malformed message: {where} must be {declared}, got {type(value).__name__}")
    return float(value) if declared == "float" else value


def _array(dtype: np.dtype, shape: Any, raw: Any, where: str) -> np.ndarray:
    """The array of ``shape`` in ``raw``: the shape must be a list of sizes whose product is
    exactly the data's length."""
    if (not isinstance(shape, list) or len(shape) > 8
            or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < _INT64 for n in shape)):
        raise WireError(f"malformed message: {where} has a bad shape")
    size = len(memoryview(raw).cast("B"))
    if math.prod(shape) * dtype.itemsize != size:
        raise WireError(f"malformed message: {where} holds {size} bytes, not {shape} {dtype}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class WireError(ValueError):
    """The bytes are not a message of this version."""


# Fields that hold another message, by owner type.
_NESTED: dict[type[Message], dict[str, type[Message]]] = {Poses: {"frame": Frame}}


def encode(msg: Message) -> list[Any]:
    """Encode ``msg`` as the parts of one multipart ZeroMQ message (arrays are not copied)."""
    arrays: list[np.ndarray] = []
    header = _flatten(msg, arrays)
    head = _MAGIC + bytes((WIRE_VERSION, msg.TAG))
    return [head, json.dumps(header, separators=(",", ":")).encode(), *(a.data for a in arrays)]


def encode_batch(msgs: Sequence[Message]) -> list[Any]:
    """Encode several messages as one multipart message; a single message is encoded as itself."""
    if not msgs:
        raise ValueError("an empty batch")
    if len(msgs) == 1:
        return encode(msgs[0])
    encoded = [encode(m) for m in msgs]
    head = _MAGIC + bytes((WIRE_VERSION, BATCH_TAG))
    counts = json.dumps([len(parts) for parts in encoded], separators=(",", ":")).encode()
    return [head, counts, *itertools.chain.from_iterable(encoded)]


def _tag(raw: list[Any]) -> int:
    if len(raw) < 2:
        raise WireError("message has fewer than 2 parts")
    head = bytes(raw[0])
    if len(head) != 4 or head[:2] != _MAGIC:
        raise WireError("not a pipeline message")
    if head[2] != WIRE_VERSION:
        raise WireError(f"wire version {head[2]}, expected {WIRE_VERSION}")
    return head[3]


def _buffers(parts: list[Any]) -> list[Any]:
    return [p.buffer if hasattr(p, "buffer") else p for p in parts]


def _decode_one(raw: list[Any]) -> Message:
    tag = _tag(raw)
    cls = _REGISTRY.get(tag)
    if cls is None:
        raise WireError("a batch inside a batch" if tag == BATCH_TAG else f"unknown message tag {tag}")
    try:
        header = json.loads(bytes(raw[1]))
        arrays = list(raw[2:])
        msg = _unflatten(cls, header, arrays)
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever the bytes, the receiver gets a WireError
        raise WireError(f"malformed {cls.__name__}: {type(exc).__name__}") from exc
    if arrays:
        raise WireError(f"malformed {cls.__name__}: {len(arrays)} parts too many")
    return msg


def decode(parts: list[Any]) -> Message:
    """Decode the parts of one multipart ZeroMQ message (bytes, memoryviews or ``zmq.Frame``)
    holding exactly one message."""
    raw = _buffers(parts)
    if _tag(raw) == BATCH_TAG:
        raise WireError("expected one message, got a batch")
    return _decode_one(raw)


def decode_all(parts: list[Any]) -> list[Message]:
    """Decode one multipart ZeroMQ message into the messages it carries: one, or a batch's."""
    raw = _buffers(parts)
    if _tag(raw) != BATCH_TAG:
        return [_decode_one(raw)]
    try:
        counts = json.loads(bytes(raw[1]))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"malformed batch: {type(exc).__name__}") from exc
    if (not isinstance(counts, list) or not all(isinstance(n, int) and n >= 2 for n in counts)
            or sum(counts) != len(raw) - 2):
        raise WireError("malformed batch: part counts do not match")
    out: list[Message] = []
    at = 2
    for n in counts:
        out.append(_decode_one(raw[at:at + n]))
        at += n
    return out

"""Chrome trace-event output (opens in Perfetto and chrome://tracing): one track per process,
one span per frame per stage, and a validator for the format's rules."""

from __future__ import annotations

import collections
import heapq
import json
import math
from typing import Any

import numpy as np

from ..messages import NUM_STAMPS
from .collector import STAGE_BOUNDS, STAGES

_SPAN_BOUNDS = [(stage, STAGE_BOUNDS[stage][1]) for stage in STAGES]


def chrome_trace(stamps: np.ndarray, workers: np.ndarray, pids: dict[str, int], seqs: np.ndarray,
                 sources: np.ndarray | None = None) -> dict[str, Any]:
    """A trace Perfetto and chrome://tracing open: one process track per stage process, one complete
    ("X") event per frame per stage (its service time), named by stage,
    ``args={"frame": seq, "source": id}``.

    ``pids`` maps process labels to pids: "capture", "preprocess", "infer", "sink", and
    "decode{i}" for worker ``i`` (a label "decode{i}.{generation}" is accepted too). A process
    missing from ``pids`` gets a made-up pid. Frames with a missing stamp lose only that span.
    Overlapping spans of one process (requests in flight together) go on separate thread lanes.
    Times are in microseconds from the earliest stamp.
    """
    s = np.asarray(stamps, dtype=np.int64).reshape(-1, NUM_STAMPS)
    workers = np.asarray(workers).reshape(-1)
    seqs = np.asarray(seqs).reshape(-1)
    if not s.shape[0] == workers.size == seqs.size:
        raise ValueError(f"{s.shape[0]} frames but {workers.size} workers and {seqs.size} seqs")
    src = np.zeros(seqs.size, np.int64) if sources is None else np.asarray(sources).reshape(-1)
    labels = _process_labels(workers)
    pid_of = _assign_pids(labels, pids)
    nonzero = s[s > 0]
    t0 = int(nonzero.min()) if nonzero.size else 0
    spans: dict[str, list[tuple[int, int, int, str, int]]] = {label: [] for label in labels}
    for stage, (a, b) in _SPAN_BOUNDS:
        for i in range(s.shape[0]):
            start, end = int(s[i, a]), int(s[i, b])
            if start <= 0 or end <= 0:
                continue
            label = f"decode{int(workers[i])}" if stage == "decode" else stage
            spans[label].append((start - t0, max(0, end - start), int(seqs[i]), stage, int(src[i])))
    events: list[dict[str, Any]] = []
    for order, label in enumerate(labels):
        pid = pid_of[label]
        events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": label}})
        events.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": order}})
        events.extend(_span_events(label, pid, spans[label]))
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def _process_labels(workers: np.ndarray) -> list[str]:
    decoders = [f"decode{w}" for w in sorted({int(w) for w in workers})]
    return ["capture", "preprocess", "infer", *decoders, "sink"]


def _assign_pids(labels: list[str], pids: dict[str, int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for label in labels:
        pid = pids.get(label)
        if pid is None:
            generations = sorted(k for k in pids if k.startswith(label + "."))
            pid = pids[generations[-1]] if generations else None
        if pid is not None and pid not in out.values():
            out[label] = int(pid)
    fake = max([*out.values(), *pids.values(), 0]) + 1
    for label in labels:
        if label not in out:
            out[label] = fake
            fake += 1
    return out


def _span_events(label: str, pid: int, spans: list[tuple[int, int, int, str, int]]) -> list[dict[str, Any]]:
    """Complete events on thread lanes (tid 1, 2, …) so that no two spans of one lane overlap."""
    spans.sort()
    lane_ends: list[tuple[int, int]] = []  # (end, lane) heap of busy lanes
    free: list[int] = []
    lanes = 0
    events: list[dict[str, Any]] = []
    for start, dur, seq, stage, source in spans:
        while lane_ends and lane_ends[0][0] <= start:
            heapq.heappush(free, heapq.heappop(lane_ends)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lanes += 1
            lane = lanes
        heapq.heappush(lane_ends, (start + dur, lane))
        events.append({"ph": "X", "name": stage,
                       "cat": "frame", "pid": pid, "tid": lane, "ts": start / 1e3, "dur": dur / 1e3,
                       "args": {"frame": seq, "source": source}})
    for lane in range(1, lanes + 1):
        name = label if lane == 1 else f"{label} #{lane}"
        events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": lane, "args": {"name": name}})
    return events


_PHASES = set("BEXiICbneSTpFstfPNODMVvRc()=")
_METADATA = {"process_name": "name", "process_labels": "labels", "process_sort_index": "sort_index",
             "thread_name": "name", "thread_sort_index": "sort_index"}
_MAX_PROBLEMS = 50


def validate_trace(obj: Any) -> list[str]:
    """Problems with ``obj`` as a trace in the Chrome trace-event format (empty list = valid).

    Accepts the JSON object form (``{"traceEvents": [...]}``) and the bare array form. Checks
    that it is JSON-serialisable, each event's phase is known, and each phase has its required
    keys with the right types: ``name``, integer ``pid``/``tid``, finite numeric ``ts``,
    ``dur`` ≥ 0 for "X", matched "B"/"E" per thread, ``id`` for async and flow events,
    metadata names and their ``args``.
    """
    problems: list[str] = []
    if isinstance(obj, dict):
        events = obj.get("traceEvents")
        if not isinstance(events, list):
            return ["traceEvents is missing or not a list"]
        unit = obj.get("displayTimeUnit")
        if unit is not None and unit not in ("ms", "ns"):
            problems.append(f"displayTimeUnit must be 'ms' or 'ns', not {unit!r}")
    elif isinstance(obj, list):
        events = obj
    else:
        return [f"a trace is an object or an array, not {type(obj).__name__}"]
    try:
        json.dumps(obj, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON-serialisable: {exc}")
    open_spans: dict[tuple[Any, Any], int] = collections.Counter()
    for i, event in enumerate(events):
        problems.extend(f"event {i}: {p}" for p in _event_problems(event, open_spans))
        if len(problems) > _MAX_PROBLEMS:
            return problems[:_MAX_PROBLEMS] + ["… more problems not listed"]
    problems.extend(f"{n} 'B' event(s) without 'E' on pid {pid} tid {tid}"
                    for (pid, tid), n in open_spans.items() if n > 0)
    return problems


def _event_problems(event: Any, open_spans: dict[tuple[Any, Any], int]) -> list[str]:
    if not isinstance(event, dict):
        return [f"not an object but {type(event).__name__}"]
    ph = event.get("ph")
    if not isinstance(ph, str) or ph not in _PHASES:
        return [f"unknown phase {ph!r}"]
    problems: list[str] = []
    if ph != "E" and not isinstance(event.get("name"), str):
        problems.append(f"'{ph}' needs a string name")
    for key in ("pid", "tid"):
        if key in event and not _is_int(event[key]):
            problems.append(f"{key} must be an integer, not {event[key]!r}")
    if "pid" not in event:
        problems.append(f"'{ph}' needs an integer pid")
    if ph != "M" or "ts" in event:
        if not _is_finite_number(event.get("ts")):
            problems.append(f"ts must be a finite number, not {event.get('ts')!r}")
    if "args" in event and not isinstance(event["args"], dict):
        problems.append("args must be an object")
    problems.extend(_phase_problems(ph, event, open_spans))
    return problems


def _phase_problems(ph: str, event: dict[str, Any], open_spans: dict[tuple[Any, Any], int]) -> list[str]:
    problems: list[str] = []
    if ph == "X":
        dur = event.get("dur")
        if not _is_finite_number(dur) or dur < 0:
            problems.append(f"'X' needs a finite dur >= 0, not {dur!r}")
    if ph in "BEX" and not _is_int(event.get("tid")):
        problems.append(f"'{ph}' needs an integer tid")
    if ph in "BE":
        key = (event.get("pid"), event.get("tid"))
        if ph == "B":
            open_spans[key] += 1
        elif open_spans[key] <= 0:
            problems.append(f"'E' without a matching 'B' on pid {key[0]} tid {key[1]}")
        else:
            open_spans[key] -= 1
    elif ph == "M":
        problems.extend(_metadata_problems(event))
    elif ph in "bensftNOD":
        if "id" not in event and "id2" not in event:
            problems.append(f"'{ph}' needs an id")
    elif ph in "iI" and event.get("s", "t") not in ("g", "p", "t"):
        problems.append(f"instant scope must be 'g', 'p' or 't', not {event.get('s')!r}")
    elif ph == "C" and not all(_is_finite_number(v) for v in (event.get("args") or {}).values()):
        problems.append("'C' args must all be numbers")
    return problems


def _metadata_problems(event: dict[str, Any]) -> list[str]:
    name = event.get("name")
    if name not in _METADATA:
        return [f"unknown metadata name {name!r}"]
    args = event.get("args")
    if not isinstance(args, dict) or _METADATA[name] not in args:
        return [f"'{name}' needs args.{_METADATA[name]}"]
    value = args[_METADATA[name]]
    if name.endswith("_name") and not isinstance(value, str):
        return [f"'{name}' args.name must be a string"]
    if name.endswith("_sort_index") and not _is_int(value):
        return [f"'{name}' args.sort_index must be an integer"]
    if name == "thread_name" and not _is_int(event.get("tid")):
        return ["'thread_name' needs an integer tid"]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class TraceRecorder:
    """Keeps the stamps, worker and seq of the latest ``max_frames`` frames for a trace at the end.

    Memory is fixed at ``max_frames`` rows; older frames are forgotten (counted in ``forgotten``).
    """

    def __init__(self, max_frames: int = 10000) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be at least 1 (got {max_frames})")
        self.max_frames = max_frames
        self._stamps = np.zeros((max_frames, NUM_STAMPS), dtype=np.int64)
        self._workers = np.zeros(max_frames, dtype=np.int64)
        self._seqs = np.zeros(max_frames, dtype=np.int64)
        self._sources = np.zeros(max_frames, dtype=np.int64)
        self._head = 0
        self._size = 0
        self.forgotten = 0

    def __len__(self) -> int:
        return self._size

    def add(self, stamps: np.ndarray, workers: np.ndarray, seqs: np.ndarray, sources: np.ndarray | None = None) -> None:
        """Frames as the sink finished them: ``(n, NUM_STAMPS)`` stamps, ``(n,)`` workers, seqs
        and sources."""
        s = np.asarray(stamps, dtype=np.int64).reshape(-1, NUM_STAMPS)
        w, q = np.asarray(workers).reshape(-1), np.asarray(seqs).reshape(-1)
        src = np.zeros(q.size, np.int64) if sources is None or not len(sources) else np.asarray(sources).reshape(-1)
        if not s.shape[0] == w.size == q.size:
            raise ValueError(f"{s.shape[0]} frames but {w.size} workers and {q.size} seqs")
        n = s.shape[0]
        keep = min(n, self.max_frames)
        rows = (self._head + np.arange(keep)) % self.max_frames
        self._stamps[rows], self._workers[rows], self._seqs[rows] = s[n - keep:], w[n - keep:], q[n - keep:]
        self._sources[rows] = src[n - keep:]
        self._head = int((self._head + keep) % self.max_frames)
        self.forgotten += max(0, self._size + n - self.max_frames)
        self._size = min(self.max_frames, self._size + n)

    def frames(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The kept frames, oldest first: (stamps, workers, seqs)."""
        rows = self._rows()
        return self._stamps[rows].copy(), self._workers[rows].copy(), self._seqs[rows].copy()

    def _rows(self) -> np.ndarray:
        start = (self._head - self._size) % self.max_frames
        return (start + np.arange(self._size)) % self.max_frames

    def trace(self, pids: dict[str, int]) -> dict[str, Any]:
        """The kept frames as a Chrome trace (see :func:`chrome_trace`)."""
        stamps, workers, seqs = self.frames()
        return chrome_trace(stamps, workers, pids, seqs, self._sources[self._rows()])

    def write(self, path: str, pids: dict[str, int]) -> None:
        """Write :meth:`trace` as JSON to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.trace(pids), f, separators=(",", ":"))

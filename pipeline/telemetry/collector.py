"""The controller's telemetry: per-frame stage times and stage figures, windowed and whole-run.

Text views are in :mod:`pipeline.telemetry.textreport`, the Chrome trace in :mod:`pipeline.telemetry.trace`.

Every frame carries ``stamps`` (:class:`pipeline.messages.Stamp`), ``time.monotonic_ns()`` at each
stage boundary, taken in the process that crossed it (one clock for every process on Linux). From
them each stage gets a *wait* (from the previous stage's end to its own start: queueing and
transport) and a *service* time (its own work). The waits and services of a frame telescope:

    SINK_OUT - READ = capture service + Σ (wait + service) of the later stages

so the per-stage means add up to the mean end-to-end latency, which :meth:`Telemetry.report`
checks and shows.

:class:`Telemetry` keeps a sliding window (bounded in time and in count) for the live
:meth:`~Telemetry.snapshot`, and whole-run figures in bounded memory: sums for the means, and for
percentiles the exact values up to ``exact_limit`` frames per mode, then log-spaced histograms
(relative error below 0.5 %). Nothing here touches a socket.
"""

from __future__ import annotations

import collections
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ..config import MODE_TITLES
from ..messages import NUM_STAMPS, Stamp
from .distribution import NS_PER_MS, Distribution, ms

STAGES = ("capture", "preprocess", "infer", "decode", "sink")

# (wait, service) of each stage as (start stamp, end stamp) pairs; capture has no wait.
STAGE_BOUNDS: dict[str, tuple[tuple[Stamp, Stamp] | None, tuple[Stamp, Stamp]]] = {
    "capture": (None, (Stamp.READ, Stamp.CAPTURED)),
    "preprocess": ((Stamp.CAPTURED, Stamp.PRE_IN), (Stamp.PRE_IN, Stamp.PRE_OUT)),
    "infer": ((Stamp.PRE_OUT, Stamp.INFER_START), (Stamp.INFER_START, Stamp.INFER_DONE)),
    "decode": ((Stamp.INFER_DONE, Stamp.DECODE_IN), (Stamp.DECODE_IN, Stamp.DECODE_OUT)),
    "sink": ((Stamp.DECODE_OUT, Stamp.SINK_IN), (Stamp.SINK_IN, Stamp.SINK_OUT)),
}

# The stamps a frame needs for its stage times (INFER_IN lies inside the inference wait).
_USED = sorted({int(s) for w, sv in STAGE_BOUNDS.values() for pair in (w, sv) if pair for s in pair})
_SVC_START = np.array([int(STAGE_BOUNDS[s][1][0]) for s in STAGES])
_SVC_END = np.array([int(STAGE_BOUNDS[s][1][1]) for s in STAGES])
# Capture has no wait: its column is READ - READ = 0, which keeps the sums exact.
_WAIT_START = np.array([int((STAGE_BOUNDS[s][0] or (Stamp.READ, Stamp.READ))[0]) for s in STAGES])
_WAIT_END = np.array([int((STAGE_BOUNDS[s][0] or (Stamp.READ, Stamp.READ))[1]) for s in STAGES])

# Stage figures shown as queue depths in the snapshot, by stage.
QUEUE_FIGURES = {
    "capture": ("in_flight", "limit"),
    # idle_streams: share of the streams' time with no frame to start; surplus: mean frames beyond
    # one per stream (what sizes the window, pipeline/window.py); light: 1 while frames run on the
    # latency-compiled model under light load (pipeline/lightload.py)
    "infer": ("in_flight", "waiting", "decodable", "idle_workers", "requests", "idle_streams", "surplus", "light"),
    "sink": ("pending",),
}

_BATCH_FRAMES = 64  # frames gathered before they are accounted (snapshot and report flush sooner)
_DECODE_LABEL = re.compile(r"^decode(\d+)(?:\.\d+)?$")


# --------------------------------------------------------------------------------------------
# per-frame arithmetic


@dataclass(frozen=True)
class FrameTimes:
    """Stage times of a batch of frames, in nanoseconds.

    ``service`` and ``wait`` are ``(n, len(STAGES))`` int64 (capture's wait is 0); ``e2e`` is
    ``SINK_OUT - READ``; ``done`` is ``SINK_OUT``; ``complete`` is False for frames with a missing
    (zero) stamp, whose times are meaningless.
    """

    service: np.ndarray
    wait: np.ndarray
    e2e: np.ndarray
    done: np.ndarray
    start: np.ndarray
    complete: np.ndarray


def frame_times(stamps: np.ndarray) -> FrameTimes:
    """Split ``(n, NUM_STAMPS)`` stamps into per-stage waits and services (see :data:`STAGE_BOUNDS`)."""
    s = np.asarray(stamps, dtype=np.int64)
    if s.ndim == 1:
        s = s[None, :]
    if s.ndim != 2 or s.shape[1] != NUM_STAMPS:
        raise ValueError(f"stamps must be (n, {NUM_STAMPS}), got {s.shape}")
    return FrameTimes(service=s[:, _SVC_END] - s[:, _SVC_START], wait=s[:, _WAIT_END] - s[:, _WAIT_START],
                      e2e=s[:, Stamp.SINK_OUT] - s[:, Stamp.READ], done=s[:, Stamp.SINK_OUT].copy(),
                      start=s[:, Stamp.READ].copy(), complete=(s[:, _USED] > 0).all(axis=1))


# --------------------------------------------------------------------------------------------
# whole-run accumulators


@dataclass
class _WorkerTotals:
    """One decode worker's figures (``items``, ``busy_ms`` over ``period_ms``) and the frames it
    decoded (``frames``, with ``decode_ns`` of decode service time in all)."""

    items: int = 0
    busy_ms: float = 0.0
    period_ms: float = 0.0
    frames: int = 0
    decode_ns: int = 0

    def add(self, items: int, busy_ms: float, period_ms: float) -> None:
        self.items += items
        self.busy_ms += busy_ms
        self.period_ms += period_ms

    def add_frames(self, frames: int, decode_ns: int) -> None:
        self.frames += frames
        self.decode_ns += decode_ns

    def merge(self, other: "_WorkerTotals") -> None:
        self.add(other.items, other.busy_ms, other.period_ms)
        self.add_frames(other.frames, other.decode_ns)

    def as_dict(self) -> dict[str, Any]:
        util = self.busy_ms / self.period_ms if self.period_ms > 0 else None
        return {"utilisation": util, "items": self.items, "busy_ms": self.busy_ms, "period_ms": self.period_ms,
                "frames": self.frames, "decode_mean_ms": self.decode_ns / self.frames / NS_PER_MS
                if self.frames else None}


@dataclass
class _ModeTotals:
    """Everything the report needs about the frames of one mode."""

    exact_limit: int
    frames: int = 0
    incomplete: int = 0
    duration_ns: int = 0
    dropped: int = 0
    e2e: Distribution = field(init=False)
    service: dict[str, Distribution] = field(init=False)
    wait: dict[str, Distribution] = field(init=False)
    workers: dict[str, _WorkerTotals] = field(default_factory=dict)
    in_flight_weighted: float = 0.0  # Σ mean requests in flight × period (ms)
    in_flight_period: float = 0.0  # Σ period (ms)

    def __post_init__(self) -> None:
        self.e2e = Distribution(self.exact_limit)
        self.service = {s: Distribution(self.exact_limit) for s in STAGES}
        self.wait = {s: Distribution(self.exact_limit) for s in STAGES[1:]}

    def add(self, t: FrameTimes, rows: np.ndarray, workers: np.ndarray) -> None:
        """Frames ``rows`` of ``t``, decoded by ``workers`` (one per frame of ``t``)."""
        self.frames += int(rows.size)
        ok = rows[t.complete[rows]]
        self.incomplete += int(rows.size - ok.size)
        self.e2e.add(t.e2e[ok])
        for i, stage in enumerate(STAGES):
            self.service[stage].add(t.service[ok, i])
            if stage in self.wait:
                self.wait[stage].add(t.wait[ok, i])
        decode = STAGES.index("decode")
        for w in np.unique(workers[ok]):
            if w >= 0:
                mine = ok[workers[ok] == w]
                self.workers.setdefault(f"decode{int(w)}", _WorkerTotals()).add_frames(
                    int(mine.size), int(t.service[mine, decode].sum()))

    def merged(self, other: "_ModeTotals") -> "_ModeTotals":
        out = _ModeTotals(self.exact_limit)
        out.frames, out.incomplete = self.frames + other.frames, self.incomplete + other.incomplete
        out.duration_ns, out.dropped = self.duration_ns + other.duration_ns, self.dropped + other.dropped
        out.in_flight_weighted = self.in_flight_weighted + other.in_flight_weighted
        out.in_flight_period = self.in_flight_period + other.in_flight_period
        out.e2e = self.e2e.merged(other.e2e)
        out.service = {s: self.service[s].merged(other.service[s]) for s in STAGES}
        out.wait = {s: self.wait[s].merged(other.wait[s]) for s in self.wait}
        for src in (self, other):
            for name, w in src.workers.items():
                out.workers.setdefault(name, _WorkerTotals()).merge(w)
        return out

    def section(self, title: str) -> dict[str, Any]:
        """The JSON-able report section of these frames."""
        duration_s = self.duration_ns / 1e9
        lat = self.e2e.summary_ms((50, 95, 99))
        stages: dict[str, Any] = {}
        stage_sum = 0.0
        for stage in STAGES:
            svc = self.service[stage].summary_ms()
            wait = self.wait[stage].summary_ms() if stage in self.wait else None
            both = (svc["mean"] or 0.0) + ((wait or {}).get("mean") or 0.0)
            stage_sum += both
            stages[stage] = {"service_ms": svc, "wait_ms": wait, "total_ms": both if self.e2e.count else None,
                             "share": both / lat["mean"] if lat["mean"] else None}
        return {"title": title, "frames": self.frames, "incomplete": self.incomplete, "duration_s": duration_s,
                "fps": self.frames / duration_s if duration_s > 0 else None,
                "latency_ms": dict(lat, min=ms(self.e2e.min), max=ms(self.e2e.max)),
                "stages": stages, "sum_check": _sum_check(stage_sum, lat["mean"]), "dropped": self.dropped,
                "requests_in_flight": (self.in_flight_weighted / self.in_flight_period
                                       if self.in_flight_period > 0 else None),
                "workers": {k: self.workers[k].as_dict() for k in sorted(self.workers, key=_worker_order)}}


def _sum_check(stage_sum_ms: float, e2e_mean_ms: float | None) -> dict[str, Any]:
    """Do the stage means add up to the mean end-to-end latency (within 1 %)?"""
    if not e2e_mean_ms:
        return {"stages_sum_ms": None, "latency_mean_ms": e2e_mean_ms, "difference_ms": None,
                "relative": None, "ok": None}
    diff = stage_sum_ms - e2e_mean_ms
    rel = abs(diff) / e2e_mean_ms
    return {"stages_sum_ms": stage_sum_ms, "latency_mean_ms": e2e_mean_ms, "difference_ms": diff,
            "relative": rel, "ok": bool(rel <= 0.01)}


def _worker_order(name: str) -> tuple[int, str]:
    m = re.match(r"decode(\d+)$", name)
    return (int(m.group(1)), name) if m else (1 << 30, name)


# --------------------------------------------------------------------------------------------
# sliding window


class _FrameWindow:
    """The latest frames (at most ``capacity``) in preallocated ring arrays."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self.done = np.zeros(self.capacity, dtype=np.int64)
        self.e2e = np.zeros(self.capacity, dtype=np.int64)
        self.service = np.zeros((self.capacity, len(STAGES)), dtype=np.int64)
        self.wait = np.zeros((self.capacity, len(STAGES)), dtype=np.int64)
        self.complete = np.zeros(self.capacity, dtype=bool)
        self.size = 0
        self.head = 0  # next row to write

    def add(self, t: FrameTimes) -> None:
        n = t.done.size
        take = slice(max(0, n - self.capacity), n)
        rows = (self.head + np.arange(take.stop - take.start)) % self.capacity
        self.done[rows] = t.done[take]
        self.e2e[rows] = t.e2e[take]
        self.service[rows] = t.service[take]
        self.wait[rows] = t.wait[take]
        self.complete[rows] = t.complete[take]
        self.head = int((self.head + rows.size) % self.capacity)
        self.size = min(self.capacity, self.size + rows.size)

    def rows_since(self, t0_ns: int) -> np.ndarray:
        rows = np.arange(self.size)
        return rows[self.done[rows] > t0_ns]

    def full(self) -> bool:
        return self.size == self.capacity


@dataclass
class _FigureEvent:
    t_ns: int
    worker: str | None = None
    busy_ms: float = 0.0
    period_ms: float = 0.0
    dropped: int = 0


# --------------------------------------------------------------------------------------------
# the aggregator


class Telemetry:
    """Aggregates finished frames and stage figures for the live view and the final report.

    ``window_s`` bounds the sliding window in time and ``max_window_frames`` in count;
    ``period_s`` is the stages' reporting period, used for a worker's first figures (later ones
    are timed by their arrival, or by a ``period_ms`` figure when a stage sends one);
    ``exact_limit`` is how many frames per mode keep exact whole-run percentiles; ``clock``
    returns ``time.monotonic_ns()``-compatible nanoseconds (tests pass a fake one).
    """

    def __init__(self, window_s: float = 5.0, *, max_window_frames: int = 10000, period_s: float = 1.0,
                 exact_limit: int = 20000, clock: Callable[[], int] = time.monotonic_ns,
                 meta: dict[str, Any] | None = None, mode: str | None = None) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive (got {window_s})")
        self.window_ns = int(window_s * 1e9)
        self.period_ms = period_s * 1e3
        self.exact_limit = exact_limit
        self.clock = clock
        self.meta: dict[str, Any] = dict(meta or {})
        self._mode_set = mode
        self._last_frame_mode: str | None = None
        self._window = _FrameWindow(max_window_frames)
        self._events: collections.deque[_FigureEvent] = collections.deque(maxlen=max(64, max_window_frames))
        self._modes: dict[str, _ModeTotals] = {}
        self._latest: dict[str, dict[str, Any]] = {}
        self._last_seen: dict[str, int] = {}
        self._dropped = 0
        self._dropped_by: dict[str, int] = {}  # per capture process: its running total
        self._first_start: int | None = None
        self._last_done: int | None = None
        self.frames = 0
        self._pending: list[tuple[np.ndarray, list[str], np.ndarray]] = []
        self._pending_frames = 0

    # -- input -----------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """The mode the controller has switched to (shown even before its first frame arrives)."""
        self._mode_set = mode

    @property
    def mode(self) -> str | None:
        return self._mode_set or self._last_frame_mode

    def add_frames(self, stamps: np.ndarray, modes: Sequence[str] | str, workers: np.ndarray) -> None:
        """Frames as the sink finished them: ``(n, NUM_STAMPS)`` stamps, each frame's mode (or one
        mode for all) and the decode worker that decoded it."""
        s = np.array(stamps, dtype=np.int64, ndmin=2)  # a copy: the caller may reuse its buffer
        if s.ndim != 2 or s.shape[1] != NUM_STAMPS:
            raise ValueError(f"stamps must be (n, {NUM_STAMPS}), got {s.shape}")
        n = s.shape[0]
        mode_list = [modes] * n if isinstance(modes, str) else [str(m) for m in modes]
        workers = np.asarray(workers, dtype=np.int64).reshape(-1)
        if len(mode_list) != n or workers.size != n:
            raise ValueError(f"{n} frames but {len(mode_list)} modes and {workers.size} workers")
        if n == 0:
            return
        self._pending.append((s, mode_list, workers))
        self._pending_frames += n
        self._last_frame_mode = mode_list[int(np.argmax(s[:, Stamp.SINK_OUT]))]
        self.frames += n
        if self._pending_frames >= _BATCH_FRAMES:
            self._flush()

    def _flush(self) -> None:
        """Account the frames added since the last flush, as one batch (numpy per call is costly)."""
        if not self._pending:
            return
        stamps = np.concatenate([p[0] for p in self._pending])
        mode_list = [m for p in self._pending for m in p[1]]
        workers = np.concatenate([p[2] for p in self._pending])
        self._pending.clear()
        self._pending_frames = 0
        t = frame_times(stamps)
        self._window.add(t)
        order = np.argsort(t.done, kind="stable")
        self._account_durations(t, order, mode_list)
        for mode in dict.fromkeys(mode_list):
            rows = np.array([i for i, m in enumerate(mode_list) if m == mode], dtype=np.int64)
            self._totals(mode).add(t, rows, workers)

    def _account_durations(self, t: FrameTimes, order: np.ndarray, modes: list[str]) -> None:
        """Give each mode the time from the previous finished frame to each of its frames, so that
        the modes' durations add up to the run's (first READ to last SINK_OUT)."""
        done = t.done[order]
        if self._last_done is None:
            first = int(order[0])
            self._first_start = int(t.start[first]) if t.start[first] > 0 else int(done[0])
            self._last_done = self._first_start
        previous = np.concatenate(([self._last_done], np.maximum.accumulate(done)[:-1]))
        gaps = np.maximum(0, done - np.maximum(previous, self._last_done))
        ordered_modes = np.array([modes[int(i)] for i in order], dtype=object)
        for mode in dict.fromkeys(modes):
            self._totals(mode).duration_ns += int(gaps[ordered_modes == mode].sum())
        self._last_done = max(self._last_done, int(done.max()))

    def _totals(self, mode: str) -> _ModeTotals:
        if mode not in self._modes:
            self._modes[mode] = _ModeTotals(self.exact_limit)
        return self._modes[mode]

    def add_figures(self, stage: str, figures: dict[str, Any], t_ns: int | None = None) -> None:
        """A stage's figures for its last period (``StageStats``), received at ``t_ns`` (now)."""
        now = self.clock() if t_ns is None else int(t_ns)
        self._latest[stage] = dict(figures)
        previous = self._last_seen.get(stage)
        self._last_seen[stage] = now
        totals = self._totals(self.mode) if self.mode is not None else None
        m = _DECODE_LABEL.match(stage)
        if m:
            self._worker_figures(f"decode{m.group(1)}", figures, now, previous, totals)
        if stage.startswith("capture"):
            self._drop_figures(stage, figures, now, totals)
        if stage == "infer":
            self._inflight_figures(figures)

    def _inflight_figures(self, figures: dict[str, Any]) -> None:
        """Inference's requests in flight: per mode, request-milliseconds (``in_flight_ms``) over
        the milliseconds spent in that mode (``mode_ms``) during the stage's period."""
        occupancy, spans = figures.get("in_flight_ms"), figures.get("mode_ms")
        if not isinstance(occupancy, dict) or not isinstance(spans, dict):
            return
        for mode, span in spans.items():
            span = number(span)
            if span is None or span <= 0:
                continue
            totals = self._totals(str(mode))
            totals.in_flight_weighted += float(number(occupancy.get(mode)) or 0.0)
            totals.in_flight_period += span

    def _worker_figures(self, worker: str, figures: dict[str, Any], now: int, previous: int | None,
                        totals: _ModeTotals | None) -> None:
        """A decode worker's busy time over its period (given, else timed by arrival)."""
        period = number(figures.get("period_ms"))
        if period is None:
            period = (now - previous) / NS_PER_MS if previous is not None else self.period_ms
        items, busy = int(number(figures.get("items")) or 0), float(number(figures.get("busy_ms")) or 0.0)
        self._events.append(_FigureEvent(now, worker, busy, period))
        if totals is not None:
            totals.workers.setdefault(worker, _WorkerTotals()).add(items, busy, period)

    def _drop_figures(self, stage: str, figures: dict[str, Any], now: int, totals: _ModeTotals | None) -> None:
        """A capture process's ``dropped`` is a running total: count what is new since its last
        figures."""
        dropped = number(figures.get("dropped"))
        seen = self._dropped_by.get(stage, 0)
        if dropped is None or dropped <= seen:
            return
        new = int(dropped) - seen
        self._dropped_by[stage] = int(dropped)
        self._dropped += new
        self._events.append(_FigureEvent(now, dropped=new))
        if totals is not None:
            totals.dropped += new

    # -- output ----------------------------------------------------------------------------
    def snapshot(self, now_ns: int | None = None) -> dict[str, Any]:
        """Figures over the sliding window ending ``now_ns`` (default: now).

        Keys: ``mode``; ``frames`` (in the window) and ``total_frames``; ``fps``; ``latency_ms``
        (mean, p50, p95, p99; None without frames); ``stages`` ({stage: {service_ms, wait_ms}},
        means); ``queues`` (latest depths: capture in_flight/limit, infer in_flight/waiting/
        decodable/idle_workers/requests, sink pending); ``in_flight`` and ``requests`` (inference
        requests); ``dropped`` (run total) and ``dropped_window``; ``workers`` ({"decode0":
        utilisation 0…1}); ``window_s``; ``t_ns``.
        """
        self._flush()
        now = self.clock() if now_ns is None else int(now_ns)
        since = now - self.window_ns
        rows = self._window.rows_since(since)
        ok = rows[self._window.complete[rows]]
        e2e = self._window.e2e[ok]
        stages = {}
        for i, stage in enumerate(STAGES):
            svc = self._window.service[ok, i]
            wait = self._window.wait[ok, i]
            stages[stage] = {"service_ms": ms(float(svc.mean())) if ok.size else None,
                             "wait_ms": (ms(float(wait.mean())) if ok.size else None) if i else None}
        infer = self._latest.get("infer", {})
        return {"t_ns": now, "mode": self.mode, "window_s": self.window_ns / 1e9, "frames": int(rows.size),
                "total_frames": self.frames, "fps": self._window_fps(rows, now, since),
                "latency_ms": _percentiles_ms(e2e), "stages": stages, "queues": self._queues(),
                "in_flight": number(infer.get("in_flight")), "requests": number(infer.get("requests")),
                "dropped": self._dropped, "dropped_window": sum(e.dropped for e in self._events if e.t_ns > since),
                "workers": self._window_utilisation(since)}

    def _window_fps(self, rows: np.ndarray, now: int, since: int) -> float:
        if not rows.size or self._first_start is None:
            return 0.0
        begin = max(since, self._first_start)
        if self._window.full():
            begin = max(begin, int(self._window.done[: self._window.size].min()))
        span = now - begin
        return float(rows.size) / (span / 1e9) if span > 0 else 0.0

    def _queues(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for stage, keys in QUEUE_FIGURES.items():
            # capture figures are summed over the capture processes ("capture0.0", …)
            found = [f for label, f in self._latest.items() if label == stage or
                     (stage == "capture" and label.startswith("capture"))]
            values = {k: sum(v for f in found if (v := number(f.get(k))) is not None) if any(
                number(f.get(k)) is not None for f in found) else None for k in keys}
            out[stage] = {k: v for k, v in values.items() if v is not None}
        return out

    def _window_utilisation(self, since: int) -> dict[str, float]:
        busy: dict[str, float] = collections.defaultdict(float)
        period: dict[str, float] = collections.defaultdict(float)
        for e in self._events:
            if e.worker is not None and e.t_ns > since:
                busy[e.worker] += e.busy_ms
                period[e.worker] += e.period_ms
        return {w: busy[w] / period[w] for w in sorted(period, key=_worker_order) if period[w] > 0}

    def frames_by_mode(self) -> dict[str, int]:
        """Frames finished so far in each mode."""
        self._flush()
        return {m: t.frames for m, t in self._modes.items() if t.frames}

    def report(self, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole run, overall (``"all"``) and per mode (``"modes"``), JSON-able."""
        self._flush()
        modes = {m: t.section(MODE_TITLES.get(m, m)) for m, t in self._modes.items() if t.frames}
        combined = _ModeTotals(self.exact_limit)
        for totals in self._modes.values():
            combined = combined.merged(totals)
        out = {"meta": {**self.meta, **(meta or {})}, "stages": list(STAGES),
               "stage_bounds": {s: {"wait": [b.name for b in w] if w else None, "service": [b.name for b in sv]}
                                for s, (w, sv) in STAGE_BOUNDS.items()},
               "frames": self.frames, "dropped": self._dropped, "all": combined.section("Whole run"),
               "modes": modes}
        return _jsonable(out)


def number(value: Any) -> float | None:
    """``value`` if it is a finite number (ints stay ints), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    v = float(value)
    return v if math.isfinite(v) else None


def _percentiles_ms(values: np.ndarray) -> dict[str, float | None]:
    if not values.size:
        return {"mean": None, "p50": None, "p95": None, "p99": None}
    p50, p95, p99 = np.percentile(values, (50, 95, 99))
    return {"mean": ms(float(values.mean())), "p50": ms(float(p50)), "p95": ms(float(p95)),
            "p99": ms(float(p99))}


def _jsonable(obj: Any) -> Any:
    """Plain Python types only, NaN and infinity as None."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj

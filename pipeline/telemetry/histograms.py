"""Whole-run latency histograms with fixed bucket bounds, for Prometheus (``--http``'s
``/metrics``): end-to-end latency per source, and every stage's service and wait time.

Prometheus histograms are cumulative counts under fixed upper bounds plus a sum, so the
controller only adds to a few integer arrays per batch of frames (one ``searchsorted`` per
figure), whatever the run's length. The exposition format itself is the web process's business
(:mod:`web.metrics`, with ``prometheus_client``); this module has no dependency.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .collector import STAGES, frame_times

# upper bounds in seconds: 0.5 ms .. 10 s, about 2.5x apart (stage times are sub-millisecond to
# tens of milliseconds; end-to-end latency tens of milliseconds to seconds)
BOUNDS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BOUNDS_NS = np.asarray(BOUNDS_S) * 1e9


class _Histogram:
    def __init__(self) -> None:
        self.counts = np.zeros(len(BOUNDS_S) + 1, np.int64)  # the last: above every bound
        self.sum_ns = 0

    def add(self, values_ns: np.ndarray) -> None:
        if values_ns.size:
            where = np.searchsorted(_BOUNDS_NS, values_ns, side="left")
            self.counts += np.bincount(where, minlength=self.counts.size)
            self.sum_ns += int(values_ns.sum())

    def export(self) -> dict[str, Any]:
        """Cumulative counts per bound (the last is +Inf), the sum in seconds and the count."""
        cumulative = np.cumsum(self.counts)
        return {"buckets": [int(c) for c in cumulative], "sum": self.sum_ns / 1e9, "count": int(cumulative[-1])}


class LatencyHistograms:
    """What the controller adds each ``FrameTimes`` to when ``--http`` is on."""

    def __init__(self) -> None:
        self.latency: dict[int, _Histogram] = {}
        self.frames: dict[int, int] = {}
        self.service = {stage: _Histogram() for stage in STAGES}
        self.wait = {stage: _Histogram() for stage in STAGES[1:]}  # capture has no wait

    def add(self, stamps: np.ndarray, sources: np.ndarray) -> None:
        t = frame_times(stamps)
        sources = np.asarray(sources, np.int64).reshape(-1)
        for sid in np.unique(sources):
            mine = sources == sid
            self.frames[int(sid)] = self.frames.get(int(sid), 0) + int(mine.sum())
            ok = mine & t.complete
            self.latency.setdefault(int(sid), _Histogram()).add(np.maximum(t.e2e[ok], 0))
        ok = t.complete
        for i, stage in enumerate(STAGES):
            self.service[stage].add(np.maximum(t.service[ok, i], 0))
            if stage in self.wait:
                self.wait[stage].add(np.maximum(t.wait[ok, i], 0))

    def export(self) -> dict[str, Any]:
        return {"bounds": list(BOUNDS_S), "frames": {str(k): v for k, v in sorted(self.frames.items())},
                "latency": {str(k): h.export() for k, h in sorted(self.latency.items())},
                "service": {k: h.export() for k, h in self.service.items()},
                "wait": {k: h.export() for k, h in self.wait.items()}}


__all__ = ["BOUNDS_S", "LatencyHistograms"]

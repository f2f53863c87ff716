"""Figures per source: frames, FPS and latency over a sliding window (live views: the window,
``ctl status``) and over the whole run (the exit table, ``--telemetry-out``), in bounded memory."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from ..telemetry.distribution import Distribution


class _Source:
    def __init__(self, window_frames: int) -> None:
        self.recent: collections.deque[tuple[int, int]] = collections.deque(maxlen=window_frames)  # (t_out, latency)
        self.latency = Distribution()
        self.frames = 0
        self.first_ns = 0
        self.last_ns = 0


class SourceStats:
    def __init__(self, window_s: float = 5.0, window_frames: int = 5000) -> None:
        self.window_ns = int(window_s * 1e9)
        self.window_frames = window_frames
        self.sources: dict[int, _Source] = {}

    def _get(self, source: int) -> _Source:
        found = self.sources.get(source)
        if found is None:
            found = self.sources[source] = _Source(self.window_frames)
        return found

    def add(self, sources: np.ndarray, read_ns: np.ndarray, out_ns: np.ndarray) -> None:
        """Frames that came out: their source, when they were read, and when they came out."""
        sources = np.asarray(sources, np.int64)
        for sid in np.unique(sources).tolist():
            rows = sources == sid
            t_out = np.asarray(out_ns, np.int64)[rows]
            lat = t_out - np.asarray(read_ns, np.int64)[rows]
            s = self._get(int(sid))
            s.recent.extend(zip(t_out.tolist(), lat.tolist()))
            s.latency.add(lat)
            s.frames += int(rows.sum())
            s.first_ns = s.first_ns or int(np.min(np.asarray(read_ns, np.int64)[rows]))
            s.last_ns = max(s.last_ns, int(t_out.max()))

    def window(self, now_ns: int) -> dict[int, dict[str, Any]]:
        """Each source's FPS and latency (p50, p95) over the last window."""
        out: dict[int, dict[str, Any]] = {}
        for sid, s in sorted(self.sources.items()):
            while s.recent and s.recent[0][0] < now_ns - self.window_ns:
                s.recent.popleft()
            fps, p50, p95 = 0.0, None, None
            if s.recent:
                times = np.fromiter((t for t, _ in s.recent), np.int64, len(s.recent))
                lat = np.fromiter((v for _, v in s.recent), np.int64, len(s.recent))
                span = max(now_ns - max(int(times[0]), now_ns - self.window_ns), 1)
                fps = len(times) / (span / 1e9) if len(times) > 1 else 0.0
                p50, p95 = (float(np.percentile(lat, q)) / 1e6 for q in (50, 95))
            out[sid] = {"frames": s.frames, "fps": round(fps, 2), "last_out_ns": s.last_ns,
                        "latency_ms": {"p50": _round(p50), "p95": _round(p95)}}
        return out

    def totals(self) -> dict[int, dict[str, Any]]:
        """Each source's frames, FPS and latency (mean, p50, p95, p99) over the whole run."""
        out = {}
        for sid, s in sorted(self.sources.items()):
            wall = (s.last_ns - s.first_ns) / 1e9
            summary = s.latency.summary_ms((50, 95, 99))
            out[sid] = {"frames": s.frames, "fps": round(s.frames / wall, 2) if wall > 0 else 0.0,
                        "latency_ms": {k: _round(v) for k, v in summary.items()}}
        return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)

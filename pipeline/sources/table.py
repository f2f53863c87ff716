"""The controller's view of the run's sources: how they are spread over capture processes, which
capture process reads each one, which have ended, and each one's figures (state, FPS, latency,
drops, reconnects).

The controller asks it where to put a source (``place``), what a capture process must read when
it starts or restarts (``assignment``), whether the run is over (``all_done``), and for the
per-source part of ``ctl status``, the exit table and ``--telemetry-out``.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from ..messages import EndOfStream, FrameTimes, Stamp
from .spec import SourceSpec
from .stats import SourceStats


def assign(source_ids: Sequence[int], workers: int) -> dict[int, list[int]]:
    """Spread sources over ``workers`` capture processes, round robin: worker -> source ids."""
    table: dict[int, list[int]] = {w: [] for w in range(workers)}
    for i, sid in enumerate(source_ids):
        table[i % workers].append(sid)
    return table


def capture_workers(requested: int, sources: int, cores: int | None = None) -> int:
    """``--capture-workers``, or by default one per two cores and never more than sources."""
    if requested:
        return max(1, min(requested, sources))
    cores = cores or os.cpu_count() or 2
    return max(1, min(sources, cores // 2))


class SourceTable:
    def __init__(self, specs: Sequence[SourceSpec], workers: int) -> None:
        self.specs: dict[int, SourceSpec] = {s.id: s for s in specs}
        self.workers = workers
        self.owner: dict[int, int] = {}
        for worker, ids in assign([s.id for s in specs], workers).items():
            for sid in ids:
                self.owner[sid] = worker
        self.done: dict[int, EndOfStream] = {}  # sources whose every frame is out, by id
        self.removed: set[int] = set()
        self.capture: dict[int, dict[str, Any]] = {}  # the newest capture figures, by source id
        self.stats = SourceStats()

    # -- placement ---------------------------------------------------------------------------
    def assignment(self, worker: int, resume: dict[int, int] | None = None) -> list[tuple[SourceSpec, int]]:
        """The sources ``worker`` reads that have not ended, each with the index to start at."""
        resume = resume or {}
        return [(self.specs[sid], resume.get(sid, 0)) for sid, w in sorted(self.owner.items())
                if w == worker and sid not in self.done]

    def next_id(self) -> int:
        return max(self.specs, default=-1) + 1

    def place(self, spec: SourceSpec) -> int:
        """Register a source added at run time; the capture process with the fewest sources
        still running takes it."""
        load = {w: 0 for w in range(self.workers)}
        for sid, w in self.owner.items():
            if sid not in self.done:
                load[w] += 1
        worker = min(load, key=lambda w: (load[w], w))
        self.specs[spec.id] = spec
        self.owner[spec.id] = worker
        return worker

    # -- progress ----------------------------------------------------------------------------
    def ended(self, end: EndOfStream) -> None:
        self.done.setdefault(end.source, end)

    def all_done(self) -> bool:
        return bool(self.specs) and all(sid in self.done for sid in self.specs)

    def running(self) -> list[int]:
        return [sid for sid in self.specs if sid not in self.done]

    def delivering(self) -> list[int]:
        """The running sources that bring frames: a camera that is connecting or reconnecting
        brings none, so it holds no frame of the run's window (nor a share of its capture
        process's ring, :meth:`stages.capture.Capture.delivering`)."""
        return [sid for sid in self.running() if self.state_of(sid) not in ("connecting", "reconnecting")]

    def errors(self) -> list[tuple[int, str]]:
        return [(sid, end.error) for sid, end in sorted(self.done.items()) if end.error]

    def add_frames(self, msg: FrameTimes) -> None:
        if len(msg.sources) == len(msg.stamps):
            self.stats.add(msg.sources, msg.stamps[:, Stamp.READ], msg.stamps[:, Stamp.SINK_OUT])

    def add_capture_figures(self, figures: dict[str, Any]) -> None:
        for sid, figs in (figures.get("sources") or {}).items():
            self.capture[int(sid)] = figs

    # -- views -------------------------------------------------------------------------------
    def state_of(self, sid: int) -> str:
        if sid in self.done:
            return "removed" if sid in self.removed else "ended"
        # before its capture process first reports: a camera or stream is connecting
        return str(self.capture.get(sid, {}).get("state", "connecting" if self.specs[sid].live else "starting"))

    def status(self, now_ns: int) -> dict[str, dict[str, Any]]:
        """Per source: input, kind, state (``starting``, ``connecting``, ``live``, ``reconnecting``,
        ``stalled``, ``reading``, ``ended``, ``removed``), capture process, frames out, FPS and
        latency over the last seconds, drops, reconnects, and ``retries`` (a live source's failed
        attempts since its last frame)."""
        window = self.stats.window(now_ns)
        out = {}
        for sid, spec in sorted(self.specs.items()):
            cap = self.capture.get(sid, {})
            win = window.get(sid, {"frames": 0, "fps": 0.0, "latency_ms": {"p50": None, "p95": None}})
            out[str(sid)] = {"input": spec.text, "kind": spec.info.kind, "state": self.state_of(sid),
                             "capture": self.owner.get(sid), "frames": win["frames"], "fps": win["fps"],
                             "last_out_ns": win.get("last_out_ns", 0),
                             "latency_ms": win["latency_ms"], "dropped": int(cap.get("dropped", 0)),
                             "reconnects": int(cap.get("reconnects", 0)), "retries": int(cap.get("retries", 0))}
        return out

    def totals(self) -> dict[str, dict[str, Any]]:
        """Per source over the whole run (the exit table and ``--telemetry-out``)."""
        totals = self.stats.totals()
        out = {}
        for sid, spec in sorted(self.specs.items()):
            cap = self.capture.get(sid, {})
            t = totals.get(sid, {"frames": 0, "fps": 0.0, "latency_ms": {}})
            out[str(sid)] = {"input": spec.text, "kind": spec.info.kind, "state": self.state_of(sid), **t,
                             "dropped": int(cap.get("dropped", 0)), "reconnects": int(cap.get("reconnects", 0)),
                             "error": self.done[sid].error if sid in self.done else ""}
        return out


def source_lines(totals: dict[str, dict[str, Any]]) -> list[str]:
    """The exit table's per-source rows."""
    lines = ["source  frames     FPS  p50 ms  p95 ms  dropped  reconnects  input"]
    for sid, t in totals.items():
        lat = t.get("latency_ms") or {}
        p50, p95 = lat.get("p50"), lat.get("p95")
        lines.append(f"{sid:>6}  {t['frames']:>6}  {t['fps']:>6.1f}  {_num(p50):>6}  {_num(p95):>6}  "
                     f"{t['dropped']:>7}  {t['reconnects']:>10}  {t['input']}")
    return lines


def _num(value: float | None) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.1f}"

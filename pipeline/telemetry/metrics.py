"""What ``ctl metrics`` (and ``--http``'s ``/metrics``) adds to the status: every live process's
CPU and memory, the run's uptime, and the whole-run latency histograms."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from .histograms import LatencyHistograms
from .memory import pss_mb, rss_mb


def run_metrics(figures: dict[str, dict[str, Any]], alive: Collection[str], started_ns: int,
                histograms: LatencyHistograms | None) -> dict[str, Any]:
    """``figures``: each process's last figures by label; ``alive``: the labels of the processes
    still running (a dead one's last figures are not shown as if it lived); the controller's own
    CPU and memory are read here, in the controller."""
    processes = {label: {"cpu_s": f.get("cpu_s", 0.0), "rss_mb": f.get("rss_mb", 0.0), "pss_mb": f.get("pss_mb", 0.0)}
                 for label, f in figures.items() if label in alive}
    processes["controller"] = {"cpu_s": time.process_time(), "rss_mb": rss_mb(), "pss_mb": pss_mb()}
    out: dict[str, Any] = {"processes": processes, "uptime_s": (time.monotonic_ns() - started_ns) / 1e9}
    if histograms is not None:
        out.update(histograms.export())
    return out

"""``/metrics``: the controller's figures (``ctl metrics``) in the Prometheus text exposition
format, written by ``prometheus_client`` (its metric families and ``generate_latest``), so the
escaping, types and ``_bucket``/``_sum``/``_count`` series are the library's, not ours.

Names (all prefixed ``posepipe_``): ``frames_total``, ``dropped_frames_total``,
``reconnects_total`` and ``source_fps`` per ``source``; ``latency_seconds`` per ``source``
(histogram, frame read to output); ``stage_service_seconds`` and ``stage_wait_seconds`` per
``stage`` (histograms); ``inference_requests_in_flight``; ``decode_worker_busy_ratio`` per
``worker``; ``mqtt_messages_total`` per ``result`` (with ``--publish``); and per process (``stage``
label): ``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_proportional_memory_bytes``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

MiB = 2**20
NOT_UP = ("starting", "connecting", "reconnecting", "ended", "removed", "failed")


def _histogram(name: str, doc: str, label: str, data: dict[str, dict[str, Any]], bounds: list[float]) -> Metric:
    family = HistogramMetricFamily(name, doc, labels=[label], unit="")
    for key, h in data.items():
        edges = [repr(float(b)) for b in bounds] + ["+Inf"]
        family.add_metric([key], list(zip(edges, h["buckets"])), h["sum"])
    return family


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def cluster_families(state: dict[str, Any]) -> Iterable[Metric]:
    """A cluster driver's reply: per source (with its node) and per node."""
    frames = CounterMetricFamily("posepipe_frames", "Frames output per source", labels=["source", "node"])
    dropped = CounterMetricFamily("posepipe_dropped_frames", "Frames a live source delivered that its node's "
                                  "pipeline dropped", labels=["source", "node"])
    reconnects = CounterMetricFamily("posepipe_reconnects", "Times a live source was reopened",
                                     labels=["source", "node"])
    fps = GaugeMetricFamily("posepipe_source_fps", "Frames output per second over the last seconds, per source",
                            labels=["source", "node"])
    latency = GaugeMetricFamily("posepipe_source_latency_seconds", "Latency from frame read to output over the "
                                "last seconds, per source", labels=["source", "node", "quantile"])
    moves = CounterMetricFamily("posepipe_source_moves", "Times a source moved to another node",
                                labels=["source"])
    for sid, src in state.get("sources", {}).items():
        node = str(src.get("node") or "")
        frames.add_metric([sid, node], float(src.get("frames", 0)))
        dropped.add_metric([sid, node], float(src.get("dropped", 0)))
        reconnects.add_metric([sid, node], float(src.get("reconnects", 0)))
        fps.add_metric([sid, node], _number(src.get("fps")) or 0.0)
        for q, key in (("0.5", "p50"), ("0.95", "p95")):
            ms = _number((src.get("latency_ms") or {}).get(key))
            if ms is not None:
                latency.add_metric([sid, node, q], ms / 1000)
        moves.add_metric([sid], float(len(src.get("moves") or [])))
    up = GaugeMetricFamily("posepipe_node_up", "1 while the node answers", labels=["node", "address"])
    for name, node in sorted(state.get("nodes", {}).items()):
        up.add_metric([name, str(node.get("address", ""))], 1.0 if node.get("alive") else 0.0)
    duplicates = CounterMetricFamily("posepipe_duplicate_frames_dropped", "Frames two nodes both output (a moved "
                                     "source), written once")
    duplicates.add_metric([], float(state.get("duplicates_dropped", 0)))
    yield from (frames, dropped, reconnects, fps, latency, moves, up, duplicates)


def families(state: dict[str, Any]) -> Iterable[Metric]:
    """The metric families of one ``ctl metrics`` reply."""
    if state.get("cluster"):
        yield from cluster_families(state)
        return
    metrics = state.get("metrics", {})
    sources = state.get("sources", {})
    frames = metrics.get("frames", {})
    out_frames = CounterMetricFamily("posepipe_frames", "Frames output (read, inferred, decoded and drawn) per source",
                                     labels=["source"])
    dropped = CounterMetricFamily("posepipe_dropped_frames", "Frames a live source delivered that the pipeline "
                                  "dropped (the pipeline was busy)", labels=["source"])
    reconnects = CounterMetricFamily("posepipe_reconnects", "Times a live source was reopened", labels=["source"])
    fps = GaugeMetricFamily("posepipe_source_fps", "Frames output per second over the last seconds, per source",
                            labels=["source"])
    state_gauge = GaugeMetricFamily("posepipe_source_up", "1 while frames of the source are read (0 while it "
                                    "connects, reconnects, or after it ended)",
                                    labels=["source", "state"])
    for sid, src in sources.items():
        out_frames.add_metric([sid], float(frames.get(sid, 0)))
        dropped.add_metric([sid], float(src.get("dropped", 0)))
        reconnects.add_metric([sid], float(src.get("reconnects", 0)))
        fps.add_metric([sid], _number(src.get("fps")) or 0.0)
        st = str(src.get("state", ""))
        state_gauge.add_metric([sid, st], 0.0 if st in NOT_UP else 1.0)
    yield from (out_frames, dropped, reconnects, fps, state_gauge)
    bounds = metrics.get("bounds")
    if bounds:
        yield _histogram("posepipe_latency_seconds", "Latency from frame read to output, per source", "source",
                         metrics.get("latency", {}), bounds)
        yield _histogram("posepipe_stage_service_seconds", "Time each stage spends on a frame", "stage",
                         metrics.get("service", {}), bounds)
        yield _histogram("posepipe_stage_wait_seconds", "Time a frame waits before each stage (queue and transport)",
                         "stage", metrics.get("wait", {}), bounds)
    window = state.get("window", {})
    in_flight = GaugeMetricFamily("posepipe_inference_requests_in_flight", "Inference requests running now")
    in_flight.add_metric([], _number(window.get("in_flight")) or 0.0)
    yield in_flight
    busy = GaugeMetricFamily("posepipe_decode_worker_busy_ratio", "Share of the last seconds each decode worker "
                             "was busy", labels=["worker"])
    for worker, ratio in sorted((window.get("workers") or {}).items()):
        busy.add_metric([worker], _number(ratio) or 0.0)
    yield busy
    mode = GaugeMetricFamily("posepipe_mode", "The run's mode (1 for the current one)", labels=["mode"])
    for name in ("user", "latency"):
        mode.add_metric([name], 1.0 if state.get("mode") == name else 0.0)
    yield mode
    publish = state.get("publish")
    if publish:
        mqtt = CounterMetricFamily("posepipe_mqtt_messages", "MQTT messages, by result", labels=["result"])
        mqtt.add_metric(["sent"], float(publish.get("sent", 0)))
        mqtt.add_metric(["dropped"], float(publish.get("dropped", 0)))
        yield mqtt
    cpu = CounterMetricFamily("posepipe_process_cpu_seconds", "CPU seconds used by each process of the run",
                              labels=["stage"])
    rss = GaugeMetricFamily("posepipe_process_resident_memory_bytes", "Resident memory of each process",
                            labels=["stage"])
    pss = GaugeMetricFamily("posepipe_process_proportional_memory_bytes", "Proportional set size of each process "
                            "(shared pages divided among their users)", labels=["stage"])
    for label, figures in sorted(metrics.get("processes", {}).items()):
        cpu.add_metric([label], _number(figures.get("cpu_s")) or 0.0)
        rss.add_metric([label], (_number(figures.get("rss_mb")) or 0.0) * MiB)
        pss.add_metric([label], (_number(figures.get("pss_mb")) or 0.0) * MiB)
    yield from (cpu, rss, pss)


class _Reply:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def collect(self) -> Iterable[Metric]:
        return families(self.state)


def exposition(state: dict[str, Any]) -> bytes:
    """The text exposition (``CONTENT_TYPE_LATEST``) of one ``ctl metrics`` reply."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Reply(state))  # type: ignore[arg-type]
    return generate_latest(registry)

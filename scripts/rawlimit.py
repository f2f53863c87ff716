#!/usr/bin/env python3
"""The raw OpenVINO limit of a model as this pipeline compiles it, measured as benchmark_app does.

* throughput: THROUGHPUT hint (or the given streams/threads), all requests kept busy for
  ``seconds`` (frames per second), with the device's optimal number of requests and with twice
  that (the pipeline's default); the better of the two is the limit;
* latency: LATENCY hint, one request, synchronous inference in a loop (median and mean ms).

The model is read, reshaped and given the same uint8 preprocessing as in the pipeline
(:func:`stages.infer.build_model`), so the figures are for the same compiled model.

    python scripts/rawlimit.py -m MODEL -at FAMILY -i CLIP
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import openvino as ov  # noqa: E402

from pipeline.config import InferenceConfig  # noqa: E402
from pipeline.models.families import ModelPlan, plan_model  # noqa: E402
from pipeline.sources import probe  # noqa: E402
from stages.infer import build_model, compile_config, model_precision  # noqa: E402


def _input(plan: ModelPlan) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (1, plan.net_h, plan.net_w, 3), dtype=np.uint8)


def throughput(plan: ModelPlan, cfg: InferenceConfig, seconds: float = 8.0) -> dict[str, Any]:
    core = ov.Core()
    model = build_model(core, plan)
    compiled = core.compile_model(model, cfg.device, compile_config("user", cfg))
    optimal = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
    # OpenVINO's optimal number of requests, and the pipeline's default (twice that): the better
    counts = [cfg.nireq] if cfg.nireq else [optimal, 2 * optimal]
    by_requests = {n: _throughput(compiled, plan, n, seconds) for n in counts}
    nireq = max(by_requests, key=by_requests.__getitem__)
    return {"fps": by_requests[nireq], "requests": nireq, "fps_by_requests": by_requests,
            "streams": str(compiled.get_property("NUM_STREAMS")),
            "threads": str(compiled.get_property("INFERENCE_NUM_THREADS")),
            "precision": model_precision(model, str(compiled.get_property("INFERENCE_PRECISION_HINT")))}


def _throughput(compiled: Any, plan: ModelPlan, nireq: int, seconds: float) -> float:
    queue = ov.AsyncInferQueue(compiled, nireq)
    data = _input(plan)
    for _ in range(nireq):  # warm-up
        queue.start_async({0: data})
    queue.wait_all()
    count = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        queue.start_async({0: data})
        count += 1
    queue.wait_all()
    return count / (time.perf_counter() - t0)


def latency(plan: ModelPlan, cfg: InferenceConfig, seconds: float = 5.0) -> dict[str, Any]:
    core = ov.Core()
    model = build_model(core, plan)
    compiled = core.compile_model(model, cfg.device, compile_config("latency", cfg))
    request = compiled.create_infer_request()
    data = _input(plan)
    for _ in range(5):
        request.infer({0: data})
    times = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        t = time.perf_counter()
        request.infer({0: data})
        times.append((time.perf_counter() - t) * 1000)
    return {"median_ms": statistics.median(times), "mean_ms": statistics.fmean(times), "count": len(times),
            "precision": model_precision(model, str(compiled.get_property("INFERENCE_PRECISION_HINT")))}


def measure(model: str, family: str, clip: str, device: str = "CPU", seconds: float = 8.0,
            latency_seconds: float | None = None, tsize: int = 0, scales: tuple[int, ...] = ()) -> dict[str, Any]:
    """Throughput for ``seconds`` and latency for ``latency_seconds`` (default: 0.6 x
    ``seconds``); a duration of 0 skips that half. ``tsize`` and ``scales`` as the pipeline's."""
    info = probe(clip)
    plan = plan_model(model, family, (info.frame_h, info.frame_w), tsize, device, scales=scales)
    cfg = InferenceConfig(model=model, architecture=family, device=device)
    out: dict[str, Any] = {"input": " + ".join(f"{w}x{h}" for h, w in plan.all_scales)}
    if seconds:
        out["throughput"] = throughput(plan, cfg, seconds)
    lat_seconds = seconds * 0.6 if latency_seconds is None else latency_seconds
    if lat_seconds:
        out["latency"] = latency(plan, cfg, lat_seconds)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("-at", "--architecture_type", required=True)
    parser.add_argument("-i", "--input", required=True, help="the clip whose frame size sets the input size")
    parser.add_argument("-d", "--device", default="CPU")
    parser.add_argument("--seconds", type=float, default=8.0)
    ns = parser.parse_args()
    print(json.dumps(measure(ns.model, ns.architecture_type, ns.input, ns.device, ns.seconds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

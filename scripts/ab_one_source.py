#!/usr/bin/env python3
"""One unpaced source, interleaved A/B: pipeline variants (checkouts and/or options) and the Open
Model Zoo demo loop, round after round, so that the load other work puts on the host hits every
variant alike. Reports, per variant, the median FPS, p50 and p95 latency over the rounds, and
each round's FPS as a ratio of the first variant's in the same round.

    python scripts/ab_one_source.py --variant base=/tmp/base --variant new=. [--variant w4=.:--ring-slots,4] \\
        [--rounds 5] [--seconds 8] [--no-omz] [--json out.json]

A variant is ``LABEL=TREE[:ARG,ARG…]``: ``python -m pipeline`` run from the checkout ``TREE``
(``PYTHONPATH=TREE``) with the extra arguments. Every pipeline run: the clip
``media/cams-mpeg4-15fps-00.avi`` (``scripts/bench_sources.py`` makes it) looped, hpe-0001 (the
stand-in weights), ``-no_show``; warmed up ``--warmup`` seconds after its first frame out (the
window settles), then frames counted over ``--seconds`` from ``ctl status``, latency p50/p95
from the status window (last 5 s) at the end. The demo: ``scripts/omz_demo.py --seconds``.
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

from benchlib import stop_pipeline  # noqa: E402

MODEL = "models/omz/intel/human-pose-estimation-0001/FP32/human-pose-estimation-0001.xml"
CLIP = "media/cams-mpeg4-15fps-00.avi"


def status(address: str) -> dict[str, Any] | None:
    import zmq

    from pipeline.ctl import request
    from pipeline.messages import WireError
    try:
        reply = request(address, "status", timeout_s=5.0)
    except (zmq.ZMQError, WireError):
        return None
    return reply.state if reply.ok else None


def run_pipeline(tree: Path, extra: list[str], seconds: float, warmup: float, work: Path) -> dict[str, Any]:
    address = f"ipc://{work}/ab.ctl"
    argv = [sys.executable, "-m", "pipeline", "-i", CLIP, "--loop", "-at", "openpose", "-m", MODEL, "-no_show",
            "--control", address, *extra]
    env = dict(os.environ, PYTHONPATH=str(tree))
    with open(work / "ab.log", "w") as log:
        proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pipeline exited ({proc.returncode}): {(work / 'ab.log').read_text()[-300:]}")
            s = status(address)
            if s and any(v["frames"] > 0 for v in (s.get("sources") or {}).values()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("no frame out within 120 s")
            time.sleep(0.5)
        time.sleep(warmup)
        s0 = status(address) or {}
        time.sleep(seconds)
        s1 = status(address) or {}
    finally:
        stop_pipeline(proc, address)
    a, b = next(iter(s0["sources"].values())), next(iter(s1["sources"].values()))
    span = (b["last_out_ns"] - a["last_out_ns"]) / 1e9
    queues = (s1.get("window") or {}).get("queues") or {}
    return {"fps": (b["frames"] - a["frames"]) / span, "p50": b["latency_ms"]["p50"], "p95": b["latency_ms"]["p95"],
            "window": s1.get("in_flight_limit"), "requests": (queues.get("infer") or {}).get("requests")}


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
    labels = [v[0] for v in variants] + ([] if ns.no_omz else ["omz demo"])
    got: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    loads = []
    with tempfile.TemporaryDirectory(prefix="posepipe-ab-") as tmp:
        for rnd in range(ns.rounds):
            for label in labels:
                loads.append(os.getloadavg()[0])
                if label == "omz demo":
                    r = run_omz(ns.seconds, Path(tmp))
                else:
                    _, tree, extra = next(v for v in variants if v[0] == label)
                    r = run_pipeline(tree, extra, ns.seconds, ns.warmup, Path(tmp))
                got[label].append(r)
                print(f"round {rnd + 1} {label}: {r['fps']:.1f} FPS, p50 {r['p50']:.0f} ms, p95 {r['p95']:.0f} ms, "
                      f"window {r['window']}, requests {r['requests']}", file=sys.stderr, flush=True)
    ref = labels[0]
    from pipeline.telemetry.machine import machine_description
    machine = machine_description()
    print(f"Machine: {machine['cpu']}, {machine['cores']} cores, OpenVINO {machine['openvino']}; "
          f"{ns.rounds} rounds of {ns.seconds:g} s; load average {min(loads):.1f}–{max(loads):.1f}")
    print()
    print(f"| variant | FPS (median) | × {ref} (median of rounds) | p50 ms | p95 ms | window | requests |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for label in labels:
        rows = got[label]
        ratio = statistics.median(a["fps"] / b["fps"] for a, b in zip(rows, got[ref]))
        summary[label] = {"fps": statistics.median(r["fps"] for r in rows), "ratio": ratio,
                          "p50": statistics.median(r["p50"] for r in rows),
                          "p95": statistics.median(r["p95"] for r in rows), "runs": rows}
        s = summary[label]
        print(f"| {label} | {s['fps']:.1f} | {ratio:.3f} | {s['p50']:.0f} | {s['p95']:.0f} | {rows[-1]['window']} | "
              f"{rows[-1]['requests']} |")
    if ns.json:
        Path(ns.json).write_text(json.dumps({"machine": machine, "variants": ns.variant, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

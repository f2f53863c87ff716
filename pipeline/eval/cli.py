"""``python -m pipeline.eval --annotations person_keypoints.json --images DIR [pipeline options]``

Runs the real pipeline over the annotated images found in DIR, scores the people it finds with
pycocotools' COCOeval (OKS keypoint AP), and prints AP, AP50, AP75, APm, APl and AR beside the
run's FPS and latency. Every option of ``python -m pipeline`` applies (``-at -m --tsize --scales -t
-d -nireq …``), except ``-i`` and ``--loop`` (the images are the input).

Evaluation threshold: unless ``-t`` is given, people are kept down to a pose score of
``EVAL_THRESHOLD`` (0.01) instead of the family's display threshold. AP is the area under the
precision-recall curve swept over every score; a display threshold cuts the curve short and
loses the recall of the people the network is less sure of, so benchmarks evaluate near zero
(Ultralytics' ``val`` uses 0.001 where ``predict`` uses 0.25). COCOeval keeps at most 20 people
per image, best first, so the extra low-scoring people cannot crowd out the good ones.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from ..errors import PipelineError, UsageError
from ..outputs import check_writable_file
from .coco import Annotations, results_from_poses, score
from .run import run_pipeline

EVAL_THRESHOLD = 0.01
JSON_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "fps", "images", "detections")
FORBIDDEN = {"-i": "--images", "--input": "--images", "--loop": None}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pipeline.eval", description=__doc__.splitlines()[0],
                                epilog="Any other option is passed to python -m pipeline (see its --help).")
    p.add_argument("--annotations", required=True, metavar="FILE", help="COCO person_keypoints annotation file")
    p.add_argument("--images", required=True, metavar="DIR", help="folder holding the annotated images")
    p.add_argument("--results", metavar="FILE", help="write the COCO results (JSON list) here")
    p.add_argument("--json", metavar="FILE", help="write the figures here, one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _option_value(options: Sequence[str], *names: str) -> str | None:
    for i, opt in enumerate(options):
        for name in names:
            if opt == name and i + 1 < len(options):
                return options[i + 1]
            if opt.startswith(name + "="):
                return opt.split("=", 1)[1]
    return None


def _check_options(ns: argparse.Namespace, options: list[str]) -> None:
    for opt in options:
        key = opt.split("=", 1)[0]
        if key in FORBIDDEN:
            instead = FORBIDDEN[key]
            raise UsageError(f"{key} is not an option of the evaluation" + (f": use {instead}" if instead else ""))
    if not os.path.isdir(ns.images):
        raise UsageError(f"--images {ns.images}: no such folder")
    for option in ("results", "json"):
        path = getattr(ns, option)
        if path:
            check_writable_file(path, f"--{option}")
    sources = {os.path.realpath(ns.annotations)}
    outputs = [p for p in (ns.results, ns.json, _option_value(options, "--poses-out")) if p]
    for path in outputs:
        if os.path.realpath(path) in sources or os.path.dirname(os.path.realpath(path)) == os.path.realpath(ns.images):
            raise UsageError(f"{path}: would overwrite the annotations or write among the images")


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    ns, options = _parser().parse_known_args(argv)
    try:
        _check_options(ns, options)
        gt = Annotations.load(ns.annotations)
        names, missing = gt.present(ns.images)
        if not names:
            raise UsageError(f"--images {ns.images}: none of the {len(gt.ids)} images of {ns.annotations} is there")
        if missing:
            print(f"warning: {len(missing)} of the {len(gt.ids)} annotated images are not in {ns.images}: "
                  f"evaluating the {len(names)} that are", file=sys.stderr)
        if _option_value(options, "-t", "--prob_threshold") is None:
            options = [*options, "-t", str(EVAL_THRESHOLD)]
        run = run_pipeline(ns.images, names, options, _option_value(options, "--poses-out"),
                           progress=not ns.no_progress)
        if run.code != 0:
            for line in run.errors or [f"error: the pipeline exited with status {run.code}"]:
                print(line, file=sys.stderr)
            return run.code
        results = results_from_poses(run.records, gt.ids)
        image_ids = [gt.ids[n] for n in names]
        figures = score(gt, results, image_ids)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    everything = run.report.get("all", {})
    meta = run.report.get("meta", {})
    fps = float(everything.get("fps") or 0.0)
    p50 = (everything.get("latency_ms") or {}).get("p50")
    out = {"AP": figures["AP"], "AP50": figures["AP50"], "AP75": figures["AP75"], "APm": figures["APm"],
           "APl": figures["APl"], "AR": figures["AR"], "fps": round(fps, 2), "images": len(names),
           "detections": len(results)}
    if ns.results:
        with open(ns.results, "w", encoding="utf-8") as f:
            json.dump(results, f)
    if ns.json:
        with open(ns.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    print(f"COCO keypoints: {len(names)} images, {gt.people} people with keypoints, {len(results)} people found "
          f"({os.path.basename(str(meta.get('model', '')))}, input {meta.get('net_input', '?')}, "
          f"precision {meta.get('precision', '?')})")
    print("  ".join(f"{k} {_fmt(figures[k])}" for k in ("AP", "AP50", "AP75", "APm", "APl", "AR")))
    print(f"pipeline: {fps:.1f} FPS, latency p50 {p50 if p50 is None else round(p50)} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

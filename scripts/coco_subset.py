#!/usr/bin/env python3
"""Build a COCO keypoint evaluation set: a folder with ``person_keypoints.json`` and ``images/``.

    python scripts/coco_subset.py --annotations person_keypoints_val2017.json --images val2017/ \\
        --out ~/.cache/posepipe/coco [--count N] [--half tune|check] [--ids 785,40083]

Keeps the annotated images found in ``--images`` (all, the ``--ids`` given, or ``--count`` of them
drawn with a fixed seed among those with people), with EVERY annotation of each kept image
(crowd regions and people without keypoints included: COCOeval needs them to judge the people
found there). ``--half tune`` or ``--half check`` keeps one of two fixed halves (by image id), so
that defaults can be tuned on one and checked on the other. Images are copied (hard-linked where
the file system allows). ``~/.cache/posepipe/coco`` is where the tests and ``make bench`` look
(or ``$POSEPIPE_COCO``).

With internet, the whole of val2017 (5 000 images, 1 GB, and the 241 MB annotation archive):

    wget http://images.cocodataset.org/zips/val2017.zip http://images.cocodataset.org/annotations/annotations_trainval2017.zip
    unzip -q val2017.zip && unzip -q annotations_trainval2017.zip
    python scripts/coco_subset.py --annotations annotations/person_keypoints_val2017.json --images val2017 --out coco-val2017
    python -m pipeline.eval --annotations coco-val2017/person_keypoints.json --images coco-val2017/images -at movenet
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
from pathlib import Path


def half_of(image_id: int) -> str:
    """A fixed split of the images into two halves, independent of the set's size and order."""
    return "tune" if hashlib.sha256(str(image_id).encode()).digest()[0] % 2 == 0 else "check"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--annotations", required=True, help="COCO person_keypoints file (val2017 or a subset)")
    p.add_argument("--images", required=True, help="folder of the images")
    p.add_argument("--out", required=True, help="folder to write (person_keypoints.json, images/)")
    p.add_argument("--count", type=int, default=0, help="keep this many images with people (0: all)")
    p.add_argument("--half", choices=("tune", "check"), help="keep one fixed half of the images")
    p.add_argument("--ids", default="", help="keep these image ids (comma-separated)")
    p.add_argument("--seed", type=int, default=2017)
    ns = p.parse_args(argv)
    try:
        data = json.loads(Path(ns.annotations).read_text())
        images = data["images"]
        annotations = data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: --annotations {ns.annotations}: not a COCO annotation file ({exc})", file=sys.stderr)
        return 2
    out = Path(ns.out).expanduser()
    if out.resolve() == Path(ns.images).resolve():
        print("error: --out must not be the images folder", file=sys.stderr)
        return 2
    present = [im for im in images if (Path(ns.images) / im["file_name"]).is_file()]
    with_people = {a["image_id"] for a in annotations if a.get("num_keypoints", 0) > 0}
    if ns.ids:
        wanted = {int(i) for i in ns.ids.split(",") if i.strip()}
        present = [im for im in present if im["id"] in wanted]
    if ns.half:
        present = [im for im in present if half_of(im["id"]) == ns.half]
    if ns.count:
        pool = sorted((im for im in present if im["id"] in with_people), key=lambda im: im["id"])
        present = random.Random(ns.seed).sample(pool, min(ns.count, len(pool)))
    if not present:
        print(f"error: none of the annotated images is in {ns.images}", file=sys.stderr)
        return 2
    keep = {im["id"] for im in present}
    (out / "images").mkdir(parents=True, exist_ok=True)
    for im in present:
        src, dst = Path(ns.images) / im["file_name"], out / "images" / im["file_name"]
        if dst.exists():
            continue
        try:
            os.link(src, dst)
        except OSError:
            shutil.copyfile(src, dst)
    subset = {k: v for k, v in data.items() if k not in ("images", "annotations")}
    subset["images"] = sorted(present, key=lambda im: im["id"])
    subset["annotations"] = [a for a in annotations if a["image_id"] in keep]
    (out / "person_keypoints.json").write_text(json.dumps(subset))
    people = sum(1 for a in subset["annotations"] if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd"))
    print(f"{out}: {len(present)} images, {people} people with keypoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""COCO keypoint ground truth, results and score.

Results follow the COCO results format: one entry per person found, ``{"image_id", "category_id":
1, "keypoints": [x1, y1, v1, …], "score"}``, keypoints in the image's own pixels, COCO-17 order.
The score is the pose's score (the one ``-t`` filters on). pycocotools' COCOeval for keypoints
computes OKS AP over the images given, at most 20 people per image (its ``maxDets``), best score
first.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass
from typing import Any, Iterable

from ..errors import UsageError

# what COCOeval's keypoint summary holds, in its order (stats[0..9])
METRICS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


@dataclass(frozen=True)
class Annotations:
    """A COCO keypoint annotation file: its raw content and the image ids by file name."""

    path: str
    data: dict[str, Any]
    ids: dict[str, int]  # file name -> image id

    @classmethod
    def load(cls, path: str) -> "Annotations":
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            raise UsageError(f"--annotations {path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"--annotations {path}: not a COCO annotation file ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("images"), list) or \
                not isinstance(data.get("annotations"), list):
            raise UsageError(f"--annotations {path}: not a COCO annotation file (no images and annotations lists)")
        try:
            ids = {os.path.basename(str(im["file_name"])): int(im["id"]) for im in data["images"]}
        except (KeyError, TypeError, ValueError):
            raise UsageError(f"--annotations {path}: an image entry lacks its id or file_name") from None
        people = [c for c in data.get("categories", []) if isinstance(c, dict) and c.get("id") == 1]
        if not people or len(people[0].get("keypoints", [])) != 17:
            raise UsageError(f"--annotations {path}: no person category with 17 keypoints (category id 1): "
                             "give a COCO person_keypoints file")
        return cls(path, data, ids)

    def present(self, folder: str) -> tuple[list[str], list[str]]:
        """The annotated images found in ``folder``, and those missing, by file name (sorted)."""
        found, missing = [], []
        for name in sorted(self.ids):
            (found if os.path.isfile(os.path.join(folder, name)) else missing).append(name)
        return found, missing

    @property
    def people(self) -> int:
        """People annotated with at least one keypoint."""
        return sum(1 for a in self.data["annotations"] if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd"))


def results_from_poses(records: Iterable[dict[str, Any]], ids: dict[str, int]) -> list[dict[str, Any]]:
    """COCO results from ``--poses-out`` records (one per image, with its ``image`` name)."""
    results = []
    for record in records:
        image_id = ids.get(str(record.get("image", "")))
        if image_id is None:
            continue
        for pose in record["poses"]:
            flat: list[float] = []
            for x, y, s in pose["keypoints"]:
                flat += [round(float(x), 2), round(float(y), 2), round(float(s), 4)]
            results.append({"image_id": image_id, "category_id": 1, "keypoints": flat,
                            "score": round(float(pose["score"]), 5)})
    return results


def score(annotations: Annotations, results: list[dict[str, Any]], image_ids: list[int]) -> dict[str, float | None]:
    """OKS AP of ``results`` over ``image_ids`` with pycocotools' COCOeval (keypoints)."""
    try:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    except ImportError:
        raise UsageError("the evaluation needs pycocotools: pip install 'posepipe[eval]'") from None
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        gt = COCO()
        gt.dataset = annotations.data
        gt.createIndex()
        if not results:
            return {name: 0.0 for name in METRICS}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.imgIds = sorted(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    # COCOeval says -1 where a figure has no ground truth (no medium people, say): None here
    return {name: (float(v) if v >= 0 else None) for name, v in zip(METRICS, ev.stats)}

"""``python -m pipeline.eval``: COCO keypoint AP of the whole pipeline on real annotated images.

The real-image test scores four COCO val2017 photos kept in ``tests/data/coco`` (their official
annotations, licenses and sources in its ``SOURCES.md``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

from tests.helpers import ROOT, movenet_model, read_poses

COCO = ROOT / "tests" / "data" / "coco"
# four val2017 photos: a skier; two people; seven; two
ANNOTATIONS, IMAGES = COCO / "person_keypoints.json", COCO / "images"
KEYS = ["AP", "AP50", "AP75", "APm", "APl", "AR", "fps", "images", "detections"]


def run_eval(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.eval", *args, "--no-progress"], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, OPENCV_LOG_LEVEL="OFF"))


def one_error_line(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_bad_annotations_input_and_options_are_one_line_errors(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    assert "no such file" in one_error_line(run_eval("--annotations", str(tmp_path / "nope.json"),
                                                     "--images", str(images)))
    notcoco = tmp_path / "list.json"
    notcoco.write_text("[1, 2]")
    assert "not a COCO annotation file" in one_error_line(run_eval("--annotations", str(notcoco),
                                                                   "--images", str(images)))
    ann = tmp_path / "ann.json"
    ann.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 4, "height": 4}],
                               "annotations": [], "categories": [
                                   {"id": 1, "name": "person", "keypoints": [str(i) for i in range(17)]}]}))
    assert "none of the 1 images" in one_error_line(run_eval("--annotations", str(ann), "--images", str(images)))
    assert "use --images" in one_error_line(run_eval("--annotations", str(ann), "--images", str(images),
                                                     "-i", "media/vtest.avi"))
    assert "would overwrite" in one_error_line(run_eval("--annotations", str(ann), "--images", str(images),
                                                        "--results", str(ann)))


def test_movenet_ap_on_four_real_photos_agrees_with_an_independent_cocoeval(tmp_path):
    from pycocotools.coco import COCO as Gt
    from pycocotools.cocoeval import COCOeval

    figures, results, poses = tmp_path / "r.json", tmp_path / "coco.json", tmp_path / "p.jsonl"
    done = run_eval("--annotations", str(ANNOTATIONS), "--images", str(IMAGES), "-at", "movenet", "-m", movenet_model(),
                    "--json", str(figures), "--results", str(results), "--poses-out", str(poses))
    assert done.returncode == 0, done.stderr
    got = json.loads(figures.read_text())
    assert list(got) == KEYS
    assert got["images"] == 4 and got["detections"] == len(json.loads(results.read_text())) >= 10
    assert "AP " in done.stdout and "FPS" in done.stdout
    # 12 people with keypoints: MoveNet finds them with AP 0.61, AP50 0.83 (bf16). The same
    # results with left and right swapped score 0.0, scaled as if not mapped back from the
    # network input 0.0, moved 8 px down 0.21.
    assert got["AP"] >= 0.5 and got["AP50"] >= 0.75, got

    # every joint keeps its position: 17 keypoints with a score, inside the photo
    sizes = {im["file_name"]: (im["width"], im["height"]) for im in json.loads(ANNOTATIONS.read_text())["images"]}
    for record in read_poses(poses):
        w, h = sizes[record["image"]]
        for pose in record["poses"]:
            kp = pose["keypoints"]
            assert len(kp) == 17 and all(s > 0 for _, _, s in kp)
            assert all(0 <= x < w and 0 <= y < h for x, y, _ in kp)

    # an independent COCOeval of the poses file gives the same AP
    ids = {im["file_name"]: im["id"] for im in json.loads(ANNOTATIONS.read_text())["images"]}
    dets = [{"image_id": ids[r["image"]], "category_id": 1, "score": p["score"],
             "keypoints": [v for k in p["keypoints"] for v in k]} for r in read_poses(poses) for p in r["poses"]]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = Gt(str(ANNOTATIONS))
        ev = COCOeval(gt, gt.loadRes(dets), "keypoints")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert abs(ev.stats[0] - got["AP"]) <= 0.01

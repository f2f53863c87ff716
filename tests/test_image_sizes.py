"""A folder of images of several sizes: each image is inferred at the network input size it
would get alone (its own compiled model, shared by images that need the same size), and its
people come back in its own pixels."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from tests.helpers import SAMPLE, movenet_model, read_poses, run_pipeline, tagged_processes

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="media/vtest.avi is not here (make sample)")


def _frame(index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(SAMPLE))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok
    return frame


def _run(tmp_path, name: str, folder) -> tuple[str, dict[str, list]]:
    out = tmp_path / f"{name}.jsonl"
    res = run_pipeline("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--poses-out", str(out), timeout=600)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)
    return res.stderr, {r["image"]: r["poses"] for r in read_poses(out)}


def test_each_image_of_a_folder_is_inferred_at_its_own_size(tmp_path):
    frame = _frame(120)  # 768x576, walkers on the path
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_landscape.png"), frame)
    portrait = np.ascontiguousarray(frame[:, 180:500])  # 320x576: a portrait crop of the same scene
    cv2.imwrite(str(folder / "b_portrait.png"), portrait)
    alone = tmp_path / "alone"
    alone.mkdir()
    cv2.imwrite(str(alone / "b_portrait.png"), portrait)

    header, together = _run(tmp_path, "together", folder)
    _, by_itself = _run(tmp_path, "alone", alone)

    sizes = re.search(r"input (.*?), device", header).group(1)
    assert "768x576" in sizes and "320x576" in sizes, header  # the portrait got a portrait input
    got, want = together["b_portrait.png"], by_itself["b_portrait.png"]
    assert len(want) >= 2, "the crop holds walkers"
    assert len(got) == len(want)
    np.testing.assert_allclose(np.array([p["keypoints"] for p in got]), np.array([p["keypoints"] for p in want]),
                               atol=0.05)
    pts = np.array([k for p in got for k in p["keypoints"]])
    assert pts[:, 0].max() < 320 and pts[:, 1].max() < 576  # in the portrait's own pixels

"""Acceptance on the shared real clips (present in development and CI, absent on a fresh machine)."""

from __future__ import annotations

import cv2
import pytest

from tests.helpers import SHARED, movenet_model, read_poses, run_pipeline, tagged_processes

CLASSROOM = SHARED / "media" / "classroom.gif"
pytestmark = pytest.mark.skipif(not CLASSROOM.exists(), reason="../shared/media is not here")


def people_per_frame(poses_file) -> list[int]:
    return [len(r["poses"]) for r in read_poses(poses_file)]


def share_with_three(counts: list[int]) -> float:
    return sum(c >= 3 for c in counts) / len(counts)


def run_ok(*args):
    res = run_pipeline(*args)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag)


def test_classroom_clip_finds_three_people_in_most_frames(tmp_path):
    out = tmp_path / "p.jsonl"
    run_ok("-i", str(CLASSROOM), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(out))
    counts = people_per_frame(out)
    assert len(counts) == 45
    assert share_with_three(counts) >= 0.8, counts


def test_classroom_as_folder_and_as_single_image(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    cap = cv2.VideoCapture(str(CLASSROOM))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if n % 5 == 0:
            cv2.imwrite(str(folder / f"f{n:03d}.png"), frame)
        n += 1
    out = tmp_path / "folder.jsonl"
    run_ok("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(out))
    counts = people_per_frame(out)
    assert len(counts) == 9 and share_with_three(counts) >= 0.8, counts

    single = tmp_path / "single.jsonl"
    run_ok("-i", str(folder / "f000.png"), "-at", "movenet", "-m", movenet_model(), "-no_show",
           "--poses-out", str(single))
    assert people_per_frame(single)[0] >= 3

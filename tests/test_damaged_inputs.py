"""Inputs that lie about themselves: a damaged GIF whose container count matches what decodes, a
text file FFmpeg would play as a video, an image that grows while a folder loops."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest

from pipeline.sources.filecheck import fit_pixels, gif_frames, looks_like_text
from tests.helpers import Running, movenet_model, read_poses, run_pipeline, tagged_processes


def sample_frames(sample, n: int, size=(320, 240)) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(sample))
    frames = []
    while len(frames) < n:
        ok, frame = cap.read()
        assert ok
        frames.append(cv2.resize(frame, size))
    cap.release()
    return frames


@pytest.fixture(scope="module")
def gif(tmp_path_factory, sample):
    path = tmp_path_factory.mktemp("gif") / "walk.gif"
    assert cv2.imwritemulti(str(path), sample_frames(sample, 20))
    return path


def test_gif_blocks_are_counted(gif, tmp_path):
    assert gif_frames(str(gif)) == (20, True)
    data = gif.read_bytes()
    cut = tmp_path / "cut.gif"
    cut.write_bytes(data[: len(data) * 6 // 10])
    frames, whole = gif_frames(str(cut))
    assert not whole and 5 < frames < 20
    assert gif_frames(__file__) is None


def test_a_damaged_gif_is_processed_to_its_last_good_frame_then_reported(gif, tmp_path):
    data = gif.read_bytes()
    cut = tmp_path / "cut.gif"
    cut.write_bytes(data[: len(data) * 6 // 10])
    poses = tmp_path / "p.jsonl"
    res = run_pipeline("-i", str(cut), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(poses))
    assert res.code == 1, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "truncated or damaged" in errors[0], res.stderr
    frames = [r["frame"] for r in read_poses(poses)]
    assert 5 < len(frames) < 20 and frames == list(range(len(frames)))
    assert not tagged_processes(res.tag)


def test_a_whole_gif_is_not_reported(gif):
    res = run_pipeline("-i", str(gif), "-at", "movenet", "-m", movenet_model(), "-no_show")
    assert res.code == 0, res.stderr
    assert "Frames: 20" in res.stdout


@pytest.mark.parametrize("name", ["notes.txt", "notes.mp4"])
def test_a_text_file_is_not_a_video(name, tmp_path):
    text = tmp_path / name
    text.write_text("".join(f"line {i}: some words, \u00e9t\u00e9 \x1b[1mbold\x1b[0m\n" for i in range(400)))
    assert looks_like_text(str(text))
    res = run_pipeline("-i", str(text), "-at", "movenet", "-m", movenet_model(), "-no_show")
    assert res.code == 1, (res.stdout, res.stderr)
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "a text file" in errors[0]
    assert "Frames:" not in res.stdout


def test_fit_pixels_keeps_the_aspect_and_fits():
    assert fit_pixels(100, 200, 100 * 200 * 3) == (100, 200)
    h, w = fit_pixels(400, 800, 100 * 200 * 3)
    assert h * w * 3 <= 100 * 200 * 3 and abs(w / h - 2) < 0.05 and h >= 99


def test_an_image_that_grows_in_a_looping_folder_does_not_stop_the_run(tmp_path, sample):
    folder = tmp_path / "photos"
    folder.mkdir()
    small = sample_frames(sample, 2, size=(320, 240))
    for i, img in enumerate(small):
        cv2.imwrite(str(folder / f"{i}.png"), img)
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(folder), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses))
    state = run.wait_frames(4)
    big = cv2.resize(small[1], (1280, 960))
    cv2.imwrite(str(folder / "big.png"), big)
    os.replace(folder / "big.png", folder / "1.png")
    run.wait_frames(state["frames"] + 8)
    done = run.ctl("stop", timeout=10)
    assert done.returncode == 0, done.stderr
    code, out, err = run.finish()
    assert code == 0, err
    assert "is larger than a frame slot" in err and "Traceback" not in err
    assert len(read_poses(poses)) >= state["frames"] + 8

"""The whole pipeline as a user runs it: real model, real clip, every process and segment gone after."""

from __future__ import annotations

import shutil

import cv2
import pytest

from tests.helpers import make_clip, movenet_model, read_poses, run_pipeline, tagged_processes


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=24)


def run_ok(*args):
    res = run_pipeline(*args)
    assert res.code == 0, res.stderr
    assert not tagged_processes(res.tag), "processes left behind"
    return res


def test_decode_workers_and_batching_do_not_change_the_poses(clip, tmp_path):
    """One worker, frames one by one; three workers, frames in batches of 5 (24 frames: the last
    batch is short): the same pose file, byte for byte."""
    model = movenet_model()
    files = []
    for workers, batch in ((1, 1), (3, 5)):
        out = tmp_path / f"poses{workers}.jsonl"
        run_ok("-i", str(clip), "-at", "movenet", "-m", model, "-no_show", "--decode-workers", str(workers),
               "--batch", str(batch), "--poses-out", str(out))
        files.append(out.read_text())
    assert files[0] == files[1]
    records = [__import__("json").loads(line) for line in files[0].splitlines()]
    assert [r["frame"] for r in records] == list(range(24))  # every frame once, in order
    assert sum(len(r["poses"]) for r in records) >= 24 * 3  # people were found


def test_video_output_plays_and_has_every_frame(clip, tmp_path):
    out = tmp_path / "annotated.mp4"
    res = run_ok("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(out))
    assert "FPS:" in res.stdout and "Latency:" in res.stdout
    cap, source = cv2.VideoCapture(str(out)), cv2.VideoCapture(str(clip))
    frames = red = 0
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames += 1
        plain = source.read()[1]
        # the joints are drawn as red dots: count red pixels the input frame does not have
        b, g, r = (image[..., i].astype(int) for i in range(3))
        pb, pg, pr = (plain[..., i].astype(int) for i in range(3))
        red += int(((r > 150) & (g < 90) & (b < 90) & ~((pr > 150) & (pg < 90) & (pb < 90))).sum())
    assert frames == 24
    assert red > 24 * 20, f"skeletons drawn into the video: {red} red pixels in 24 frames"


def test_raw_output_prints_every_frames_people(clip):
    res = run_ok("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "-r", "--max-frames", "5")
    assert [ln.split(":")[0] for ln in res.stdout.splitlines() if ln.startswith("frame ")] == \
        [f"frame {i}" for i in range(5)]
    assert "person 0 score" in res.stdout


def test_folder_and_single_image(clip, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    cap = cv2.VideoCapture(str(clip))
    for i in range(5):
        ok, frame = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"img{i:02d}.jpg"), frame)
    (folder / "notes.txt").write_text("not an image")
    out_dir = tmp_path / "annotated"
    poses = tmp_path / "folder.jsonl"
    res = run_ok("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(out_dir),
                 "--poses-out", str(poses))
    assert "notes.txt" in res.stderr  # skipped with a warning
    assert sorted(p.name for p in out_dir.iterdir()) == [f"img{i:02d}.jpg" for i in range(5)]
    records = read_poses(poses)
    assert [r["image"] for r in records] == [f"img{i:02d}.jpg" for i in range(5)]
    assert all(len(r["poses"]) >= 3 for r in records)

    single = tmp_path / "one.png"
    shutil.copy(folder / "img00.jpg", tmp_path / "one.jpg")
    run_ok("-i", str(tmp_path / "one.jpg"), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(single),
           "--poses-out", str(tmp_path / "one.jsonl"))
    assert cv2.imread(str(single)).shape == cv2.imread(str(folder / "img00.jpg")).shape
    assert len(read_poses(tmp_path / "one.jsonl")) == 1


def test_loop_repeats_the_input(clip, tmp_path):
    poses = tmp_path / "loop.jsonl"
    run_ok("-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show", "--max-frames", "60",
           "--poses-out", str(poses))
    records = read_poses(poses)
    assert len(records) == 60
    # the second pass sees the same frames as the first (the people in it get new ids: to the
    # tracker they jumped back to where they were)
    def without_ids(poses):
        return [{k: v for k, v in p.items() if k != "id"} for p in poses]
    assert without_ids(records[24]["poses"]) == without_ids(records[0]["poses"])


def test_min_latency_mode_delivers_every_frame_in_order(clip, tmp_path):
    poses = tmp_path / "lat.jsonl"
    run_ok("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--mode", "latency",
           "--poses-out", str(poses))
    assert [r["frame"] for r in read_poses(poses)] == list(range(24))

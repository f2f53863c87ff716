"""Sizes a hostile or unlucky input can ask for are bounded: the network input never exceeds the
family's net_side_max (extreme aspect ratios are letterboxed), images beyond the pixel limit are
scaled down so the frame ring stays small, and a header claiming an impossible size is skipped."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from pipeline.models.families import Family, net_input_size
from pipeline.sources.probe import MAX_FRAME_PIXELS, probe
from tests.helpers import STANDIN, movenet_model, read_poses, run_pipeline, tagged_processes


@pytest.mark.parametrize("family", ["openpose", "ae", "higherhrnet", "movenet"])
@pytest.mark.parametrize("frame", [(2, 4000), (4000, 2), (9000, 16000), (1, 1), (432, 768)])
def test_network_input_is_bounded_whatever_the_aspect(family, frame):
    fam = Family.get(family)
    h, w = net_input_size(fam, frame, 0, (-1, -1))
    assert 0 < h <= fam.net_side_max and 0 < w <= fam.net_side_max
    assert h % fam.stride == 0 and w % fam.stride == 0


def test_ordinary_frames_keep_their_aspect():
    h, w = net_input_size(Family.get("openpose"), (432, 768), 0, (256, -1))
    assert (h, w) == (256, 456)


def png_claiming(path, w: int, h: int) -> None:
    """A PNG whose header claims w x h, followed by garbage (a damaged file)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk
                     + struct.pack(">I", zlib.crc32(chunk)) + b"\0garbage" * 10)


def a_photo(path, sample, size=(320, 240)) -> None:
    cap = cv2.VideoCapture(str(sample))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(path), cv2.resize(frame, size))


def test_a_header_claiming_an_impossible_size_is_skipped_in_a_folder(tmp_path, sample):
    folder = tmp_path / "photos"
    folder.mkdir()
    a_photo(folder / "a.jpg", sample)
    png_claiming(folder / "b.png", 60000, 60000)
    poses = tmp_path / "p.jsonl"
    res = run_pipeline("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out",
                       str(poses))
    assert res.code == 0, res.stderr
    assert "skipping b.png" in res.stderr
    assert [r["image"] for r in read_poses(poses)] == ["a.jpg"]


def test_a_single_image_claiming_an_impossible_size_is_one_line(tmp_path):
    png_claiming(tmp_path / "b.png", 60000, 60000)
    res = run_pipeline("-i", str(tmp_path / "b.png"), "-at", "movenet", "-m", movenet_model(), "-no_show")
    assert res.code == 1
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "60000x60000" in errors[0]
    assert not tagged_processes(res.tag)


def test_a_huge_image_reserves_a_bounded_frame_slot(tmp_path):
    png_claiming(tmp_path / "big.png", 16000, 9000)
    assert probe(str(tmp_path / "big.png")).max_frame_bytes <= MAX_FRAME_PIXELS * 3


def test_a_huge_image_is_scaled_down_and_processed(tmp_path, sample):
    big = tmp_path / "big.jpg"
    a_photo(big, sample, size=(6400, 3600))
    out = tmp_path / "out.jpg"
    res = run_pipeline("-i", str(big), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(out))
    assert res.code == 0, res.stderr
    assert "larger than a frame slot" in res.stderr
    h, w = cv2.imread(str(out)).shape[:2]
    assert h * w <= MAX_FRAME_PIXELS and abs(w / h - 16 / 9) < 0.01


@pytest.mark.skipif(not STANDIN.exists(), reason="stand-in weights not generated (make standin)")
def test_an_extreme_aspect_ratio_is_letterboxed_for_openpose(tmp_path):
    img = tmp_path / "thin.png"
    cv2.imwrite(str(img), np.full((2, 4000, 3), 128, np.uint8))
    xml = STANDIN / "human-pose-estimation-0001" / "FP32" / "human-pose-estimation-0001.xml"
    res = run_pipeline("-i", str(img), "-at", "openpose", "-m", str(xml), "-no_show", timeout=300)
    assert res.code == 0, res.stderr
    assert "input 2048x256" in res.stderr

"""A capture process that always has a frame to read (decoding is the slowest stage) still
handles control messages and reports its figures between batches."""

from __future__ import annotations

import cv2

from tests.helpers import Running, movenet_model


def test_a_capture_bound_pipeline_still_switches_mode_and_stops(tmp_path, sample):
    """Big PNG frames (slow to decode) into a tiny network: capture never runs out of room."""
    folder = tmp_path / "big"
    folder.mkdir()
    cap = cv2.VideoCapture(str(sample))
    for i in range(3):
        ok, frame = cap.read()
        assert ok
        cv2.imwrite(str(folder / f"im{i}.png"), cv2.resize(frame, (1920, 1080)))
    cap.release()
    with Running(tmp_path, "-i", str(folder), "--loop", "-at", "movenet", "-m", movenet_model(), "--tsize", "128",
                    "-no_show") as run:
        run.wait_until(lambda s: s["frames_by_mode"].get("user", 0) > 0)
        assert run.ctl("mode", "latency").returncode == 0
        run.wait_until(lambda s: s["frames_by_mode"].get("latency", 0) > 0, timeout=60)
        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=120)
    assert code == 0, err

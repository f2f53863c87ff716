"""A close-up clip made from the shared media: one person filling the frame at 1280x720.

``one-by-one-person-detection.mp4`` (768x432) shows one person at a time; in frames 240-439 one
person stands in full view, about 330 px tall. Those frames, upscaled to 1280x720, put a person
about 550 px tall in front of the network: people that close are what a network run at the
frame's own size misses."""

from __future__ import annotations

from pathlib import Path

import cv2

from tests.helpers import SHARED

CLIP = SHARED / "media" / "one-by-one-person-detection.mp4"
FIRST, LAST, STEP = 240, 440, 2


def make_closeup(path: Path) -> int:
    """Write the close-up clip (Motion-JPEG .avi) to ``path``; returns its number of frames."""
    cap = cv2.VideoCapture(str(CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, FIRST)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (1280, 720))
    n = 0
    try:
        for index in range(FIRST, LAST):
            ok, frame = cap.read()
            if not ok:
                break
            if (index - FIRST) % STEP == 0:
                out.write(cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_CUBIC))
                n += 1
    finally:
        cap.release()
        out.release()
    return n

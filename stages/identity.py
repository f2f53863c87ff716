"""The sink's view of tracking: the ids of a frame's poses, and how they are drawn.

Tracking runs in the sink because the sink is where frames are back in order. Each source has
its own tracker (``tracking.SourceTrackers``), fed the frame's time: for a file the frame's
position in it (index / fps, so throughput mode's bursts do not look like sudden moves), for a
camera the moment it was read.
"""

from __future__ import annotations

import colorsys

import cv2
import numpy as np

from pipeline.messages import Frame, Stamp
from tracking import NO_ID, SourceTrackers, TrackerParams


class Identities:
    """Ids for every pose of every frame, per source; ``NO_ID`` (-1) with ``--tracker none``."""

    def __init__(self, kind: str, file_fps: dict[int, float] | None = None, keypoint_score: float = 0.0) -> None:
        # keypoints at or under the model's keypoint threshold are not seen by the tracker either
        params = TrackerParams()
        params = TrackerParams(keypoint_score=max(params.keypoint_score, keypoint_score))
        self.trackers = SourceTrackers(params) if kind != "none" else None
        self.file_fps = file_fps or {}  # by source: its own rate for a file; 0 or absent for a camera
        if self.trackers is not None:
            from tracking import warm_up
            warm_up()  # compile (or load) the kernels now rather than on the first frame

    def frame_time(self, frame: Frame) -> float:
        fps = self.file_fps.get(frame.source, 0.0)
        if fps > 0:
            return frame.index / fps
        return int(frame.stamps[Stamp.READ]) / 1e9

    def ids(self, frame: Frame, keypoints: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if self.trackers is None:
            return np.full(len(scores), NO_ID, np.int64)
        return self.trackers.update(frame.source, keypoints, scores, self.frame_time(frame))


def id_colour(track_id: int) -> tuple[int, int, int]:
    """A bright BGR colour per id, neighbouring ids far apart on the colour wheel."""
    hue = (track_id * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


def draw_ids(image: np.ndarray, keypoints: np.ndarray, ids: np.ndarray, threshold: float = 0.0) -> None:
    """A box in the id's colour around each tracked person, with the id above it."""
    for person, track_id in zip(keypoints, ids):
        if track_id == NO_ID:
            continue
        seen = person[:, 2] > threshold
        if not seen.any():
            continue
        pts = person[seen, :2]
        x1, y1 = (int(v) for v in pts.min(0))
        x2, y2 = (int(v) for v in pts.max(0))
        colour = id_colour(int(track_id))
        cv2.rectangle(image, (x1 - 4, y1 - 4), (x2 + 4, y2 + 4), colour, 1, cv2.LINE_8)
        text = str(int(track_id))
        org = (x1 - 4, max(12, y1 - 8))
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)

"""The message published for each frame, and the pose entries shared with ``--poses-out``.

The message is described by the JSON Schema in ``docs/poses-message.schema.json``::

    {"source": 0, "frame": 41, "time": 1764670000.123,
     "poses": [{"id": 3, "score": 0.52, "keypoints": [[x, y, score], … 17]}]}
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "poses-message.schema.json"


def pose_entries(keypoints: np.ndarray, scores: np.ndarray, ids: np.ndarray | None = None) -> list[dict[str, Any]]:
    """One entry per pose: keypoints in frame pixels (x, y, score; COCO-17 order, score 0 =
    not found), the pose score and, when ``ids`` is given, the tracking id."""
    people = []
    for i, (kp, score) in enumerate(zip(keypoints, scores)):
        entry: dict[str, Any] = {}
        if ids is not None:
            entry["id"] = int(ids[i])
        entry["keypoints"] = [[round(float(x), 2), round(float(y), 2), round(float(s), 4)] for x, y, s in kp]
        entry["score"] = round(float(score), 4)
        people.append(entry)
    return people


def epoch_of(monotonic_ns: int) -> float:
    """Wall-clock (epoch) seconds of a ``time.monotonic_ns()`` reading taken in this boot."""
    return time.time() - (time.monotonic_ns() - int(monotonic_ns)) / 1e9


def frame_message(source: int, frame: int, capture_time: float, keypoints: np.ndarray, scores: np.ndarray,
                  ids: np.ndarray) -> bytes:
    """The JSON message of one frame (UTF-8)."""
    msg = {"source": int(source), "frame": int(frame), "time": round(float(capture_time), 6),
           "poses": pose_entries(keypoints, scores, ids)}
    return json.dumps(msg, separators=(",", ":")).encode()

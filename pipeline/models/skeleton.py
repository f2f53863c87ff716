"""COCO-17 keypoint order, skeleton edges and drawing colours shared by every stage."""

from __future__ import annotations

COCO17_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = len(COCO17_NAMES)

# Limbs drawn between COCO-17 keypoints.
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4),
    (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16),
)

# BGR colours: left side warm, right side cool, centre neutral.
EDGE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (255, 255, 255), (255, 255, 255), (0, 200, 255), (255, 200, 0),
    (200, 200, 200), (0, 165, 255), (0, 100, 255), (255, 165, 0), (255, 80, 0),
    (0, 255, 200), (200, 255, 0), (200, 200, 200),
    (0, 255, 120), (0, 200, 60), (120, 255, 0), (60, 200, 0),
)

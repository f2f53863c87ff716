"""Scenes of people of many sizes standing close together, and how well a decode found them.

Used by the noisy round-trip tests and by ``scripts/bench_decode.py``'s noise table. Poses here
are ``(n, 17, 3)`` arrays of ``x, y, visible`` in **network-input pixels**; :func:`to_cells`
turns them into the output-map cells the renderers draw in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tests.decode import render


def scene(rng: np.random.Generator, n: int, net_h: int, net_w: int, min_px: float = 40.0,
          max_px: float = 250.0, max_overlap: float = 0.3) -> np.ndarray:
    """``n`` people (n, 17, 3) in network-input pixels, each ``min_px``..``max_px`` tall (log-
    uniform, capped at 95 % of the input height), placed at random so that no two bounding boxes
    overlap by more than ``max_overlap`` of the smaller one: people stand close and partly in
    front of each other, but each stays visible. A person that finds no place in 200 tries is
    made smaller."""
    top_px = min(max_px, 0.95 * net_h)
    boxes: list[tuple[float, float, float, float]] = []
    poses = []
    for _ in range(n):
        height = float(np.exp(rng.uniform(np.log(min_px), np.log(max(top_px, min_px)))))
        while True:
            placed = None
            for _ in range(200):
                width = height * render.TEMPLATE_WIDTH
                cx = rng.uniform(width / 2, net_w - width / 2)
                top = rng.uniform(0.0, net_h - height * 1.02)
                box = (cx - width / 2, top, cx + width / 2, top + height)
                if all(_overlap(box, b) <= max_overlap for b in boxes):
                    placed = (cx, top, box)
                    break
            if placed is not None or height <= min_px * 0.5:
                break
            height *= 0.85
        if placed is None:
            continue
        cx, top, box = placed
        boxes.append(box)
        poses.append(render.make_pose(rng, cx, top, height))
    return np.stack(poses) if poses else np.zeros((0, 17, 3))


def rows(rng: np.random.Generator, net_h: int, net_w: int, min_px: float = 40.0,
         max_px: float = 100.0, hidden: float = 0.1) -> np.ndarray:
    """A crowd in rows: people standing shoulder to shoulder (each 0.9-1.1 of a person's width
    from the last, so boxes touch or overlap a little), row under row; each row's height drawn
    log-uniform in ``min_px``..``max_px``, each person 85-115 % of it, so sizes mix within a row
    and between rows. A share ``hidden`` of all joints, drawn at random, is hidden. Poses
    (n, 17, 3) in network-input pixels."""
    poses = []
    top = rng.uniform(0.0, 8.0)
    while True:
        height = float(np.exp(rng.uniform(np.log(min_px), np.log(max_px))))
        if top + 1.2 * height > net_h:
            break
        x = rng.uniform(0.0, 0.3) * height
        while True:
            h = height * rng.uniform(0.85, 1.15)
            cx = x + 0.5 * h * render.TEMPLATE_WIDTH
            if cx + 0.5 * h * render.TEMPLATE_WIDTH > net_w:
                break
            poses.append(render.make_pose(rng, cx, top + rng.uniform(-0.05, 0.05) * height, h))
            x += h * render.TEMPLATE_WIDTH * rng.uniform(0.9, 1.1)
        top += 1.2 * height
    out = np.stack(poses) if poses else np.zeros((0, 17, 3))
    out[..., 2][rng.random(out.shape[:2]) < hidden] = 0.0
    return out


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection of two boxes (x0, y0, x1, y1) over the smaller's area."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / small


def to_cells(poses_px: np.ndarray, stride: float) -> np.ndarray:
    """Poses in network-input pixels -> output-map cells (``x_cell = (x + 0.5) / stride - 0.5``)."""
    out = poses_px.copy()
    out[..., :2] = (poses_px[..., :2] + 0.5) / stride - 0.5
    return out


@dataclass
class Tally:
    """Counts over frames: people in the truth, decoded, matched; truth keypoints, and those
    found within ``close_px``."""

    truth: int = 0
    decoded: int = 0
    matched: int = 0
    keypoints: int = 0
    keypoints_close: int = 0

    def add(self, other: "Tally") -> None:
        self.truth += other.truth
        self.decoded += other.decoded
        self.matched += other.matched
        self.keypoints += other.keypoints
        self.keypoints_close += other.keypoints_close

    @property
    def recall(self) -> float:
        return self.matched / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        return self.matched / self.decoded if self.decoded else 1.0

    @property
    def keypoints_within(self) -> float:
        return self.keypoints_close / self.keypoints if self.keypoints else 1.0


def evaluate(decoded: np.ndarray, truth: np.ndarray, close_px: float = 4.0) -> Tally:
    """Compare decoded people (n, 17, 3) with ``truth`` (m, 17, 3), both in network-input pixels.

    A decoded keypoint is right for a true one when it is present and within
    ``max(close_px, 0.1 * person height)``; a decoded person matches a true person when it holds
    at least half of that person's visible keypoints right. People are paired one-to-one, most
    right keypoints first. A true person left unpaired is missed (recall); a decoded person left
    unpaired is false (precision: a fragment or a duplicate counts as false). Keypoints within
    ``close_px`` are counted over every visible true keypoint, through the pairs."""
    tally = Tally(truth=len(truth), decoded=len(decoded))
    visible = truth[..., 2] > 0
    tally.keypoints = int(visible.sum())
    if len(truth) == 0 or len(decoded) == 0:
        return tally
    heights = np.array([np.ptp(p[v, 1]) / 0.87 if v.any() else 0.0
                        for p, v in zip(truth, visible)])  # the template's nose-ankle span
    tol = np.maximum(close_px, 0.1 * heights)
    present = decoded[..., 2] > 0
    dist = np.hypot(truth[:, None, :, 0] - decoded[None, :, :, 0],
                    truth[:, None, :, 1] - decoded[None, :, :, 1])  # (m, n, 17)
    ok = visible[:, None, :] & present[None, :, :]
    right = (ok & (dist <= tol[:, None, None])).sum(axis=2)
    need = np.ceil(visible.sum(axis=1) / 2.0)
    used_t: set[int] = set()
    used_d: set[int] = set()
    for flat in np.argsort(-right, axis=None, kind="stable"):
        t, d = divmod(int(flat), len(decoded))
        if right[t, d] < max(need[t], 1) or t in used_t or d in used_d:
            continue
        used_t.add(t)
        used_d.add(d)
        tally.matched += 1
        tally.keypoints_close += int((ok[t, d] & (dist[t, d] <= close_px)).sum())
    return tally

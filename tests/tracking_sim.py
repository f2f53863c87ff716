"""Generated pose sequences for the tracker's tests, and the identity metrics they are scored with.

A scene is people walking on straight lines across a frame with a walking gait, noisy
keypoints, missed detections, poses whose score drops while someone is behind someone else,
and spurious one-frame poses. Every generated pose carries the id of the person it came from
(-1 for a spurious one), so the tracker's ids can be scored against the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracking.assignment_reference import hungarian

# A standing person, COCO-17 order, in body heights: x right, y down, origin between the hips.
BODY = np.array([
    (0.0, -0.42), (-0.02, -0.44), (0.02, -0.44), (-0.05, -0.43), (0.05, -0.43),
    (-0.11, -0.30), (0.11, -0.30), (-0.14, -0.15), (0.14, -0.15), (-0.15, -0.02), (0.15, -0.02),
    (-0.07, 0.0), (0.07, 0.0), (-0.07, 0.25), (0.07, 0.25), (-0.07, 0.50), (0.07, 0.50)])
SWING = np.array([0, 0, 0, 0, 0, 0, 0, 1, -1, 1.5, -1.5, 0, 0, -1, 1, -2, 2], float) * 0.05  # gait


@dataclass
class Walker:
    start: tuple[float, float]  # hip centre at frame ``enter`` (pixels)
    velocity: tuple[float, float]  # pixels per frame
    height: float  # pixels
    enter: int = 0
    leave: int = 10**9

    def at(self, f: int) -> np.ndarray:
        """(17, 2) keypoints at frame ``f``."""
        cx = self.start[0] + self.velocity[0] * (f - self.enter)
        cy = self.start[1] + self.velocity[1] * (f - self.enter)
        pts = BODY.copy()
        pts[:, 0] += SWING * np.sin(f * 0.6 + self.start[0])
        return pts * self.height + (cx, cy)


@dataclass
class Frame:
    keypoints: np.ndarray  # (n, 17, 3)
    scores: np.ndarray  # (n,)
    truth: np.ndarray  # (n,) person index, -1 for a spurious pose


def _box(pts: np.ndarray) -> np.ndarray:
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def _cover(front: np.ndarray, back: np.ndarray) -> float:
    """Share of ``back``'s box that ``front``'s box hides."""
    w = min(front[2], back[2]) - max(front[0], back[0])
    h = min(front[3], back[3]) - max(front[1], back[1])
    area = (back[2] - back[0]) * (back[3] - back[1])
    return max(0.0, w) * max(0.0, h) / area if area > 0 else 0.0


def render(walkers: list[Walker], frames: int, seed: int, size: tuple[int, int] = (1280, 720),
           noise: float = 0.012, miss: float = 0.04, spurious: float = 0.1) -> list[Frame]:
    """Detector output for ``walkers`` over ``frames`` frames: keypoint noise of ``noise`` body
    heights, a share ``miss`` of poses missing, a spurious pose in a share ``spurious`` of the
    frames; a person partly hidden by a nearer one (larger y) scores low, without the keypoints
    behind it, and one mostly hidden is not detected at all."""
    rng = np.random.default_rng(seed)
    out = []
    for f in range(frames):
        present = [i for i, w in enumerate(walkers) if w.enter <= f < w.leave]
        pts = {i: walkers[i].at(f) for i in present}
        boxes = {i: _box(p) for i, p in pts.items()}
        kps, scores, truth = [], [], []
        for i in present:
            p = pts[i]
            if not (0 <= p[:, 0].mean() < size[0] and 0 <= p[:, 1].mean() < size[1]):
                continue
            fronts = [j for j in present if j != i and boxes[j][3] > boxes[i][3]]
            hidden = max((_cover(boxes[j], boxes[i]) for j in fronts), default=0.0)
            if hidden > 0.8 or rng.random() < miss:
                continue
            kp = np.empty((17, 3))
            kp[:, :2] = p + rng.normal(0, noise * walkers[i].height, (17, 2))
            kp[:, 2] = rng.uniform(0.3, 0.9, 17)
            score = rng.uniform(0.35, 0.7)
            if hidden > 0.3:
                for j in fronts:  # keypoints behind a nearer person are not seen
                    b = boxes[j]
                    kp[(p[:, 0] > b[0]) & (p[:, 0] < b[2]) & (p[:, 1] > b[1]) & (p[:, 1] < b[3]), 2] = 0.0
                score = rng.uniform(0.1, 0.19)
            kps.append(kp)
            scores.append(score)
            truth.append(i)
        if rng.random() < spurious:
            h = rng.uniform(40, 120)
            centre = rng.uniform((0, 0), size)
            kp = np.empty((17, 3))
            kp[:, :2] = BODY * h + centre + rng.normal(0, 0.05 * h, (17, 2))
            kp[:, 2] = rng.uniform(0.0, 0.4, 17)
            kps.append(kp)
            scores.append(rng.uniform(0.1, 0.3))
            truth.append(-1)
        order = rng.permutation(len(kps))  # the detector's order means nothing
        out.append(Frame(np.array(kps, np.float32).reshape(-1, 17, 3)[order], np.array(scores, np.float32)[order],
                         np.array(truth, np.int64)[order]))
    return out


def crossing_scene(seed: int, people: int = 8, frames: int = 150) -> list[Walker]:
    """People entering from both sides at staggered times, on lanes a few pixels apart, so
    that they meet and pass one another, some in front of others."""
    rng = np.random.default_rng(seed)
    walkers = []
    for i in range(people):
        left = i % 2 == 0
        speed = rng.uniform(4, 9) * (1 if left else -1)
        height = rng.uniform(90, 180)
        y = 300 + rng.uniform(-60, 60)
        enter = int(rng.integers(0, frames // 3))
        x = -20.0 if left else 1300.0
        walkers.append(Walker((x, y), (speed, rng.uniform(-0.5, 0.5)), height, enter))
    return walkers


def id_scores(truth: list[np.ndarray], ids: list[np.ndarray]) -> dict[str, float]:
    """Identity scores of a tracker's ``ids`` against ``truth``, frame by frame over the same
    poses (spurious poses, truth -1, count only as predictions):

    * ``idf1``: 2·IDTP / (2·IDTP + IDFP + IDFN), with IDTP the poses on which the best one-to-one
      mapping of true people to tracker ids agrees (Ristani et al., 2016);
    * ``switches``: times a person's id differs from the id it had when last seen.
    """
    t_all = np.concatenate(truth) if truth else np.zeros(0, np.int64)
    p_all = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    people = np.unique(t_all[t_all >= 0])
    labels = np.unique(p_all)
    counts = np.zeros((len(people), len(labels)))
    for t, p in zip(t_all, p_all):
        if t >= 0:
            counts[np.searchsorted(people, t), np.searchsorted(labels, p)] += 1
    col = np.empty(len(people), np.int64)
    hungarian(-counts, col)
    idtp = float(sum(counts[r, c] for r, c in enumerate(col) if c >= 0))
    gt_total, pred_total = float((t_all >= 0).sum()), float(len(p_all))
    idfn, idfp = gt_total - idtp, pred_total - idtp
    last: dict[int, int] = {}
    switches = 0
    for t_frame, p_frame in zip(truth, ids):
        for t, p in zip(t_frame, p_frame):
            if t < 0:
                continue
            if t in last and last[t] != p:
                switches += 1
            last[int(t)] = int(p)
    denom = 2 * idtp + idfp + idfn
    return {"idf1": 2 * idtp / denom if denom else 1.0, "switches": switches, "idtp": idtp, "idfp": idfp,
            "idfn": idfn, "ids": len(labels), "people": len(people)}


def occlusions(frames: list[Frame], min_frames: int = 2) -> int:
    """Times a person comes back after at least ``min_frames`` frames undetected (hidden behind
    someone, or missed twice in a row): the only moments a tracker may fairly lose an id."""
    count = 0
    people = {int(t) for f in frames for t in f.truth if t >= 0}
    for person in people:
        seen, gap = False, 0
        for frame in frames:
            if person in frame.truth:
                count += seen and gap >= min_frames
                seen, gap = True, 0
            else:
                gap += 1
    return count

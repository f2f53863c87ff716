"""Test-side encoder: the maps a trained network would output for known poses.

Poses are ``(n, 17, 3)`` float64 arrays of ``x, y, visible`` in **output-map cells** (cell
centres at integer coordinates), COCO-17 order. The renderers draw, at network output
resolution:

* Gaussian heatmaps (one per keypoint, people combined by maximum, as in training targets);
* OpenPose part affinity fields: the unit vector of each limb on every cell within ``paf_width``
  of the limb segment, averaged where people overlap (OpenPose's training target), limb table of
  :mod:`stages.decode.openpose`;
* associative-embedding tags: per person a constant tag (plus optional per-joint jitter) on the
  cells where that person's Gaussian dominates, background elsewhere;
* optionally noise, and for AE the graph's 5x5 max-pool NMS that negates non-maxima.

The OpenPose keypoint order and limb table are written out here from the model's documentation
(OpenPose's COCO body model, which human-pose-estimation-0001 follows), not imported from the
product: a wrong channel in the product's table would otherwise round-trip unnoticed.

Noise (:class:`Noise`, :data:`NOISE_LEVELS`) makes the maps look like a trained network's: Gaussian
noise on the heatmaps, peak heights varying per keypoint, noise on the part affinity fields, and
per-cell noise on the tags (as a fraction of the spacing between people's tags), all seeded.

It also holds :func:`match_poses`, which compares decoded people with the poses rendered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# A standing person one unit tall, facing the camera (person's left = image right), COCO-17.
TEMPLATE = np.array([
    (0.00, 0.08),                    # nose
    (0.025, 0.06), (-0.025, 0.06),   # eyes
    (0.05, 0.07), (-0.05, 0.07),     # ears
    (0.11, 0.20), (-0.11, 0.20),     # shoulders
    (0.15, 0.36), (-0.15, 0.36),     # elbows
    (0.16, 0.50), (-0.16, 0.50),     # wrists
    (0.07, 0.52), (-0.07, 0.52),     # hips
    (0.08, 0.74), (-0.08, 0.74),     # knees
    (0.08, 0.95), (-0.08, 0.95),     # ankles
])
TEMPLATE_WIDTH = 0.45  # horizontal room a person needs, in heights

COCO17_NAMES = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder",
                "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee",
                "l_ankle", "r_ankle")

# The 18 heatmap channels of human-pose-estimation-0001 (OpenPose COCO body order; channel 18 is
# the background).
OP18_NAMES = ("nose", "neck", "r_shoulder", "r_elbow", "r_wrist", "l_shoulder", "l_elbow",
              "l_wrist", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "r_eye",
              "l_eye", "r_ear", "l_ear")
NUM_OP_KEYPOINTS = len(OP18_NAMES)

# The 38 PAF channels of human-pose-estimation-0001 in channel order: channels 2i (x) and 2i + 1
# (y) hold the field of limb i, pointing from its first keypoint to its second (OpenPose's COCO
# body model: POSE_COCO_PAIRS with POSE_COCO_MAP_IDX minus the 19 heatmap channels).
PAF_LIMBS_BY_CHANNEL = (
    ("neck", "r_hip"), ("r_hip", "r_knee"), ("r_knee", "r_ankle"),
    ("neck", "l_hip"), ("l_hip", "l_knee"), ("l_knee", "l_ankle"),
    ("neck", "r_shoulder"), ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
    ("r_shoulder", "r_ear"),
    ("neck", "l_shoulder"), ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"),
    ("l_shoulder", "l_ear"),
    ("neck", "nose"), ("nose", "r_eye"), ("nose", "l_eye"), ("r_eye", "r_ear"),
    ("l_eye", "l_ear"),
)
# (from, to, x channel) in OpenPose-18 indices, from the names above.
OP_LIMBS = tuple((OP18_NAMES.index(a), OP18_NAMES.index(b), 2 * i)
                 for i, (a, b) in enumerate(PAF_LIMBS_BY_CHANNEL))
# COCO-17 index of each OpenPose-18 keypoint (-1 for the neck, which is the shoulders' midpoint).
COCO_OF_OP = np.array([COCO17_NAMES.index(n) if n in COCO17_NAMES else -1 for n in OP18_NAMES],
                      dtype=np.int64)


@dataclass(frozen=True)
class Noise:
    """How far rendered maps are from clean ones.

    ``heat``: standard deviation of Gaussian noise on every heatmap cell; ``peak``: each rendered
    keypoint's peak height is ``1 + U(-peak, peak)``; ``paf``: standard deviation of Gaussian noise
    on every PAF cell; ``tag``: standard deviation of Gaussian noise on every tag cell, as a
    fraction of the spacing between people's tags."""

    heat: float = 0.0
    peak: float = 0.0
    paf: float = 0.0
    tag: float = 0.0

    def amplitudes(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray | float:
        """Peak heights for ``shape`` (people, keypoints)."""
        if self.peak <= 0:
            return 1.0
        return 1.0 + rng.uniform(-self.peak, self.peak, shape)


NOISE_LEVELS = {
    "clean": Noise(),
    "low": Noise(heat=0.02, peak=0.2, paf=0.05, tag=0.1),
    "medium": Noise(heat=0.04, peak=0.4, paf=0.1, tag=0.2),
    "high": Noise(heat=0.06, peak=0.6, paf=0.15, tag=0.3),
}

# ---------------------------------------------------------------------------------------------
# Poses
# ---------------------------------------------------------------------------------------------


def make_pose(rng: np.random.Generator, cx: float, top: float, height: float,
              jitter: float = 0.02) -> np.ndarray:
    """One random pose (17, 3): the template scaled to ``height`` cells, its top at ``top``,
    centred on ``cx``, each keypoint moved by up to ``jitter`` heights, arms and legs swung a
    little; all visible."""
    xy = TEMPLATE.copy()
    xy[[7, 9], 0] += rng.uniform(-0.03, 0.06)   # left arm
    xy[[8, 10], 0] -= rng.uniform(-0.03, 0.06)  # right arm
    xy[9, 1] += rng.uniform(-0.12, 0.0)
    xy[10, 1] += rng.uniform(-0.12, 0.0)
    xy[[13, 15], 0] += rng.uniform(-0.02, 0.04)
    xy[[14, 16], 0] -= rng.uniform(-0.02, 0.04)
    xy += rng.uniform(-jitter, jitter, xy.shape)
    pose = np.ones((17, 3))
    pose[:, 0] = cx + xy[:, 0] * height
    pose[:, 1] = top + xy[:, 1] * height
    return pose


def crowd(rng: np.random.Generator, n: int, h: int, w: int, fill: float = 0.85) -> np.ndarray:
    """``n`` people (n, 17, 3) on the best grid for an (h, w) map, each as tall as its grid cell
    allows (times ``fill``), one per cell, slightly displaced within the cell."""
    if n == 0:
        return np.zeros((0, 17, 3))
    best = (0.0, 1, 1)
    for rows in range(1, n + 1):
        cols = math.ceil(n / rows)
        height = min(h / rows, (w / cols) / TEMPLATE_WIDTH) * fill
        if height > best[0]:
            best = (height, rows, cols)
    height, rows, cols = best
    cell_h, cell_w = h / rows, w / cols
    poses = []
    for i in range(n):
        r, c = divmod(i, cols)
        slack_y = max(cell_h - height * 1.02, 0.0) / 2
        slack_x = max(cell_w - height * TEMPLATE_WIDTH, 0.0) / 2
        cx = (c + 0.5) * cell_w + rng.uniform(-slack_x, slack_x)
        top = r * cell_h + (cell_h - height) / 2 + rng.uniform(-slack_y, slack_y)
        poses.append(make_pose(rng, cx, top, height))
    return np.stack(poses)


def hide(poses: np.ndarray, person: int, joints: list[int] | tuple[int, ...]) -> np.ndarray:
    """A copy of ``poses`` with ``joints`` of ``person`` marked invisible."""
    out = poses.copy()
    out[person, list(joints), 2] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# Heatmaps
# ---------------------------------------------------------------------------------------------


def gaussian(h: int, w: int, x: float, y: float, sigma: float) -> np.ndarray:
    """(h, w) Gaussian of peak 1 centred on cell coordinates ``(x, y)``."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2.0 * sigma * sigma))


def render_heatmaps(poses: np.ndarray, h: int, w: int, sigma: float,
                    amplitude: float | np.ndarray = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Keypoint heatmaps (17, h, w) of ``poses`` (n, 17, 3), people combined by maximum, and the
    index (17, h, w) of the person owning each cell (-1 where nobody reaches 0.01).

    ``amplitude`` is a scalar or an (n, 17) array of peak heights."""
    k = poses.shape[1]
    heat = np.zeros((k, h, w))
    owner = np.full((k, h, w), -1, np.int64)
    amp = np.broadcast_to(np.asarray(amplitude, np.float64), poses.shape[:2])
    for p, pose in enumerate(poses):
        for j in range(k):
            if pose[j, 2] <= 0:
                continue
            g = amp[p, j] * gaussian(h, w, pose[j, 0], pose[j, 1], sigma)
            mine = (g > heat[j]) & (g > 0.01)
            owner[j][mine] = p
            np.maximum(heat[j], g, out=heat[j])
    return heat, owner


def maxpool_negate(heat: np.ndarray, kernel: int = 5) -> np.ndarray:
    """What the Open Model Zoo AE graphs do: 2D max-pool (stride 1, same size) over each channel
    of ``heat`` (C, h, w), keep the cells equal to the pooled value, negate all others."""
    r = kernel // 2
    padded = np.pad(heat, ((0, 0), (r, r), (r, r)), constant_values=-np.inf)
    pooled = sliding_window_view(padded, (kernel, kernel), axis=(1, 2)).max(axis=(-2, -1))
    return np.where(heat == pooled, heat, -heat)


# ---------------------------------------------------------------------------------------------
# OpenPose
# ---------------------------------------------------------------------------------------------


def coco_to_op18(poses: np.ndarray) -> np.ndarray:
    """OpenPose-18 poses (n, 18, 3) from COCO-17 poses; the neck is the shoulders' midpoint,
    visible when either shoulder is."""
    out = np.zeros((poses.shape[0], NUM_OP_KEYPOINTS, 3))
    for t, c in enumerate(COCO_OF_OP):
        if c >= 0:
            out[:, t] = poses[:, c]
    out[:, 1, :2] = 0.5 * (poses[:, 5, :2] + poses[:, 6, :2])
    out[:, 1, 2] = np.maximum(poses[:, 5, 2], poses[:, 6, 2])
    return out


def render_openpose(poses: np.ndarray, h: int, w: int, *, sigma: float = 1.0,
                    paf_width: float = 1.0, noise: float = 0.0, level: Noise | None = None,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """PAFs (38, h, w) and heatmaps (19, h, w) float32 of human-pose-estimation-0001 for COCO
    ``poses`` (n, 17, 3) in map cells.

    The PAF of a limb holds its unit vector on every cell whose centre is within ``paf_width``
    of the segment (for a zero-length limb, the unit vector (0, 1)). Heatmap 18 is the background
    (1 - max of the others). ``noise`` is the standard deviation of Gaussian noise added to both;
    ``level`` adds a trained network's kinds of noise (peak heights, heatmap and PAF noise).
    """
    rng = rng or np.random.default_rng(0)
    level = level or Noise()
    op = coco_to_op18(poses)
    heat = np.zeros((NUM_OP_KEYPOINTS + 1, h, w))
    amp = level.amplitudes(rng, op.shape[:2])
    heat[:NUM_OP_KEYPOINTS] = render_heatmaps(op, h, w, sigma, amp)[0]
    if level.heat > 0:
        heat[:NUM_OP_KEYPOINTS] += rng.normal(0.0, level.heat, (NUM_OP_KEYPOINTS, h, w))
    heat[NUM_OP_KEYPOINTS] = np.clip(1.0 - heat[:NUM_OP_KEYPOINTS].max(axis=0), 0.0, 1.0)
    pafs = np.zeros((2 * len(OP_LIMBS), h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    for a, b, ch in OP_LIMBS:
        total = np.zeros((2, h, w))
        count = np.zeros((h, w))
        for person in op:
            if person[a, 2] <= 0 or person[b, 2] <= 0:
                continue
            vec = person[b, :2] - person[a, :2]
            length = float(np.hypot(*vec))
            unit = vec / length if length > 1e-9 else np.array([0.0, 1.0])
            t = np.clip((xx - person[a, 0]) * unit[0] + (yy - person[a, 1]) * unit[1], 0.0, length)
            dist = np.hypot(xx - (person[a, 0] + t * unit[0]), yy - (person[a, 1] + t * unit[1]))
            on = dist <= paf_width
            total[0][on] += unit[0]
            total[1][on] += unit[1]
            count[on] += 1
        pafs[ch:ch + 2] = total / np.maximum(count, 1)
    if level.paf > 0:
        pafs += rng.normal(0.0, level.paf, pafs.shape)
    if noise > 0:
        heat += rng.normal(0.0, noise, heat.shape)
        pafs += rng.normal(0.0, noise, pafs.shape)
    return pafs.astype(np.float32), heat.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Associative embedding
# ---------------------------------------------------------------------------------------------


def spaced_tags(rng: np.random.Generator, n: int, spacing: float = 1.5) -> np.ndarray:
    """(n,) distinct person tags ``spacing`` apart, in random order around 0."""
    return (rng.permutation(n) - (n - 1) / 2.0) * spacing


def render_ae(poses: np.ndarray, tags: np.ndarray, h: int, w: int, *, sigma: float = 2.0,
              amplitude: float | np.ndarray = 1.0, tag_jitter: float = 0.0, noise: float = 0.0,
              background_tag: float | None = None, nms_negate: bool = False,
              level: Noise | None = None, tag_spacing: float = 1.5,
              rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps (17, h, w) and embeddings (17, h, w) float32 of an AE model for ``poses``
    (n, 17, 3) in map cells and person ``tags`` (n,).

    Each joint's tag is the person's tag plus a uniform jitter of up to ``tag_jitter``; cells no
    person reaches get ``background_tag`` (default: uniform noise over the tags' range).
    ``noise`` is the standard deviation of Gaussian noise on the heatmaps; ``level`` adds a
    trained network's kinds of noise (peak heights times ``amplitude``, heatmap noise, tag noise
    relative to ``tag_spacing``); ``nms_negate`` applies the graph's 5x5 max-pool-and-negate last.
    """
    rng = rng or np.random.default_rng(0)
    level = level or Noise()
    amplitude = np.asarray(amplitude, np.float64) * level.amplitudes(rng, poses.shape[:2])
    heat, owner = render_heatmaps(poses, h, w, sigma, amplitude)
    n, k = poses.shape[:2]
    jitter = rng.uniform(-tag_jitter, tag_jitter, (n, k))
    joint_tags = np.asarray(tags, np.float64)[:, None] + jitter
    if background_tag is None:
        lo, hi = (float(np.min(tags)) - 1.0, float(np.max(tags)) + 1.0) if n else (-1.0, 1.0)
        emb = rng.uniform(lo, hi, heat.shape)
    else:
        emb = np.full(heat.shape, float(background_tag))
    for j in range(k):
        mine = owner[j] >= 0
        emb[j][mine] = joint_tags[owner[j][mine], j]
    if level.tag > 0:
        emb += rng.normal(0.0, level.tag * tag_spacing, emb.shape)
    if noise > 0:
        heat = heat + rng.normal(0.0, noise, heat.shape)
    if level.heat > 0:
        heat = heat + rng.normal(0.0, level.heat, heat.shape)
    if nms_negate:
        heat = maxpool_negate(heat)
    return heat.astype(np.float32), emb.astype(np.float32)


def downscale_poses(poses: np.ndarray, factor: float) -> np.ndarray:
    """Poses in the cells of a map ``factor`` times smaller (same cell-centre convention)."""
    out = poses.copy()
    out[..., :2] = (poses[..., :2] + 0.5) / factor - 0.5
    return out


def render_higherhrnet(poses: np.ndarray, tags: np.ndarray, h: int, w: int, *,
                       sigma: float = 2.0, level: Noise | None = None, tag_spacing: float = 1.5,
                       rng: np.random.Generator | None = None,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw HigherHRNet outputs for ``poses`` in the cells of the (h, w) high-resolution map:
    low-resolution heatmaps (17, h/2, w/2), high-resolution heatmaps (17, h, w) and
    low-resolution embeddings (17, h/2, w/2), all float32. ``level`` adds noise to each output
    (the same peak heights at both resolutions, independent noise)."""
    rng = rng or np.random.default_rng(0)
    level = level or Noise()
    amp = level.amplitudes(rng, poses.shape[:2])
    per_map = Noise(heat=level.heat, tag=level.tag)
    lo_poses = downscale_poses(poses, 2.0)
    heat_lo, emb_lo = render_ae(lo_poses, tags, h // 2, w // 2, sigma=sigma / 2, amplitude=amp,
                                level=per_map, tag_spacing=tag_spacing, rng=rng)
    heat_hi, _ = render_ae(poses, tags, h, w, sigma=sigma, amplitude=amp,
                           level=Noise(heat=level.heat), rng=rng)
    return heat_lo, heat_hi, emb_lo


# ---------------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------------


def to_cells(keypoints: np.ndarray, stride: float) -> np.ndarray:
    """Decoded keypoints (n, 17, 3) in network-input pixels -> output-map cells (inverse of the
    decoders' ``x_in = (x + 0.5) * stride - 0.5``); missing keypoints stay zero."""
    out = keypoints.astype(np.float64)
    present = out[..., 2] > 0
    out[..., :2] = np.where(present[..., None], (out[..., :2] + 0.5) / stride - 0.5, 0.0)
    return out


def match_poses(decoded: np.ndarray, truth: np.ndarray, tol: float = 1.0) -> list[str]:
    """Problems found matching decoded people (n, 17, 3, map cells) with ``truth`` (m, 17, 3).

    People are paired one-to-one, closest pairs first, by the median distance over the keypoints
    visible in the truth and present in the decode. A problem is reported for a wrong count, a
    visible keypoint missing or further than ``tol`` cells, and a keypoint decoded where the
    truth is invisible. An empty list means the decode is right.
    """
    problems = []
    if decoded.shape[0] != truth.shape[0]:
        problems.append(f"decoded {decoded.shape[0]} people, expected {truth.shape[0]}")
    if not np.all(np.isfinite(decoded)):
        problems.append("decoded keypoints hold NaN or inf")
        return problems
    cost = np.full((truth.shape[0], decoded.shape[0]), np.inf)
    for t, person in enumerate(truth):
        for d, got in enumerate(decoded):
            both = (person[:, 2] > 0) & (got[:, 2] > 0)
            if both.any():
                cost[t, d] = np.median(np.hypot(*(got[both, :2] - person[both, :2]).T))
    pairs: dict[int, int] = {}
    for flat in np.argsort(cost, axis=None, kind="stable"):
        t, d = divmod(int(flat), max(decoded.shape[0], 1))
        if np.isfinite(cost[t, d]) and t not in pairs and d not in pairs.values():
            pairs[t] = d
    for t, person in enumerate(truth):
        if t not in pairs:
            problems.append(f"person {t}: no decoded person matches")
            continue
        got = decoded[pairs[t]]
        for j in range(truth.shape[1]):
            if person[j, 2] > 0:
                if got[j, 2] <= 0:
                    problems.append(f"person {t} joint {j}: missing")
                else:
                    err = float(np.hypot(*(got[j, :2] - person[j, :2])))
                    if err > tol:
                        problems.append(f"person {t} joint {j}: off by {err:.2f} cells")
            elif got[j, 2] > 0:
                problems.append(f"person {t} joint {j}: decoded at {got[j, :2]} but not visible")
    return problems

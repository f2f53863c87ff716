"""Decoder for associative-embedding models: Open Model Zoo human-pose-estimation-0005/0006/0007.

The network outputs ``heatmaps`` (17, H, W) and ``embeddings`` (17, H, W) (the model's
(1, 17, H, W, 1); the caller squeezes, but a batch axis of 1 and a trailing axis of 1 are
accepted) at 1/2 of the input size, COCO-17 order.

With real weights the graph has already applied a 5x5 max-pool NMS to ``heatmaps`` and negated
the suppressed locations, so non-maxima may be negative. The decoder works on such maps and on
plain ones: a peak must be positive, and it is compared with and refined on the absolute values
of its neighbours (which undoes the negation); filling reads absolute values too. It runs its own
5x5 NMS in both cases (on negated maps, only the graph's maxima are candidates, which is fast).

Algorithm
---------
1. Peaks: 5x5 NMS per joint, value > ``detection_threshold`` and > ``noise_peaks`` times the
   maps' noise level (a robust estimate of the background's standard deviation,
   :func:`~stages.decode.heatmap_kernels.noise_sigma`), the ``max_people`` best per joint, refined
   to sub-cell precision (parabola through the log of the peak and its neighbours).
2. Grouping: joint types are taken head and torso first; each type's candidates are assigned to
   the people found so far by an optimal assignment (Hungarian algorithm, in Numba) on the cost
   ``|tag - person tag| + dist_weight * distance to the person's centre / max(H, W)
   - score_weight * peak value``; pairs whose tags differ by ``tag_threshold`` or more are
   forbidden. A candidate left over starts a new person, unless a person whose tag is within
   ``tag_threshold`` already has that joint within ``dup_radius`` cells: then it is the same joint
   detected twice (a noise bump on the flank of the joint's blob carries the person's tag) and
   is dropped.
3. Fragments: a joint whose tag noise took it away from its person starts a group of its own.
   Groups are merged back, smallest first, into the larger group whose tag is closest (within
   ``merge_tag_threshold``) when more than half of their joints fit it: inside its bounding box
   grown by ``merge_margin`` times its size, and a joint type it lacks (or the same joint
   detected twice), see :func:`~stages.decode.ae_kernels.merge_fragments`.
4. Filling: a missing joint of a person with at least ``fill_min_joints`` joints is taken from the
   best heatmap cell whose tag is within ``fill_tag_threshold`` of the person's tag and whose
   value is at least ``fill_threshold`` and ``noise_fill`` times the noise level, within
   ``fill_reach`` times the person's extent of its centre, and only if no other person already
   has that joint within ``fill_separation`` cells: no person takes another's joint, and a group
   of a few noise peaks does not grow into a person.
5. Output: people scored by the mean of their 17 keypoint scores, filtered by ``min_pose_score``,
   best ``max_people`` first.

Coordinates are network-input pixels: output cell ``(x, y)`` maps to
``((x + 0.5) * stride - 0.5, (y + 0.5) * stride - 0.5)`` (cell centre onto the centre of the input
pixels it covers).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import ae_kernels

NUM_JOINTS = 17
# Grouping order: head, shoulders, hips, then the limbs outwards.
JOINT_ORDER = np.array([0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16], dtype=np.int64)
NMS_RADIUS = 2


def decode(heatmaps: np.ndarray, embeddings: np.ndarray, *, stride: float = 2,
           min_pose_score: float = 0.0, max_people: int = 30, detection_threshold: float = 0.1,
           tag_threshold: float = 1.0, dist_weight: float = 1.0, score_weight: float = 0.5,
           dup_radius: float = 6.0, noise_peaks: float = 5.0, merge_tag_threshold: float = 1.0,
           merge_margin: float = 1.0, fill_threshold: float = 0.05,
           noise_fill: float = 3.0, fill_tag_threshold: float = 0.5, fill_separation: float = 3.0,
           fill_reach: float = 2.0, fill_min_joints: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Decode one frame of human-pose-estimation-0005/0006/0007 outputs.

    Parameters
    ----------
    heatmaps : (17, H, W) array
        Joint heatmaps, NMS-negated by the graph or plain.
    embeddings : (17, H, W) array
        One scalar tag per joint and cell.
    stride : float
        Network input size / output map size.
    min_pose_score : float
        People scoring below this are dropped.
    max_people : int
        Peaks kept per joint, and people returned at most.
    detection_threshold, tag_threshold, dist_weight, score_weight, dup_radius, noise_peaks,
    merge_tag_threshold, merge_margin, fill_threshold, noise_fill, fill_tag_threshold,
    fill_separation, fill_reach, fill_min_joints
        Peak, grouping, merging and filling parameters (distances in map cells), see the module
        docstring.

    Returns
    -------
    keypoints : (n, 17, 3) float32
        ``x, y, score`` in network-input pixels, COCO-17 order; missing keypoints all zero.
    scores : (n,) float32
        Per-person score, descending.
    """
    return decode_with(ae_kernels, heatmaps, embeddings, stride=stride,
                       min_pose_score=min_pose_score, max_people=max_people,
                       detection_threshold=detection_threshold, tag_threshold=tag_threshold,
                       dist_weight=dist_weight, score_weight=score_weight, dup_radius=dup_radius,
                       noise_peaks=noise_peaks, merge_tag_threshold=merge_tag_threshold,
                       merge_margin=merge_margin, fill_threshold=fill_threshold,
                       noise_fill=noise_fill, fill_tag_threshold=fill_tag_threshold,
                       fill_separation=fill_separation, fill_reach=fill_reach,
                       fill_min_joints=fill_min_joints)


def decode_with(backend: ModuleType, heatmaps: np.ndarray, embeddings: np.ndarray, *,
                stride: float = 2, **params: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on a kernel backend: :mod:`~stages.decode.ae_kernels` or its numpy twin
    :mod:`~stages.decode.ae_reference` (used by the tests). ``params`` are :func:`decode`'s."""
    heat, tags = check_maps(heatmaps, embeddings, "ae")
    return decode_checked(backend, heat, tags, stride=stride, **params)


def check_maps(heatmaps: np.ndarray, embeddings: np.ndarray,
               family: str) -> tuple[np.ndarray, np.ndarray]:
    """Drop a batch axis of 1 and a trailing axis of 1, check the shapes, and return
    C-contiguous float32 ``(17, H, W)`` maps."""
    heat = _squeeze(np.asarray(heatmaps))
    tags = _squeeze(np.asarray(embeddings))
    if heat.ndim != 3 or heat.shape[0] != NUM_JOINTS:
        raise ValueError(f"{family}: heatmaps must be (17, H, W), got {np.shape(heatmaps)}")
    if tags.ndim != 3 or tags.shape[0] != NUM_JOINTS:
        raise ValueError(f"{family}: embeddings must be (17, H, W), got {np.shape(embeddings)}")
    return (np.ascontiguousarray(heat, dtype=np.float32),
            np.ascontiguousarray(tags, dtype=np.float32))


def _squeeze(a: np.ndarray) -> np.ndarray:
    if a.ndim == 5 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 4 and a.shape[-1] == 1:
        a = a[..., 0]
    return a


def decode_checked(backend: ModuleType, heat: np.ndarray, tags: np.ndarray, *,
                   stride: float = 2, min_pose_score: float = 0.0, max_people: int = 30,
                   detection_threshold: float = 0.1, tag_threshold: float = 1.0,
                   dist_weight: float = 1.0, score_weight: float = 0.5, dup_radius: float = 6.0,
                   noise_peaks: float = 5.0, merge_tag_threshold: float = 1.0,
                   merge_margin: float = 1.0, fill_threshold: float = 0.05,
                   noise_fill: float = 3.0, fill_tag_threshold: float = 0.5,
                   fill_separation: float = 3.0, fill_reach: float = 2.0,
                   fill_min_joints: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """The AE decoder proper, on heatmaps ``heat`` (17, H, W) float32 (NMS-negated or plain)
    and ``tags`` (17, H, W) float32 of the same size (shared with
    :mod:`stages.decode.higherhrnet`)."""
    if heat.shape != tags.shape:
        raise ValueError(f"heatmaps {heat.shape} and embeddings {tags.shape} differ in size")
    k = NUM_JOINTS
    peaks_xy = np.zeros((k, max_people, 2), np.float64)
    peaks_ij = np.zeros((k, max_people, 2), np.int64)
    peaks_score = np.zeros((k, max_people), np.float64)
    peaks_count = np.zeros(k, np.int64)
    sigma = backend.noise_sigma(heat)
    backend.find_peaks(heat, max(float(detection_threshold), noise_peaks * sigma), NMS_RADIUS,
                       True, peaks_xy, peaks_ij, peaks_score, peaks_count)
    cap = k * max_people
    pose_peak = np.full((cap, k), -1, np.int64)
    pose_tag = np.zeros(cap, np.float64)
    n = backend.group_ae(peaks_xy, peaks_ij, peaks_score, peaks_count, tags, JOINT_ORDER,
                         float(tag_threshold), float(dist_weight), float(score_weight),
                         float(dup_radius), pose_peak, pose_tag)
    n = backend.merge_fragments(pose_peak, int(n), peaks_xy, peaks_ij, tags,
                                float(merge_tag_threshold), float(dup_radius),
                                float(merge_margin), pose_tag)
    kpts = np.zeros((max(int(n), 1), k, 3), np.float64)
    backend.ae_keypoints(pose_peak, int(n), peaks_xy, peaks_score, kpts)
    backend.fill_missing(heat, tags, kpts, pose_tag, int(n),
                         max(float(fill_threshold), noise_fill * sigma),
                         float(fill_tag_threshold), float(fill_separation), float(fill_reach),
                         int(fill_min_joints))
    out_kpts = np.zeros((min(int(n), max_people), k, 3), np.float32)
    out_scores = np.zeros(out_kpts.shape[0], np.float32)
    n = backend.finalize_poses(kpts, int(n), float(stride), float(min_pose_score), out_kpts,
                               out_scores)
    return out_kpts[:n], out_scores[:n]


def warmup() -> None:
    """Compile (or load from the cache) every kernel this decoder uses, on tiny synthetic maps."""
    h, w = 16, 16
    yy, xx = np.mgrid[0:h, 0:w]
    heat = np.zeros((NUM_JOINTS, h, w), np.float32)
    tags = np.zeros((NUM_JOINTS, h, w), np.float32)
    for j in range(NUM_JOINTS - 1):
        for x, y, t in ((4.0, 3.0 + 0.5 * j, 0.0), (11.0, 4.0 + 0.5 * j, 2.0)):
            g = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / 2.0).astype(np.float32)
            tags[j][g > heat[j]] = t
            np.maximum(heat[j], g, out=heat[j])
    heat[NUM_JOINTS - 1, 8, 4] = 0.07  # below detection, found by filling
    decode(-heat, tags)

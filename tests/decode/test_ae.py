"""Round trips for the associative-embedding decoder (human-pose-estimation-0005/6/7)."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae, ae_kernels, ae_reference
from tests.decode import render

S, STRIDE = 144, 2  # human-pose-estimation-0005 at 288x288


def decode(backend, heat, emb, **kw):
    keypoints, scores = ae.decode_with(backend, heat, emb, **kw)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    assert keypoints.shape == (len(scores), 17, 3)
    assert np.all(np.isfinite(keypoints)) and np.all(np.isfinite(scores))
    assert np.all(np.diff(scores) <= 0)
    return render.to_cells(keypoints, STRIDE), scores


def round_trip(poses, tags=None, backend=ae_kernels, h=S, w=S, seed=0, render_kw=None, **kw):
    rng = np.random.default_rng(seed)
    if tags is None:
        tags = render.spaced_tags(rng, len(poses))
    heat, emb = render.render_ae(poses, tags, h, w, rng=rng, **(render_kw or {}))
    got, _ = decode(backend, heat, emb, **kw)
    return render.match_poses(got, poses)


@pytest.mark.parametrize("n_people", [1, 5, 15])
@pytest.mark.parametrize("graph_nms", [True, False], ids=["graph-nms", "plain"])
def test_round_trip_crowds(n_people, graph_nms):
    rng = np.random.default_rng(n_people)
    problems = round_trip(render.crowd(rng, n_people, S, S), seed=n_people,
                          render_kw=dict(nms_negate=graph_nms, noise=0.01, tag_jitter=0.15))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("n_people", [1, 5])
def test_round_trip_on_the_reference_backend(n_people):
    rng = np.random.default_rng(20 + n_people)
    problems = round_trip(render.crowd(rng, n_people, 96, 96), backend=ae_reference, h=96, w=96,
                          render_kw=dict(nms_negate=True, noise=0.01, tag_jitter=0.1))
    assert not problems, "\n".join(problems)


def test_numba_and_reference_decoders_agree():
    rng = np.random.default_rng(3)
    poses = render.hide(render.crowd(rng, 7, 96, 128), 2, [9, 10])
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 7, 1.1), 96, 128, noise=0.02,
                                 tag_jitter=0.3, nms_negate=True, rng=rng)
    k1, s1 = ae.decode(heat, emb)
    k2, s2 = ae.decode_with(ae_reference, heat, emb)
    np.testing.assert_allclose(k1, k2, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(s1, s2, rtol=1e-6)


def test_non_square_maps_and_model_output_shapes():
    rng = np.random.default_rng(4)
    poses = render.crowd(rng, 6, 112, 176)
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 6), 112, 176, nms_negate=True,
                                 rng=rng)
    got, _ = decode(ae_kernels, heat[None], emb[None, ..., None])  # (1, 17, H, W), (1, 17, H, W, 1)
    assert not render.match_poses(got, poses)


def test_overlapping_people():
    rng = np.random.default_rng(5)
    poses = np.stack([render.make_pose(rng, 60.0, 20.0, 100.0),
                      render.make_pose(rng, 78.0, 26.0, 96.0),   # overlaps the first
                      render.make_pose(rng, 100.0, 30.0, 90.0)])  # overlaps the second
    problems = round_trip(poses, render_kw=dict(nms_negate=True, tag_jitter=0.1))
    assert not problems, "\n".join(problems)


def test_people_with_close_tags_are_told_apart_by_position():
    rng = np.random.default_rng(6)
    poses = render.crowd(rng, 4, S, S)
    problems = round_trip(poses, tags=np.array([0.0, 0.3, 0.6, 0.9]),
                          render_kw=dict(nms_negate=True))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_partial_skeletons(backend):
    rng = np.random.default_rng(7)
    poses = render.crowd(rng, 6, 96, 96)
    hidden = {0: [9, 10], 1: [0, 1, 2, 3, 4], 2: [11, 13, 15], 3: [5, 8, 16], 4: [1, 7, 12, 14]}
    for person, joints in hidden.items():
        poses = render.hide(poses, person, joints)
    problems = round_trip(poses, backend=backend, h=96, w=96,
                          render_kw=dict(nms_negate=True, noise=0.01, tag_jitter=0.1))
    assert not problems, "\n".join(problems)


def test_empty_frame():
    heat, emb = render.render_ae(np.zeros((0, 17, 3)), np.zeros(0), S, S, noise=0.01,
                                 nms_negate=True)
    got, scores = decode(ae_kernels, heat, emb)
    assert got.shape == (0, 17, 3) and scores.shape == (0,)


def test_max_people_caps_the_output():
    rng = np.random.default_rng(8)
    poses = render.crowd(rng, 12, S, S)
    heat, emb = render.render_ae(poses, render.spaced_tags(rng, 12), S, S, rng=rng)
    got, scores = decode(ae_kernels, heat, emb, max_people=5)
    assert len(got) == 5


def test_coordinates_are_network_input_pixels():
    pose = render.make_pose(np.random.default_rng(1), 70.0, 20.0, 100.0)
    heat, emb = render.render_ae(pose[None], np.zeros(1), S, S)
    keypoints, _ = ae.decode(heat, emb)
    np.testing.assert_allclose(keypoints[0, :, :2], (pose[:, :2] + 0.5) * STRIDE - 0.5, atol=0.5)


def test_rejects_bad_shapes():
    heat = np.zeros((17, 8, 8), np.float32)
    with pytest.raises(ValueError, match="heatmaps"):
        ae.decode(heat[:3], heat)
    with pytest.raises(ValueError, match="differ"):
        ae.decode(heat, heat[:, :4])



# ---------------------------------------------------------------------------------------------
# Filling missing joints
# ---------------------------------------------------------------------------------------------


def _two_people(rng):
    a = render.make_pose(rng, 45.0, 20.0, 100.0)
    b = render.make_pose(rng, 100.0, 22.0, 100.0)
    return np.stack([a, b])


@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_weak_joint_is_filled_when_its_tag_matches(backend):
    """A joint below the detection threshold is found again by filling, from its tag."""
    rng = np.random.default_rng(9)
    poses = _two_people(rng)
    amp = np.ones((2, 17))
    amp[0, 9] = 0.07  # left wrist of person 0: under detection_threshold, over fill_threshold
    heat, emb = render.render_ae(poses, np.array([0.0, 2.0]), S, S, amplitude=amp,
                                 nms_negate=True, rng=rng)
    got, _ = decode(backend, heat, emb)
    assert not render.match_poses(got, poses)
    without_fill, _ = decode(backend, heat, emb, fill_threshold=0.5)
    assert render.match_poses(without_fill, poses) == ["person 0 joint 9: missing"]


def _stealing_scene(tag_gap: float):
    """Person 0 has no left wrist; person 1's left wrist sits right where it would be."""
    rng = np.random.default_rng(10)
    a = render.make_pose(rng, 60.0, 20.0, 100.0)
    b = render.make_pose(rng, 78.0, 24.0, 100.0)
    b[9, :2] = a[9, :2] + (2.5, 0.5)
    poses = render.hide(np.stack([a, b]), 0, [9])
    heat, emb = render.render_ae(poses, np.array([0.0, tag_gap]), S, S, nms_negate=True, rng=rng)
    return poses, heat, emb


@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
@pytest.mark.parametrize("tag_gap", [3.0, 0.8])
@pytest.mark.parametrize("guards", [{}, {"fill_tag_threshold": 10.0}, {"fill_separation": 0.0}],
                         ids=["both-guards", "separation-only", "tag-only"])
def test_fill_does_not_steal_another_persons_joint(backend, tag_gap, guards):
    """Person 0 must stay without a left wrist and person 1 must keep its own, with the tag rule
    and the separation rule each enough on its own."""
    poses, heat, emb = _stealing_scene(tag_gap)
    got, _ = decode(backend, heat, emb, **guards)
    problems = render.match_poses(got, poses)
    assert not problems, "\n".join(problems)


def test_stealing_scene_would_steal_without_the_guards():
    """The scene above is a real trap: with both guards off, person 0 takes person 1's wrist."""
    poses, heat, emb = _stealing_scene(0.8)
    got, _ = decode(ae_kernels, heat, emb, fill_tag_threshold=10.0, fill_separation=0.0)
    assert any("joint 9" in p and "not visible" in p for p in render.match_poses(got, poses))


@pytest.mark.parametrize("backend", [ae_kernels, ae_reference], ids=["numba", "numpy"])
def test_fill_rejects_a_detection_whose_tag_is_too_far(backend):
    """A weak stray detection near person 0's missing joint, tagged for nobody, stays out."""
    rng = np.random.default_rng(11)
    poses = render.hide(_two_people(rng), 0, [10])
    heat, emb = render.render_ae(poses, np.array([0.0, 2.0]), S, S, rng=rng)
    x, y = poses[0, 10, :2].round().astype(int)
    blob = 0.08 * render.gaussian(S, S, x, y, 2.0)
    heat[10] = np.maximum(heat[10], blob)
    emb[10][blob > 0.01] = 1.2  # within tag_threshold of nobody's fill tolerance
    got, _ = decode(backend, heat, emb)
    assert not render.match_poses(got, poses)
    emb[10][blob > 0.01] = 0.1  # now it does carry person 0's tag: it is filled
    got, _ = decode(backend, heat, emb)
    truth = poses.copy()
    truth[0, 10] = (x, y, 1.0)
    assert not render.match_poses(got, truth)

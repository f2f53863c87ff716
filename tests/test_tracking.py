"""The tracker: ids that stay with people walking and crossing, scored on generated scenes, and
its Numba kernels against their numpy twins."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tracking import SourceTrackers, Tracker, TrackerParams, kernels, reference
from tests.tracking_sim import Walker, crossing_scene, id_scores, occlusions, render

FPS = 25.0


def track(frames, backend=kernels, params=None):
    tracker = Tracker(params, backend)
    return [tracker.update(f.keypoints, f.scores, i / FPS) for i, f in enumerate(frames)]


@pytest.mark.parametrize("seed", range(6))
def test_people_walking_and_crossing_keep_their_ids(seed):
    """Eight people crossing in both directions, passing in front of one another, with noisy
    keypoints, missed poses, low scores while half hidden and spurious poses."""
    frames = render(crossing_scene(seed), 150, seed)
    ids = track(frames)
    scores = id_scores([f.truth for f in frames], ids)
    print(f"seed {seed}: IDF1 {scores['idf1']:.3f}, {scores['switches']} id switches, "
          f"{scores['ids']} ids for {scores['people']} people")
    assert scores["idf1"] >= 0.9
    assert all((i >= 1).all() for i in ids)  # every pose has a real id


def test_ids_switch_at_most_once_per_occlusion():
    """A person may fairly lose an id only when hidden for a while (a random single-frame miss is
    carried by the track). Over the six scenes the id switches are at most the occlusions, one
    per time someone comes back into view. Without motion prediction the tracker switches 68
    times for 37 occlusions (22 with it)."""
    switches = occluded = 0
    for seed in range(6):
        frames = render(crossing_scene(seed), 150, seed)
        switches += id_scores([f.truth for f in frames], track(frames))["switches"]
        occluded += occlusions(frames)
    assert switches <= occluded, f"{switches} id switches for {occluded} occlusions"


def crossing_pair():
    """Two people walking towards each other; the farther one is hidden for several frames as
    they pass, and comes out with only a few keypoints seen at first."""
    walkers = [Walker((100, 290), (6, 0), 100), Walker((700, 330), (-6, 0), 220)]
    frames = render(walkers, 100, seed=1, miss=0.0, spurious=0.0)
    hidden = [i for i, f in enumerate(frames) if len(f.truth) < 2]
    assert len(hidden) >= 3  # the scene does hide someone
    return frames, hidden[0], hidden[-1]


def ids_before_and_after(frames, ids, first, last):
    """Each person's id in the 10 frames before the occlusion and in the last 10 of the scene."""
    def of(person, span):
        return {int(p) for f, i in zip(frames[span], ids[span]) for t, p in zip(f.truth, i) if t == person}
    return [(of(person, slice(first - 10, first)), of(person, slice(-10, None))) for person in (0, 1)]


def test_two_people_pass_each_other_and_keep_their_ids():
    """The velocity carries the hidden person's track through the occlusion: both come out
    with the ids they went in with."""
    frames, first, last = crossing_pair()
    ids = track(frames)
    for before, after in ids_before_and_after(frames, ids, first, last):
        assert len(before) == 1 and before == after
    assert id_scores([f.truth for f in frames], ids)["idf1"] >= 0.97


def test_without_motion_prediction_the_crossing_goes_wrong():
    """The same crossing tracked with every velocity held at zero: the hidden person does not
    come out with its id, which is what the prediction is there to prevent."""
    frames, first, last = crossing_pair()
    tracker = Tracker()
    ids = []
    for i, f in enumerate(frames):
        for tr in tracker.tracks:
            tr.velocity[:] = 0.0
        ids.append(tracker.update(f.keypoints, f.scores, i / FPS))
    assert any(before != after for before, after in ids_before_and_after(frames, ids, first, last))


def test_a_low_score_pose_continues_its_track_but_starts_none_of_its_own():
    """Second stage: a person whose score drops below ``high_score`` for a while keeps the id."""
    w = Walker((100, 300), (5, 0), 150)
    rng = np.random.default_rng(0)
    tracker = Tracker()
    seen = []
    for f in range(60):
        kp = np.zeros((1, 17, 3))
        kp[0, :, :2] = w.at(f) + rng.normal(0, 1.5, (17, 2))
        kp[0, :, 2] = 0.8
        score = 0.12 if 20 <= f < 40 else 0.6
        seen.append(int(tracker.update(kp, np.array([score]), f / FPS)[0]))
    assert set(seen) == {1}


def test_births_and_deaths_have_hysteresis():
    """A one-frame spurious pose gets an id never seen again and is forgotten at once; a person
    hidden for fewer than ``max_lost`` frames comes back with the same id, one hidden longer with
    a new one."""
    params = TrackerParams(max_lost=10)
    w = Walker((100, 300), (4, 0), 150)
    tracker = Tracker(params)
    rng = np.random.default_rng(3)

    def pose(f):
        kp = np.zeros((1, 17, 3))
        kp[0, :, :2] = w.at(f) + rng.normal(0, 1.0, (17, 2))
        kp[0, :, 2] = 0.8
        return kp

    got = {}
    for f in range(60):
        visible = not (10 <= f < 18) and not (30 <= f < 45)  # hidden 8 frames, then 15
        kp = pose(f) if visible else np.zeros((0, 17, 3))
        if f == 5:  # a spurious pose far away
            ghost = pose(f)
            ghost[0, :, 0] += 600
            kp = np.concatenate([kp, ghost])
        ids = tracker.update(kp, np.full(len(kp), 0.6), f / FPS)
        got[f] = ids.tolist()
        if f == 5:
            assert ids[1] != ids[0]
            assert len(tracker.tracks) == 2 and not tracker.tracks[1].confirmed
        if f == 6:
            assert len(tracker.tracks) == 1  # the tentative ghost died at its first miss
    first = got[0][0]
    assert got[9] == [first] and got[18] == [first]  # back after 8 frames: same id
    assert got[45][0] not in (first, got[5][1])  # after 15 frames (> max_lost): a new id
    assert got[59] == got[45]


def test_tentative_tracks_are_confirmed_after_min_hits():
    tracker = Tracker(TrackerParams(min_hits=3))
    kp = np.zeros((1, 17, 3))
    kp[0, :, :2] = Walker((100, 300), (0, 0), 150).at(0)
    kp[0, :, 2] = 0.9
    for f in range(3):
        tracker.update(kp, np.array([0.9]), f / FPS)
        assert tracker.tracks[0].confirmed == (f == 2)
    assert tracker.confirmed_ids == [1]


def test_time_that_stands_still_or_goes_back_does_no_harm():
    """A looped file or a folder of images gives the same or an earlier time: ids hold."""
    frames = render([Walker((100, 300), (3, 0), 150)], 20, seed=2, miss=0.0, spurious=0.0)
    tracker = Tracker()
    times = [0.0] * 10 + [-0.04 * i for i in range(10)]
    ids = [tracker.update(f.keypoints, f.scores, t) for f, t in zip(frames, times)]
    assert {int(i[0]) for i in ids} == {1}


def test_empty_frames_and_no_people():
    tracker = Tracker()
    assert tracker.update(np.zeros((0, 17, 3), np.float32), np.zeros(0, np.float32), 0.0).shape == (0,)
    kp = np.zeros((2, 17, 3), np.float32)  # every keypoint missing: still a pose, still an id
    ids = tracker.update(kp, np.array([0.3, 0.3], np.float32), 0.04)
    assert ids.dtype == np.int64 and sorted(ids.tolist()) == [1, 2]


def test_sources_have_their_own_ids():
    frames = render([Walker((100, 300), (3, 0), 150)], 5, seed=2, miss=0.0, spurious=0.0)
    trackers = SourceTrackers()
    for i, f in enumerate(frames):
        a = trackers.update(0, f.keypoints, f.scores, i / FPS)
        b = trackers.update(3, f.keypoints, f.scores, i / FPS)
        assert a.tolist() == b.tolist() == [1]
    assert sorted(trackers.by_source) == [0, 3]


def test_the_numba_and_numpy_backends_give_the_same_ids():
    frames = render(crossing_scene(11), 120, 11)
    assert [i.tolist() for i in track(frames)] == [i.tolist() for i in track(frames, reference)]


def test_idf1_counts_a_swap():
    truth = [np.array([0, 1])] * 4
    same = id_scores(truth, [np.array([5, 7])] * 4)
    assert same["idf1"] == 1.0 and same["switches"] == 0
    swapped = id_scores(truth, [np.array([5, 7])] * 2 + [np.array([7, 5])] * 2)
    assert swapped["switches"] == 2 and swapped["idf1"] == 0.5


# -- kernels against their twins ------------------------------------------------------------

def random_poses(rng, n, size=400.0):
    kp = np.empty((n, 17, 3))
    kp[..., :2] = rng.uniform(0, size, (n, 1, 2)) + rng.normal(0, 30, (n, 17, 2))
    kp[..., 2] = rng.uniform(0, 1, (n, 17)) * (rng.random((n, 17)) > 0.2)
    return kp


@pytest.mark.parametrize("seed", range(5))
def test_kernels_match_their_twins(seed):
    rng = np.random.default_rng(seed)
    a, b = random_poses(rng, 6), random_poses(rng, 4)
    a[0, :, 2] = 0.0  # a pose with nothing seen
    out_k, out_r = np.empty((6, 4)), np.empty((6, 4))
    kernels.pose_boxes(a, 0.2, out_k)
    reference.pose_boxes(a, 0.2, out_r)
    np.testing.assert_allclose(out_k, out_r)
    boxes_b = np.empty((4, 4))
    reference.pose_boxes(b, 0.2, boxes_b)
    ik, ir = np.empty((6, 4)), np.empty((6, 4))
    kernels.iou_matrix(out_k, boxes_b, ik)
    reference.iou_matrix(out_k, boxes_b, ir)
    np.testing.assert_allclose(ik, ir, atol=1e-12)
    assert ((ik >= 0) & (ik <= 1)).all()
    areas = rng.uniform(100, 5000, 6)
    ok, orf = np.empty((6, 4)), np.empty((6, 4))
    kernels.oks_matrix(a, b, areas, kernels.COCO_SIGMAS, 0.2, ok)
    reference.oks_matrix(a, b, areas, kernels.COCO_SIGMAS, 0.2, orf)
    np.testing.assert_allclose(ok, orf, atol=1e-12)
    assert (ok[0] == 0).all()  # nothing seen, nothing similar
    np.testing.assert_allclose(kernels_oks_self(a[1:]), 1.0)


def kernels_oks_self(poses):
    out = np.empty((len(poses), len(poses)))
    kernels.oks_matrix(poses, poses, np.full(len(poses), 1000.0), kernels.COCO_SIGMAS, 0.2, out)
    return np.diag(out)


def best_matching(sim, threshold):
    """Exhaustive search: the most pairs of at least ``threshold``, and among those the largest
    total similarity, as (pairs, total)."""
    m = sim.T if sim.shape[0] > sim.shape[1] else sim  # rows <= columns
    best = (0, 0.0)
    for cols in itertools.permutations(range(m.shape[1]), m.shape[0]):
        ok = [m[r, c] for r, c in enumerate(cols) if m[r, c] >= threshold]
        best = max(best, (len(ok), sum(ok)), key=lambda x: (x[0], round(x[1], 9)))
    return best


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 6), (6, 1), (0, 3), (3, 0)])
def test_assignment_is_optimal_and_matches_its_twin(shape):
    rng = np.random.default_rng(sum(shape))
    for _ in range(20):
        sim = rng.uniform(0, 1, shape)
        sim[rng.random(shape) < 0.3] = 0.0
        col_k, col_r = np.empty(shape[0], np.int64), np.empty(shape[0], np.int64)
        kernels.assign(sim, 0.3, col_k)
        reference.assign(sim, 0.3, col_r)
        total = sum(sim[r, c] for r, c in enumerate(col_k) if c >= 0)
        assert total == pytest.approx(sum(sim[r, c] for r, c in enumerate(col_r) if c >= 0))
        pairs, best = best_matching(sim, 0.3)
        assert (col_k >= 0).sum() == pairs and total == pytest.approx(best)
        used = col_k[col_k >= 0]
        assert len(set(used.tolist())) == len(used)  # one-to-one
        assert all(sim[r, c] >= 0.3 for r, c in enumerate(col_k) if c >= 0)  # never below the threshold


# -- in the pipeline --------------------------------------------------------------------------

def test_id_colours_and_labels_are_drawn():
    import cv2
    from stages.identity import draw_ids, id_colour
    colours = {id_colour(i) for i in range(1, 13)}
    assert len(colours) == 12  # neighbouring ids do not share a colour
    image = np.zeros((200, 300, 3), np.uint8)
    pose = np.zeros((1, 17, 3), np.float32)
    pose[0, :, :2] = Walker((150, 100), (0, 0), 120).at(0)
    pose[0, :, 2] = 0.9
    draw_ids(image, pose, np.array([7]))
    assert (image.reshape(-1, 3) == id_colour(7)).all(1).sum() > 100  # the box, in the id's colour
    untracked = np.zeros_like(image)
    draw_ids(untracked, pose, np.array([-1]))
    assert not untracked.any()  # no id, nothing drawn
    assert cv2.countNonZero(image[:, :, 1]) > 0


def test_every_pose_in_poses_out_has_an_id(sample, tmp_path):
    from tests.helpers import make_clip, movenet_model, read_poses, run_pipeline
    clip = make_clip(tmp_path / "clip.avi", frames=24)
    poses = tmp_path / "poses.jsonl"
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "-r",
                       "--poses-out", str(poses))
    assert res.code == 0, res.stderr
    records = read_poses(poses)
    ids = [[p["id"] for p in r["poses"]] for r in records]
    everyone = sum(ids, [])
    # vtest's frames 100-123 show six people on the road all along (and one far away, a few
    # pixels tall): whatever MoveNet misses, at least four a frame on average, and at least four
    # of them keep one id for half the clip or more
    assert len(everyone) >= 24 * 4
    assert all(i >= 1 for i in everyone)
    assert all(len(set(frame)) == len(frame) for frame in ids)  # one person, one id, in a frame
    lasting = {i for i in everyone if sum(i in frame for frame in ids) >= 12}
    assert len(lasting) >= 4 and sum(i in lasting for i in everyone) >= 0.8 * len(everyone)
    assert "person 0 score" in res.stdout and f" id {ids[0][0]}: " in res.stdout
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--tracker", "none",
                       "--poses-out", str(poses))
    assert res.code == 0, res.stderr
    assert {p["id"] for r in read_poses(poses) for p in r["poses"]} == {-1}


def test_tuning_clip_vtest_people_keep_their_ids(sample):
    """The issue's figure on real footage: vtest's first 100 frames with MoveNet (default
    settings) need at most 14 ids, and the median track lasts at least 40 frames. vtest is the
    clip the tracker's defaults were tuned on, and these bounds hold even without motion
    prediction (11 ids, median 40; 10 and 50 with it): the scenes above are the tests that
    catch that (test_ids_switch_at_most_once_per_occlusion, test_two_people_pass_...)."""
    from scripts.bench_tracking import GOAL_IDS, GOAL_MEDIAN, measure
    result = measure(frames=100)
    assert result["frames"] == 100 and result["untracked_poses"] == 0
    assert result["ids"] <= GOAL_IDS, result["track_frames"]
    assert result["median_track_frames"] >= GOAL_MEDIAN, result["track_frames"]
    assert result["replay_matches_pipeline"]

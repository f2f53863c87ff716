"""Every Numba kernel against its plain-numpy twin, on random and rendered inputs."""

from __future__ import annotations

import inspect
import itertools

import numpy as np
import pytest

from stages.decode import (ae, ae_kernels, ae_reference, heatmap_kernels, heatmap_reference,
                           openpose, openpose_kernels, openpose_reference)
from tests.decode import render
from tracking import assignment_kernels, assignment_reference

RNG_SEEDS = (0, 1, 2)


def _py(f):
    return getattr(f, "py_func", f)


# Every kernel module and its plain-numpy twin.
KERNEL_MODULES = ((heatmap_kernels, heatmap_reference), (openpose_kernels, openpose_reference),
                  (ae_kernels, ae_reference), (assignment_kernels, assignment_reference))


def _kernel_names(module) -> list[str]:
    """The kernels defined in ``module`` (not those it imports from another kernel module)."""
    return [name for name, obj in vars(module).items()
            if callable(obj) and getattr(obj, "__module__", "") == module.__name__
            and not isinstance(obj, type)]


def test_every_kernel_is_njit_cached_and_has_a_twin():
    found = [(module, twins, name)
             for module, twins in KERNEL_MODULES for name in _kernel_names(module)]
    assert len(found) >= 15
    for module, twins, name in found:
        k = getattr(module, name)
        if hasattr(k, "py_func"):  # not under NUMBA_DISABLE_JIT
            assert type(k._cache).__name__ == "FunctionCache", f"{name}: not cache=True"
            assert not k.targetoptions.get("parallel", False), name
        twin = getattr(twins, name, None)
        assert twin is not None, f"{twins.__name__}.{name} missing"
        assert inspect.signature(_py(k)).parameters.keys() == \
            inspect.signature(twin).parameters.keys(), name


# ---------------------------------------------------------------------------------------------
# Peaks
# ---------------------------------------------------------------------------------------------


def test_quadratic_offset_matches_twin_and_is_exact_on_gaussians():
    rng = np.random.default_rng(0)
    triples = list(rng.normal(0.0, 1.0, (300, 3))) + list(rng.uniform(0.0, 1.0, (300, 3)))
    triples += [(0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (np.nan, 1.0, 0.5), (0.2, 1.0, np.inf),
                (0.5, 1.0, 0.5), (-0.1, 0.3, 0.2)]
    for lo, mid, hi in triples:
        got = heatmap_kernels.quadratic_offset(float(lo), float(mid), float(hi))
        want = heatmap_reference.quadratic_offset(float(lo), float(mid), float(hi))
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        assert np.isfinite(got) and -0.5 <= got <= 0.5
    for true in np.linspace(-0.49, 0.49, 15):
        g = np.exp(-((np.arange(-1, 2) - true) ** 2) / (2 * 1.3 ** 2))
        assert heatmap_kernels.quadratic_offset(*map(float, g)) == pytest.approx(true, abs=1e-9)


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("absolute", [False, True])
def test_is_local_max_matches_twin_with_ties(radius, absolute):
    rng = np.random.default_rng(radius)
    m = rng.integers(-3, 4, (9, 11)).astype(np.float32)  # many ties
    for y in range(m.shape[0]):
        for x in range(m.shape[1]):
            assert (heatmap_kernels.is_local_max(m, y, x, radius, absolute)
                    == heatmap_reference.is_local_max(m, y, x, radius, absolute))


def _peaks(backend, maps, threshold, radius, max_peaks, absolute=False):
    c = maps.shape[0]
    out = (np.zeros((c, max_peaks, 2)), np.zeros((c, max_peaks, 2), np.int64),
           np.zeros((c, max_peaks)), np.zeros(c, np.int64))
    total = backend.find_peaks(maps, threshold, radius, absolute, *out)
    return total, out


def _assert_same_peaks(maps, threshold, radius, max_peaks, absolute=False):
    t1, a = _peaks(heatmap_kernels, maps, threshold, radius, max_peaks, absolute)
    t2, b = _peaks(heatmap_reference, maps, threshold, radius, max_peaks, absolute)
    assert t1 == t2
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    return t1, a


@pytest.mark.parametrize("seed", RNG_SEEDS)
@pytest.mark.parametrize("radius", [1, 2])
@pytest.mark.parametrize("absolute", [False, True])
def test_find_peaks_matches_twin_on_random_maps(seed, radius, absolute):
    rng = np.random.default_rng(seed)
    maps = rng.uniform(-1.0, 1.0, (4, 13, 17)).astype(np.float32)
    maps[1] = np.round(maps[1] * 3) / 3  # plateaus
    maps[2, 3, 4] = np.nan
    maps[3, 5, 6] = np.inf
    total, _ = _assert_same_peaks(maps, 0.1, radius, 6, absolute)
    assert total > 0


def test_find_peaks_on_graph_negated_maps_equals_plain_maps():
    """On a map whose non-maxima a 5x5 max-pool NMS negated, ``absolute`` finds exactly the peaks
    of the original map."""
    rng = np.random.default_rng(4)
    poses = render.crowd(rng, 6, 48, 64)
    heat, _ = render.render_heatmaps(poses, 48, 64, 2.0)
    heat = np.ascontiguousarray(heat + rng.normal(0.0, 0.02, heat.shape), np.float32)
    negated = render.maxpool_negate(heat).astype(np.float32)
    _, plain = _assert_same_peaks(np.abs(heat), 0.1, 2, 10)
    _, from_negated = _assert_same_peaks(negated, 0.1, 2, 10, absolute=True)
    for x, y in zip(plain, from_negated):
        np.testing.assert_array_equal(x, y)


def test_find_peaks_matches_twin_on_rendered_heatmaps():
    rng = np.random.default_rng(3)
    poses = render.crowd(rng, 5, 40, 60)
    heat, _ = render.render_heatmaps(poses, 40, 60, 1.5)
    heat = np.ascontiguousarray(heat, np.float32)
    total, (xy, _, score, count) = _assert_same_peaks(heat, 0.1, 2, 10)
    assert total == 5 * 17 and np.all(count == 5)
    assert np.all(score[:, :5] > 0.5)


def test_find_peaks_keeps_the_best_and_refines():
    m = np.zeros((1, 20, 20), np.float32)
    for i, (x, y) in enumerate([(3.3, 4.0), (10.0, 10.25), (15.0, 3.0)]):
        m[0] = np.maximum(m[0], (1.0 - 0.2 * i) * render.gaussian(20, 20, x, y, 1.0))
    _, (xy, ij, score, count) = _assert_same_peaks(m, 0.1, 1, 2)
    assert count[0] == 2
    np.testing.assert_allclose(xy[0, 0], (3.3, 4.0), atol=1e-4)
    np.testing.assert_allclose(xy[0, 1], (10.0, 10.25), atol=1e-4)
    np.testing.assert_array_equal(ij[0, :2], [(3, 4), (10, 10)])


@pytest.mark.parametrize("src_shape,dst_shape", [((3, 5, 7), (3, 10, 14)), ((2, 4, 6), (2, 9, 13)),
                                                 ((1, 6, 6), (1, 6, 6))])
def test_upsample_bilinear_matches_twin_and_cv2(src_shape, dst_shape):
    rng = np.random.default_rng(0)
    src = rng.normal(size=src_shape).astype(np.float32)
    a = np.zeros(dst_shape, np.float32)
    b = np.zeros(dst_shape, np.float32)
    heatmap_kernels.upsample_bilinear(src, a)
    heatmap_reference.upsample_bilinear(src, b)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    cv2 = pytest.importorskip("cv2")
    for c in range(src.shape[0]):
        want = cv2.resize(src[c], (dst_shape[2], dst_shape[1]), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_allclose(a[c], want, rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------------
# OpenPose
# ---------------------------------------------------------------------------------------------

LIMB_ARGS = (10, 0.05, 0.8, 1.0, 0.2)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_limb_score_matches_twin_on_random_fields(seed):
    rng = np.random.default_rng(seed)
    paf = rng.normal(0.0, 0.7, (2, 12, 16)).astype(np.float32)
    paf[:, 3:6, :] = np.array([1.0, 0.0], np.float32)[:, None, None]  # a horizontal band
    ends = rng.uniform(-1.0, 17.0, (400, 4))
    ends[:50, 2:] = ends[:50, :2] + rng.uniform(-0.7, 0.7, (50, 2))  # short limbs
    ends[50:60, 2:] = ends[50:60, :2]  # zero-length limbs
    ends[60:100] = np.c_[rng.uniform(0, 5, 40), rng.uniform(3, 6, 40),
                         rng.uniform(9, 16, 40), rng.uniform(3, 6, 40)]
    accepted = 0
    for ax, ay, bx, by in ends:
        got = openpose_kernels.limb_score(paf[0], paf[1], ax, ay, bx, by, *LIMB_ARGS)
        want = openpose_reference.limb_score(paf[0], paf[1], ax, ay, bx, by, *LIMB_ARGS)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        accepted += got > 0
    assert accepted > 20


def test_limb_score_connects_zero_length_and_short_limbs():
    paf = np.zeros((2, 8, 8), np.float32)
    paf[0, 2:5, 2:5] = 0.6
    paf[1, 2:5, 2:5] = -0.8
    for backend in (openpose_kernels, openpose_reference):
        assert backend.limb_score(paf[0], paf[1], 3.2, 3.1, 3.2, 3.1, *LIMB_ARGS) > 0.0
        assert backend.limb_score(paf[0], paf[1], 3.0, 3.0, 3.6, 3.4, *LIMB_ARGS) > 0.0
        assert backend.limb_score(paf[0], paf[1], 6.5, 6.5, 6.6, 6.5, *LIMB_ARGS) == -1.0


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_score_limbs_matches_twin(seed):
    rng = np.random.default_rng(seed)
    paf = rng.normal(0.0, 0.7, (2, 10, 14)).astype(np.float32)
    a = rng.uniform(0, 13, (7, 2))
    b = rng.uniform(0, 13, (5, 2))
    out_k = np.zeros((7, 5))
    out_r = np.zeros((7, 5))
    openpose_kernels.score_limbs(paf[0], paf[1], a, b, *LIMB_ARGS, out_k)
    openpose_reference.score_limbs(paf[0], paf[1], a, b, *LIMB_ARGS, out_r)
    np.testing.assert_allclose(out_k, out_r, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (1, 1), (5, 5), (0, 3)])
def test_greedy_pairs_matches_twin(shape):
    rng = np.random.default_rng(sum(shape))
    scores = np.round(rng.uniform(-1.0, 1.0, shape), 1)  # ties and rejections
    outs = []
    for backend in (openpose_kernels, openpose_reference):
        k = min(shape)
        a, b, s = np.zeros(k, np.int64), np.zeros(k, np.int64), np.zeros(k)
        n = backend.greedy_pairs(scores, a, b, s)
        outs.append((n, a[:n], b[:n], s[:n]))
    assert outs[0][0] == outs[1][0]
    for x, y in zip(outs[0][1:], outs[1][1:]):
        np.testing.assert_array_equal(x, y)
    n, a, b, s = outs[0]
    assert len(set(a)) == n and len(set(b)) == n and np.all(s > 0) and np.all(np.diff(s) <= 0)


def _openpose_peaks(backend, heat):
    return _peaks(backend, np.ascontiguousarray(heat[:18]), 0.1, 1, 100)[1]


@pytest.mark.parametrize("n_people,noise", [(5, 0.0), (15, 0.02), (3, 0.08)])
def test_group_openpose_and_keypoints_match_twin_on_rendered_maps(n_people, noise):
    rng = np.random.default_rng(n_people)
    poses = render.crowd(rng, n_people, 32, 57)
    pafs, heat = render.render_openpose(poses, 32, 57, noise=noise, rng=rng)
    xy, _, score, count = _openpose_peaks(openpose_kernels, heat)
    results = []
    for backend in (openpose_kernels, openpose_reference):
        cap = int(count.sum())
        ent = np.full((cap, 18), -1, np.int64)
        es, ep = np.zeros(cap), np.zeros(cap, np.int64)
        n = backend.group_openpose(pafs, xy, score, count, openpose._LIMB_TABLE,
                                   openpose.LIMB_LENGTHS, 2.5, *LIMB_ARGS,
                                   ent, es, ep)
        kp = np.zeros((max(n, 1), 17, 3))
        m = backend.openpose_keypoints(ent, n, ep, xy, score, openpose.OP18_TO_COCO17, 3, kp)
        results.append((n, ent[:n], es[:n], ep[:n], m, kp[:m]))
    (n1, e1, s1, p1, m1, k1), (n2, e2, s2, p2, m2, k2) = results
    assert n1 == n2 and m1 == m2
    np.testing.assert_array_equal(e1, e2)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_allclose(s1, s2, rtol=1e-9)
    np.testing.assert_allclose(k1, k2, rtol=1e-12)
    assert m1 >= n_people


# ---------------------------------------------------------------------------------------------
# Associative embedding
# ---------------------------------------------------------------------------------------------


def _brute_force_cost(cost: np.ndarray) -> float:
    n, m = cost.shape
    if n <= m:
        return min(sum(cost[i, c] for i, c in enumerate(cols))
                   for cols in itertools.permutations(range(m), n))
    return _brute_force_cost(cost.T)


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (4, 6), (6, 4), (5, 5), (2, 7), (7, 2), (0, 4),
                                   (4, 0)])
@pytest.mark.parametrize("integer", [False, True])
def test_hungarian_is_optimal_and_matches_twin(shape, integer):
    rng = np.random.default_rng(shape[0] * 10 + shape[1])
    cost = rng.uniform(0.0, 5.0, shape)
    if integer:
        cost = np.round(cost)  # ties
        cost[cost > 4] = assignment_kernels.FORBIDDEN
    out_k = np.zeros(shape[0], np.int64)
    out_r = np.zeros(shape[0], np.int64)
    assignment_kernels.hungarian(cost, out_k)
    assignment_reference.hungarian(cost, out_r)
    np.testing.assert_array_equal(out_k, out_r)
    rows = np.nonzero(out_k >= 0)[0]
    assert len(rows) == min(shape)
    assert len(set(out_k[rows])) == len(rows)
    if min(shape) > 0:
        assert cost[rows, out_k[rows]].sum() == pytest.approx(_brute_force_cost(cost))


def _improvable(cost: np.ndarray, col: np.ndarray) -> bool:
    """Whether an assignment of every row of ``cost`` (n <= m) can be made cheaper.

    An assignment is optimal exactly when no sequence of moves lowers its cost, a move taking
    row i from its column to another column j, whose own row then moves on, and so on, ending in
    a free column or back where it started. Over the columns, a move from ``col[i]`` to ``j``
    costs ``cost[i, j] - cost[i, col[i]]``; free columns lead to a hub node which leads to every
    taken column at no cost. The assignment can be improved iff this graph has a negative cycle
    (Bellman-Ford)."""
    n, m = cost.shape
    hub = m
    edges = []
    for i in range(n):
        for j in range(m):
            if j != col[i]:
                edges.append((col[i], j, cost[i, j] - cost[i, col[i]]))
    free = set(range(m)) - set(col.tolist())
    edges += [(j, hub, 0.0) for j in free] + [(hub, int(c), 0.0) for c in col]
    dist = np.zeros(m + 1)
    for _ in range(m + 1):
        changed = False
        for a, b, w in edges:
            if dist[a] + w < dist[b] - 1e-9:
                dist[b] = dist[a] + w
                changed = True
        if not changed:
            return False
    return True


def test_the_optimality_check_finds_a_worse_assignment():
    cost = np.array([[1.0, 2.0, 9.0], [2.0, 1.0, 9.0]])
    assert not _improvable(cost, np.array([0, 1]))
    assert _improvable(cost, np.array([1, 0]))  # swap the two rows
    assert _improvable(np.array([[5.0, 1.0]]), np.array([0]))  # a cheaper free column
    cost = np.random.default_rng(7).uniform(0.0, 1.0, (30, 45))
    greedy = np.zeros(30, np.int64)
    taken: set[int] = set()
    for i in range(30):  # each row its cheapest free column, in row order: not optimal here
        greedy[i] = min((j for j in range(45) if j not in taken), key=lambda j: cost[i, j])
        taken.add(int(greedy[i]))
    assert _improvable(cost, greedy)


def test_hungarian_larger_random_matches_twin_and_is_optimal():
    rng = np.random.default_rng(7)
    for shape in ((30, 45), (45, 30), (25, 25)):
        cost = rng.uniform(0.0, 1.0, shape)
        out_k = np.zeros(shape[0], np.int64)
        out_r = np.zeros(shape[0], np.int64)
        assignment_kernels.hungarian(cost, out_k)
        assignment_reference.hungarian(cost, out_r)
        np.testing.assert_array_equal(out_k, out_r)
        if shape[0] <= shape[1]:
            assert not _improvable(cost, out_k)
        else:  # rows left over: the assignment of the columns must be optimal on the transpose
            rows = np.argsort(out_k)[shape[0] - shape[1]:]
            col_of_row = np.full(shape[1], -1)
            col_of_row[out_k[rows]] = rows
            assert not _improvable(cost.T, col_of_row)


def _ae_state(backend, heat, tags, max_people=30):
    _, (xy, ij, score, count) = _peaks(ae_kernels, heat, 0.1, 2, max_people, absolute=True)
    cap = 17 * max_people
    pose_peak = np.full((cap, 17), -1, np.int64)
    pose_tag = np.zeros(cap)
    n = backend.group_ae(xy, ij, score, count, tags, ae.JOINT_ORDER, 1.0, 1.0, 0.5, 6.0, pose_peak,
                         pose_tag)
    kpts = np.zeros((max(n, 1), 17, 3))
    backend.ae_keypoints(pose_peak, n, xy, score, kpts)
    return n, pose_peak[:n], pose_tag[:n], kpts


@pytest.mark.parametrize("n_people,jitter,noise", [(5, 0.0, 0.0), (15, 0.2, 0.01), (8, 0.4, 0.02),
                                                   (12, 0.9, 0.05)])
def test_group_ae_matches_twin_on_rendered_maps(n_people, jitter, noise):
    rng = np.random.default_rng(n_people)
    poses = render.crowd(rng, n_people, 96, 128)
    poses = render.hide(poses, 0, [9, 10, 15])
    tags = render.spaced_tags(rng, n_people, 1.2)
    heat, emb = render.render_ae(poses, tags, 96, 128, tag_jitter=jitter, noise=noise,
                                 nms_negate=n_people != 5, rng=rng)
    a = _ae_state(ae_kernels, heat, emb)
    b = _ae_state(ae_reference, heat, emb)
    _, (xy_, ij_, _, _) = _peaks(ae_kernels, heat, 0.1, 2, 30, absolute=True)
    assert a[0] == b[0] >= n_people
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[2], b[2], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a[3], b[3], rtol=1e-12)

    for args in [(1.0, 6.0, 0.1), (2.0, 3.0, 0.5), (0.3, 6.0, 0.0)]:
        merged = []
        for backend, state in ((ae_kernels, a), (ae_reference, b)):
            pp, pt = state[1].copy(), np.zeros(state[0])
            m = backend.merge_fragments(pp, state[0], xy_, ij_, emb, *args, pt)
            merged.append((m, pp[:m], pt[:m]))
        assert merged[0][0] == merged[1][0] <= a[0]
        np.testing.assert_array_equal(merged[0][1], merged[1][1])
        np.testing.assert_array_equal(merged[0][2], merged[1][2])

    for args in [(0.05, 0.5, 3.0, 2.0, 4), (0.01, 2.0, 1.0, 10.0, 0), (0.05, 0.5, 3.0, 0.5, 1)]:
        k1, k2 = a[3].copy(), b[3].copy()
        f1 = ae_kernels.fill_missing(heat, emb, k1, a[2], a[0], *args)
        f2 = ae_reference.fill_missing(heat, emb, k2, b[2], b[0], *args)
        assert f1 == f2
        np.testing.assert_allclose(k1, k2, rtol=1e-12)


@pytest.mark.parametrize("seed", RNG_SEEDS)
def test_finalize_poses_matches_twin(seed):
    rng = np.random.default_rng(seed)
    kpts = rng.uniform(0.0, 50.0, (9, 17, 3))
    kpts[..., 2] = rng.uniform(-0.5, 1.0, (9, 17)).clip(0.0)
    kpts[2] = kpts[3]  # a tie
    for stride, min_score, cap in [(2.0, 0.0, 9), (8.0, 0.3, 9), (2.0, 0.0, 4), (4.0, 2.0, 9)]:
        outs = []
        for backend in (heatmap_kernels, heatmap_reference):
            ok = np.zeros((cap, 17, 3), np.float32)
            os_ = np.zeros(cap, np.float32)
            n = backend.finalize_poses(kpts, 9, stride, min_score, ok, os_)
            outs.append((n, ok[:n], os_[:n]))
        assert outs[0][0] == outs[1][0]
        np.testing.assert_allclose(outs[0][1], outs[1][1], rtol=1e-6)
        np.testing.assert_allclose(outs[0][2], outs[1][2], rtol=1e-6)
        assert np.all(np.diff(outs[0][2]) <= 0)


@pytest.mark.parametrize("sigma", [0.0, 0.02, 0.06])
def test_noise_sigma_matches_twin_and_estimates_the_noise(sigma):
    rng = np.random.default_rng(11)
    poses = render.crowd(rng, 6, 96, 96)
    heat, _ = render.render_ae(poses, render.spaced_tags(rng, 6), 96, 96, noise=sigma,
                               nms_negate=True, rng=rng)
    heat[0, 0, 0] = np.nan
    got = heatmap_kernels.noise_sigma(heat)
    assert got == heatmap_reference.noise_sigma(heat)
    assert abs(got - sigma) <= 0.1 * sigma + 1.0 / heatmap_kernels.NOISE_BINS
    assert heatmap_kernels.noise_sigma(np.full((2, 3, 3), np.nan, np.float32)) == 0.0

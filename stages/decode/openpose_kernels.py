"""Numba kernels of the OpenPose decoder (:mod:`stages.decode.openpose`): limbs scored along
the part affinity fields, and their greedy assembly into people.

Same conventions as :mod:`stages.decode.heatmap_kernels` (pure ``@numba.njit(cache=True)``
functions over numpy arrays, results written into arrays the caller preallocates, float64
arithmetic). Each kernel has a plain-numpy twin of the same name and signature in
:mod:`stages.decode.openpose_reference`; the tests run both over the same inputs.

The module is the decoder's whole backend: it also exports the shared heat-map kernels the
decoder calls, as :mod:`stages.decode.openpose_reference` exports their twins.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .heatmap_kernels import finalize_poses, find_peaks, noise_sigma  # noqa: F401 - re-exported


@nb.njit(cache=True)
def limb_score(paf_x: np.ndarray, paf_y: np.ndarray, ax: float, ay: float, bx: float, by: float,
               n_samples: int, min_alignment: float, min_success: float, short_len: float,
               short_min: float) -> float:
    """Score of a candidate limb from ``(ax, ay)`` to ``(bx, by)`` against one PAF (H, W) pair.

    A limb at least ``short_len`` cells long samples the field at ``max(n_samples, ceil(length)
    + 1)`` evenly spaced points from end to end (nearest cell; at least one per cell, so a gap
    between two people's fields is seen) and scores the mean dot product of the field with the
    limb's unit vector; it is rejected unless more than ``min_success`` of the samples align
    better than ``min_alignment`` (OpenPose's rule) and the mean is positive.

    A shorter limb (both ends in the same or neighbouring cells, down to zero length) has no
    reliable direction: it scores the field's magnitude at its midpoint, and is accepted when that
    magnitude exceeds ``short_min``. It scores as much as a well-aligned long limb: at half the
    magnitude (as it was) a small person's own limb lost the greedy pairing to a long one reaching
    a neighbour's joint through the neighbours' fields, which point the same way when people stand
    side by side, so rows of small people came out mixed (``tests/decode/test_openpose_crowds.py``;
    the round trips with people overlapping or small in front of big still hold).

    Non-finite field values count as unaligned samples. Returns the score, or -1.0 when the limb
    is rejected.
    """
    h, w = paf_x.shape
    dx = bx - ax
    dy = by - ay
    length = np.sqrt(dx * dx + dy * dy)
    if not (length >= short_len and length > 0.0):
        if not np.isfinite(length):
            return -1.0
        mx = min(max(int(np.floor(0.5 * (ax + bx) + 0.5)), 0), w - 1)
        my = min(max(int(np.floor(0.5 * (ay + by) + 0.5)), 0), h - 1)
        px = np.float64(paf_x[my, mx])
        py = np.float64(paf_y[my, mx])
        mag = np.sqrt(px * px + py * py)
        if mag > short_min and np.isfinite(mag):
            return mag
        return -1.0
    ux = dx / length
    uy = dy / length
    n = max(n_samples, int(np.ceil(length)) + 1)
    total = 0.0
    bad = 0
    too_many_bad = n - min_success * n
    mid = (n - 1) // 2
    for k in range(n):
        # Middle out (mid, mid+1, mid-1, ...): a false pair joins two people's fields across a
        # gap, which the middle samples find first, so the early exit below comes sooner.
        step = (k + 1) // 2
        i = mid + step if k % 2 == 1 else mid - step
        t = i / (n - 1)
        sx = min(max(int(np.floor(ax + dx * t + 0.5)), 0), w - 1)
        sy = min(max(int(np.floor(ay + dy * t + 0.5)), 0), h - 1)
        d = paf_x[sy, sx] * ux + paf_y[sy, sx] * uy
        if not np.isfinite(d):
            d = 0.0
        total += d
        if not d > min_alignment:
            bad += 1
            if bad >= too_many_bad:  # can no longer beat min_success: reject early
                return -1.0
    score = total / n
    if score > 0.0:
        return score
    return -1.0


@nb.njit(cache=True)
def score_limbs(paf_x: np.ndarray, paf_y: np.ndarray, a_xy: np.ndarray, b_xy: np.ndarray,
                n_samples: int, min_alignment: float, min_success: float, short_len: float,
                short_min: float, out: np.ndarray) -> None:
    """Scores of every candidate limb between ``a_xy`` (n, 2) and ``b_xy`` (m, 2) peaks.

    Writes ``out`` (n, m) with :func:`limb_score` (-1.0 for rejected pairs).
    """
    for i in range(a_xy.shape[0]):
        for j in range(b_xy.shape[0]):
            out[i, j] = limb_score(paf_x, paf_y, a_xy[i, 0], a_xy[i, 1], b_xy[j, 0], b_xy[j, 1],
                                   n_samples, min_alignment, min_success, short_len, short_min)


@nb.njit(cache=True)
def greedy_pairs(scores: np.ndarray, out_a: np.ndarray, out_b: np.ndarray,
                 out_s: np.ndarray) -> int:
    """Greedy one-to-one selection of the best-scoring pairs in ``scores`` (n, m).

    Pairs with a score <= 0 are never chosen. Pairs are taken by descending score (ties in
    row-major order) while neither end is used yet. Writes the row, column and score of each
    chosen pair into ``out_a``, ``out_b``, ``out_s`` (each of length >= min(n, m)) and returns how
    many were chosen.
    """
    n, m = scores.shape
    flat = scores.ravel()
    cand = np.empty(n * m, np.int64)
    n_cand = 0
    for idx in range(n * m):
        if flat[idx] > 0.0:
            cand[n_cand] = idx
            n_cand += 1
    vals = np.empty(n_cand, np.float64)
    for t in range(n_cand):
        vals[t] = -flat[cand[t]]
    order = np.argsort(vals, kind="mergesort")
    used_a = np.zeros(n, np.bool_)
    used_b = np.zeros(m, np.bool_)
    k = 0
    limit = min(n, m)
    for t in range(n_cand):
        if k >= limit:
            break
        idx = cand[order[t]]
        s = flat[idx]
        i = idx // m
        j = idx - i * m
        if used_a[i] or used_b[j]:
            continue
        used_a[i] = True
        used_b[j] = True
        out_a[k] = i
        out_b[k] = j
        out_s[k] = s
        k += 1
    return k


@nb.njit(cache=True)
def group_openpose(pafs: np.ndarray, peaks_xy: np.ndarray, peaks_score: np.ndarray,
                   peaks_count: np.ndarray, limbs: np.ndarray, limb_len: np.ndarray,
                   max_stretch: float, n_samples: int, min_alignment: float,
                   min_success: float, short_len: float, short_min: float,
                   out_entries: np.ndarray, out_entry_score: np.ndarray,
                   out_entry_parts: np.ndarray) -> int:
    """Assemble OpenPose peaks into people, limb by limb, as OpenPose does.

    Parameters
    ----------
    pafs : (2L', H, W) float array
        Part affinity fields.
    peaks_xy, peaks_score, peaks_count : (K, P, 2), (K, P), (K,)
        Peaks per keypoint type from :func:`find_peaks`.
    limbs : (L, 4) int64
        Per limb, in assembly order: keypoint type ``a``, type ``b``, PAF channel of the x
        component, PAF channel of the y component (field points from ``a`` to ``b``).
    limb_len : (L,) float64
        Each limb's usual length in person heights (0: not used for the scale).
    max_stretch : float
        A person's scale is the largest ``length / usual length`` of its limbs so far (those at
        least one cell long): a limb seen end-on or from the side only shortens, so the largest
        ratio is the one to trust. A candidate limb touching a person of known scale is rejected
        when it is longer than ``max_stretch`` times its usual length at that scale plus half a
        cell: a small person's joint is not joined to a big person's, nor the other way round.
    n_samples, min_alignment, min_success, short_len, short_min
        Limb scoring parameters, see :func:`limb_score`.
    out_entries : (E, K) int64
        Written: per person, the index of its peak of each type (into ``peaks_*[type]``) or -1.
        ``E`` must be at least the total number of peaks.
    out_entry_score : (E,) float64
        Written: sum of the person's keypoint scores and limb scores.
    out_entry_parts : (E,) int64
        Written: the person's number of keypoints.

    Returns
    -------
    int
        Number of people written (rows ``0..n-1`` of the outputs).

    Each limb's candidate pairs are scored against the PAF, selected greedily one-to-one, then
    merged into people: a pair with no person starts one; a pair with one known end adds the
    other end when that slot is free; a pair joining two people merges them when they share no
    keypoint type; a pair already inside one person adds its score.
    """
    n_types, max_peaks = peaks_score.shape
    cap = out_entries.shape[0]
    owner = np.full(n_types * max_peaks, -1, np.int64)
    alive = np.zeros(cap, np.bool_)
    n_entries = 0
    pair_a = np.empty(max_peaks, np.int64)
    pair_b = np.empty(max_peaks, np.int64)
    pair_s = np.empty(max_peaks, np.float64)
    scores_buf = np.empty(max_peaks * max_peaks, np.float64)
    scale = np.zeros(cap, np.float64)  # per person: its largest limb length / usual length
    for li in range(limbs.shape[0]):
        ta = limbs[li, 0]
        tb = limbs[li, 1]
        na = peaks_count[ta]
        nb_ = peaks_count[tb]
        if na == 0 or nb_ == 0:
            continue
        sc = scores_buf[:na * nb_].reshape((na, nb_))
        score_limbs(pafs[limbs[li, 2]], pafs[limbs[li, 3]], peaks_xy[ta, :na], peaks_xy[tb, :nb_],
                    n_samples, min_alignment, min_success, short_len, short_min, sc)
        usual = limb_len[li]
        if usual > 0.0:
            for ia in range(na):
                for ib in range(nb_):
                    if not sc[ia, ib] > 0.0:
                        continue
                    length = np.sqrt((peaks_xy[tb, ib, 0] - peaks_xy[ta, ia, 0]) ** 2
                                     + (peaks_xy[tb, ib, 1] - peaks_xy[ta, ia, 1]) ** 2)
                    for e in (owner[ta * max_peaks + ia], owner[tb * max_peaks + ib]):
                        if e >= 0 and scale[e] > 0.0:
                            if length > max_stretch * usual * scale[e] + 0.5:
                                sc[ia, ib] = -1.0
        k = greedy_pairs(sc, pair_a, pair_b, pair_s)
        for t in range(k):
            ia = pair_a[t]
            ib = pair_b[t]
            s = pair_s[t]
            ga = ta * max_peaks + ia
            gb = tb * max_peaks + ib
            pa = owner[ga]
            pb = owner[gb]
            length = np.sqrt((peaks_xy[tb, ib, 0] - peaks_xy[ta, ia, 0]) ** 2
                             + (peaks_xy[tb, ib, 1] - peaks_xy[ta, ia, 1]) ** 2)
            ls = 0.0
            if usual > 0.0 and length >= 1.0:
                ls = length / usual
            if pa < 0 and pb < 0:
                if n_entries >= cap:
                    continue
                e = n_entries
                n_entries += 1
                alive[e] = True
                out_entries[e, :] = -1
                out_entries[e, ta] = ia
                out_entries[e, tb] = ib
                out_entry_score[e] = peaks_score[ta, ia] + peaks_score[tb, ib] + s
                out_entry_parts[e] = 2
                scale[e] = ls
                owner[ga] = e
                owner[gb] = e
            elif pa >= 0 and pb < 0:
                if out_entries[pa, tb] < 0:
                    out_entries[pa, tb] = ib
                    out_entry_score[pa] += peaks_score[tb, ib] + s
                    out_entry_parts[pa] += 1
                    scale[pa] = max(scale[pa], ls)
                    owner[gb] = pa
            elif pb >= 0 and pa < 0:
                if out_entries[pb, ta] < 0:
                    out_entries[pb, ta] = ia
                    out_entry_score[pb] += peaks_score[ta, ia] + s
                    out_entry_parts[pb] += 1
                    scale[pb] = max(scale[pb], ls)
                    owner[ga] = pb
            elif pa == pb:
                out_entry_score[pa] += s
            else:
                disjoint = True
                for kt in range(n_types):
                    if out_entries[pa, kt] >= 0 and out_entries[pb, kt] >= 0:
                        disjoint = False
                        break
                if disjoint:
                    for kt in range(n_types):
                        q = out_entries[pb, kt]
                        if q >= 0:
                            out_entries[pa, kt] = q
                            owner[kt * max_peaks + q] = pa
                    out_entry_score[pa] += out_entry_score[pb] + s
                    out_entry_parts[pa] += out_entry_parts[pb]
                    scale[pa] = max(scale[pa], scale[pb], ls)
                    alive[pb] = False
    # Compact the surviving people to the front, keeping their order.
    n = 0
    for e in range(n_entries):
        if alive[e]:
            if n != e:
                out_entries[n, :] = out_entries[e, :]
                out_entry_score[n] = out_entry_score[e]
                out_entry_parts[n] = out_entry_parts[e]
            n += 1
    return n


@nb.njit(cache=True)
def openpose_keypoints(entries: np.ndarray, n: int, entry_parts: np.ndarray,
                       peaks_xy: np.ndarray, peaks_score: np.ndarray, type_to_out: np.ndarray,
                       min_parts: int, out_kpts: np.ndarray) -> int:
    """Keypoints of the assembled people with at least ``min_parts`` keypoints.

    ``entries`` (E, K), ``entry_parts`` (E,) come from :func:`group_openpose` (first ``n`` rows);
    ``type_to_out`` (K,) maps each peak type to an output keypoint index (-1 drops the type, e.g.
    the neck). Writes ``out_kpts`` (>= n, J, 3) rows ``x, y, score`` in map cells (missing
    keypoints all zero) and returns the number of people written.
    """
    n_types = entries.shape[1]
    k = 0
    for e in range(n):
        if entry_parts[e] < min_parts:
            continue
        out_kpts[k, :, :] = 0.0
        for t in range(n_types):
            j = type_to_out[t]
            q = entries[e, t]
            if j < 0 or q < 0:
                continue
            out_kpts[k, j, 0] = peaks_xy[t, q, 0]
            out_kpts[k, j, 1] = peaks_xy[t, q, 1]
            out_kpts[k, j, 2] = peaks_score[t, q]
        k += 1
    return k

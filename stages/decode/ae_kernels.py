"""Numba kernels shared by the pose decoders.

Every function here is a pure module-level ``@numba.njit(cache=True)`` function that takes only
numpy arrays and scalars, and writes its results into arrays the caller preallocates where the
result has a size known in advance. Workers are single-threaded, so nothing is ``parallel``.
Each kernel has a plain-numpy twin of the same name and signature in
:mod:`stages.decode.ae_reference`; the tests run both over the same inputs.

Conventions
-----------
* Maps are C-contiguous ``(C, H, W)`` arrays; a location is ``(x, y)`` = (column, row) in
  **output-map cells**, cell centres at integer coordinates.
* Peak tables are ``(C, P, ...)`` arrays holding up to ``P`` peaks per channel, sorted by
  descending score, with the number of valid rows per channel in a ``(C,)`` count array.
* Scalars arrive as Python ``float``/``int`` (float64/int64), internal arithmetic is float64.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tracking.assignment_kernels import FORBIDDEN, hungarian


# ---------------------------------------------------------------------------------------------
# Peaks
# ---------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def quadratic_offset(lo: float, mid: float, hi: float) -> float:
    """Sub-cell offset of a peak from three samples at -1, 0, +1 along one axis.

    Fits a parabola through the logarithms of the samples when all three are positive (exact for
    a Gaussian blob), else through the samples themselves. Returns the vertex position in
    ``[-0.5, 0.5]``, or 0 when the samples are not concave or not finite.
    """
    if lo > 0.0 and mid > 0.0 and hi > 0.0:
        a = np.log(lo)
        b = np.log(mid)
        c = np.log(hi)
    else:
        a = lo
        b = mid
        c = hi
    denom = a - 2.0 * b + c
    if not denom < 0.0:
        return 0.0
    off = 0.5 * (a - c) / denom
    if not np.isfinite(off):
        return 0.0
    if off > 0.5:
        return 0.5
    if off < -0.5:
        return -0.5
    return off


@nb.njit(cache=True)
def is_local_max(m: np.ndarray, y: int, x: int, radius: int, absolute: bool) -> bool:
    """Whether ``m[y, x]`` is the maximum of its ``(2 radius + 1)^2`` window (clipped to the map).

    ``m`` is ``(H, W)``; with ``absolute`` the values compared are ``|m|``. Ties go to the first
    location in raster order: the centre must be strictly greater than the neighbours before it
    and at least equal to those after it, so a plateau yields exactly one peak. The 3x3 ring is
    checked first, since most cells fail there.
    """
    h, w = m.shape
    v = m[y, x]
    if absolute:
        v = abs(v)
    for ring in range(2):
        r = 1 if ring == 0 else radius
        for yy in range(max(0, y - r), min(h, y + r + 1)):
            for xx in range(max(0, x - r), min(w, x + r + 1)):
                if yy == y and xx == x:
                    continue
                if ring == 1 and abs(yy - y) <= 1 and abs(xx - x) <= 1:
                    continue  # done in the first pass
                n = m[yy, xx]
                if absolute:
                    n = abs(n)
                if yy < y or (yy == y and xx < x):
                    if not v > n:
                        return False
                elif not v >= n:
                    return False
    return True


@nb.njit(cache=True)
def find_peaks(maps: np.ndarray, threshold: float, radius: int, absolute: bool,
               out_xy: np.ndarray, out_ij: np.ndarray, out_score: np.ndarray,
               out_count: np.ndarray) -> int:
    """Non-maximum suppression and sub-cell refinement of every channel of ``maps``.

    Parameters
    ----------
    maps : (C, H, W) float array
        Score maps.
    threshold : float (>= 0)
        A peak's value must be finite and strictly above this.
    radius : int
        NMS window half-size (1 gives 3x3, 2 gives 5x5).
    absolute : bool
        For maps whose non-maxima a graph NMS has negated: a peak must still be positive, but it
        is compared with (and refined on) the neighbours' absolute values, which undoes the
        negation. On maps without negation it changes nothing but the treatment of negative
        neighbours.
    out_xy : (C, P, 2) float64
        Written: refined ``x, y`` of the ``P`` best peaks per channel, best first.
    out_ij : (C, P, 2) int64
        Written: the integer ``x, y`` cell of each peak.
    out_score : (C, P) float64
        Written: the map value at each peak.
    out_count : (C,) int64
        Written: the number of peaks kept per channel (``<= P``).

    Returns
    -------
    int
        Total number of peaks kept.
    """
    n_ch, h, w = maps.shape
    max_peaks = out_xy.shape[1]
    vals = np.empty(h * w, np.float64)
    locs = np.empty(h * w, np.int64)
    total = 0
    for c in range(n_ch):
        m = maps[c]
        n = 0
        for y in range(h):
            row = m[y]
            hits = 0
            for x in range(w):  # a vectorisable count first: most rows hold no candidate
                hits += row[x] > threshold
            if hits == 0:
                continue
            for x in range(w):
                v = row[x]
                if v > threshold:
                    if np.isfinite(v) and is_local_max(m, y, x, radius, absolute):
                        vals[n] = v
                        locs[n] = y * w + x
                        n += 1
        order = np.argsort(-vals[:n], kind="mergesort")
        k = min(n, max_peaks)
        for i in range(k):
            loc = locs[order[i]]
            y = loc // w
            x = loc - y * w
            ox = 0.0
            oy = 0.0
            mid = np.float64(m[y, x])
            if 0 < x < w - 1:
                lo = np.float64(m[y, x - 1])
                hi = np.float64(m[y, x + 1])
                if absolute:
                    lo = abs(lo)
                    hi = abs(hi)
                ox = quadratic_offset(lo, mid, hi)
            if 0 < y < h - 1:
                lo = np.float64(m[y - 1, x])
                hi = np.float64(m[y + 1, x])
                if absolute:
                    lo = abs(lo)
                    hi = abs(hi)
                oy = quadratic_offset(lo, mid, hi)
            out_xy[c, i, 0] = x + ox
            out_xy[c, i, 1] = y + oy
            out_ij[c, i, 0] = x
            out_ij[c, i, 1] = y
            out_score[c, i] = vals[order[i]]
        out_count[c] = k
        total += k
    return total


@nb.njit(cache=True)
def upsample_bilinear(src: np.ndarray, out: np.ndarray) -> None:
    """Bilinear resize of ``src`` (C, h, w) into ``out`` (C, H, W), half-pixel centres.

    Same sampling as ``torch.nn.functional.interpolate(mode="bilinear", align_corners=False)``
    and ``cv2.resize(INTER_LINEAR)``: output cell ``X`` reads source position
    ``(X + 0.5) * w / W - 0.5``, clamped to the map.
    """
    n_ch, h, w = src.shape
    hh, ww = out.shape[1], out.shape[2]
    sy = h / hh
    sx = w / ww
    for y in range(hh):
        fy = max((y + 0.5) * sy - 0.5, 0.0)
        y0 = min(int(fy), h - 1)
        y1 = min(y0 + 1, h - 1)
        wy = fy - y0
        for x in range(ww):
            fx = max((x + 0.5) * sx - 0.5, 0.0)
            x0 = min(int(fx), w - 1)
            x1 = min(x0 + 1, w - 1)
            wx = fx - x0
            for c in range(n_ch):
                top = src[c, y0, x0] * (1.0 - wx) + src[c, y0, x1] * wx
                bottom = src[c, y1, x0] * (1.0 - wx) + src[c, y1, x1] * wx
                out[c, y, x] = top * (1.0 - wy) + bottom * wy


NOISE_BINS = 1024  # resolution of :func:`noise_sigma`'s histogram over [0, 1)
NOISE_SAMPLES = 65536  # cells :func:`noise_sigma` reads at least (evenly spaced) when the maps hold more


@nb.njit(cache=True)
def noise_sigma(maps: np.ndarray) -> float:
    """Robust estimate of the standard deviation of zero-mean noise on score maps (C, H, W).

    Most cells of a heatmap are background, so the median of ``|value|`` over the finite non-zero
    cells is the background's; for Gaussian noise it is 0.6745 sigma. Cells exactly zero are left
    out: a ReLU (HigherHRNet's graph) zeroes the negative half of the noise, and what is left is
    still half-normal. The median is read from a histogram of ``NOISE_BINS`` bins over [0, 1)
    (larger values in the last bin): the centre of the first bin where the cumulative count
    reaches half the cells. Maps of more than ``2 * NOISE_SAMPLES`` cells are read every
    ``size // NOISE_SAMPLES``-th cell (in memory order), which estimates the same median. Returns
    0.0 for a map without finite non-zero cells.
    """
    hist = np.zeros(NOISE_BINS, np.int64)
    flat = maps.ravel()
    step = max(1, flat.shape[0] // NOISE_SAMPLES)
    n = 0
    for i in range(0, flat.shape[0], step):
        v = abs(np.float64(flat[i]))
        if not np.isfinite(v) or v == 0.0:
            continue
        b = int(v * NOISE_BINS)
        if b > NOISE_BINS - 1:
            b = NOISE_BINS - 1
        hist[b] += 1
        n += 1
    if n == 0:
        return 0.0
    half = (n + 1) // 2
    acc = 0
    for b in range(NOISE_BINS):
        acc += hist[b]
        if acc >= half:
            return (b + 0.5) / NOISE_BINS / 0.6745
    return 1.0 / 0.6745


# ---------------------------------------------------------------------------------------------
# OpenPose: part affinity fields and greedy assembly
# ---------------------------------------------------------------------------------------------


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
    reliable direction: it scores half the field's magnitude at its midpoint, and is accepted when
    that magnitude exceeds ``short_min``. The half keeps a short candidate below a well-aligned
    long one for the same joints.

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
            return 0.5 * mag
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


# ---------------------------------------------------------------------------------------------
# Associative embedding: grouping by tag (optimal assignment), filling
# ---------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def group_ae(peaks_xy: np.ndarray, peaks_ij: np.ndarray, peaks_score: np.ndarray,
             peaks_count: np.ndarray, tags: np.ndarray, joint_order: np.ndarray,
             tag_threshold: float, dist_weight: float, score_weight: float, dup_radius: float,
             out_pose_peak: np.ndarray, out_pose_tag: np.ndarray) -> int:
    """Group peaks into people by their associative-embedding tags.

    Parameters
    ----------
    peaks_xy, peaks_ij, peaks_score, peaks_count : (K, P, 2), (K, P, 2), (K, P), (K,)
        Peaks per joint from :func:`find_peaks`.
    tags : (K, H, W) float array
        One scalar tag per joint and cell; a peak's tag is read at its integer cell. Peaks with a
        non-finite tag are ignored.
    joint_order : (K,) int64
        Order in which joint types join the grouping (most reliable first).
    tag_threshold : float
        A joint may join a person only if its tag is closer than this to the person's mean tag.
    dist_weight : float
        Weight of the spatial term: cost = tag distance + ``dist_weight`` * distance to the
        person's centre / max(H, W) - ``score_weight`` * the candidate's heatmap value.
    score_weight : float
        Weight of the detection score in the cost: of two candidates for one person, the
        stronger peak wins (a noise bump on the flank of a joint's blob loses to the blob).
    dup_radius : float
        A candidate left without a person is a second detection of a joint already taken, and is
        dropped, when some person whose tag is within ``tag_threshold`` has that joint closer
        than ``dup_radius`` cells; otherwise it starts a new person.
    out_pose_peak : (Q, K) int64
        Written: per person, the index of its peak of each joint or -1. People beyond ``Q`` are
        dropped; ``Q = K * P`` never drops any.
    out_pose_tag : (Q,) float64
        Written: each person's mean tag.

    Returns
    -------
    int
        Number of people.

    For each joint type in turn, the candidates are assigned to the people found so far by an
    optimal (Hungarian) assignment on the cost above, pairs whose tags are too far apart being
    forbidden; a candidate left without a person starts a new one unless it duplicates a joint
    already taken (``dup_radius``), candidates taken strongest first.
    """
    n_types = peaks_score.shape[0]
    cap = out_pose_peak.shape[0]
    h, w = tags.shape[1], tags.shape[2]
    norm = float(max(h, w))
    tag_sum = np.zeros(cap, np.float64)
    cx_sum = np.zeros(cap, np.float64)
    cy_sum = np.zeros(cap, np.float64)
    count = np.zeros(cap, np.int64)
    n_pose = 0
    cand = np.empty(peaks_score.shape[1], np.int64)
    cand_tag = np.empty(peaks_score.shape[1], np.float64)
    for oi in range(joint_order.shape[0]):
        j = joint_order[oi]
        if j < 0 or j >= n_types:
            continue
        nc = 0
        for i in range(peaks_count[j]):
            t = np.float64(tags[j, peaks_ij[j, i, 1], peaks_ij[j, i, 0]])
            if np.isfinite(t):
                cand[nc] = i
                cand_tag[nc] = t
                nc += 1
        if nc == 0:
            continue
        n_old = n_pose
        assigned = np.full(nc, -1, np.int64)
        if n_old > 0:
            cost = np.empty((nc, n_old), np.float64)
            for r in range(nc):
                x = peaks_xy[j, cand[r], 0]
                y = peaks_xy[j, cand[r], 1]
                for p in range(n_old):
                    d_tag = abs(cand_tag[r] - tag_sum[p] / count[p])
                    if d_tag < tag_threshold:
                        dx = x - cx_sum[p] / count[p]
                        dy = y - cy_sum[p] / count[p]
                        cost[r, p] = (d_tag + dist_weight * np.sqrt(dx * dx + dy * dy) / norm
                                      - score_weight * peaks_score[j, cand[r]])
                    else:
                        cost[r, p] = FORBIDDEN
            hungarian(cost, assigned)
            for r in range(nc):
                if assigned[r] >= 0 and cost[r, assigned[r]] >= FORBIDDEN:
                    assigned[r] = -1
            for r in range(nc):  # the assigned joints first: duplicates are checked against them
                p = assigned[r]
                if p >= 0:
                    i = cand[r]
                    out_pose_peak[p, j] = i
                    tag_sum[p] += cand_tag[r]
                    cx_sum[p] += peaks_xy[j, i, 0]
                    cy_sum[p] += peaks_xy[j, i, 1]
                    count[p] += 1
        for r in range(nc):
            p = assigned[r]
            if p >= 0:
                continue
            i = cand[r]
            dup = False
            for q in range(n_pose):
                iq = out_pose_peak[q, j]
                if iq < 0 or not abs(cand_tag[r] - tag_sum[q] / count[q]) < tag_threshold:
                    continue
                dx = peaks_xy[j, i, 0] - peaks_xy[j, iq, 0]
                dy = peaks_xy[j, i, 1] - peaks_xy[j, iq, 1]
                if dx * dx + dy * dy < dup_radius * dup_radius:
                    dup = True
                    break
            if dup or n_pose >= cap:
                continue
            p = n_pose
            n_pose += 1
            out_pose_peak[p, :] = -1
            out_pose_peak[p, j] = i
            tag_sum[p] += cand_tag[r]
            cx_sum[p] += peaks_xy[j, i, 0]
            cy_sum[p] += peaks_xy[j, i, 1]
            count[p] += 1
    for p in range(n_pose):
        out_pose_tag[p] = tag_sum[p] / count[p]
    return n_pose


@nb.njit(cache=True)
def _fits(pose_peak: np.ndarray, peaks_xy: np.ndarray, p: int, q: int, j: int, x0: float,
          x1: float, y0: float, y1: float, margin: float, dup_radius: float) -> bool:
    """Whether joint ``j`` of group ``q`` can join group ``p`` (bounding box ``x0..x1``,
    ``y0..y1``): see :func:`merge_fragments`."""
    iq = pose_peak[q, j]
    if iq < 0:
        return False
    x = peaks_xy[j, iq, 0]
    y = peaks_xy[j, iq, 1]
    grow = margin * max(x1 - x0, y1 - y0) + 2.0
    if x < x0 - grow or x > x1 + grow or y < y0 - grow or y > y1 + grow:
        return False
    ip = pose_peak[p, j]
    if ip >= 0:
        dx = x - peaks_xy[j, ip, 0]
        dy = y - peaks_xy[j, ip, 1]
        return dx * dx + dy * dy < dup_radius * dup_radius
    return True


@nb.njit(cache=True)
def merge_fragments(pose_peak: np.ndarray, n: int, peaks_xy: np.ndarray, peaks_ij: np.ndarray,
                    tags: np.ndarray, merge_tag_threshold: float, dup_radius: float,
                    margin: float, out_pose_tag: np.ndarray) -> int:
    """Merge the fragments of a person back into it, after :func:`group_ae`.

    A joint whose tag noise took it away from its person's tag starts a group of its own, which
    may collect a few more such joints, or a noise peak: a fragment. Groups are taken smallest
    first (fewest joints; ties: the later group). A joint of the group *fits* a larger group
    (more joints, or as many and earlier) when it lies inside that group's bounding box grown by
    ``margin`` times its larger side plus 2 cells, and that group either lacks the joint or has
    it closer than ``dup_radius`` cells (the same joint detected twice). The group gives its
    fitting joints to the larger group whose mean tag is closest, among those within
    ``merge_tag_threshold`` that more than half of its joints fit; a joint detected twice is
    dropped (the larger group's stays); joints that do not fit stay where they are, and a group
    left empty is removed.

    ``pose_peak`` (Q, K) rows ``0..n-1`` are rewritten (merged groups removed, order kept);
    ``out_pose_tag`` (>= n) receives each remaining group's mean tag. Returns the new count.
    """
    k = pose_peak.shape[1]
    count = np.zeros(n, np.int64)
    x0 = np.full(n, np.inf)
    x1 = np.full(n, -np.inf)
    y0 = np.full(n, np.inf)
    y1 = np.full(n, -np.inf)
    for p in range(n):
        for j in range(k):
            i = pose_peak[p, j]
            if i >= 0:
                count[p] += 1
                x0[p] = min(x0[p], peaks_xy[j, i, 0])
                x1[p] = max(x1[p], peaks_xy[j, i, 0])
                y0[p] = min(y0[p], peaks_xy[j, i, 1])
                y1[p] = max(y1[p], peaks_xy[j, i, 1])
    order = np.argsort(-count, kind="mergesort")  # largest first, ties in index order
    alive = np.ones(n, np.bool_)
    for rq in range(n - 1, 0, -1):
        q = order[rq]
        if count[q] == 0:
            continue
        tq = _group_tag(pose_peak, q, tags, peaks_ij)
        best = -1
        best_d = merge_tag_threshold
        for rp in range(rq):
            p = order[rp]
            if not alive[p] or count[p] == 0:
                continue
            d = abs(_group_tag(pose_peak, p, tags, peaks_ij) - tq)
            if not d < best_d:
                continue
            n_fit = 0
            for j in range(k):
                n_fit += _fits(pose_peak, peaks_xy, p, q, j, x0[p], x1[p], y0[p], y1[p],
                               margin, dup_radius)
            if 2 * n_fit > count[q]:
                best = p
                best_d = d
        if best < 0:
            continue
        p = best
        bx0, bx1, by0, by1 = x0[p], x1[p], y0[p], y1[p]
        for j in range(k):
            iq = pose_peak[q, j]
            if iq < 0 or not _fits(pose_peak, peaks_xy, p, q, j, bx0, bx1, by0, by1, margin,
                                   dup_radius):
                continue
            pose_peak[q, j] = -1
            count[q] -= 1
            if pose_peak[p, j] >= 0:
                continue  # the same joint detected twice: the larger group's stays
            pose_peak[p, j] = iq
            count[p] += 1
            x0[p] = min(x0[p], peaks_xy[j, iq, 0])
            x1[p] = max(x1[p], peaks_xy[j, iq, 0])
            y0[p] = min(y0[p], peaks_xy[j, iq, 1])
            y1[p] = max(y1[p], peaks_xy[j, iq, 1])
        if count[q] == 0:
            alive[q] = False
    m = 0
    for p in range(n):
        if not alive[p]:
            continue
        if m != p:
            pose_peak[m, :] = pose_peak[p, :]
        out_pose_tag[m] = _group_tag(pose_peak, m, tags, peaks_ij)
        m += 1
    return m


@nb.njit(cache=True)
def _group_tag(pose_peak: np.ndarray, p: int, tags: np.ndarray, peaks_ij: np.ndarray) -> float:
    """Mean tag of group ``p``'s joints (in joint order), 0.0 for an empty group."""
    total = 0.0
    c = 0
    for j in range(pose_peak.shape[1]):
        i = pose_peak[p, j]
        if i >= 0:
            total += np.float64(tags[j, peaks_ij[j, i, 1], peaks_ij[j, i, 0]])
            c += 1
    return total / c if c > 0 else 0.0


@nb.njit(cache=True)
def ae_keypoints(pose_peak: np.ndarray, n: int, peaks_xy: np.ndarray, peaks_score: np.ndarray,
                 out_kpts: np.ndarray) -> None:
    """Keypoints ``x, y, score`` (map cells) of the first ``n`` people of ``pose_peak`` (Q, K).

    Writes ``out_kpts`` (>= n, K, 3); joints without a peak are all zero.
    """
    n_types = pose_peak.shape[1]
    for p in range(n):
        for j in range(n_types):
            i = pose_peak[p, j]
            if i < 0:
                out_kpts[p, j, 0] = 0.0
                out_kpts[p, j, 1] = 0.0
                out_kpts[p, j, 2] = 0.0
            else:
                out_kpts[p, j, 0] = peaks_xy[j, i, 0]
                out_kpts[p, j, 1] = peaks_xy[j, i, 1]
                out_kpts[p, j, 2] = peaks_score[j, i]


@nb.njit(cache=True)
def fill_missing(heat: np.ndarray, tags: np.ndarray, kpts: np.ndarray, pose_tag: np.ndarray,
                 n: int, fill_threshold: float, fill_tag_threshold: float,
                 min_separation: float, reach: float, min_joints: int) -> int:
    """Fill the joints the grouping left empty from the heatmaps and tags.

    ``heat`` (K, H, W) may carry a graph NMS's negated non-maxima: its absolute value is used.
    For person ``p`` and a missing joint ``j``, the candidate is the cell of ``|heat[j]|`` with
    the highest value among the cells

    * whose tag ``tags[j]`` (K, H, W) is within ``fill_tag_threshold`` of the person's tag
      ``pose_tag[p]``,
    * whose value is finite and at least ``fill_threshold``,
    * that lie in the square of half-side ``reach * max(extent, min_separation)`` around the
      person's centre (mean of its joints; ``extent`` = distance of its farthest joint from it).

    It is rejected when it lies closer than ``min_separation`` cells to joint ``j`` of any other
    person, so no person takes another's joint. People with fewer than ``min_joints`` joints are
    not filled (a group of a few noise peaks must not grow into a person). Accepted fills are refined to sub-cell precision
    and written into ``kpts`` (>= n, K, 3), in map cells.

    People are filled in index order, each person's window being set before its fills; returns
    the number of joints filled.
    """
    n_types, h, w = heat.shape
    filled = 0
    # The cells that can be filled at all (|heat| >= threshold, finite), per joint, in raster
    # order: each person then scans only these, not its whole window (same result, same ties).
    start = np.zeros(n_types + 1, dtype=np.int64)
    for j in range(n_types):
        count = 0
        for y in range(h):
            for x in range(w):
                v = abs(heat[j, y, x])
                if v >= fill_threshold and np.isfinite(v):
                    count += 1
        start[j + 1] = start[j] + count
    cand_y = np.empty(start[n_types], dtype=np.int32)
    cand_x = np.empty(start[n_types], dtype=np.int32)
    for j in range(n_types):
        i = start[j]
        for y in range(h):
            for x in range(w):
                v = abs(heat[j, y, x])
                if v >= fill_threshold and np.isfinite(v):
                    cand_y[i] = y
                    cand_x[i] = x
                    i += 1
    for p in range(n):
        pt = pose_tag[p]
        cx = 0.0
        cy = 0.0
        cnt = 0
        for j in range(n_types):
            if kpts[p, j, 2] > 0.0:
                cx += kpts[p, j, 0]
                cy += kpts[p, j, 1]
                cnt += 1
        if cnt == 0 or cnt < min_joints:
            continue
        cx /= cnt
        cy /= cnt
        extent = 0.0
        for j in range(n_types):
            if kpts[p, j, 2] > 0.0:
                extent = max(extent, np.sqrt((kpts[p, j, 0] - cx) ** 2 + (kpts[p, j, 1] - cy) ** 2))
        half = reach * max(extent, min_separation)
        x0 = max(int(np.ceil(cx - half)), 0)
        x1 = min(int(np.floor(cx + half)), w - 1)
        y0 = max(int(np.ceil(cy - half)), 0)
        y1 = min(int(np.floor(cy + half)), h - 1)
        for j in range(n_types):
            if kpts[p, j, 2] > 0.0:
                continue
            best = -1.0
            bx = -1
            by = -1
            hm = heat[j]
            tg = tags[j]
            for i in range(start[j], start[j + 1]):
                y = cand_y[i]
                x = cand_x[i]
                if y < y0 or y > y1 or x < x0 or x > x1:
                    continue
                v = abs(hm[y, x])
                if v > best and abs(tg[y, x] - pt) <= fill_tag_threshold:
                    best = v
                    bx = x
                    by = y
            if bx < 0:
                continue
            clash = False
            for q in range(n):
                if q == p or not kpts[q, j, 2] > 0.0:
                    continue
                dx = kpts[q, j, 0] - bx
                dy = kpts[q, j, 1] - by
                if dx * dx + dy * dy < min_separation * min_separation:
                    clash = True
                    break
            if clash:
                continue
            ox = 0.0
            oy = 0.0
            if 0 < bx < w - 1:
                ox = quadratic_offset(abs(np.float64(hm[by, bx - 1])), np.float64(best),
                                      abs(np.float64(hm[by, bx + 1])))
            if 0 < by < h - 1:
                oy = quadratic_offset(abs(np.float64(hm[by - 1, bx])), np.float64(best),
                                      abs(np.float64(hm[by + 1, bx])))
            kpts[p, j, 0] = bx + ox
            kpts[p, j, 1] = by + oy
            kpts[p, j, 2] = best
            filled += 1
    return filled


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def finalize_poses(kpts: np.ndarray, n: int, stride: float, min_pose_score: float,
                   out_kpts: np.ndarray, out_scores: np.ndarray) -> int:
    """Score, filter, sort and scale the first ``n`` people of ``kpts`` (>= n, J, 3) map cells.

    A person's score is the mean of its ``J`` keypoint scores (missing ones count 0). People
    scoring at least ``min_pose_score`` are written best first, up to ``out_kpts.shape[0]``, into
    ``out_kpts`` (Q, J, 3) float32 and ``out_scores`` (Q,) float32, with coordinates in
    network-input pixels: ``x_in = (x + 0.5) * stride - 0.5`` (cell centres map to the centres of
    the input pixel blocks they cover). Missing keypoints stay ``0, 0, 0``.

    Returns the number of people written.
    """
    n_j = kpts.shape[1]
    scores = np.empty(n, np.float64)
    for p in range(n):
        s = 0.0
        for j in range(n_j):
            s += kpts[p, j, 2]
        scores[p] = s / n_j
    order = np.argsort(-scores, kind="mergesort")
    k = 0
    for t in range(n):
        if k >= out_kpts.shape[0]:
            break
        p = order[t]
        if not scores[p] >= min_pose_score:
            continue
        for j in range(n_j):
            if kpts[p, j, 2] > 0.0:
                out_kpts[k, j, 0] = (kpts[p, j, 0] + 0.5) * stride - 0.5
                out_kpts[k, j, 1] = (kpts[p, j, 1] + 0.5) * stride - 0.5
                out_kpts[k, j, 2] = kpts[p, j, 2]
            else:
                out_kpts[k, j, 0] = 0.0
                out_kpts[k, j, 1] = 0.0
                out_kpts[k, j, 2] = 0.0
        out_scores[k] = scores[p]
        k += 1
    return k

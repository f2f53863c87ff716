"""Numba kernels shared by the heat-map decoders: peaks, the maps' noise level, upsampling, and
the scoring and scaling of the decoded poses.

Every function here is a pure module-level ``@numba.njit(cache=True)`` function that takes only
numpy arrays and scalars, and writes its results into arrays the caller preallocates where the
result has a size known in advance. Workers are single-threaded, so nothing is ``parallel``.
Each kernel has a plain-numpy twin of the same name and signature in
:mod:`stages.decode.heatmap_reference`; the tests run both over the same inputs.

A kernel lives here when more than one family uses it; each family's own kernels sit beside its
decoder (:mod:`stages.decode.openpose_kernels`, :mod:`stages.decode.ae_kernels`) and import from
here the shared ones their decoder calls, so that each is a complete backend on its own.
Numba's cache does not notice a change made in another file: :func:`quadratic_offset` is compiled
into the cached :func:`stages.decode.ae_kernels.fill_missing`, so after changing it, touch
``ae_kernels.py`` (or delete its entries in ``__pycache__``).

Conventions
-----------
Shared by every kernel module of the heat-map decoders.

* Maps are C-contiguous ``(C, H, W)`` arrays; a location is ``(x, y)`` = (column, row) in
  **output-map cells**, cell centres at integer coordinates.
* Peak tables are ``(C, P, ...)`` arrays holding up to ``P`` peaks per channel, sorted by
  descending score, with the number of valid rows per channel in a ``(C,)`` count array.
* Scalars arrive as Python ``float``/``int`` (float64/int64), internal arithmetic is float64.
"""

from __future__ import annotations

import numba as nb
import numpy as np


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

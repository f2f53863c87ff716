"""Plain-numpy twins of :mod:`stages.decode.heatmap_kernels`.

One function per kernel, same name, same signature, same results, written for clarity rather
than speed (vectorised numpy where that is the obvious formulation, plain loops where the
algorithm is sequential). The tests compare every kernel with its twin, and run whole decoders on
the family twins that import these, :mod:`stages.decode.openpose_reference` and
:mod:`stages.decode.ae_reference`, as backends (``decode_with(openpose_reference, ...)``).
"""

from __future__ import annotations

import math

import numpy as np


# ---------------------------------------------------------------------------------------------
# Peaks
# ---------------------------------------------------------------------------------------------


def quadratic_offset(lo: float, mid: float, hi: float) -> float:
    """See :func:`stages.decode.heatmap_kernels.quadratic_offset`."""
    lo, mid, hi = float(lo), float(mid), float(hi)
    if lo > 0.0 and mid > 0.0 and hi > 0.0:
        a, b, c = math.log(lo), math.log(mid), math.log(hi)
    else:
        a, b, c = lo, mid, hi
    denom = a - 2.0 * b + c
    if not denom < 0.0:
        return 0.0
    off = 0.5 * (a - c) / denom
    if not math.isfinite(off):
        return 0.0
    return float(min(max(off, -0.5), 0.5))


def is_local_max(m: np.ndarray, y: int, x: int, radius: int, absolute: bool) -> bool:
    """See :func:`stages.decode.heatmap_kernels.is_local_max`."""
    if absolute:
        m = np.abs(m)
    h, w = m.shape
    y0, y1 = max(0, y - radius), min(h, y + radius + 1)
    x0, x1 = max(0, x - radius), min(w, x + radius + 1)
    window = m[y0:y1, x0:x1]
    yy, xx = np.mgrid[y0:y1, x0:x1]
    before = (yy < y) | ((yy == y) & (xx < x))
    after = ~before & ~((yy == y) & (xx == x))
    v = m[y, x]
    return bool(np.all(v > window[before]) and np.all(v >= window[after]))


def _peak_mask(m: np.ndarray, threshold: float, radius: int, absolute: bool) -> np.ndarray:
    """Boolean (H, W) mask of the NMS peaks of one map, rules of :func:`find_peaks`."""
    h, w = m.shape
    mask = (m > threshold) & np.isfinite(m)
    if absolute:
        m = np.abs(m)
    padded = np.full((h + 2 * radius, w + 2 * radius), -np.inf)
    padded[radius:radius + h, radius:radius + w] = m
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy == 0 and dx == 0:
                continue
            shifted = padded[radius + dy:radius + dy + h, radius + dx:radius + dx + w]
            with np.errstate(invalid="ignore"):
                if dy < 0 or (dy == 0 and dx < 0):
                    mask &= m > shifted
                else:
                    mask &= m >= shifted
    return mask


def find_peaks(maps: np.ndarray, threshold: float, radius: int, absolute: bool,
               out_xy: np.ndarray, out_ij: np.ndarray, out_score: np.ndarray,
               out_count: np.ndarray) -> int:
    """See :func:`stages.decode.heatmap_kernels.find_peaks`."""
    max_peaks = out_xy.shape[1]
    total = 0
    for c in range(maps.shape[0]):
        raw = maps[c].astype(np.float64)
        m = np.abs(raw) if absolute else raw
        h, w = m.shape
        ys, xs = np.nonzero(_peak_mask(raw, threshold, radius, absolute))
        vals = raw[ys, xs]
        order = np.argsort(-vals, kind="mergesort")[:max_peaks]
        for i, o in enumerate(order):
            x, y = int(xs[o]), int(ys[o])
            ox = quadratic_offset(m[y, x - 1], m[y, x], m[y, x + 1]) if 0 < x < w - 1 else 0.0
            oy = quadratic_offset(m[y - 1, x], m[y, x], m[y + 1, x]) if 0 < y < h - 1 else 0.0
            out_xy[c, i] = (x + ox, y + oy)
            out_ij[c, i] = (x, y)
            out_score[c, i] = vals[o]
        out_count[c] = len(order)
        total += len(order)
    return total


NOISE_BINS = 1024
NOISE_SAMPLES = 65536


def noise_sigma(maps: np.ndarray) -> float:
    """See :func:`stages.decode.heatmap_kernels.noise_sigma`."""
    flat = maps.ravel()
    v = np.abs(flat[::max(1, flat.size // NOISE_SAMPLES)].astype(np.float64))
    v = v[np.isfinite(v) & (v != 0.0)]
    if v.size == 0:
        return 0.0
    bins = np.minimum((v * NOISE_BINS).astype(np.int64), NOISE_BINS - 1)
    cum = np.cumsum(np.bincount(bins, minlength=NOISE_BINS))
    b = int(np.searchsorted(cum, (v.size + 1) // 2))
    return (b + 0.5) / NOISE_BINS / 0.6745


def upsample_bilinear(src: np.ndarray, out: np.ndarray) -> None:
    """See :func:`stages.decode.heatmap_kernels.upsample_bilinear`."""
    _, h, w = src.shape
    hh, ww = out.shape[1:]
    fy = np.maximum((np.arange(hh) + 0.5) * (h / hh) - 0.5, 0.0)
    fx = np.maximum((np.arange(ww) + 0.5) * (w / ww) - 0.5, 0.0)
    y0 = np.minimum(fy.astype(np.int64), h - 1)
    x0 = np.minimum(fx.astype(np.int64), w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    x1 = np.minimum(x0 + 1, w - 1)
    wy = (fy - y0)[:, None]
    wx = (fx - x0)[None, :]
    s = src.astype(np.float64)
    top = s[:, y0][:, :, x0] * (1.0 - wx) + s[:, y0][:, :, x1] * wx
    bottom = s[:, y1][:, :, x0] * (1.0 - wx) + s[:, y1][:, :, x1] * wx
    out[...] = top * (1.0 - wy) + bottom * wy


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def finalize_poses(kpts: np.ndarray, n: int, stride: float, min_pose_score: float,
                   out_kpts: np.ndarray, out_scores: np.ndarray) -> int:
    """See :func:`stages.decode.heatmap_kernels.finalize_poses`."""
    k3 = kpts[:n].astype(np.float64)
    scores = k3[:, :, 2].sum(axis=1) / k3.shape[1]
    order = np.argsort(-scores, kind="mergesort")
    order = order[scores[order] >= min_pose_score][:out_kpts.shape[0]]
    chosen = k3[order]
    present = chosen[:, :, 2:3] > 0.0
    xy = (chosen[:, :, :2] + 0.5) * stride - 0.5
    out_kpts[:len(order)] = np.where(present, np.concatenate([xy, chosen[:, :, 2:3]], axis=2), 0.0)
    out_scores[:len(order)] = scores[order]
    return len(order)

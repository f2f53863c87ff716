"""Plain-numpy twins of :mod:`stages.decode.openpose_kernels` (same names, signatures and results,
written for clarity rather than speed). With the heat-map twins it exports from
:mod:`stages.decode.heatmap_reference`, a whole backend for the OpenPose decoder: the tests run
``openpose.decode_with(openpose_reference, ...)``.
"""

from __future__ import annotations

import math

import numpy as np

from .heatmap_reference import finalize_poses, find_peaks, noise_sigma  # noqa: F401 - re-exported


def limb_score(paf_x: np.ndarray, paf_y: np.ndarray, ax: float, ay: float, bx: float, by: float,
               n_samples: int, min_alignment: float, min_success: float, short_len: float,
               short_min: float) -> float:
    """See :func:`stages.decode.openpose_kernels.limb_score`."""
    h, w = paf_x.shape
    vec = np.array([bx - ax, by - ay], np.float64)
    length = float(np.hypot(*vec))
    if not (length >= short_len and length > 0.0):
        if not math.isfinite(length):
            return -1.0
        mx = int(np.clip(np.floor(0.5 * (ax + bx) + 0.5), 0, w - 1))
        my = int(np.clip(np.floor(0.5 * (ay + by) + 0.5), 0, h - 1))
        mag = float(np.hypot(float(paf_x[my, mx]), float(paf_y[my, mx])))
        return mag if mag > short_min and math.isfinite(mag) else -1.0
    unit = vec / length
    n = max(n_samples, math.ceil(length) + 1)
    t = np.arange(n) / (n - 1)
    sx = np.clip(np.floor(ax + vec[0] * t + 0.5), 0, w - 1).astype(np.int64)
    sy = np.clip(np.floor(ay + vec[1] * t + 0.5), 0, h - 1).astype(np.int64)
    with np.errstate(invalid="ignore"):
        dots = (paf_x[sy, sx].astype(np.float64) * unit[0]
                + paf_y[sy, sx].astype(np.float64) * unit[1])
    dots[~np.isfinite(dots)] = 0.0
    score = float(dots.sum() / n)
    good = int(np.count_nonzero(dots > min_alignment))
    return score if good > min_success * n and score > 0.0 else -1.0


def score_limbs(paf_x: np.ndarray, paf_y: np.ndarray, a_xy: np.ndarray, b_xy: np.ndarray,
                n_samples: int, min_alignment: float, min_success: float, short_len: float,
                short_min: float, out: np.ndarray) -> None:
    """See :func:`stages.decode.openpose_kernels.score_limbs`."""
    for i, (ax, ay) in enumerate(a_xy):
        for j, (bx, by) in enumerate(b_xy):
            out[i, j] = limb_score(paf_x, paf_y, ax, ay, bx, by, n_samples, min_alignment,
                                   min_success, short_len, short_min)


def greedy_pairs(scores: np.ndarray, out_a: np.ndarray, out_b: np.ndarray,
                 out_s: np.ndarray) -> int:
    """See :func:`stages.decode.openpose_kernels.greedy_pairs`."""
    n, m = scores.shape
    flat = scores.ravel()
    used_a: set[int] = set()
    used_b: set[int] = set()
    k = 0
    for idx in np.argsort(-flat, kind="mergesort"):
        if k >= min(n, m) or not flat[idx] > 0.0:
            break
        i, j = divmod(int(idx), m)
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        out_a[k], out_b[k], out_s[k] = i, j, flat[idx]
        k += 1
    return k


def group_openpose(pafs: np.ndarray, peaks_xy: np.ndarray, peaks_score: np.ndarray,
                   peaks_count: np.ndarray, limbs: np.ndarray, limb_len: np.ndarray,
                   max_stretch: float, n_samples: int, min_alignment: float,
                   min_success: float, short_len: float, short_min: float,
                   out_entries: np.ndarray, out_entry_score: np.ndarray,
                   out_entry_parts: np.ndarray) -> int:
    """See :func:`stages.decode.openpose_kernels.group_openpose`."""
    n_types, max_peaks = peaks_score.shape
    cap = out_entries.shape[0]
    # {"slots": array(K), "score": float, "parts": int, "alive": bool, "scale": float}
    people: list[dict] = []
    owner: dict[tuple[int, int], int] = {}
    for (ta, tb, cx, cy), usual in zip(limbs, limb_len):
        na, nb = int(peaks_count[ta]), int(peaks_count[tb])
        if na == 0 or nb == 0:
            continue
        sc = np.empty((na, nb))
        score_limbs(pafs[cx], pafs[cy], peaks_xy[ta, :na], peaks_xy[tb, :nb], n_samples,
                    min_alignment, min_success, short_len, short_min, sc)
        lengths = np.sqrt((peaks_xy[tb, :nb, 0][None, :] - peaks_xy[ta, :na, 0][:, None]) ** 2
                          + (peaks_xy[tb, :nb, 1][None, :] - peaks_xy[ta, :na, 1][:, None]) ** 2)
        if usual > 0.0:
            for ia, ib in zip(*np.nonzero(sc > 0.0)):
                for e in (owner.get((ta, int(ia)), -1), owner.get((tb, int(ib)), -1)):
                    if e >= 0 and people[e]["scale"] > 0.0:
                        if lengths[ia, ib] > max_stretch * usual * people[e]["scale"] + 0.5:
                            sc[ia, ib] = -1.0
        pa_, pb_, ps_ = (np.empty(min(na, nb), np.int64), np.empty(min(na, nb), np.int64),
                         np.empty(min(na, nb)))
        k = greedy_pairs(sc, pa_, pb_, ps_)
        for ia, ib, s in zip(pa_[:k], pb_[:k], ps_[:k]):
            ia, ib = int(ia), int(ib)
            pa, pb = owner.get((ta, ia), -1), owner.get((tb, ib), -1)
            ratio = lengths[ia, ib] / usual if usual > 0.0 and lengths[ia, ib] >= 1.0 else 0.0
            if pa < 0 and pb < 0:
                if len(people) >= cap:
                    continue
                slots = np.full(n_types, -1, np.int64)
                slots[ta], slots[tb] = ia, ib
                people.append({"slots": slots, "alive": True, "parts": 2, "scale": ratio,
                               "score": peaks_score[ta, ia] + peaks_score[tb, ib] + s})
                owner[(ta, ia)] = owner[(tb, ib)] = len(people) - 1
            elif pb < 0 or pa < 0:
                p, t_new, i_new = (pa, tb, ib) if pb < 0 else (pb, ta, ia)
                person = people[p]
                if person["slots"][t_new] < 0:
                    person["slots"][t_new] = i_new
                    person["score"] += peaks_score[t_new, i_new] + s
                    person["parts"] += 1
                    person["scale"] = max(person["scale"], ratio)
                    owner[(t_new, i_new)] = p
            elif pa == pb:
                people[pa]["score"] += s
            else:
                a, b = people[pa], people[pb]
                if not np.any((a["slots"] >= 0) & (b["slots"] >= 0)):
                    for t in np.nonzero(b["slots"] >= 0)[0]:
                        a["slots"][t] = b["slots"][t]
                        owner[(int(t), int(b["slots"][t]))] = pa
                    a["score"] += b["score"] + s
                    a["parts"] += b["parts"]
                    a["scale"] = max(a["scale"], b["scale"], ratio)
                    b["alive"] = False
    alive = [p for p in people if p["alive"]]
    for e, person in enumerate(alive):
        out_entries[e] = person["slots"]
        out_entry_score[e] = person["score"]
        out_entry_parts[e] = person["parts"]
    return len(alive)


def openpose_keypoints(entries: np.ndarray, n: int, entry_parts: np.ndarray,
                       peaks_xy: np.ndarray, peaks_score: np.ndarray, type_to_out: np.ndarray,
                       min_parts: int, out_kpts: np.ndarray) -> int:
    """See :func:`stages.decode.openpose_kernels.openpose_keypoints`."""
    k = 0
    for e in range(n):
        if entry_parts[e] < min_parts:
            continue
        out_kpts[k] = 0.0
        for t, j in enumerate(type_to_out):
            q = entries[e, t]
            if j >= 0 and q >= 0:
                out_kpts[k, j] = (peaks_xy[t, q, 0], peaks_xy[t, q, 1], peaks_score[t, q])
        k += 1
    return k

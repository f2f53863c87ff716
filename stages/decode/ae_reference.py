"""Plain-numpy twins of :mod:`stages.decode.ae_kernels`.

One function per kernel, same name, same signature, same results, written for clarity rather
than speed (vectorised numpy where that is the obvious formulation, plain loops where the
algorithm is sequential). The tests compare every kernel with its twin, and run whole decoders on
this module as a backend (``decode_with(reference, ...)`` in each family module).
"""

from __future__ import annotations

import math

import numpy as np

from tracking.assignment_reference import FORBIDDEN, hungarian


# ---------------------------------------------------------------------------------------------
# Peaks
# ---------------------------------------------------------------------------------------------


def quadratic_offset(lo: float, mid: float, hi: float) -> float:
    """See :func:`stages.decode.ae_kernels.quadratic_offset`."""
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
    """See :func:`stages.decode.ae_kernels.is_local_max`."""
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
    """See :func:`stages.decode.ae_kernels.find_peaks`."""
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
    """See :func:`stages.decode.ae_kernels.noise_sigma`."""
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
    """See :func:`stages.decode.ae_kernels.upsample_bilinear`."""
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
# OpenPose
# ---------------------------------------------------------------------------------------------


def limb_score(paf_x: np.ndarray, paf_y: np.ndarray, ax: float, ay: float, bx: float, by: float,
               n_samples: int, min_alignment: float, min_success: float, short_len: float,
               short_min: float) -> float:
    """See :func:`stages.decode.ae_kernels.limb_score`."""
    h, w = paf_x.shape
    vec = np.array([bx - ax, by - ay], np.float64)
    length = float(np.hypot(*vec))
    if not (length >= short_len and length > 0.0):
        if not math.isfinite(length):
            return -1.0
        mx = int(np.clip(np.floor(0.5 * (ax + bx) + 0.5), 0, w - 1))
        my = int(np.clip(np.floor(0.5 * (ay + by) + 0.5), 0, h - 1))
        mag = float(np.hypot(float(paf_x[my, mx]), float(paf_y[my, mx])))
        return 0.5 * mag if mag > short_min and math.isfinite(mag) else -1.0
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
    """See :func:`stages.decode.ae_kernels.score_limbs`."""
    for i, (ax, ay) in enumerate(a_xy):
        for j, (bx, by) in enumerate(b_xy):
            out[i, j] = limb_score(paf_x, paf_y, ax, ay, bx, by, n_samples, min_alignment,
                                   min_success, short_len, short_min)


def greedy_pairs(scores: np.ndarray, out_a: np.ndarray, out_b: np.ndarray,
                 out_s: np.ndarray) -> int:
    """See :func:`stages.decode.ae_kernels.greedy_pairs`."""
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
    """See :func:`stages.decode.ae_kernels.group_openpose`."""
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
    """See :func:`stages.decode.ae_kernels.openpose_keypoints`."""
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


# ---------------------------------------------------------------------------------------------
# Associative embedding
# ---------------------------------------------------------------------------------------------


def group_ae(peaks_xy: np.ndarray, peaks_ij: np.ndarray, peaks_score: np.ndarray,
             peaks_count: np.ndarray, tags: np.ndarray, joint_order: np.ndarray,
             tag_threshold: float, dist_weight: float, score_weight: float, dup_radius: float,
             out_pose_peak: np.ndarray, out_pose_tag: np.ndarray) -> int:
    """See :func:`stages.decode.ae_kernels.group_ae`."""
    n_types = peaks_score.shape[0]
    cap = out_pose_peak.shape[0]
    norm = float(max(tags.shape[1:]))
    members: list[list[tuple[float, float, float]]] = []  # per person: (tag, x, y) of its joints
    for j in joint_order:
        if not 0 <= j < n_types:
            continue
        idx = np.arange(peaks_count[j])
        ctag = tags[j, peaks_ij[j, idx, 1], peaks_ij[j, idx, 0]].astype(np.float64)
        keep = np.isfinite(ctag)
        idx, ctag = idx[keep], ctag[keep]
        if len(idx) == 0:
            continue
        assigned = np.full(len(idx), -1, np.int64)
        if members:
            stats = np.array([np.sum(np.asarray(mm), axis=0) / len(mm) for mm in members])
            d_tag = np.abs(ctag[:, None] - stats[None, :, 0])
            dist = np.hypot(peaks_xy[j, idx, 0][:, None] - stats[None, :, 1],
                            peaks_xy[j, idx, 1][:, None] - stats[None, :, 2])
            cost = np.where(d_tag < tag_threshold,
                            d_tag + dist_weight * dist / norm
                            - score_weight * peaks_score[j, idx][:, None], FORBIDDEN)
            hungarian(cost, assigned)
            rows = np.nonzero(assigned >= 0)[0]
            bad = rows[cost[rows, assigned[rows]] >= FORBIDDEN]
            assigned[bad] = -1
        for r in np.nonzero(assigned >= 0)[0]:
            p, i = int(assigned[r]), idx[r]
            out_pose_peak[p, j] = i
            members[p].append((ctag[r], peaks_xy[j, i, 0], peaks_xy[j, i, 1]))
        for r in np.nonzero(assigned < 0)[0]:
            i = idx[r]
            taken = [q for q, mm in enumerate(members) if out_pose_peak[q, j] >= 0
                     and abs(ctag[r] - np.sum(np.asarray(mm)[:, 0]) / len(mm)) < tag_threshold]
            near = [math.hypot(*(peaks_xy[j, i] - peaks_xy[j, out_pose_peak[q, j]])) < dup_radius
                    for q in taken]
            if any(near) or len(members) >= cap:
                continue
            members.append([(ctag[r], peaks_xy[j, i, 0], peaks_xy[j, i, 1])])
            out_pose_peak[len(members) - 1] = -1
            out_pose_peak[len(members) - 1, j] = i
    for p, mm in enumerate(members):
        out_pose_tag[p] = np.sum(np.asarray(mm)[:, 0]) / len(mm)
    return len(members)


def _fits(pose_peak: np.ndarray, peaks_xy: np.ndarray, p: int, q: int, j: int, x0: float,
          x1: float, y0: float, y1: float, margin: float, dup_radius: float) -> bool:
    """See :func:`stages.decode.ae_kernels._fits`."""
    iq = pose_peak[q, j]
    if iq < 0:
        return False
    x, y = peaks_xy[j, iq]
    grow = margin * max(x1 - x0, y1 - y0) + 2.0
    if not (x0 - grow <= x <= x1 + grow and y0 - grow <= y <= y1 + grow):
        return False
    ip = pose_peak[p, j]
    if ip < 0:
        return True
    dx, dy = x - peaks_xy[j, ip, 0], y - peaks_xy[j, ip, 1]
    return bool(dx * dx + dy * dy < dup_radius * dup_radius)


def _group_tag(pose_peak: np.ndarray, p: int, tags: np.ndarray, peaks_ij: np.ndarray) -> float:
    """See :func:`stages.decode.ae_kernels._group_tag`."""
    total, c = 0.0, 0
    for j in np.nonzero(pose_peak[p] >= 0)[0]:
        i = pose_peak[p, j]
        total += float(tags[j, peaks_ij[j, i, 1], peaks_ij[j, i, 0]])
        c += 1
    return total / c if c else 0.0


def merge_fragments(pose_peak: np.ndarray, n: int, peaks_xy: np.ndarray, peaks_ij: np.ndarray,
                    tags: np.ndarray, merge_tag_threshold: float, dup_radius: float,
                    margin: float, out_pose_tag: np.ndarray) -> int:
    """See :func:`stages.decode.ae_kernels.merge_fragments`."""
    k = pose_peak.shape[1]

    def box(p: int) -> tuple[float, float, float, float]:
        js = np.nonzero(pose_peak[p] >= 0)[0]
        pts = peaks_xy[js, pose_peak[p, js]]
        return pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()

    def count(p: int) -> int:
        return int(np.count_nonzero(pose_peak[p] >= 0))

    order = sorted(range(n), key=lambda p: (-count(p), p))
    alive = [True] * n
    for rq in range(n - 1, 0, -1):
        q = order[rq]
        if count(q) == 0:
            continue
        tq = _group_tag(pose_peak, q, tags, peaks_ij)
        best, best_d = -1, merge_tag_threshold
        for p in order[:rq]:
            if not alive[p] or count(p) == 0:
                continue
            d = abs(_group_tag(pose_peak, p, tags, peaks_ij) - tq)
            if not d < best_d:
                continue
            bx = box(p)
            fit = sum(_fits(pose_peak, peaks_xy, p, q, j, *bx, margin, dup_radius)
                      for j in range(k))
            if 2 * fit > count(q):
                best, best_d = p, d
        if best < 0:
            continue
        bx = box(best)
        moving = [j for j in range(k)
                  if _fits(pose_peak, peaks_xy, best, q, j, *bx, margin, dup_radius)]
        for j in moving:
            if pose_peak[best, j] < 0:
                pose_peak[best, j] = pose_peak[q, j]
            pose_peak[q, j] = -1
        alive[q] = count(q) > 0
    kept = [p for p in range(n) if alive[p]]
    pose_peak[:len(kept)] = pose_peak[kept].copy()
    for m in range(len(kept)):
        out_pose_tag[m] = _group_tag(pose_peak, m, tags, peaks_ij)
    return len(kept)


def ae_keypoints(pose_peak: np.ndarray, n: int, peaks_xy: np.ndarray, peaks_score: np.ndarray,
                 out_kpts: np.ndarray) -> None:
    """See :func:`stages.decode.ae_kernels.ae_keypoints`."""
    for p in range(n):
        for j, i in enumerate(pose_peak[p]):
            out_kpts[p, j] = (0.0, 0.0, 0.0) if i < 0 else (*peaks_xy[j, i], peaks_score[j, i])


def fill_missing(heat: np.ndarray, tags: np.ndarray, kpts: np.ndarray, pose_tag: np.ndarray,
                 n: int, fill_threshold: float, fill_tag_threshold: float,
                 min_separation: float, reach: float, min_joints: int) -> int:
    """See :func:`stages.decode.ae_kernels.fill_missing`."""
    _, h, w = heat.shape
    yy, xx = np.mgrid[0:h, 0:w]
    filled = 0
    for p in range(n):
        have = kpts[p, :, 2] > 0.0
        if not have.any() or np.count_nonzero(have) < min_joints:
            continue
        centre = kpts[p, have, :2].sum(axis=0) / np.count_nonzero(have)
        extent = float(np.max(np.hypot(*(kpts[p, have, :2] - centre).T)))
        half = reach * max(extent, min_separation)
        inside = ((xx >= np.ceil(centre[0] - half)) & (xx <= np.floor(centre[0] + half))
                  & (yy >= np.ceil(centre[1] - half)) & (yy <= np.floor(centre[1] + half)))
        for j in np.nonzero(~have)[0]:
            hm = np.abs(heat[j].astype(np.float64))
            with np.errstate(invalid="ignore"):
                ok = (hm >= fill_threshold) & np.isfinite(hm)
                ok &= np.abs(tags[j] - pose_tag[p]) <= fill_tag_threshold
            ok &= inside
            if not ok.any():
                continue
            flat = int(np.argmax(np.where(ok, hm, -np.inf)))
            by, bx = divmod(flat, w)
            others = np.arange(n) != p
            others &= kpts[:n, j, 2] > 0.0
            d2 = (kpts[:n, j, 0] - bx) ** 2 + (kpts[:n, j, 1] - by) ** 2
            if np.any(others & (d2 < min_separation ** 2)):
                continue
            ox = quadratic_offset(float(hm[by, bx - 1]), float(hm[by, bx]), float(hm[by, bx + 1])) \
                if 0 < bx < w - 1 else 0.0
            oy = quadratic_offset(float(hm[by - 1, bx]), float(hm[by, bx]), float(hm[by + 1, bx])) \
                if 0 < by < h - 1 else 0.0
            kpts[p, j] = (bx + ox, by + oy, hm[by, bx])
            filled += 1
    return filled


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


def finalize_poses(kpts: np.ndarray, n: int, stride: float, min_pose_score: float,
                   out_kpts: np.ndarray, out_scores: np.ndarray) -> int:
    """See :func:`stages.decode.ae_kernels.finalize_poses`."""
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

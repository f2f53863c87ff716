"""Plain-numpy twins of :mod:`stages.decode.ae_kernels` (same names, signatures and results,
written for clarity rather than speed). With the heat-map twins it exports from
:mod:`stages.decode.heatmap_reference`, a whole backend for the AE and HigherHRNet decoders: the
tests run ``ae.decode_with(ae_reference, ...)`` and ``higherhrnet.decode_with(ae_reference, ...)``.
"""

from __future__ import annotations

import math

import numpy as np

from tracking.assignment_reference import FORBIDDEN, hungarian

from .heatmap_reference import (  # noqa: F401 - re-exported
    finalize_poses, find_peaks, noise_sigma, quadratic_offset, upsample_bilinear)


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

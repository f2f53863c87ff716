"""Numba kernels of the associative-embedding decoder (:mod:`stages.decode.ae`, which
:mod:`stages.decode.higherhrnet` runs on too): grouping peaks into people by their tags (with the
optimal assignment of :mod:`tracking.assignment_kernels`), merging fragments, filling missing
joints.

Same conventions as :mod:`stages.decode.heatmap_kernels` (pure ``@numba.njit(cache=True)``
functions over numpy arrays, results written into arrays the caller preallocates, float64
arithmetic). Each kernel has a plain-numpy twin of the same name and signature in
:mod:`stages.decode.ae_reference`; the tests run both over the same inputs.

The module is the decoders' whole backend: it also exports the shared heat-map kernels they call
(HigherHRNet's upsampling included), as :mod:`stages.decode.ae_reference` exports their twins.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from tracking.assignment_kernels import FORBIDDEN, hungarian

from .heatmap_kernels import (  # noqa: F401 - re-exported
    finalize_poses, find_peaks, noise_sigma, quadratic_offset, upsample_bilinear)


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

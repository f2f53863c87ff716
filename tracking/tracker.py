"""Per-source multi-person tracker: gives every pose of a frame an id that stays with the person.

The idea is ByteTrack's (Zhang et al., 2022), on poses instead of boxes:

* **Motion prediction.** Each track keeps the person's last keypoints and a velocity (pixels per
  second, smoothed over frames, measured as the median displacement of the keypoints seen in
  both observations); at time ``t`` it is expected at its last keypoints moved by
  ``velocity · (t - t_last)`` (a constant-velocity model).
* **Similarity** of a track and a pose: ``w · OKS + (1 - w) · IoU``, the keypoint similarity of
  the predicted keypoints with the pose's (COCO sigmas, the track's box area as scale, widened for
  every frame the track was not seen) and the overlap of their boxes.
* **Two-stage association.** Confirmed tracks are matched first with the high-score poses
  (score ≥ ``high_score``) by an optimal assignment; the confirmed tracks still unmatched are
  then matched with the low-score poses under a stricter similarity, so a person whose pose
  score drops (half hidden, blurred) keeps its track while a weak spurious pose cannot take one
  over. Tentative tracks get what is left. Keypoints a pose misses are remembered (fading) where
  the track expects them, so a half-hidden person is still compared on its whole body.
* **Births and deaths with hysteresis.** A pose matched to no track starts a *tentative* track;
  it is confirmed once seen in ``min_hits`` frames in a row, and dropped at its first miss. A
  confirmed track that is not seen is kept ``max_lost`` frames (moving on its velocity) before
  it is dropped, so a person hidden for a moment comes back under the same id.

Ids: every pose gets one, an integer from 1 up, never reused within the tracker (the source).
A tentative track has its id from its first pose, so every pose of the output carries a real
id; a spurious pose seen once uses up an id that never appears again.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from . import kernels

NO_ID = -1  # the id of a pose when tracking is off


@dataclass(frozen=True)
class TrackerParams:
    high_score: float = 0.3  # poses scoring at least this go to the first association stage
    min_similarity: float = 0.2  # first and third stages
    low_min_similarity: float = 0.3  # second stage: low-score poses with tracks seen last frame
    min_hits: int = 3  # frames in a row that confirm a tentative track
    max_lost: int = 30  # frames a confirmed track is kept without a pose
    tentative_lost: int = 0  # frames a tentative track is kept without a pose
    oks_weight: float = 0.5  # share of OKS in the similarity (the rest is box IoU)
    keypoint_score: float = 0.2  # a keypoint above this score is seen
    velocity_smoothing: float = 0.5  # weight of each new velocity measurement
    oks_tolerance: float = 2.0  # keypoint sigmas widened by this factor (frame-to-frame jitter of small people)
    lost_growth: float = 0.15  # the OKS scale widens by this share per frame a track is not seen
    default_step: float = 1.0 / 25  # seconds between frames assumed when ``t`` does not advance


class Track:
    __slots__ = ("id", "keypoints", "t", "velocity", "hits", "misses", "confirmed")

    def __init__(self, track_id: int, keypoints: np.ndarray, t: float, confirmed: bool) -> None:
        self.id = track_id
        self.keypoints = keypoints.copy()
        self.t = t
        self.velocity = np.zeros(2)
        self.hits = 1
        self.misses = 0
        self.confirmed = confirmed

    def predict(self, t: float) -> np.ndarray:
        out = self.keypoints.copy()
        out[:, :2] += self.velocity * (t - self.t)
        return out

    def observe(self, keypoints: np.ndarray, t: float, min_score: float, smoothing: float) -> None:
        dt = t - self.t
        if dt > 0:
            both = (self.keypoints[:, 2] > min_score) & (keypoints[:, 2] > min_score)
            if both.any():
                moves = np.sort(keypoints[both, :2] - self.keypoints[both, :2], axis=0)
                shift = 0.5 * (moves[(len(moves) - 1) // 2] + moves[len(moves) // 2])  # the median
            else:
                shift = keypoints[:, :2].mean(0) - self.keypoints[:, :2].mean(0)
            weight = max(smoothing, 1.0 / self.hits)
            self.velocity = (1 - weight) * self.velocity + weight * shift / dt
        # keypoints this pose misses (hidden behind someone, say) are remembered where the
        # track expects them, fading, so that the next frame still has them to compare with
        kept = self.predict(t)
        kept[:, 2] *= 0.5
        fresh = keypoints[:, 2] > min_score
        self.keypoints = np.where(fresh[:, None] | (kept[:, 2:] <= min_score), keypoints, kept)
        self.t = t
        self.hits += 1
        self.misses = 0


class Tracker:
    """The tracker of one source. ``update`` takes one frame's poses, in frame order."""

    def __init__(self, params: TrackerParams | None = None, backend: ModuleType = kernels) -> None:
        self.params = params or TrackerParams()
        self.k = backend
        self.tracks: list[Track] = []
        self.next_id = 1
        self.clock: float | None = None
        self.step = self.params.default_step
        self.frames = 0

    def _advance(self, t: float) -> float:
        """The tracker's clock at this frame: ``t``, unless it went backwards or stood still
        (a looped file, a folder of images), then one usual frame step on."""
        if self.clock is None:
            self.clock = float(t)
        else:
            step = float(t) - self.clock
            if np.isfinite(step) and step > 0:
                self.step = step if self.frames < 2 else 0.8 * self.step + 0.2 * step
            else:
                step = self.step
            self.clock += step
        self.frames += 1
        return self.clock

    def update(self, keypoints: np.ndarray, scores: np.ndarray, t: float) -> np.ndarray:
        """Match one frame's poses (``keypoints`` (n, 17, 3) in frame pixels, ``scores`` (n,)) seen
        at ``t`` seconds; returns their ids (n,) int64."""
        p, k = self.params, self.k
        now = self._advance(t)
        dets = np.ascontiguousarray(keypoints, np.float64)
        scores = np.asarray(scores, np.float64)
        n = dets.shape[0]
        det_of_track = np.full(len(self.tracks), -1, np.int64)
        taken = np.zeros(n, bool)
        if self.tracks and n:
            sim = self._similarity(dets, now)
            high = scores >= p.high_score
            confirmed = np.array([tr.confirmed for tr in self.tracks])
            for rows, cols, threshold in ((confirmed, high, p.min_similarity),
                                          (confirmed, ~high, p.low_min_similarity),
                                          (~confirmed, np.ones(n, bool), p.min_similarity)):
                rows = np.nonzero(rows & (det_of_track < 0))[0]
                cols = np.nonzero(cols & ~taken)[0]
                if not len(rows) or not len(cols):
                    continue
                col_of_row = np.empty(len(rows), np.int64)
                k.assign(np.ascontiguousarray(sim[np.ix_(rows, cols)]), threshold, col_of_row)
                hit = col_of_row >= 0
                det_of_track[rows[hit]] = cols[col_of_row[hit]]
                taken[cols[col_of_row[hit]]] = True
        ids = np.full(n, NO_ID, np.int64)
        kept: list[Track] = []
        for track, d in zip(self.tracks, det_of_track):
            if d >= 0:
                track.observe(dets[d], now, p.keypoint_score, p.velocity_smoothing)
                track.confirmed = track.confirmed or track.hits >= p.min_hits
                ids[d] = track.id
                kept.append(track)
            elif track.misses < (p.max_lost if track.confirmed else p.tentative_lost):
                track.misses += 1
                kept.append(track)
        for d in np.nonzero(~taken)[0]:
            track = Track(self.next_id, dets[d], now, confirmed=p.min_hits <= 1)
            self.next_id += 1
            ids[d] = track.id
            kept.append(track)
        self.tracks = kept
        return ids

    def _similarity(self, dets: np.ndarray, now: float) -> np.ndarray:
        p, k = self.params, self.k
        predicted = np.stack([tr.predict(now) for tr in self.tracks])
        t, n = len(self.tracks), len(dets)
        track_boxes = np.empty((t, 4))
        det_boxes = np.empty((n, 4))
        k.pose_boxes(predicted, p.keypoint_score, track_boxes)
        k.pose_boxes(dets, p.keypoint_score, det_boxes)
        widen = np.array([1.0 + p.lost_growth * tr.misses for tr in self.tracks])
        areas = (track_boxes[:, 2] - track_boxes[:, 0]) * (track_boxes[:, 3] - track_boxes[:, 1]) * (p.oks_tolerance * widen) ** 2
        oks = np.empty((t, n))
        iou = np.empty((t, n))
        k.oks_matrix(predicted, dets, areas, kernels.COCO_SIGMAS, p.keypoint_score, oks)
        k.iou_matrix(track_boxes, det_boxes, iou)
        return p.oks_weight * oks + (1.0 - p.oks_weight) * iou

    @property
    def confirmed_ids(self) -> list[int]:
        return [tr.id for tr in self.tracks if tr.confirmed]


class SourceTrackers:
    """One :class:`Tracker` per source id, made on first use; ids are unique within a source."""

    def __init__(self, params: TrackerParams | None = None, backend: ModuleType = kernels) -> None:
        self.params = params
        self.backend = backend
        self.by_source: dict[int, Tracker] = {}

    def update(self, source: int, keypoints: np.ndarray, scores: np.ndarray, t: float) -> np.ndarray:
        tracker = self.by_source.get(source)
        if tracker is None:
            tracker = self.by_source[source] = Tracker(self.params, self.backend)
        return tracker.update(keypoints, scores, t)


def warm_up() -> None:
    """Compile (or load from Numba's cache) every kernel, so the first frame does not wait."""
    tracker = Tracker()
    pose = np.zeros((1, 17, 3))
    pose[0, :, :2] = np.random.default_rng(0).uniform(0, 50, (17, 2))
    pose[0, :, 2] = 0.9
    tracker.update(pose, np.ones(1), 0.0)
    tracker.update(pose, np.ones(1), 0.04)

"""The MoveNet MultiPose decoder: rows of (y, x, score) normalised to the network input."""

from __future__ import annotations

import numpy as np

from stages.decode import movenet


def _row(points: list[tuple[float, float, float]], score: float) -> np.ndarray:
    row = np.zeros(movenet.ROW, np.float32)
    for k, (y, x, s) in enumerate(points):
        row[3 * k:3 * k + 3] = (y, x, s)
    row[51:55] = (0.1, 0.2, 0.9, 0.8)  # box: ymin, xmin, ymax, xmax
    row[55] = score
    return row


def test_rows_are_y_then_x_and_scale_to_the_input_size():
    points = [(0.25 + 0.01 * k, 0.75 - 0.02 * k, 0.9) for k in range(17)]
    raw = np.stack([_row(points, 0.7), _row([(0.5, 0.5, 0.3)] * 17, 0.4)])[None]  # (1, 2, 56)
    kpts, scores = movenet.decode(raw, net_h=192, net_w=256)
    assert kpts.shape == (2, 17, 3) and kpts.dtype == np.float32
    np.testing.assert_allclose(scores, [0.7, 0.4])
    for k, (y, x, s) in enumerate(points):
        np.testing.assert_allclose(kpts[0, k], [x * 256, y * 192, s], rtol=1e-6)
    np.testing.assert_allclose(kpts[1, :, :2], np.tile([128.0, 96.0], (17, 1)))


def test_every_keypoint_keeps_its_position_by_default():
    """MoveNet predicts every joint: a faint one keeps its position and score (the family's
    keypoint threshold decides later what is drawn), it is not zeroed."""
    points = [(0.25, 0.75, s) for s in np.linspace(0.01, 0.8, 17)]
    kpts, _ = movenet.decode(_row(points, 0.5)[None], net_h=100, net_w=200)
    np.testing.assert_allclose(kpts[0, :, :2], np.tile([150.0, 25.0], (17, 1)))
    np.testing.assert_allclose(kpts[0, :, 2], np.linspace(0.01, 0.8, 17), rtol=1e-6)


def test_keypoints_below_the_threshold_are_missing_and_the_rest_kept():
    points = [(0.5, 0.5, s) for s in np.linspace(0.0, 0.8, 17)]
    kpts, _ = movenet.decode(_row(points, 0.5)[None], net_h=100, net_w=100, keypoint_threshold=0.3)
    below = np.array([s for _, _, s in points]) < 0.3
    assert np.all(kpts[0, below] == 0.0)
    assert np.all(kpts[0, ~below, 2] >= 0.3)
    np.testing.assert_allclose(kpts[0, ~below, :2], 50.0)
    kpts, _ = movenet.decode(_row(points, 0.5)[None], net_h=100, net_w=100, keypoint_threshold=0.0)
    assert np.count_nonzero(kpts[0, :, 2]) == 16  # only the zero-score keypoint is empty

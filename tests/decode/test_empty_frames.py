"""Frames without people: every family returns n == 0 with the right shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from stages.decode import ae, higherhrnet, openpose
from tests.decode import render

NO_ONE = np.zeros((0, 17, 3))


def assert_empty(result):
    keypoints, scores = result
    assert keypoints.shape == (0, 17, 3) and keypoints.dtype == np.float32
    assert scores.shape == (0,) and scores.dtype == np.float32


@pytest.mark.parametrize("noise", [0.0, 0.02])
def test_openpose_empty(noise):
    assert_empty(openpose.decode(*render.render_openpose(NO_ONE, 32, 57, noise=noise)))


def test_openpose_all_zero_maps():
    assert_empty(openpose.decode(np.zeros((38, 32, 57)), np.zeros((19, 32, 57))))


@pytest.mark.parametrize("graph_nms", [True, False])
def test_ae_empty(graph_nms):
    heat, emb = render.render_ae(NO_ONE, np.zeros(0), 144, 144, noise=0.01, nms_negate=graph_nms)
    assert_empty(ae.decode(heat, emb))


def test_ae_all_zero_maps():
    assert_empty(ae.decode(np.zeros((17, 144, 144)), np.zeros((17, 144, 144))))


def test_higherhrnet_empty():
    assert_empty(higherhrnet.decode(np.zeros((17, 64, 64)), np.zeros((17, 64, 64))))
    assert_empty(higherhrnet.decode_two_scale(np.zeros((17, 32, 32)), np.zeros((17, 64, 64)),
                                              np.zeros((17, 32, 32))))


def test_tiny_maps():
    assert_empty(openpose.decode(np.zeros((38, 1, 1)), np.zeros((19, 1, 1))))
    assert_empty(ae.decode(np.zeros((17, 1, 1)), np.zeros((17, 1, 1))))

"""Decoder for Open Model Zoo public ``higher-hrnet-w32-human-pose-estimation``.

HigherHRNet predicts heatmaps at two resolutions: 1/4 of the input (together with the tags) and
1/2 of the input. Its inference upsamples the 1/4 maps to 1/2 (bilinear, ``align_corners=False``),
averages the two heatmaps, and groups by tags with associative embedding.

The Open Model Zoo conversion (``models/public/higher-hrnet-w32-human-pose-estimation/model.py``
and ``model.yml``: ``--output-names=embeddings,heatmaps``) already does that inside the graph, and
also applies ReLU and a 5x5 max-pool NMS that negates suppressed locations. Its IR therefore has
two outputs for a 512x512 input:

* ``heatmaps`` [1, 17, 256, 256]: averaged heatmaps, suppressed locations negated;
* ``embeddings`` [1, 17, 256, 256]: tags, upsampled to the same size.

:func:`decode` takes those two maps (the order of the family's ``outputs`` in
``config/presets/higherhrnet.toml``); :func:`decode_maps` takes the list of output maps of one
frame, batch axis included, as the decode worker holds them. For a raw two-resolution export,
pass the 1/4 heatmaps as ``heatmaps_lo`` (or call :func:`decode_two_scale`): they are upsampled,
averaged with ``heatmaps`` and clipped at 0 as HigherHRNet does; ``embeddings`` at 1/4 are
upsampled too.

Grouping, filling and the output convention are those of :mod:`stages.decode.ae`: keypoints
(n, 17, 3) float32 in network-input pixels, ``x_in = (x + 0.5) * stride - 0.5`` for output cell
``x`` of the 1/2-resolution map, COCO-17 order, scores (n,) float32 best first.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import ae, ae_kernels


def decode(heatmaps: np.ndarray, embeddings: np.ndarray, *, heatmaps_lo: np.ndarray | None = None,
           stride: float = 2, min_pose_score: float = 0.0, max_people: int = 30,
           **params: float) -> tuple[np.ndarray, np.ndarray]:
    """Decode one frame of higher-hrnet-w32-human-pose-estimation outputs.

    Parameters
    ----------
    heatmaps : (17, H, W) array
        The 1/2-resolution heatmaps: the OMZ IR's ``heatmaps`` (averaged, NMS-negated), or the
        raw high-resolution heatmaps when ``heatmaps_lo`` is given.
    embeddings : (17, h, w) array
        Tags, at (H, W) or at a lower resolution (then upsampled to (H, W)).
    heatmaps_lo : (17, h, w) array, optional
        Raw low-resolution heatmaps of a two-resolution export.
    stride : float
        Network input size / ``heatmaps`` size.
    min_pose_score, max_people, params
        As in :func:`stages.decode.ae.decode`.

    Returns
    -------
    keypoints : (n, 17, 3) float32, scores : (n,) float32
        As in :func:`stages.decode.ae.decode`.
    """
    return decode_with(ae_kernels, heatmaps, embeddings, heatmaps_lo=heatmaps_lo, stride=stride,
                       min_pose_score=min_pose_score, max_people=max_people, **params)


def decode_two_scale(heatmaps_lo: np.ndarray, heatmaps_hi: np.ndarray, embeddings: np.ndarray,
                     **kwargs: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` for a raw two-resolution export: low-resolution heatmaps (17, h, w),
    high-resolution heatmaps (17, H, W), tags at either size."""
    return decode(heatmaps_hi, embeddings, heatmaps_lo=heatmaps_lo, **kwargs)


def decode_maps(maps: list[np.ndarray] | tuple[np.ndarray, ...], net_h: int, net_w: int,
                **params: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on a frame's output maps as the inference stage hands them over.

    ``maps`` holds the model's outputs, batch axis included, in the order of the family's preset:
    ``[heatmaps (1, 17, H, W), embeddings (1, 17, H, W[, 1])]`` for the OMZ IR, or
    ``[heatmaps_lo, heatmaps_hi, embeddings]`` for a raw two-resolution export. ``net_h`` and
    ``net_w`` are the network input size; the stride is ``net_h / H``.
    """
    if len(maps) == 2:
        heatmaps_lo, heatmaps, embeddings = None, maps[0], maps[1]
    elif len(maps) == 3:
        heatmaps_lo, heatmaps, embeddings = maps
    else:
        raise ValueError(f"higherhrnet: expected 2 or 3 output maps, got {len(maps)}")
    height, width = np.shape(heatmaps)[-2:]
    if net_h * width != net_w * height:
        raise ValueError(f"higherhrnet: heatmaps {height}x{width} do not scale to the input "
                         f"{net_h}x{net_w}")
    return decode(heatmaps, embeddings, heatmaps_lo=heatmaps_lo, stride=net_h / height, **params)


def decode_with(backend: ModuleType, heatmaps: np.ndarray, embeddings: np.ndarray, *,
                heatmaps_lo: np.ndarray | None = None, stride: float = 2,
                **params: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode` on a kernel backend (:mod:`~stages.decode.ae_kernels` or
    :mod:`~stages.decode.ae_reference`)."""
    heat_hi, tags = ae.check_maps(heatmaps, embeddings, "higherhrnet")
    if heatmaps_lo is None:
        heat = heat_hi  # NMS-negated or plain: the AE decoder takes both
    else:
        heat_lo, _ = ae.check_maps(heatmaps_lo, heatmaps_lo, "higherhrnet")
        heat = _resize(backend, heat_lo, heat_hi.shape)
        heat += heat_hi
        heat *= 0.5
        np.maximum(heat, 0.0, out=heat)
    if tags.shape != heat.shape:
        tags = _resize(backend, tags, heat.shape)
    return ae.decode_checked(backend, heat, tags, stride=stride, **params)


def _resize(backend: ModuleType, maps: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, np.float32)
    if maps.shape == shape:
        out[...] = maps
    else:
        backend.upsample_bilinear(maps, out)
    return out


def warmup() -> None:
    """Compile (or load from the cache) every kernel this decoder uses, on tiny synthetic maps."""
    ae.warmup()
    lo = np.zeros((ae.NUM_JOINTS, 4, 4), np.float32)
    lo[:, 1, 2] = 1.0
    hi = np.zeros((ae.NUM_JOINTS, 8, 8), np.float32)
    hi[:, 3, 4] = 1.0
    decode_two_scale(lo, hi, np.zeros((ae.NUM_JOINTS, 4, 4), np.float32))

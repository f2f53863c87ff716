"""Pose decoders, one module per model family.

Contract shared by every family decoder (``openpose``, ``ae``, ``higherhrnet``, ``movenet``):

* input: the network's raw output maps as numpy arrays (batch axis removed);
* output: ``(keypoints, scores)`` where ``keypoints`` is float32 ``(n, 17, 3)`` holding
  ``x, y, score`` in **network-input pixel coordinates** in COCO-17 order
  (:mod:`pipeline.skeleton`), a missing keypoint having ``x = y = score = 0``, and ``scores`` is
  float32 ``(n,)``, one score per person;
* the decode worker maps network-input pixels back to source-frame pixels.

Numba kernels live in :mod:`stages.decode.ae_kernels`; their plain-numpy twins in
:mod:`stages.decode.ae_reference`.
"""

"""Pose decoders, one module per model family.

Contract shared by every family decoder (``openpose``, ``ae``, ``higherhrnet``, ``movenet``):

* input: the network's raw output maps as numpy arrays (batch axis removed);
* output: ``(keypoints, scores)`` where ``keypoints`` is float32 ``(n, 17, 3)`` holding
  ``x, y, score`` in **network-input pixel coordinates** in COCO-17 order
  (:mod:`pipeline.models.skeleton`), a missing keypoint having ``x = y = score = 0``, and
  ``scores`` is float32 ``(n,)``, one score per person;
* the decode worker maps network-input pixels back to source-frame pixels.

Numba kernels live beside their decoders, one module per family (``openpose_kernels``,
``ae_kernels``, also HigherHRNet's; ``nms_kernels`` for YOLO-pose and the multi-scale pose NMS),
with those that several heat-map families share in ``heatmap_kernels``; each has a plain-numpy
twin, ``*_reference``, of the same names and signatures. A family's kernels module is its
decoder's whole backend (it re-exports the shared kernels the decoder calls), so the tests can
run a decoder on the twin instead. The Hungarian assignment, which the AE grouping shares with
the tracker, is :mod:`tracking.assignment_kernels`.
"""

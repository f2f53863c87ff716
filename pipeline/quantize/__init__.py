"""INT8 models: post-training quantization with NNCF (``python -m pipeline.quantize``), and how a
run tells an INT8 model from a floating-point one.

* :mod:`.calibration`: calibration frames spread over a clip or a folder, each letterboxed and
  converted exactly as a run feeds the network (:mod:`pipeline.models.inputs`);
* :mod:`.ptq`: NNCF's post-training quantization (OpenVINO backend) with each family's settings
  (YOLO's box and keypoint decode stays in floating point), written as an IR;
* :mod:`.detect`: whether a model computes in INT8 (its FakeQuantize operations), for the run's
  header;
* :mod:`.cli`: the command line.

NNCF is an optional dependency (``pip install posepipe[quantize]``); only :mod:`.ptq` imports it.
"""

import os

os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")  # as pipeline.sources does, before any module here imports cv2

from .detect import is_int8

__all__ = ["is_int8"]

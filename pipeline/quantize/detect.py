"""Whether a model computes in INT8: NNCF's and the Model Zoo's INT8 IRs hold FakeQuantize
operations of at most 256 levels in front of their convolutions and matrix products."""

from __future__ import annotations

from typing import Any


def is_int8(model: Any) -> bool:
    """True if ``model`` (an ``ov.Model``) has an 8-bit FakeQuantize: the CPU plugin then runs
    the layers behind it in INT8, whatever the inference precision hint says."""
    for op in model.get_ordered_ops():
        if op.get_type_name() == "FakeQuantize" and int(op.get_attributes().get("levels", 0)) <= 256:
            return True
    return False

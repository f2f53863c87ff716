"""How a frame becomes a network's input, shared by the pipeline and by quantization.

* :func:`letterbox`: a frame scaled into the top-left of the network input size, zero elsewhere
  (the preprocess stage writes it straight into the tensor ring, uint8 BGR NHWC);
* :func:`add_input_steps`: the OpenVINO PrePostProcessor steps that turn that uint8 BGR NHWC
  tensor into what the model's input takes (element type, layout, colour order, scale);
* :func:`input_converter`: those steps alone as a compiled model, so that calibration frames
  for quantization (:mod:`pipeline.quantize`) reach the network exactly as in a run.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .families import Family


def letterbox(frame: np.ndarray, out: np.ndarray) -> float:
    """Scale ``frame`` (h, w, 3) into the top-left of ``out`` (H, W, 3), zero the rest, and return
    the scale. ``out`` is written in place."""
    h, w = frame.shape[:2]
    net_h, net_w = out.shape[:2]
    scale = min(net_w / w, net_h / h)
    rw, rh = min(net_w, max(1, round(w * scale))), min(net_h, max(1, round(h * scale)))
    target = out[:rh, :rw]
    if (rw, rh) == (w, h):
        target[...] = frame
    else:
        resized = cv2.resize(frame, (rw, rh), dst=target, interpolation=cv2.INTER_LINEAR)
        if resized is not None and not np.shares_memory(resized, out):
            target[...] = resized
    if rh < net_h:
        out[rh:] = 0
    if rw < net_w:
        out[:rh, rw:] = 0
    return scale


def add_input_steps(ppp: Any, family: Family, element_type: Any) -> None:
    """Give ``ppp``'s (only) input the steps from the tensor ring's uint8 BGR NHWC pixels to the
    model's input of ``element_type`` in the family's layout and colour order."""
    import openvino as ov
    from openvino.preprocess import ColorFormat

    inp = ppp.input()
    inp.tensor().set_element_type(ov.Type.u8).set_layout(ov.Layout("NHWC")).set_color_format(ColorFormat.BGR)
    inp.model().set_layout(ov.Layout(family.input_layout))
    if family.input_colour == "RGB":
        inp.preprocess().convert_color(ColorFormat.RGB)
    if element_type != ov.Type.u8:
        inp.preprocess().convert_element_type(element_type)
    if "input_scale" in family.preset:  # e.g. YOLO: pixels / 255
        inp.preprocess().scale(float(family.preset["input_scale"]))


def input_converter(core: Any, family: Family, element_type: Any, net_hw: tuple[int, int]) -> Any:
    """A compiled model (f32 throughout, so nothing is rounded) that takes one letterboxed uint8
    BGR NHWC frame of ``net_hw`` and returns the tensor the model's input gets in a run."""
    import openvino as ov
    import openvino.opset13 as ops
    from openvino.preprocess import PrePostProcessor

    h, w = net_hw
    shape = [1, h, w, 3] if family.input_layout == "NHWC" else [1, 3, h, w]
    param = ops.parameter(shape, element_type, name="input")
    model = ov.Model([ops.result(param)], [param], "input_steps")
    ppp = PrePostProcessor(model)
    add_input_steps(ppp, family, element_type)
    return core.compile_model(ppp.build(), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})

"""One compiled model that runs the network at several input sizes ("near and far").

For a frame much larger than the size a network was trained at, the network at the frame's own
size finds people far from the camera but only fragments (a face) of people near it; at its
native size it is the other way round. :func:`compose` builds a single OpenVINO model that takes
the full-size input tensor, runs the network on it, and also on copies resized inside the graph
(antialiased bilinear ``Interpolate``), and returns every scale's outputs. The pipeline's stages
see one model with more outputs: nothing else changes (one request per frame, one tensor in the
ring), and the decoder merges the scales' people with pose NMS (:mod:`stages.decode.multiscale`).
"""

from __future__ import annotations

from typing import Any

from pipeline.models.families import Family, match_outputs, scaled_name


def compose(model: Any, family: Family, sizes: tuple[tuple[int, int], ...]) -> Any:
    """A model whose one input has the first of ``sizes`` and whose outputs are the family's
    outputs (in the decoder's order) at each size in turn. ``model`` must be reshaped to the
    first size already; it is not modified."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops
    from openvino import opset11

    param = model.get_parameters()[0]
    nhwc = family.input_layout == "NHWC"
    axes = np.array([1, 2] if nhwc else [2, 3], np.int64)
    results = [ops.result(p.get_node().input_value(0)) for p in match_outputs(family, list(model.outputs))]
    for index, (h, w) in enumerate(sizes[1:], start=1):
        copy = model.clone()
        copy.reshape({copy.inputs[0]: ov.PartialShape([1, h, w, 3] if nhwc else [1, 3, h, w])})
        source = param.output(0)
        if param.get_element_type() != ov.Type.f32:  # interpolate in float, hand back the model's type
            source = ops.convert(source, ov.Type.f32).output(0)
        resized = opset11.interpolate(source, np.array([h, w], np.int64), "linear", "sizes", axes=axes,
                                      antialias=True).output(0)
        if param.get_element_type() != ov.Type.f32:
            if param.get_element_type() in (ov.Type.u8, ov.Type.i8, ov.Type.i32):
                resized = ops.round(resized, "half_to_even").output(0)
            resized = ops.convert(resized, param.get_element_type()).output(0)
        inner = copy.get_parameters()[0]
        for target in list(inner.output(0).get_target_inputs()):
            target.replace_source_output(resized)
        for k, port in enumerate(match_outputs(family, list(copy.outputs))):
            value = port.get_node().input_value(0)
            names = sorted(port.get_names())
            value.get_tensor().set_names({scaled_name(names[0] if names else f"output{k}", index)})
            results.append(ops.result(value))
    composite = ov.Model(results, [param], "multiscale")
    composite.validate_nodes_and_infer_types()
    return composite

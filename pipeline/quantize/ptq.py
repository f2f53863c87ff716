"""NNCF post-training quantization (OpenVINO backend) of one model, written as an OpenVINO IR.

The model is made dynamic in height and width for calibration (so every frame can come at the
size a run gives it, several sizes with multi-scale), quantized, given back the input shape its
file declared, and saved. Activations are quantized per tensor, weights per channel (NNCF's
defaults for the CPU); each family has its own defaults (:data:`DEFAULTS`):

* ``yolo-pose``: the head's box and keypoint decode (the anchor-grid arithmetic after the last
  convolutions: Add, Subtract, Multiply, Divide, the DFL softmax, Sigmoid) stays in floating
  point: quantizing pixel coordinates to 256 levels moves every keypoint. MIXED preset
  (asymmetric activations: SiLU outputs are not symmetric around zero).
* the other families: NNCF's PERFORMANCE preset, everything quantized.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError, UsageError
from ..models.families import Family, read_model
from .calibration import CalibrationSet, calibration_set

PRESETS = ("performance", "mixed")


@dataclass(frozen=True)
class Settings:
    preset: str = "performance"
    fast_bias_correction: bool = True
    keep_head_float: bool = False  # yolo-pose: leave the decode at the end of the head unquantized
    # activation ranges: "mean" (NNCF's default: the mean over the frames of each frame's min and
    # max) or "minmax" (the extremes over all frames: wider, clips less on scenes unlike the clip)
    ranges: str = "mean"
    frames: int = 300  # calibration frames, spread over the clip
    zoom: int = 0  # per frame, this many crops as well (see calibration.zoomed)


DEFAULTS = {
    # measured on COCO val2017 images (141 held out), calibrated on the sample clip: AP 0.498 with
    # NNCF's defaults, 0.519 with minmax ranges, 0.576 with minmax ranges and 2 zoomed crops per
    # frame (100 frames, 300 images); the float model 0.585 (see the README's INT8 section)
    "yolo-pose": Settings(preset="mixed", keep_head_float=True, ranges="minmax", frames=100, zoom=2),
}

def defaults_for(family: str) -> Settings:
    return DEFAULTS.get(family, Settings())


def _head_scope(model: Any, family: str) -> Any:
    """The ignored scope that keeps a YOLO pose head's decode in floating point: the operations
    of the last module (``model.N``) itself and of its DFL (the anchor grid, the box and keypoint
    arithmetic, the softmax and its fixed convolution), not those of its convolution branches."""
    import re

    import nncf

    if family != "yolo-pose":
        return None
    last = -1
    for op in model.get_ops():
        found = re.search(r"model\.(\d+)[/.]", op.get_friendly_name())
        if found:
            last = max(last, int(found.group(1)))
    if last < 0:
        return None
    head = re.compile(rf".*model\.{last}(\.dfl[./].*|/.*)")
    names = [op.get_friendly_name() for op in model.get_ops()
             if op.get_type_name() not in ("Constant", "Parameter", "Result") and head.match(op.get_friendly_name())]
    return nncf.IgnoredScope(names=names, validate=False) if names else None


def _dynamic(model: Any, family: Family) -> Any:
    """The model's input shape, and the model made dynamic in height and width where it can be."""
    import openvino as ov

    port = model.inputs[0]
    declared = port.get_partial_shape()
    dims = [declared[i] for i in range(4)]
    for axis in ((1, 2) if family.input_layout == "NHWC" else (2, 3)):
        dims[axis] = ov.Dimension()
    with contextlib.suppress(Exception):  # a model fixed to its size is calibrated at that size only
        model.reshape({port: ov.PartialShape(dims)})
    return declared


def check_output(out: str, inputs: list[str]) -> None:
    """One-line errors for an output path the IR cannot be written to, before any work."""
    if not out.endswith(".xml"):
        raise UsageError(f"-o {out}: the quantized model is an OpenVINO IR; give a path ending in .xml")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"-o {out}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"-o {out}: folder {folder} is not writable")
    if os.path.isdir(out):
        raise UsageError(f"-o {out} is a folder; give a file name ending in .xml")
    mine = {os.path.realpath(p) for p in (out, out[:-4] + ".bin")}
    for path in inputs:
        if os.path.exists(path) and os.path.realpath(path) in mine:
            raise UsageError(f"-o {out} would overwrite the input {path}")


def quantize(model_path: str, family: str, calibration: str, out: str,
             settings: Settings | None = None, control: "AccuracyControl | None" = None) -> dict[str, Any]:
    """Quantize ``model_path`` (-at ``family``) on ``settings.frames`` frames of ``calibration``
    and write ``out`` (.xml and .bin); with ``control``, within its AP drop. Returns what was
    done (for the caller's summary line)."""
    import openvino as ov

    settings = settings or defaults_for(family)
    inputs = [model_path, calibration]
    if model_path.endswith(".xml"):
        inputs.append(model_path[:-4] + ".bin")
    check_output(out, inputs)
    core = ov.Core()
    model = read_model(core, model_path)
    calib: CalibrationSet = calibration_set(model_path, family, calibration, settings.frames, core,
                                            model.inputs[0].get_element_type(), settings.zoom)
    import nncf  # after the checks: it takes seconds to import

    nncf.set_log_level(logging.WARNING)  # not a line per operation it leaves unquantized

    declared = _dynamic(model, Family.get(family, calib.plan.variant))
    scope = _head_scope(model, family) if settings.keep_head_float else None
    options: dict[str, Any] = {}
    if scope is not None:
        options["ignored_scope"] = scope
    if settings.ranges == "minmax":
        from nncf.quantization.range_estimator import RangeEstimatorParametersSet

        options["advanced_parameters"] = nncf.AdvancedQuantizationParameters(
            activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX)
    dataset = nncf.Dataset(calib, calib.transform)
    preset = nncf.QuantizationPreset.MIXED if settings.preset == "mixed" else nncf.QuantizationPreset.PERFORMANCE
    accuracy: dict[str, Any] = {}
    try:
        if control is None:
            quantized = nncf.quantize(model, dataset, subset_size=len(calib), preset=preset,
                                      fast_bias_correction=settings.fast_bias_correction, **options)
        else:
            quantized, accuracy = _with_accuracy_control(nncf, model, dataset, len(calib), preset, settings, control,
                                                         options)
    except (RuntimeError, ValueError, nncf.errors.ValidationError) as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise ModelError(f"NNCF cannot quantize {model_path}: {lines[-1][:200] if lines else type(exc).__name__}") from None
    with contextlib.suppress(Exception):  # keep the calibration shape if the declared one no longer fits
        quantized.reshape({quantized.inputs[0]: declared})
    _save(quantized, out)
    return {"frames": len(calib.indices), "tensors": len(calib), "sizes": calib.plan.all_scales,
            "ignored": len(scope.names) if scope is not None else 0, "settings": settings, **accuracy}


@dataclass(frozen=True)
class AccuracyControl:
    """NNCF's accuracy-controlled quantization: layers go back to floating point, those whose
    quantization costs most first, until the model's AP on ``scorer``'s images is within
    ``max_drop`` (absolute) of the float model's. ``scorer(compiled, items) -> (AP, None)``, its
    ``items`` and ``tensor(item)``: :class:`accuracy.OfflineScorer`."""

    scorer: Any
    max_drop: float = 0.015
    max_iterations: int = 0  # layers put back at most (0: NNCF's default)


def _with_accuracy_control(nncf: Any, model: Any, dataset: Any, subset: int, preset: Any, settings: Settings,
                           control: AccuracyControl, options: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    import openvino as ov
    from nncf.quantization.advanced_parameters import AdvancedAccuracyRestorerParameters

    scorer = control.scorer
    validation = nncf.Dataset(scorer.items, scorer.tensor)
    nncf.set_log_level(logging.INFO)  # its steps: the two models' AP, the groups ranked, each layer put back
    # one ranking worker: the groups are ranked in turn, with a progress bar (parallel workers
    # gain nothing on a few cores, and would share the scorer's converters)
    restorer = AdvancedAccuracyRestorerParameters(
        num_ranking_workers=1, **({"max_num_iterations": control.max_iterations} if control.max_iterations else {}))
    quantized = nncf.quantize_with_accuracy_control(
        model, dataset, validation, scorer, max_drop=control.max_drop, drop_type=nncf.DropType.ABSOLUTE,
        subset_size=subset, preset=preset, fast_bias_correction=settings.fast_bias_correction,
        ignored_scope=options.get("ignored_scope"), advanced_quantization_parameters=options.get("advanced_parameters"),
        advanced_accuracy_restorer_parameters=restorer)
    core = ov.Core()
    before = scorer.ap(core.compile_model(model, "CPU"))
    after = scorer.ap(core.compile_model(quantized, "CPU"))
    quantizers = sum(1 for op in quantized.get_ops() if op.get_type_name() == "FakeQuantize")
    return quantized, {"ap_float": before, "ap_int8": after, "validation_images": len(scorer.items),
                       "quantizers": quantizers}


def _save(model: Any, out: str) -> None:
    """Write ``out`` and its .bin together: both appear at once or neither does."""
    import openvino as ov

    folder = os.path.dirname(os.path.abspath(out))
    tmp = tempfile.mkdtemp(prefix=".quantize-", dir=folder)
    try:
        name = os.path.basename(out)
        ov.save_model(model, os.path.join(tmp, name))
        os.replace(os.path.join(tmp, name[:-4] + ".bin"), out[:-4] + ".bin")
        os.replace(os.path.join(tmp, name), out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

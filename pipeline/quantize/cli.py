"""``python -m pipeline.quantize``: an INT8 OpenVINO IR of a model, calibrated on a clip."""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from ..errors import EXIT_USAGE, PipelineError, UsageError
from ..models.families import FAMILIES
from ..models.fetch import resolve_model_file


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m pipeline.quantize",
                     description="Post-training INT8 quantization with NNCF (OpenVINO backend). Calibration "
                                 "frames go through the pipeline's own preprocessing; the IR written runs with "
                                 "-m like any model.")
    parser.add_argument("-at", "--architecture_type", required=True, choices=FAMILIES, help="Type of the network.")
    parser.add_argument("-m", "--model", required=True,
                        help="The model to quantize: an OpenVINO .xml, a .tflite, .pb or .onnx file.")
    parser.add_argument("--calibration", required=True,
                        help="A video file, an image or a folder of images like the ones the model will see.")
    parser.add_argument("-o", "--output", required=True, help="The quantized IR to write (.xml; the .bin goes beside it).")
    parser.add_argument("--frames", type=int, default=None,
                        help="Calibration frames, spread evenly over the clip (default: the family's: 300, "
                             "yolo-pose 100 with --zoom 2, so 300 images).")
    parser.add_argument("--zoom", type=int, default=None,
                        help="per calibration frame, this many crops as well (1/2, 1/3, … of its sides, letterboxed "
                             "like any frame): people as a closer camera sees them, for a clip of small people "
                             "(default: the family's: 2 for yolo-pose, else 0)")
    parser.add_argument("--preset", choices=("performance", "mixed"), default=None,
                        help="NNCF preset: performance (symmetric activations) or mixed (asymmetric activations). "
                             "Default: the family's (mixed for yolo-pose, performance otherwise).")
    parser.add_argument("--head", choices=("float", "int8"), default=None,
                        help="yolo-pose: keep the head's box and keypoint decode in floating point (default) or "
                             "quantize it too.")
    parser.add_argument("--ranges", choices=("mean", "minmax"), default=None,
                        help="activation ranges: mean (NNCF's default: each frame's extremes, averaged) or minmax "
                             "(the extremes over all frames: clips less on scenes unlike the calibration clip). "
                             "Default: the family's.")
    parser.add_argument("--bias-correction", choices=("fast", "full"), default="fast",
                        help="NNCF's bias correction: fast (default) or full (slower, sometimes more accurate).")
    control = parser.add_argument_group("accuracy control (NNCF's quantize_with_accuracy_control)")
    control.add_argument("--accuracy-control", action="store_true",
                         help="put the layers whose quantization costs most back in floating point until the "
                              "model's COCO keypoint AP on --annotations/--images is within --max-drop of the float "
                              "model's")
    control.add_argument("--annotations", metavar="A.json", help="COCO person_keypoints annotations")
    control.add_argument("--images", metavar="DIR", help="the folder holding their images")
    control.add_argument("--max-drop", type=float, default=0.015,
                         help="the AP the INT8 model may lose, absolute (default 0.015: 1.5 points)")
    control.add_argument("--validation-images", type=int, default=0, metavar="N",
                         help="score on the first N annotated images only (default: all)")
    return parser


def _accuracy_control(ns: argparse.Namespace, model: str) -> Any:
    """The accuracy-control settings ``--accuracy-control`` asks for, or None; one-line errors."""
    import importlib

    from config import load_defaults

    from .ptq import AccuracyControl

    given = [name for name in ("annotations", "images") if getattr(ns, name)]
    if not ns.accuracy_control:
        if given or ns.validation_images:
            raise UsageError(f"--{given[0] if given else 'validation-images'} needs --accuracy-control")
        return None
    if len(given) < 2:
        raise UsageError("--accuracy-control needs --annotations A.json and --images DIR (COCO keypoints)")
    if not (math.isfinite(ns.max_drop) and 0 <= ns.max_drop < 1):
        raise UsageError(f"--max-drop {ns.max_drop}: give an AP difference between 0 and 1 (0.015: 1.5 points)")
    if ns.validation_images < 0:
        raise UsageError(f"--validation-images {ns.validation_images}: give 0 (all) or more")
    if importlib.util.find_spec("pycocotools") is None:
        raise UsageError("accuracy control needs pycocotools: pip install 'posepipe[eval]'")
    # the scorer decodes with the decode workers' own decoders: a layer above this package,
    # started by the name config/defaults.toml gives, as the controller starts stages
    module, name = load_defaults()["quantize"]["scorer"].split(":")
    scorer = getattr(importlib.import_module(module), name)(model, ns.architecture_type, ns.annotations, ns.images,
                                                            limit=ns.validation_images)
    return AccuracyControl(scorer, max_drop=ns.max_drop)


def main(argv: Sequence[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        if ns.frames is not None and ns.frames < 1:
            raise UsageError(f"--frames {ns.frames}: give at least 1")
        if ns.zoom is not None and not 0 <= ns.zoom <= 8:
            raise UsageError(f"--zoom {ns.zoom}: give 0 to 8")
        if importlib.util.find_spec("nncf") is None:
            raise UsageError("quantization needs NNCF: pip install 'posepipe[quantize]'")
        from .ptq import Settings, defaults_for, quantize

        base = defaults_for(ns.architecture_type)
        settings = Settings(preset=ns.preset or base.preset,
                            fast_bias_correction=ns.bias_correction == "fast", ranges=ns.ranges or base.ranges,
                            frames=base.frames if ns.frames is None else ns.frames,
                            zoom=base.zoom if ns.zoom is None else ns.zoom,
                            keep_head_float=(ns.head or ("float" if base.keep_head_float else "int8")) == "float")
        model = resolve_model_file(ns.model)
        control = _accuracy_control(ns, model)
        t0 = time.monotonic()
        done = quantize(model, ns.architecture_type, ns.calibration, ns.output, settings, control)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    sizes = ", ".join(f"{w}x{h}" for h, w in done["sizes"])
    ignored = f", {done['ignored']} head operations kept in floating point" if done["ignored"] else ""
    crops = f" and {settings.zoom} zoomed crops of each" if settings.zoom else ""
    print(f"wrote {ns.output} (INT8, preset {settings.preset}, {settings.ranges} ranges, {done['frames']} calibration "
          f"frames of {os.path.basename(ns.calibration)}{crops} at {sizes}{ignored}) in {time.monotonic() - t0:.0f} s",
          file=sys.stderr)
    if control is not None:
        print(f"accuracy control: AP {done['ap_int8']:.3f} against the float model's {done['ap_float']:.3f} on "
              f"{done['validation_images']} images (allowed drop {control.max_drop:g}); {done['quantizers']} "
              "quantized tensors left", file=sys.stderr)
    return 0

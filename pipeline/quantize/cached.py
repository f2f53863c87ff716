"""INT8 variants of the real models, quantized once on the sample clip and cached beside them
(``<cache>/int8/<name>-int8.xml``), with a stamp of what they were made from: the source model's
SHA-256, the calibration clip's, and the settings. A stamp that no longer matches means the
variant is made again.

:data:`WORTH_IT` says for which models an INT8 variant is offered
(``scripts/fetch_model.py NAME --int8``): the goal is at least 1.15x the floating-point model's raw
throughput (1.3x for YOLO) at most 1.5 AP below it; :data:`WHY_NOT` says why the others are not.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import UsageError
from ..models.fetch import cache_dir, sha256_file
from .ptq import Settings, defaults_for

FAMILY = {"yolo11n-pose": "yolo-pose", "movenet": "movenet", "tfpose-mobilenet-thin": "openpose"}

# measured on this project's host (AMD EPYC, 2 cores, AVX512-VNNI; bf16 against INT8, interleaved
# runs of scripts/bench_int8.py, AP with python -m pipeline.eval; see the README's INT8 section):
# YOLO11n-pose 1.35-1.50x at 0.9 AP less
WORTH_IT = ("yolo11n-pose",)
WHY_NOT = {
    "movenet": "INT8 MoveNet does not pay on the CPU: 1.04x the bf16 model's raw throughput here (its depthwise "
               "layers gain little in INT8) for 27 AP less on COCO (see the README's INT8 section)",
    "tfpose-mobilenet-thin": "INT8 tf-pose is not offered: quantized with NNCF's defaults it ran 1.97x faster here "
                             "but its maps were useless (COCO AP 0.000 against 0.343; see the README's INT8 "
                             "section)",
}


def int8_path(name: str) -> Path:
    return cache_dir() / "int8" / f"{name}-int8.xml"


def _stamp(source: Path, clip: Path, settings: Settings) -> dict[str, object]:
    weights = [sha256_file(source.with_suffix(".bin"))] if source.suffix == ".xml" else []
    return {"source_sha256": [sha256_file(source), *weights], "clip_sha256": sha256_file(clip),
            "settings": dataclasses.asdict(settings)}


def cached_int8(name: str, source: Path, clip: Path, settings: Settings | None = None) -> Path | None:
    xml = int8_path(name)
    stamp = xml.with_suffix(".stamp.json")
    settings = settings or defaults_for(FAMILY[name])
    if not (xml.is_file() and xml.with_suffix(".bin").is_file() and stamp.is_file()):
        return None
    try:
        if json.loads(stamp.read_text()) == json.loads(json.dumps(_stamp(source, clip, settings))):
            return xml
    except (OSError, ValueError):
        return None
    return None


def make_int8(name: str, source: Path, clip: Path, settings: Settings | None = None) -> Path:
    """The INT8 variant of the real model ``name`` (at ``source``), calibrated on ``clip``;
    quantized now unless the cache holds one made from the same model, clip and settings."""
    from .ptq import quantize

    if name not in FAMILY:
        raise UsageError(f"no INT8 variant for {name}; choose one of: {', '.join(FAMILY)}")
    settings = settings or defaults_for(FAMILY[name])
    found = cached_int8(name, source, clip, settings)
    if found:
        return found
    xml = int8_path(name)
    xml.parent.mkdir(parents=True, exist_ok=True)
    quantize(str(source), FAMILY[name], str(clip), str(xml), settings)
    xml.with_suffix(".stamp.json").write_text(json.dumps(_stamp(source, clip, settings), indent=1))
    return xml

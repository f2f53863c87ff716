#!/usr/bin/env python3
"""The Open Model Zoo pose demo's work loop on today's OpenVINO: the baseline ``make bench`` runs
side by side with the pipeline.

The seed demo no longer runs on OpenVINO 2026 (it imports ``openvino.runtime``, which 2026
removed). This script does the demo's work with the demo's own model wrappers, Open Model Zoo's
``openmodelzoo-modelapi`` 2022.3.0 from PyPI, in one process as the demo does:

* the wrapper resizes each frame in Python (OpenPose: to the net's height; AE: short side),
  infers through an ``AsyncInferQueue`` and decodes the maps in NumPy (OpenPose with the 3x3
  max-pool it adds to the graph);
* the demo's asynchronous loop: submit a frame while a request is free, otherwise wait for one;
  show results in frame order; draw keypoints and blended limbs; write ``-o`` with
  ``cv2.VideoWriter`` (MJPG), as the demo does.

Three changes let it run on OpenVINO 2026, and nothing else is changed:

* ``openvino.runtime`` is an alias of ``openvino`` (every name it had lives there now);
* the model's output tensors get the names the OpenPose wrapper looks for ("pafs", "heatmaps"):
  OpenVINO 2026 no longer carries names set on the producing node over to the model's outputs;
* the demo's legacy CPU keys are spelled as today's: ``CPU_THROUGHPUT_STREAMS`` (AUTO unless
  ``-nstreams``) → ``NUM_STREAMS``, ``CPU_THREADS_NUM`` → ``INFERENCE_NUM_THREADS``. Its
  ``CPU_BIND_THREAD=NO`` is not carried over: with pinning off it ran 1.5 % slower here, and the
  baseline must not be handicapped. ``-nireq 0`` (the demo's default) gives OpenVINO's optimal
  number of requests plus one, as in the demo.

Usage (from the repository root)::

    python scripts/omz_demo.py -i media/bench-16x9.avi --loop -m <hpe-0001.xml> -at openpose \\
        --max-frames 1000 [--seconds 10] [-o out.avi] [-nireq 1 -nstreams 1] [--json result.json] [--sync DIR]

It prints one line (FPS, latency) and writes the figures as JSON with ``--json``. The wrappers
(and SciPy, which they import) are installed on first use into
``~/.cache/posepipe/omz-modelapi-2022.3.0`` with ``pip install --no-deps --target``: they are a
benchmark baseline, not a dependency of the product. Exit code 2 with a one-line reason when they
cannot be installed or do not run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELAPI = "openmodelzoo-modelapi==2022.3.0"
SCIPY = "scipy==1.17.1"  # the wrappers import it; this one runs with NumPy 2
WRAPPERS = {"openpose": "OpenPose", "ae": "HPE-assosiative-embedding"}  # (sic) the wrapper's own name


class Unavailable(RuntimeError):
    """The baseline cannot run here (no registry, or the wrappers do not load)."""


def _installed(target: Path) -> bool:
    return (target / "openvino" / "model_zoo" / "model_api").is_dir() and (target / "scipy").is_dir()


def model_api_dir() -> Path:
    """The wrappers' folder in the cache, installed with pip on first use."""
    from pipeline.models.fetch import cache_dir
    target = cache_dir().parent / "omz-modelapi-2022.3.0"
    if _installed(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".omz-modelapi-", dir=target.parent))
    try:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               "--no-deps", "--target", str(staging), MODELAPI, SCIPY],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            lines = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
            raise Unavailable(f"pip could not install {MODELAPI}: {lines[-1] if lines else done.returncode}")
        shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:
            if not _installed(target):  # not another run that installed it meanwhile
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def alias_runtime(model_api: Path) -> None:
    """Make ``openvino.runtime`` (and its submodules the wrappers import) resolve to today's
    ``openvino``, and ``openvino.model_zoo`` to the installed wrappers."""
    import openvino

    runtime = types.ModuleType("openvino.runtime")
    runtime.__path__ = []  # a package, so that "openvino.runtime.opset8" imports
    for name in dir(openvino):
        if not name.startswith("__"):
            setattr(runtime, name, getattr(openvino, name))
    sys.modules["openvino.runtime"] = runtime
    openvino.runtime = runtime  # type: ignore[attr-defined]
    for sub in ("opset8", "opset10", "utils", "utils.decorators"):
        sys.modules[f"openvino.runtime.{sub}"] = importlib.import_module(f"openvino.{sub}")
    openvino.__path__.append(str(model_api / "openvino"))
    sys.path.append(str(model_api))  # scipy


def plugin_config(nstreams: str, nthreads: int) -> dict[str, Any]:
    """The demo's ``get_user_config`` for CPU, in today's property names."""
    config: dict[str, Any] = {"NUM_STREAMS": nstreams or "AUTO"}
    if nthreads:
        config["INFERENCE_NUM_THREADS"] = str(nthreads)
    return config


def name_openpose_outputs(adapter: Any) -> None:
    """Give the model's outputs the names the OpenPose wrapper expects: the one with twice the
    channels is "pafs", the other "heatmaps"."""
    outs = list(adapter.model.outputs)
    channels = [o.get_partial_shape()[1].get_length() for o in outs]
    for out, c in zip(outs, channels):
        out.get_tensor().set_names({"pafs" if c == 2 * min(channels) else "heatmaps"})


def draw(image: Any, poses: Any, threshold: float) -> None:
    """The demo's drawing: a dot per keypoint, limbs on a copy blended back at 0.6."""
    import cv2
    import numpy as np
    from pipeline.models.skeleton import COCO17_EDGES, EDGE_COLOURS

    if len(poses) == 0:
        return
    limbs = image.copy()
    for pose in poses:
        pts = np.round(pose[:, :2]).astype(np.int32)
        ok = pose[:, 2] > threshold
        for k in np.flatnonzero(ok):
            cv2.circle(image, (int(pts[k, 0]), int(pts[k, 1])), 1, (0, 255, 255), 2)
        for (a, b), colour in zip(COCO17_EDGES, EDGE_COLOURS):
            if a < len(ok) and b < len(ok) and ok[a] and ok[b]:
                cv2.line(limbs, (int(pts[a, 0]), int(pts[a, 1])), (int(pts[b, 0]), int(pts[b, 1])), colour, 4)
    cv2.addWeighted(image, 0.4, limbs, 0.6, 0, dst=image)


def wait_for_go(folder: Path, timeout_s: float = 900.0) -> None:
    """``--sync``: say this loop is ready (``ready.<pid>``), then wait until ``go`` appears, so
    that several loops run concurrently over the same seconds (``scripts/bench_sources.py``)."""
    (folder / f"ready.{os.getpid()}").touch()
    deadline = time.monotonic() + timeout_s
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise Unavailable(f"--sync {folder}: no go within {timeout_s:g} s")
        time.sleep(0.01)


def run(ns: argparse.Namespace) -> dict[str, Any]:
    import cv2
    import numpy as np

    cap = cv2.VideoCapture(ns.input)
    ok, first = cap.read()
    if not ok:
        raise Unavailable(f"cannot read {ns.input}")
    h, w = first.shape[:2]
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    alias_runtime(model_api_dir())
    import openvino as ov
    from openvino.model_zoo.model_api.adapters import OpenvinoAdapter
    from openvino.model_zoo.model_api.models import ImageModel
    from openvino.model_zoo.model_api.pipelines import AsyncPipeline

    from pipeline.telemetry.memory import pss_mb
    from stages.infer import precision_name

    adapter = OpenvinoAdapter(ov.Core(), ns.model, device="CPU", plugin_config=plugin_config(ns.nstreams, ns.nthreads),
                              max_num_requests=ns.nireq)
    if ns.architecture_type == "openpose":
        name_openpose_outputs(adapter)
    config = {"target_size": ns.tsize, "aspect_ratio": w / h, "confidence_threshold": ns.prob_threshold}
    model = ImageModel.create_model(WRAPPERS[ns.architecture_type], adapter, config, preload=True)
    pipe = AsyncPipeline(model)
    compiled = adapter.compiled_model
    info = {"requests": len(adapter.async_queue), "streams": int(compiled.get_property("NUM_STREAMS")),
            "precision": precision_name(str(compiled.get_property("INFERENCE_PRECISION_HINT")))}
    writer = None
    if ns.output:
        fps_in = cap.get(cv2.CAP_PROP_FPS) or 30.0
        writer = cv2.VideoWriter(ns.output, cv2.VideoWriter_fourcc(*"MJPG"), fps_in, (w, h))

    if ns.sync:
        wait_for_go(Path(ns.sync))
    latencies: list[float] = []
    peak_pss = 0.0
    submitted = shown = 0
    t_first = t_last = 0.0
    ended = False
    while shown < ns.max_frames and not (ended and shown >= submitted):
        if pipe.callback_exceptions:
            raise pipe.callback_exceptions[0]
        result = pipe.get_result(shown)
        if result:
            (poses, _scores), meta = result
            frame = meta["frame"]
            draw(frame, poses, ns.prob_threshold)
            if writer is not None:
                writer.write(frame)
            t_last = time.perf_counter()
            latencies.append((t_last - meta["start_time"]) * 1000)
            shown += 1
            if shown % 100 == 0:
                peak_pss = max(peak_pss, pss_mb())
            continue
        if not ended and submitted < ns.max_frames and pipe.is_ready():
            start = time.perf_counter()
            if ns.seconds and t_first and start - t_first >= ns.seconds:
                ended = True
                continue
            ok, frame = cap.read()
            if not ok and ns.loop:
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = cap.read()
            if not ok:
                ended = True
                continue
            t_first = t_first or start
            pipe.submit_data(frame, submitted, {"frame": frame, "start_time": start})
            submitted += 1
        else:
            pipe.await_any()
    pipe.await_all()
    cap.release()
    if writer is not None:
        writer.release()
    span = t_last - t_first
    return {"frames": shown, "fps": shown / span if span > 0 else None,
            "latency_ms": {"mean": statistics.fmean(latencies) if latencies else None,
                           "p50": statistics.median(latencies) if latencies else None,
                           "p95": float(np.percentile(latencies, 95)) if latencies else None},
            "net_input": f"{model.w}x{model.h}", "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_pss_mb": max(peak_pss, pss_mb()), **info}


def main() -> int:
    code = _main()
    sys.stdout.flush()
    sys.stderr.flush()
    # OpenVINO's AsyncInferQueue holds Python callbacks; tearing it down during interpreter exit
    # aborts ("exception not rethrown"). Every request is done and every file closed by now.
    os._exit(code)


def _main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-i", "--input", required=True)
    parser.add_argument("--loop", action="store_true")
    parser.add_argument("-o", "--output")
    parser.add_argument("-m", "--model", required=True)
    parser.add_argument("-at", "--architecture_type", choices=("openpose", "ae"), required=True)
    parser.add_argument("--tsize", type=int)
    parser.add_argument("-t", "--prob_threshold", type=float, default=0.1)
    parser.add_argument("-nireq", "--num_infer_requests", dest="nireq", type=int, default=0)
    parser.add_argument("-nstreams", "--num_streams", dest="nstreams", default="")
    parser.add_argument("-nthreads", "--num_threads", dest="nthreads", type=int)
    parser.add_argument("--max-frames", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop reading frames after this long")
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--sync", metavar="FOLDER", help="once loaded, touch FOLDER/ready.<pid> and wait for "
                        "FOLDER/go before reading the first frame (concurrent loops start together)")
    ns = parser.parse_args()
    try:
        figures = run(ns)
    except Exception as exc:  # noqa: BLE001 - a baseline that cannot run is reported in one line
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        print(f"error: the Open Model Zoo demo baseline cannot run: {reason}", file=sys.stderr)
        return 2
    if not figures["frames"]:
        print("error: the Open Model Zoo demo baseline showed no frame", file=sys.stderr)
        return 2
    lat = figures["latency_ms"]
    print(f"OMZ demo loop: {figures['frames']} frames, {figures['fps'] or 0.0:.1f} FPS, latency p50 "
          f"{lat['p50']:.1f} ms ({figures['requests']} requests, {figures['streams']} streams, "
          f"{figures['precision']})")
    if ns.json:
        Path(ns.json).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    main()

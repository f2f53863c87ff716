#!/usr/bin/env python3
"""``make bench``: the pipeline against the raw OpenVINO limit, side by side, in one run.

For each model available (hpe-0001 and hpe-0005 with stand-in weights, MoveNet), on the same
16:9 clip made from the sample (so hpe-0001 runs at its own 456x256 input):

a. the raw limit of the same compiled model (:mod:`scripts.rawlimit`): async throughput with the
   optimal number of requests, and single-request latency, with the precision in effect;
b. the pipeline's throughput in User specified mode, decoding and drawing on, video written, and
   again without output (the Open Model Zoo demo's condition); the raw throughput is measured
   again right after these runs and the two raw figures are averaged (the machine's speed drifts);
c. its end-to-end latency in Min latency mode (frame read → written), against the raw
   single-request latency measured right before and right after (mean);
d. decode throughput with 1, 2, … decode worker processes (the decoder alone, on real or
   rendered maps);
e. CPU time per frame by stage; f. peak memory of all processes together: PSS (each shared page
   counted once) and the sum of RSS (shared libraries and rings counted once per process); time
   to first frame;
h. the decoders on noisy maps (:mod:`scripts.bench_decode` ``--noise``): people recall, precision,
   keypoints within 4 px and decode time per frame at each noise level, beside the Open Model
   Zoo decoders on the same maps;
g. beside (b) and (c), the Open Model Zoo demo's loop on the same clip and model
   (:mod:`scripts.omz_demo`: the demo's own model wrappers on today's OpenVINO), for hpe-0001 and
   hpe-0005: throughput with the better of its default requests and 8, with the video written and
   without output, and latency with one request;
h. many cameras (:mod:`scripts.bench_sources`): K = 1 … 16 sources in one pipeline, paced at 15 FPS
   and unpaced, beside K separate pipelines and K demo loops, with the raw limits of (a).

Prints a table of ratios and writes BENCHMARKS.md and bench.json (``--out``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import bench_tracking  # noqa: E402
import rawlimit  # noqa: E402
from benchlib import make_clip, models  # noqa: E402
from pipeline.telemetry.machine import machine_description  # noqa: E402

MIN_RUN_FRAMES = 4  # every pipeline run is bounded (--max-frames 0 would loop for ever)
SEED_DEMO = {"fps": 54.6, "latency_ms": 20.8, "latency_fps": 47.5, "raw_fps": 61.7, "raw_latency_ms": 16.9}


def _run_for_report(argv: list[str], report: Path, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python ARGV`` from the repository root and return the JSON it wrote to ``report``,
    with the command that reproduces it; RuntimeError with stderr's last line if it failed."""
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not report.exists():
        lines = done.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else f"exit code {done.returncode}")
    data = json.loads(report.read_text())
    data["command"] = "python " + " ".join(argv).replace(str(ROOT) + "/", "")
    return data


def run_pipeline(model: dict[str, str], clip: Path, frames: int, mode: str, workdir: Path,
                 write: bool = True) -> dict[str, Any]:
    tag = f"{model['name']}-{mode}-{'written' if write else 'drawn'}"
    report = workdir / f"{tag}.json"
    output = ["-o", str(workdir / f"{tag}.avi")] if write else []
    argv = ["-m", "pipeline", "-i", str(clip), "--loop", "-at", model["family"], "-m", model["path"], "-no_show",
            "--mode", mode, "--max-frames", str(frames), *output, "--telemetry-out", str(report)]
    try:
        return _run_for_report(argv, report, timeout=900)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"pipeline failed: {exc}") from None


def run_omz_demo(model: dict[str, str], clip: Path, seconds: float, workdir: Path, *, write: bool = False,
                 nireq: int = 0, one_request: bool = False) -> dict[str, Any]:
    """The Open Model Zoo demo's loop (:mod:`scripts.omz_demo`) on the same clip and model.
    Returns its figures, or ``{"error": reason}`` when it cannot run here."""
    tag = f"{model['name']}-omz-{'latency' if one_request else 'user'}-{nireq}-{'written' if write else 'drawn'}"
    report = workdir / f"{tag}.json"
    argv = ["scripts/omz_demo.py", "-i", str(clip), "--loop", "-m", model["path"], "-at", model["family"],
            "--max-frames", "100000", "--seconds", f"{seconds:g}", "--json", str(report)]
    if write:
        argv += ["-o", str(workdir / f"{tag}.avi")]
    if one_request:
        argv += ["-nireq", "1", "-nstreams", "1"]
    elif nireq:
        argv += ["-nireq", str(nireq)]
    try:
        return _run_for_report(argv, report, timeout=seconds * 10 + 600)
    except RuntimeError as exc:
        return {"error": str(exc)}


def omz_demo_runs(model: dict[str, str], clip: Path, seconds: float, workdir: Path) -> dict[str, Any]:
    """The demo's throughput (the better of its default requests and 8), then with the video
    written at that setting."""
    if model["family"] not in ("openpose", "ae"):
        return {}
    print(f"{model['name']}: the Open Model Zoo demo's loop, same clip …", file=sys.stderr, flush=True)
    tries = [run_omz_demo(model, clip, seconds, workdir), run_omz_demo(model, clip, seconds, workdir, nireq=8)]
    ok = [t for t in tries if "error" not in t]
    if not ok:
        return {"error": tries[0]["error"]}
    best = max(ok, key=lambda t: t["fps"])
    nireq = 8 if best is tries[-1] else 0
    written = run_omz_demo(model, clip, seconds, workdir, write=True, nireq=nireq)
    return {"drawn": best, "drawn_tries": {str(t["requests"]): t["fps"] for t in ok}, "written": written}


# -- decode scaling -----------------------------------------------------------------------------

def sample_maps(model: dict[str, str], clip: Path) -> list[np.ndarray]:
    """One frame's output maps: real model output for MoveNet, rendered 5-person maps for the
    stand-in models (their own outputs are meaningless)."""
    from pipeline.models.families import plan_model
    from pipeline.sources import probe
    info = probe(str(clip))
    plan = plan_model(model["path"], model["family"], (info.frame_h, info.frame_w))
    shapes = [shape for _, shape in plan.outputs]
    if model["family"] == "movenet":
        import openvino as ov
        from stages.infer import build_model
        core = ov.Core()
        compiled = core.compile_model(build_model(core, plan), "CPU")
        cap = cv2.VideoCapture(str(clip))
        frame = cv2.resize(cap.read()[1], (plan.net_w, plan.net_h))
        result = compiled({0: frame[None]})
        return [result[port] for port in compiled.outputs]  # every scale's output (near and far)
    sys.path.insert(0, str(ROOT))
    from tests.decode import render
    rng = np.random.default_rng(5)
    if model["family"] == "openpose":
        _, _, h, w = shapes[1]
        poses = render.crowd(rng, 5, h, w)
        pafs, heat = render.render_openpose(poses, h, w)
        return [pafs[None], heat[None]]
    _, k, h, w = shapes[0]
    poses = render.crowd(rng, 5, h, w)
    heat, tags = render.render_ae(poses, render.spaced_tags(rng, 5), h, w, nms_negate=True)
    return [heat[None], tags[None, ..., None]]


def _decode_loop(model: dict[str, str], maps: list[np.ndarray], seconds: float, start: Any, out: Any) -> None:
    from pipeline.models.families import plan_model
    from stages.decode.registry import make_decoder
    plan = model["plan"]
    decode, warmup = make_decoder(plan)
    warmup()
    decode(maps)
    start.wait()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        decode(maps)
        n += 1
    out.put(n / (time.perf_counter() - t0))
    del plan_model


def decode_scaling(model: dict[str, str], clip: Path, max_workers: int, seconds: float = 3.0) -> dict[str, float]:
    from pipeline.models.families import plan_model
    from pipeline.sources import probe
    info = probe(str(clip))
    maps = sample_maps(model, clip)
    spec = dict(model, plan=plan_model(model["path"], model["family"], (info.frame_h, info.frame_w)))
    ctx = mp.get_context("spawn")
    result = {}
    for k in range(1, max_workers + 1):
        start, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_decode_loop, args=(spec, maps, seconds, start, out)) for _ in range(k)]
        for p in procs:
            p.start()
        time.sleep(2.0)  # numba cache load and warm-up
        start.set()
        rates = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        result[str(k)] = sum(rates)
    return result


# -- decoders on noisy maps --------------------------------------------------------------------

NOISE_COMMAND = "python -m scripts.bench_decode --noise --noise-frames {frames}"
CROWD_FRAMES = 20  # scenes per crowd kind and noise level of bench_decode's crowd table (its default)


def decode_noise(frames: int) -> dict[str, Any]:
    """The noise table of :mod:`scripts.bench_decode` (every family and level, ``frames`` scenes
    each), with the Open Model Zoo decoders when they can be loaded."""
    from scripts import bench_decode
    from stages.decode import ae, higherhrnet, openpose
    for module in (openpose, ae, higherhrnet):
        module.warmup()
    source = bench_decode.load_omz_decoders()
    rows = bench_decode.noise_bench(list(bench_decode.SIZES), list(bench_decode.render.NOISE_LEVELS), frames)
    crowd = bench_decode.crowd_bench(list(bench_decode.CROWD_FAMILIES), ["clean", "medium"], CROWD_FRAMES)
    return {"omz": source, "frames": frames, "command": NOISE_COMMAND.format(frames=frames),
            "rows": [vars(r) for r in rows], "markdown": bench_decode.noise_markdown(rows),
            "crowd": [vars(r) for r in crowd], "crowd_markdown": bench_decode.crowd_markdown(crowd)}


def noise_section(noise: dict[str, Any], cpu: str) -> list[str]:
    """BENCHMARKS.md's section on the decoders under noise, measured on ``cpu``."""
    from tests.decode.render import NOISE_LEVELS
    levels = "; ".join(f"{name}: heatmap noise σ {lv.heat:g}, peak heights ±{lv.peak * 100:.0f} %, PAF noise "
                       f"{lv.paf:g}, tag noise {lv.tag:g} of the tag spacing"
                       for name, lv in NOISE_LEVELS.items() if name != "clean")
    omz = (f"the Open Model Zoo decoders ({noise['omz']}: `OpenPoseDecoder`, `AssociativeEmbeddingDecoder`, as "
           "their model wrappers configure them)" if noise["omz"] else "the Open Model Zoo decoders (not available "
           "on this run)")
    return ["## Decoders on noisy maps", "",
            f"{noise['frames']} scenes per family and level, 1–15 people 40–250 px tall standing close together "
            "(`tests/decode/scenes.py`), rendered at the output size of each model's default input (openpose "
            "32x57 with limb fields one cell wide, ae 144x144, higherhrnet 256x256) with a trained network's kinds of noise "
            f"(`tests/decode/render.py`; {levels}), decoded by our decoders (people kept at score ≥ 0.1, the "
            f"default `-t`) and by {omz}. Recall = true people found (a decoded person holding at least half of "
            "a true person's keypoints, each within max(4 px, 10 % of its height)), precision = decoded people "
            "that are true people (fragments and duplicates count against it), keypoints within 4 px = share of "
            "all true keypoints found within 4 network-input pixels; decode ms = mean CPU time per frame of the "
            f"decoding thread (both decoders are single-threaded; no OpenVINO, so no inference precision "
            f"applies), on {cpu}. Command: `{noise['command']}`.", "", noise["markdown"], "",
            ("Crowds with hidden joints (the same command's second table): the OpenPose decoder on "
             f"{CROWD_FRAMES} scenes per kind and level: *rows*, people of 40–100 px shoulder to shoulder "
             "row under row, 10 % of joints hidden; *scattered*, 4–15 people of 40–250 px close together, "
             "8 % hidden. A decoder that mixes neighbours decodes more people than there are."), "",
            noise.get("crowd_markdown", ""), ""]


# -- report ------------------------------------------------------------------------------------

def summarise(model: dict[str, str], raw: dict[str, Any], user: dict[str, Any], user_drawn: dict[str, Any],
              lat: dict[str, Any], lat_written: dict[str, Any], scaling: dict[str, float],
              omz: dict[str, Any] | None = None) -> dict[str, Any]:
    u, lsec = user["all"], lat["all"]
    frames = u["frames"] or 1
    cpu: dict[str, float] = {}
    for k, v in user["meta"]["cpu_run_s"].items():  # capture processes ("capture0.0", …) summed
        key = "capture" if k.startswith("capture") else k
        cpu[key] = cpu.get(key, 0.0) + v / frames * 1000
    return {
        **omz_summary(omz or {}, raw),
        "model": model["name"], "family": model["family"], "weights": model["weights"],
        "input": raw["input"], "precision": raw["throughput"]["precision"],
        "raw_fps": raw["throughput"]["fps"], "raw_requests": raw["throughput"]["requests"],
        "raw_streams": raw["throughput"]["streams"], "raw_latency_ms": raw["latency"]["median_ms"],
        "pipeline_fps": u["fps"], "throughput_ratio": u["fps"] / raw["throughput"]["fps"],
        "raw_fps_runs": raw["throughput"]["runs_fps"], "raw_latency_runs_ms": raw["latency"]["runs_median_ms"],
        "pipeline_fps_drawn": user_drawn["all"]["fps"],
        "throughput_ratio_drawn": user_drawn["all"]["fps"] / raw["throughput"]["fps"],
        "pipeline_requests": user["meta"]["requests"], "batch": user["meta"].get("batch"),
        "ring_slots": user["meta"].get("ring_slots"),
        "latency_p50_ms": lsec["latency_ms"]["p50"], "latency_p95_ms": lsec["latency_ms"]["p95"],
        "latency_fps": lsec["fps"], "latency_over_raw_ms": lsec["latency_ms"]["p50"] - raw["latency"]["median_ms"],
        "user_latency_p50_ms": u["latency_ms"]["p50"],
        # the mode switch does what it says (a measurement, so here and not in the tests)
        "latency_mode_lower": lsec["latency_ms"]["p50"] < u["latency_ms"]["p50"],
        "latency_written_p50_ms": lat_written["all"]["latency_ms"]["p50"],
        "decode_fps_by_workers": scaling, "cpu_ms_per_frame": cpu,
        "stage_ms": {s: v["total_ms"] for s, v in lsec["stages"].items()},
        "peak_rss_mb": user["meta"]["peak_rss_total_mb"], "peak_pss_mb": user["meta"].get("peak_pss_total_mb"),
        "first_frame_s": user["meta"]["first_frame_s"],
        "commands": {"user": user["command"], "user_drawn": user_drawn["command"], "latency": lat["command"], "latency_written": lat_written["command"],
                     "raw": f"python scripts/rawlimit.py -m {os.path.relpath(model['path'], ROOT)} "
                            f"-at {model['family']} -i media/bench-16x9.avi"},
    }


def omz_summary(omz: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """The Open Model Zoo demo's figures for a row (``omz_*``), ``None`` where it did not run."""
    out: dict[str, Any] = {"omz_fps_drawn": None, "omz_ratio_drawn": None, "omz_fps_written": None,
                           "omz_ratio_written": None, "omz_requests": None, "omz_fps_by_requests": None,
                           "omz_latency_p50_ms": None, "omz_latency_over_raw_ms": None, "omz_latency_fps": None,
                           "omz_peak_pss_mb": None, "omz_error": omz.get("error"), "omz_commands": {}}
    raw_fps, raw_ms = raw["throughput"]["fps"], raw["latency"]["median_ms"]
    drawn, written, lat = omz.get("drawn"), omz.get("written") or {}, omz.get("latency") or {}
    if drawn:
        out.update(omz_fps_drawn=drawn["fps"], omz_ratio_drawn=drawn["fps"] / raw_fps, omz_requests=drawn["requests"],
                   omz_fps_by_requests=omz.get("drawn_tries"), omz_peak_pss_mb=drawn.get("peak_pss_mb"))
        out["omz_commands"]["drawn"] = drawn["command"]
    if written.get("fps"):
        out.update(omz_fps_written=written["fps"], omz_ratio_written=written["fps"] / raw_fps)
        out["omz_commands"]["written"] = written["command"]
    if lat.get("fps"):
        out.update(omz_latency_p50_ms=lat["latency_ms"]["p50"], omz_latency_over_raw_ms=lat["latency_ms"]["p50"] - raw_ms,
                   omz_latency_fps=lat["fps"])
        out["omz_commands"]["latency"] = lat["command"]
    for part in (written, lat):
        out["omz_error"] = out["omz_error"] or part.get("error")
    return out


def _f(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def table(rows: list[dict[str, Any]]) -> str:
    """Two tables: throughput (User specified mode) and latency (Min latency mode), each beside
    the raw limit and the Open Model Zoo demo's loop."""
    lines = ["| model | input | precision | raw FPS | pipeline FPS, video written | ratio | pipeline FPS, no output "
             "| ratio | OMZ demo FPS, video written | ratio | OMZ demo FPS, no output | ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} ({r['weights']} weights) | {r['input']} | {r['precision']} | {r['raw_fps']:.1f} "
                     f"| {r['pipeline_fps']:.1f} | {r['throughput_ratio']:.2f} | {r['pipeline_fps_drawn']:.1f} "
                     f"| {r['throughput_ratio_drawn']:.2f} | {_f(r.get('omz_fps_written'), '.1f')} "
                     f"| {_f(r.get('omz_ratio_written'), '.2f')} | {_f(r.get('omz_fps_drawn'), '.1f')} "
                     f"| {_f(r.get('omz_ratio_drawn'), '.2f')} |")
    lines += ["", "| model | raw latency ms | pipeline latency p50 ms | over raw ms | FPS | OMZ demo, 1 request, p50 ms "
              "| over raw ms | FPS | pipeline with video written ms | first frame s | peak memory MiB (PSS) "
              "| peak RSS sum MiB | OMZ demo peak memory MiB (PSS) |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        over = r.get("omz_latency_over_raw_ms")
        lines.append(f"| {r['model']} | {r['raw_latency_ms']:.1f} | {r['latency_p50_ms']:.1f} "
                     f"| {r['latency_over_raw_ms']:+.1f} | {r['latency_fps']:.1f} "
                     f"| {_f(r.get('omz_latency_p50_ms'), '.1f')} | {_f(over, '+.1f')} "
                     f"| {_f(r.get('omz_latency_fps'), '.1f')} | {r['latency_written_p50_ms']:.1f} "
                     f"| {r['first_frame_s']:.2f} | {_f(r.get('peak_pss_mb'), '.0f')} | {r['peak_rss_mb']:.0f} "
                     f"| {_f(r.get('omz_peak_pss_mb'), '.0f')} |")
    return "\n".join(lines)


def omz_details(r: dict[str, Any]) -> list[str]:
    if r.get("omz_error"):
        return [f"* Open Model Zoo demo loop: did not run ({r['omz_error']})"]
    if r.get("omz_fps_drawn") is None:
        return []
    tries = ", ".join(f"{k} requests {v:.1f}" for k, v in (r.get("omz_fps_by_requests") or {}).items())
    cmds = "; ".join(f"`{c}`" for c in r["omz_commands"].values())
    return [f"* Open Model Zoo demo loop (`scripts/omz_demo.py`): no output {tries} FPS (the table shows the better); "
            f"its commands: {cmds}"]


def details(rows: list[dict[str, Any]]) -> str:
    out = []
    for r in rows:
        scaling = ", ".join(f"{k}: {v:.0f}" for k, v in r["decode_fps_by_workers"].items())
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["cpu_ms_per_frame"].items()))
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stage_ms"].items() if v is not None)
        out += [f"### {r['model']}", "",
                f"* raw: {r['raw_requests']} requests, {r['raw_streams']} streams; measured before and after the "
                f"pipeline's User specified runs: {' and '.join(f'{v:.1f}' for v in r['raw_fps_runs'])} FPS "
                f"(the table shows the mean); raw latency right before and after the Min latency runs: "
                f"{' and '.join(f'{v:.1f}' for v in r['raw_latency_runs_ms'])} ms (mean in the table); "
                f"pipeline: {r['pipeline_requests']} requests, batches of "
                f"{r['batch']} frames, {r['ring_slots']} ring slots",
                f"* Min latency mode: p50 {r['latency_p50_ms']:.1f} ms, p95 {r['latency_p95_ms']:.1f} ms, "
                f"{r['latency_fps']:.1f} FPS; stage share of latency (ms): {stages}",
                f"* Min latency mode with the video written too: p50 {r['latency_written_p50_ms']:.1f} ms",
                f"* User specified mode latency p50: {r['user_latency_p50_ms']:.1f} ms "
                f"(Min latency mode lower: {'yes' if r['latency_mode_lower'] else 'NO'})",
                f"* decode frames/s by worker processes: {scaling}",
                f"* CPU ms per frame by process (User specified run): {cpu}",
                *omz_details(r),
                f"* commands: `{r['commands']['raw']}`; `{r['commands']['user']}`; `{r['commands']['user_drawn']}`; "
                f"`{r['commands']['latency']}`; "
                f"`{r['commands']['latency_written']}`", ""]
    return "\n".join(out)


def many_cameras(ns: argparse.Namespace, chosen: list[dict[str, str]], rows: list[dict[str, Any]],
                 work: Path) -> dict[str, Any] | None:
    """The many-cameras section (:mod:`scripts.bench_sources`) for its models among ``chosen``,
    with the raw limits measured above (same clip size, so the same compiled model)."""
    import bench_sources
    wanted = [m for m in chosen if m["name"] in bench_sources.DEFAULT_MODELS.split(",")]
    if ns.no_sources or not wanted:
        return None
    ks = sorted({int(k) for k in ns.sources_ks.split(",")})
    raw = {r["model"]: r["raw_fps"] for r in rows}
    folder = work / "sources"
    folder.mkdir()
    return bench_sources.run(wanted, ks, ns.sources_seconds, folder, omz=not ns.no_omz, raw_fps=raw)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each pipeline run (default 10)")
    parser.add_argument("--raw-seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=0, help="decode workers to scale to (default: cores)")
    parser.add_argument("--only", help="comma-separated model names")
    parser.add_argument("--no-omz", action="store_true", help="skip the Open Model Zoo demo baseline")
    parser.add_argument("--noise-frames", type=int, default=30,
                        help="scenes per family and noise level for the decoders' noise table (0: skip it)")
    parser.add_argument("--out", default=str(ROOT), help="folder for BENCHMARKS.md and bench.json")
    parser.add_argument("--no-sources", action="store_true", help="skip the many-cameras section")
    parser.add_argument("--no-http", action="store_true", help="skip what --http's page costs (4 viewers, 8 sources)")
    parser.add_argument("--http-sources", type=int, default=8, help="its number of sources (default 8)")
    parser.add_argument("--http-viewers", type=int, default=4, help="its number of viewers (default 4)")
    parser.add_argument("--http-rounds", type=int, default=2, help="its interleaved rounds (default 2)")
    parser.add_argument("--http-seconds", type=float, default=10.0, help="its measurement window (default 10)")
    parser.add_argument("--sources-ks", default="1,2,4,8,16", help="its numbers of sources (default 1,2,4,8,16)")
    parser.add_argument("--sources-seconds", type=float, default=6.0, help="its measurement window (default 6)")
    ns = parser.parse_args()
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)  # before a run of minutes, not after it
    sample = ROOT / "media" / "vtest.avi"
    if not sample.exists():
        print("error: media/vtest.avi is missing (make sample)", file=sys.stderr)
        return 1
    clip = make_clip(sample, ROOT / "media" / "bench-16x9.avi")
    chosen = models()
    if ns.only:
        chosen = [m for m in chosen if m["name"] in ns.only.split(",")]
    if not chosen:
        print("error: no model to benchmark (make model; make standin)", file=sys.stderr)
        return 1
    rows = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="posepipe-bench-") as tmp:
        work = Path(tmp)
        for model in chosen:
            # the machine's speed drifts: each raw figure is measured right before and right after
            # the pipeline runs it is compared with, and the two are averaged
            def raw_throughput() -> dict[str, Any]:
                return rawlimit.measure(model["path"], model["family"], str(clip), seconds=ns.raw_seconds,
                                        latency_seconds=0)

            def raw_latency() -> dict[str, Any]:
                return rawlimit.measure(model["path"], model["family"], str(clip), seconds=0,
                                        latency_seconds=ns.raw_seconds * 0.6)

            print(f"{model['name']}: raw limit, then pipeline in User specified mode …", file=sys.stderr, flush=True)
            raw = raw_throughput()
            fps = raw["throughput"]["fps"]
            # at least a few frames: --max-frames 0 would mean "no limit" on a looping input, and a
            # slow or loaded machine can measure so little that the product rounds to 0
            user_frames = max(MIN_RUN_FRAMES, int(fps * ns.seconds))
            user = run_pipeline(model, clip, user_frames, "user", work)
            user_drawn = run_pipeline(model, clip, user_frames, "user", work, write=False)
            omz = {} if ns.no_omz else omz_demo_runs(model, clip, ns.seconds, work)
            again = raw_throughput()["throughput"]["fps"]
            raw["throughput"]["runs_fps"] = [fps, again]
            raw["throughput"]["fps"] = (fps + again) / 2
            print(f"{model['name']}: raw latency, then pipeline in Min latency mode …", file=sys.stderr, flush=True)
            before = raw_latency()["latency"]
            lat_frames = max(MIN_RUN_FRAMES, int(1000 / before["median_ms"] * ns.seconds * 0.5))
            lat = run_pipeline(model, clip, lat_frames, "latency", work, write=False)
            lat_written = run_pipeline(model, clip, lat_frames, "latency", work)
            if omz and "error" not in omz:
                omz["latency"] = run_omz_demo(model, clip, ns.seconds * 0.5, work, one_request=True)
            after = raw_latency()["latency"]
            raw["latency"] = {**after, "runs_median_ms": [before["median_ms"], after["median_ms"]],
                              "median_ms": (before["median_ms"] + after["median_ms"]) / 2}
            print(f"{model['name']}: decode scaling …", file=sys.stderr, flush=True)
            scaling = decode_scaling(model, clip, ns.workers or (os.cpu_count() or 2))
            rows.append(summarise(model, raw, user, user_drawn, lat, lat_written, scaling, omz))
        sources = many_cameras(ns, chosen, rows, work)
    tracking = None
    if any(m["name"] == "movenet" for m in chosen):
        print("tracking: MoveNet on vtest's first 100 frames …", file=sys.stderr, flush=True)
        try:
            tracking = bench_tracking.measure()
        except (RuntimeError, OSError, ValueError) as exc:  # the rest of the bench stands without it
            print(f"warning: tracking section skipped: {exc}", file=sys.stderr)
    http_cost = None
    if not ns.no_http and any(m["name"] == "movenet" for m in chosen):
        print(f"--http: {ns.http_sources} sources, nobody watching and {ns.http_viewers} viewers …", file=sys.stderr,
              flush=True)
        import bench_http
        try:
            http_cost = bench_http.measure(ns.http_sources, ns.http_viewers, ns.http_seconds, ns.http_rounds)
        except (RuntimeError, OSError) as exc:  # the rest of the bench stands without it
            print(f"warning: --http section skipped: {exc}", file=sys.stderr)
    noise = None
    if ns.noise_frames > 0:
        print("decoders on noisy maps …", file=sys.stderr, flush=True)
        noise = decode_noise(ns.noise_frames)
    machine = machine_description()
    result = {"machine": machine, "seed_demo_reference": SEED_DEMO, "rows": rows, "tracking": tracking,
              "decode_noise": noise, "sources": sources, "http": http_cost, "elapsed_s": time.monotonic() - started}
    text = table(rows)
    print(text)
    (out / "bench.json").write_text(json.dumps(result, indent=1))
    md = ["# Benchmarks", "",
          f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
          f"OpenVINO {machine['openvino']}, Python {machine['python']}. Produced by `make bench` "
          f"({result['elapsed_s'] / 60:.1f} min).", "",
          "Raw = the same compiled model (same input size and in-graph preprocessing) measured as "
          "benchmark_app does, before and after the pipeline's runs (mean); pipeline = `python -m pipeline` in "
          "User specified mode with its defaults, decoding and drawing, with an MJPG video written and without "
          "output; latency = frame read → skeletons drawn (no output; the OMZ demo's condition), median, in Min "
          "latency mode, and beside it with the video written as well. Ratio = pipeline FPS / raw "
          "FPS. OMZ demo = the Open Model Zoo demo's loop with its own model wrappers (openmodelzoo-modelapi "
          "2022.3.0: Python resize, `AsyncInferQueue`, NumPy decoding, `cv2.VideoWriter` MJPG) on today's "
          "OpenVINO (`scripts/omz_demo.py`), same clip, same model, same run: its throughput is the better of its "
          "default requests (optimal + 1) and 8, its latency is with `-nireq 1 -nstreams 1`. (The figures quoted "
          "for the demo when this project started, 54.6 FPS = 0.88 of a 61.7 FPS raw limit and 20.8 ms, were "
          "measured where inference cost 2.5 times what it costs here.) Peak memory: PSS of all the pipeline's "
          "processes together (each shared page counted once: the memory the run really holds), beside the sum "
          "of their RSS peaks (which counts every shared library and ring once per process).", "", text, "",
          details(rows)]
    if tracking:
        md += ["## Tracking", "", f"{bench_tracking.summary(tracking)}. Command: `{tracking['command']}` "
               "(`python scripts/bench_tracking.py` repeats it).", ""]
    if noise:
        print(noise["markdown"])
        md += noise_section(noise, machine["cpu"])
    if sources:
        import bench_sources
        md += [bench_sources.markdown(sources, machine, "make bench")]
    if http_cost:
        import bench_http
        md += ["", bench_http.markdown(http_cost)]
    notes = ROOT / "docs" / "benchmarks-notes.md"
    if notes.exists():
        md += ["", notes.read_text()]
    (out / "BENCHMARKS.md").write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

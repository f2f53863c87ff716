#!/usr/bin/env python3
"""Many cameras: K sources in one pipeline, beside K separate pipelines and K Open Model Zoo demo
loops, each set run concurrently (a section of ``make bench``; runs on its own too).

For each model (hpe-0001 with stand-in weights and MoveNet by default) and each K (1, 2, 4, 8, 16):

* **one pipeline** with K sources (``-i`` K times, ``--loop``), unpaced (every source read as fast
  as the pipeline takes frames: the saturated case) and paced (``--realtime``: each source at its
  clip's 15 FPS, like a camera, frames due while there is no room dropped and counted);
* **K separate pipelines**, one source each, all running at once (up to ``--separate-max`` K;
  16 pipelines of seven processes each do not start in reasonable time on two cores);
* **K Open Model Zoo demo loops** (:mod:`scripts.omz_demo`), one clip each, all at once, unpaced
  only (the demo has no pacing), for the families it has wrappers for (not MoveNet).

Sources are H.264 clips made from the sample (``media/vtest.avi``) with Debian's ``ffmpeg``
(libx264), 768x432 (the bench clip's crop), 15 FPS, 300 frames, each starting at another frame
of the sample so that no two sources show the same frame at once; cached under ``media/``.
Without ``ffmpeg`` they are MPEG-4 (XVID) clips written by OpenCV, and the report says so.

Every set is measured the same way: started together, left to warm up until every source has a
frame out, then figures are taken over a common window of ``--seconds``: frames and drops per
source from ``ctl status`` (the demo loops start reading together on a file barrier, ``--sync``),
CPU per process from ``/proc/<pid>/stat`` and PSS of every process at the end of the window;
latency p50/p95 per source over the status window's last 5 s (the demo: its whole window).

    python scripts/bench_sources.py [--models hpe-0001,movenet] [--ks 1,2,4,8,16] [--seconds 6] [--out DIR]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import benchlib  # noqa: E402
import rawlimit  # noqa: E402
from pipeline.telemetry.machine import machine_description  # noqa: E402
from pipeline.telemetry.memory import pss_mb  # noqa: E402

CLIP_FPS = 15.0
CLIP_FRAMES = 300
CLIP_CROP = (768, 432, 72)  # width, height, top row: the bench clip's 16:9 crop of the sample
DEFAULT_MODELS = "hpe-0001,movenet"
DEFAULT_KS = "1,2,4,8,16"
SETUPS = ("one pipeline", "separate pipelines", "OMZ demo loops")


# -- clips --------------------------------------------------------------------------------------

def make_clips(sample: Path, folder: Path, count: int) -> tuple[list[Path], str]:
    """``count`` 15 FPS clips of the sample, each starting ``i * 47`` frames later (wrapping):
    H.264 with ``ffmpeg`` when it is there, else MPEG-4 with OpenCV. Cached; returns the clips
    and what they are."""
    ffmpeg = shutil.which("ffmpeg")
    total = int(cv2.VideoCapture(str(sample)).get(cv2.CAP_PROP_FRAME_COUNT)) or CLIP_FRAMES
    clips = []
    for i in range(count):
        offset = (i * 47) % total
        out = folder / (f"cams-h264-15fps-{i:02d}.mp4" if ffmpeg else f"cams-mpeg4-15fps-{i:02d}.avi")
        if not out.exists():
            partial = out.with_name(".partial-" + out.name)
            (_encode_h264 if ffmpeg else _encode_mpeg4)(sample, partial, offset, total, ffmpeg or "")
            partial.rename(out)
        clips.append(out)
    w, h, _ = CLIP_CROP
    if ffmpeg:
        return clips, f"H.264 (libx264 veryfast, GOP 30, yuv420p), {w}x{h}, {CLIP_FPS:g} FPS, {CLIP_FRAMES} frames"
    return clips, (f"MPEG-4 Part 2 (XVID, OpenCV) {w}x{h}, {CLIP_FPS:g} FPS: no ffmpeg here for H.264 "
                   "(apt-get install ffmpeg; `make bench` does)")


def _encode_h264(sample: Path, out: Path, offset: int, total: int, ffmpeg: str) -> None:
    w, h, top = CLIP_CROP
    trim = f"trim=start_frame={offset}:end_frame={offset + CLIP_FRAMES},setpts=PTS-STARTPTS"
    cmd = [ffmpeg, "-v", "error", "-y", "-stream_loop", "1", "-r", f"{CLIP_FPS:g}", "-i", str(sample),
           "-vf", f"{trim},crop={w}:{h}:0:{top}", "-c:v", "libx264", "-preset", "veryfast", "-g", "30",
           "-pix_fmt", "yuv420p", "-an", "-f", "mp4", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        out.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg could not write {out.name}: {done.stderr.strip()[-200:]}")


def _encode_mpeg4(sample: Path, out: Path, offset: int, total: int, ffmpeg: str) -> None:
    w, h, top = CLIP_CROP
    cap = cv2.VideoCapture(str(sample))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(frame[top:top + h, :w]))
    cap.release()
    writer = cv2.VideoWriter(str(out), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"XVID"), CLIP_FPS, (w, h))
    for n in range(CLIP_FRAMES):
        writer.write(frames[(offset + n) % len(frames)])
    writer.release()


# -- processes ----------------------------------------------------------------------------------

def role(label: str) -> str:
    """A process's kind: "capture0.0" -> "capture", "decode1.0" -> "decode"."""
    return label.rstrip("0123456789.")


def cpu_by_role(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]],
                seconds: float) -> dict[str, float]:
    """Cores used by each kind of process between two samples (pid -> (role, CPU seconds))."""
    out: dict[str, float] = {}
    for pid, (kind, cpu) in after.items():
        if pid in before:
            out[kind] = out.get(kind, 0.0) + (cpu - before[pid][1]) / seconds
    return out


def _sample_cpu(pids: dict[int, str]) -> dict[int, tuple[str, float]]:
    return {pid: (kind, cpu) for pid, kind in pids.items() if (cpu := benchlib.cpu_seconds(pid)) is not None}


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the bench dies (even by SIGKILL), so that no
    looping pipeline or demo outlives it (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(procs: list[subprocess.Popen], ask: Callable[[], None] | None = None, timeout: float = 60.0) -> None:
    """Ask the processes to finish, then wait; SIGTERM and SIGKILL (by pid) if they do not."""
    if ask:
        ask()
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.terminate()
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or [""])[-1][:200]


def _rel(path: Any) -> str:
    return str(path).replace(str(ROOT) + "/", "")


# -- one set of pipelines -----------------------------------------------------------------------

class Pipeline:
    """One ``python -m pipeline`` run with its control address and telemetry report."""

    def __init__(self, model: dict[str, str], clips: list[Path], paced: bool, work: Path, tag: str) -> None:
        self.address = f"ipc://{work}/{tag}.ctl"
        self.report = work / f"{tag}.json"
        self.log = work / f"{tag}.log"
        inputs = [arg for clip in clips for arg in ("-i", str(clip))]
        self.argv = ["-m", "pipeline", *inputs, "--loop", "-at", model["family"], "-m", model["path"], "-no_show",
                     *(["--realtime"] if paced else []), "--control", self.address,
                     "--telemetry-out", str(self.report)]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([sys.executable, *self.argv], cwd=ROOT, stdout=log, stderr=log,
                                         preexec_fn=_die_with_parent)

    @property
    def command(self) -> str:
        """The command that reproduces the run (without the bench's control address and files)."""
        argv = self.argv[:self.argv.index("--control")]
        return "python " + " ".join(_rel(a) for a in argv)

    def status(self) -> dict[str, Any] | None:
        return benchlib.ctl_status(self.address)

    def stop(self) -> None:
        import zmq

        from pipeline.ctl import request
        from pipeline.messages import WireError
        if self.proc.poll() is None:
            try:
                request(self.address, "stop", timeout_s=5.0)
            except (zmq.ZMQError, WireError):
                self.proc.terminate()

    def pids(self, status: dict[str, Any]) -> dict[int, str]:
        found = {self.proc.pid: "controller"}
        found.update({int(pid): role(label) for label, pid in (status.get("stages") or {}).items()})
        return found


def _wait_all_out(pipes: list[Pipeline], timeout: float) -> list[dict[str, Any]]:
    """Poll until every source of every pipeline has a frame out; the last statuses."""
    deadline = time.monotonic() + timeout
    while True:
        for p in pipes:
            if p.proc.poll() is not None:
                raise RuntimeError(f"pipeline exited ({p.proc.returncode}): {_last_line(p.log)}")
        states = [p.status() for p in pipes]
        if all(s and s.get("sources") and all(v["frames"] > 0 for v in s["sources"].values()) for s in states):
            return states  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise RuntimeError(f"not every source had a frame out within {timeout:.0f} s")
        time.sleep(0.5)


def measure_pipelines(model: dict[str, str], groups: list[list[Path]], paced: bool, seconds: float,
                      work: Path, tag: str) -> dict[str, Any]:
    """Run one pipeline per group of clips, all at once, and take the figures over a common
    window once every source has frames out."""
    setup = "one pipeline" if len(groups) == 1 else "separate pipelines"
    k = sum(len(g) for g in groups)
    row = _row(model, setup, k, paced)
    load = os.getloadavg()[0]
    pipes = [Pipeline(model, g, paced, work, f"{tag}-{i}") for i, g in enumerate(groups)]
    row["commands"] = [p.command for p in pipes[:1]]
    try:
        _wait_all_out(pipes, 120 + 30 * len(pipes))
        time.sleep(1.0)
        s0 = [p.status() or {} for p in pipes]
        pids = {pid: kind for p, s in zip(pipes, s0) for pid, kind in p.pids(s).items()}
        c0, t0 = _sample_cpu(pids), time.monotonic()
        time.sleep(seconds)
        s1 = [p.status() or {} for p in pipes]
        c1, t1 = _sample_cpu(pids), time.monotonic()
        pss = sum(pss_mb(pid) for pid in pids)
    except RuntimeError as exc:
        row["error"] = str(exc)
        return row
    finally:
        _stop([p.proc for p in pipes], ask=lambda: [p.stop() for p in pipes])
    window = t1 - t0
    per_source = []
    for a, b in zip(s0, s1):
        for sid, fig in (b.get("sources") or {}).items():
            start = (a.get("sources") or {}).get(sid, {})
            # frames come out in telemetry batches, up to a period after they left the sink: count
            # them between the last frame out of each snapshot, not between the snapshots
            span = (fig.get("last_out_ns", 0) - start.get("last_out_ns", 0)) / 1e9
            span = span if start.get("last_out_ns") and span > 0.5 * window else window
            per_source.append({"fps": (fig["frames"] - start.get("frames", 0)) / span,
                               "dropped": fig["dropped"] - start.get("dropped", 0),
                               "p50_ms": fig["latency_ms"]["p50"], "p95_ms": fig["latency_ms"]["p95"]})
    reports = [json.loads(p.report.read_text()) for p in pipes if p.report.exists()]
    meta = reports[0]["meta"] if reports else {}
    row.update(_figures(per_source, cpu_by_role(c0, c1, window), pss, window, load),
               precision=meta.get("precision"), requests=meta.get("requests"),
               whole_run_sources=[s for r in reports for s in (r.get("sources") or {}).values()])
    return row


def measure_omz(model: dict[str, str], clips: list[Path], seconds: float, work: Path, tag: str) -> dict[str, Any]:
    """K Open Model Zoo demo loops, one clip each, started together on a file barrier."""
    row = _row(model, "OMZ demo loops", len(clips), False)
    load = os.getloadavg()[0]
    sync = work / f"{tag}-sync"
    sync.mkdir()
    procs, outs, logs = [], [], []
    for i, clip in enumerate(clips):
        out, log = work / f"{tag}-{i}.json", work / f"{tag}-{i}.log"
        argv = ["scripts/omz_demo.py", "-i", str(clip), "--loop", "-m", model["path"], "-at", model["family"],
                "--max-frames", "10000000", "--seconds", f"{seconds:g}", "--sync", str(sync), "--json", str(out)]
        if i == 0:
            row["commands"] = ["python " + " ".join(_rel(a) for a in argv[:argv.index("--sync")])]
        with open(log, "w") as f:
            procs.append(subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=f, stderr=f,
                                          preexec_fn=_die_with_parent))
        outs.append(out)
        logs.append(log)
    pids = {p.pid: "omz demo" for p in procs}
    try:
        deadline = time.monotonic() + 120 + 20 * len(procs)
        while len(list(sync.glob("ready.*"))) < len(procs):
            failed = [(p, log) for p, log in zip(procs, logs) if p.poll() is not None]
            if failed:
                raise RuntimeError(f"demo loop exited ({failed[0][0].returncode}): {_last_line(failed[0][1])}")
            if time.monotonic() > deadline:
                raise RuntimeError("not every demo loop was ready in time")
            time.sleep(0.2)
        c0, t0 = _sample_cpu(pids), time.monotonic()
        (sync / "go").touch()
        time.sleep(seconds)
        c1, t1 = _sample_cpu(pids), time.monotonic()
        pss = sum(pss_mb(pid) for pid in pids)
        _stop(procs, timeout=60 + 5 * len(procs))
    except RuntimeError as exc:
        (sync / "go").touch()
        _stop(procs, timeout=30)
        row["error"] = str(exc)
        return row
    results = []
    for p, out, log in zip(procs, outs, logs):
        if p.returncode != 0 or not out.exists():
            row["error"] = f"demo loop failed: {_last_line(log)}"
            return row
        results.append(json.loads(out.read_text()))
    per_source = [{"fps": r["fps"] or 0.0, "dropped": None, "p50_ms": r["latency_ms"]["p50"],
                   "p95_ms": r["latency_ms"].get("p95")} for r in results]
    row.update(_figures(per_source, cpu_by_role(c0, c1, t1 - t0), pss, t1 - t0, load),
               precision=results[0].get("precision"), requests=results[0].get("requests"))
    return row


def _row(model: dict[str, str], setup: str, k: int, paced: bool) -> dict[str, Any]:
    return {"model": model["name"], "weights": model["weights"], "setup": setup, "k": k, "paced": paced,
            "error": None, "commands": []}


def _figures(per_source: list[dict[str, Any]], cpu: dict[str, float], pss: float, window: float,
             load: float) -> dict[str, Any]:
    fps = [s["fps"] for s in per_source]
    drops = [s["dropped"] for s in per_source if s["dropped"] is not None]
    p50 = [s["p50_ms"] for s in per_source if s["p50_ms"] is not None]
    p95 = [s["p95_ms"] for s in per_source if s["p95_ms"] is not None]
    return {"aggregate_fps": sum(fps), "source_fps": _spread(fps), "dropped": _spread(drops),
            "dropped_total": sum(drops) if drops else None, "p50_ms": _spread(p50), "p95_ms": _spread(p95),
            "per_source": per_source, "cpu_cores": cpu, "cpu_total": sum(cpu.values()), "pss_mb": pss,
            "window_s": window, "load_avg_1min": load}


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"min": min(values), "mean": statistics.fmean(values), "max": max(values)}


# -- the whole section --------------------------------------------------------------------------

def run(models: list[dict[str, str]], ks: list[int], seconds: float, work: Path, *, separate_max: int = 8,
        omz: bool = True, raw_fps: dict[str, float] | None = None, raw_seconds: float = 6.0,
        checkpoint: Path | None = None,
        log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)) -> dict[str, Any]:
    """Every measurement of the section; ``raw_fps`` (by model name) reuses raw limits measured
    already on the same clip size (``make bench``), others are measured here. ``checkpoint`` gets
    the figures so far after every set (``--from-json`` renders a run cut short)."""
    started = time.monotonic()
    clips, codec = make_clips(ROOT / "media" / "vtest.avi", ROOT / "media", max(ks))
    out: dict[str, Any] = {"codec": codec, "clip_fps": CLIP_FPS, "ks": ks, "seconds": seconds,
                           "separate_max": separate_max, "models": {}, "rows": []}
    for model in models:
        raw = (raw_fps or {}).get(model["name"])
        if raw is None:
            log(f"{model['name']}: raw limit …")
            raw = rawlimit.measure(model["path"], model["family"], str(clips[0]), seconds=raw_seconds,
                                   latency_seconds=0)["throughput"]["fps"]
        out["models"][model["name"]] = {"raw_fps": raw, "weights": model["weights"],
                                        "raw_command": f"python scripts/rawlimit.py -m {_rel(model['path'])} "
                                                       f"-at {model['family']} -i {_rel(clips[0])}"}
        for paced in (False, True):
            for k in ks:
                tag = f"{model['name']}-{'paced' if paced else 'unpaced'}-{k}"
                log(f"{model['name']}: {k} sources, {'paced at 15 FPS' if paced else 'unpaced'} …")
                out["rows"].append(measure_pipelines(model, [clips[:k]], paced, seconds, work, f"{tag}-one"))
                if 1 < k <= separate_max:
                    out["rows"].append(measure_pipelines(model, [[c] for c in clips[:k]], paced, seconds, work,
                                                         f"{tag}-sep"))
                if omz and not paced and model["family"] in ("openpose", "ae"):
                    out["rows"].append(measure_omz(model, clips[:k], seconds, work, f"{tag}-omz"))
                if checkpoint:
                    out["elapsed_s"] = time.monotonic() - started
                    checkpoint.write_text(json.dumps({**out, "goals": goals(out)}, indent=1))
    out["elapsed_s"] = time.monotonic() - started
    out["goals"] = goals(out)
    return out


def _find(result: dict[str, Any], model: str, setup: str, k: int, paced: bool) -> dict[str, Any] | None:
    for r in result["rows"]:
        if (r["model"], r["setup"], r["k"], r["paced"]) == (model, setup, k, paced) and not r["error"]:
            return r
    return None


def goals(result: dict[str, Any]) -> list[str]:
    """Issue 11's goals, each with the figures that decide it."""
    lines = []
    for name, info in result["models"].items():
        raw = info["raw_fps"]
        sat = [(k, r["aggregate_fps"]) for k in result["ks"] if (r := _find(result, name, "one pipeline", k, False))]
        if sat:
            worst = min(sat, key=lambda kv: kv[1])
            ok = all(fps >= 0.9 * raw for _, fps in sat)
            lines.append(f"{name}, saturated: aggregate ≥ 0.90 × raw ({0.9 * raw:.1f} FPS) at every K: "
                         f"{'met' if ok else 'missed'} (lowest {worst[1]:.1f} FPS = {worst[1] / raw:.2f} × raw at K={worst[0]})")
        one, sep = _find(result, name, "one pipeline", 8, False), _find(result, name, "separate pipelines", 8, False)
        if one and sep:
            ratio = one["aggregate_fps"] / sep["aggregate_fps"] if sep["aggregate_fps"] else float("inf")
            lines.append(f"{name}, saturated, K=8: one pipeline ≥ 1.3 × 8 separate pipelines: "
                         f"{'met' if ratio >= 1.3 else 'missed'} ({one['aggregate_fps']:.1f} vs "
                         f"{sep['aggregate_fps']:.1f} FPS = {ratio:.2f} ×)")
        one1, one8 = _find(result, name, "one pipeline", 1, False), _find(result, name, "one pipeline", 8, False)
        if one1 and one8 and one1["pss_mb"]:
            ratio = one8["pss_mb"] / one1["pss_mb"]
            lines.append(f"{name}, memory: 8 sources ≤ 1.5 × one source (PSS): {'met' if ratio <= 1.5 else 'missed'} "
                         f"({one8['pss_mb']:.0f} vs {one1['pss_mb']:.0f} MiB = {ratio:.2f} ×)")
        demo = _find(result, name, "OMZ demo loops", 1, False)
        if one1 and demo:
            ratio = one1["aggregate_fps"] / demo["aggregate_fps"]
            p50, demo_p50 = one1["p50_ms"]["max"], demo["p50_ms"]["max"]
            lines.append(f"{name}, one source, User specified: ≥ 1.1 × the OMZ demo loop: "
                         f"{'met' if ratio >= 1.1 else 'missed'} ({one1['aggregate_fps']:.1f} vs "
                         f"{demo['aggregate_fps']:.1f} FPS = {ratio:.2f} ×); p50 latency ≤ the demo's: "
                         f"{'met' if p50 <= demo_p50 else 'missed'} ({p50:.0f} vs {demo_p50:.0f} ms)")
        lines += _paced_goals(result, name)
    return lines


def _paced_goals(result: dict[str, Any], name: str) -> list[str]:
    """Paced at 15 FPS: while K × 15 fits in what the pipeline does unpaced at that K, every
    source keeps 15 FPS (within 3 %), no drops, p95 ≤ 100 ms; beyond, drops within ±10 % of
    their mean across sources and latency bounded."""
    lines = []
    for k in result["ks"]:
        paced, sat = _find(result, name, "one pipeline", k, True), _find(result, name, "one pipeline", k, False)
        if not paced or not sat or not paced["p95_ms"]:
            continue
        demand = k * result["clip_fps"]
        worst_p95 = paced["p95_ms"]["max"]
        if demand <= sat["aggregate_fps"]:
            ok = (paced["source_fps"]["min"] >= 0.97 * result["clip_fps"] and paced["dropped"]["max"] == 0
                  and worst_p95 <= 100)
            lines.append(f"{name}, paced, K={k} ({demand:.0f} FPS asked, {sat['aggregate_fps']:.0f} possible): every "
                         f"source 15 FPS, 0 drops, p95 ≤ 100 ms: {'met' if ok else 'missed'} (source FPS "
                         f"{paced['source_fps']['min']:.1f}–{paced['source_fps']['max']:.1f}, drops "
                         f"{paced['dropped']['min']}–{paced['dropped']['max']}, p95 ≤ {worst_p95:.0f} ms)")
        else:
            d = paced["dropped"]
            even = d["mean"] == 0 or (d["max"] - d["mean"] <= 0.1 * d["mean"] and d["mean"] - d["min"] <= 0.1 * d["mean"])
            lines.append(f"{name}, paced, K={k} (overload: {demand:.0f} FPS asked, {sat['aggregate_fps']:.0f} possible): "
                         f"drops within ±10 % across sources: {'met' if even else 'missed'} (drops {d['min']}–{d['max']}, "
                         f"mean {d['mean']:.1f}); latency p95 ≤ {worst_p95:.0f} ms")
    return lines


# -- tables -------------------------------------------------------------------------------------

def _f(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def _trio(spread: dict[str, float] | None, spec: str = ".1f") -> str:
    if not spread:
        return "–"
    return " / ".join(format(spread[k], spec) for k in ("min", "mean", "max"))


def _minmax(spread: dict[str, float] | None, spec: str = ".0f") -> str:
    if not spread:
        return "–"
    return f"{spread['min']:{spec}} / {spread['max']:{spec}}"


def _cpu(cores: dict[str, float]) -> str:
    order = ("capture", "preprocess", "infer", "decode", "sink", "controller", "omz demo")
    return ", ".join(f"{k} {cores[k]:.2f}" for k in sorted(cores, key=lambda k: order.index(k) if k in order else 99))


def table(result: dict[str, Any], model: str) -> str:
    """One model's rows: K, setup, paced; aggregate FPS and its share of the raw limit; per-source
    FPS, p95 and drops spreads; CPU (cores) total and per process; total PSS."""
    raw = result["models"][model]["raw_fps"]
    lines = ["| K | setup | paced | aggregate FPS | × raw | FPS per source min / mean / max | p95 ms min / max "
             "| drops min / max | CPU cores | CPU cores by process | PSS MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    rows = sorted((r for r in result["rows"] if r["model"] == model),
                  key=lambda r: (r["paced"], r["k"], SETUPS.index(r["setup"])))
    for r in rows:
        head = f"| {r['k']} | {r['setup']} | {'15 FPS' if r['paced'] else 'no'} |"
        if r["error"]:
            lines.append(f"{head} did not run: {r['error']} | | | | | | | |")
            continue
        lines.append(f"{head} {r['aggregate_fps']:.1f} | {r['aggregate_fps'] / raw:.2f} | {_trio(r['source_fps'])} "
                     f"| {_minmax(r['p95_ms'])} | {_minmax(r['dropped'])} | {r['cpu_total']:.2f} "
                     f"| {_cpu(r['cpu_cores'])} | {r['pss_mb']:.0f} |")
    return "\n".join(lines)


def short_table(result: dict[str, Any]) -> str:
    """README's table: per model and K, the aggregate FPS of the three setups unpaced, and the
    paced pipeline's per-source FPS, worst p95, drop spread and PSS."""
    lines = ["| model | K | one pipeline FPS | K pipelines FPS | K OMZ demos FPS | paced 15 FPS: FPS per source "
             "min–max | p95 ms, worst source | drops min–max | PSS MiB (unpaced) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in result["models"]:
        for k in result["ks"]:
            one, sep = _find(result, name, "one pipeline", k, False), _find(result, name, "separate pipelines", k, False)
            demo, paced = _find(result, name, "OMZ demo loops", k, False), _find(result, name, "one pipeline", k, True)
            if k == 1:
                sep = one
            fps = [_f(r["aggregate_fps"] if r else None, ".1f") for r in (one, sep, demo)]
            p = paced or {}
            sf, d = p.get("source_fps"), p.get("dropped")
            source_fps = f"{sf['min']:.1f}–{sf['max']:.1f}" if sf else "–"
            drops = f"{d['min']}–{d['max']}" if d else "–"
            lines.append(f"| {name} | {k} | {' | '.join(fps)} | {source_fps} "
                         f"| {_f((p.get('p95_ms') or {}).get('max'), '.0f')} "
                         f"| {drops} | {_f(one['pss_mb'] if one else None, '.0f')} |")
    return "\n".join(lines)


def markdown(result: dict[str, Any], machine: dict[str, Any], command: str) -> str:
    """The "Many cameras" section of BENCHMARKS.md."""
    loads = [r["load_avg_1min"] for r in result["rows"] if "load_avg_1min" in r]
    precision = next((r["precision"] for r in result["rows"] if r.get("precision")), "?")
    md = ["## Many cameras", "",
          f"Machine: {machine['cpu']}, {machine['cores']} cores, OpenVINO {machine['openvino']}; precision "
          f"{precision}. Produced by `{command}` ({result['elapsed_s'] / 60:.1f} min); load average (1 min) "
          f"when each set started: {min(loads, default=0):.1f}–{max(loads, default=0):.1f} "
          "(this host is shared; our own processes count too).", "",
          f"Sources: {result['codec']}; source i starts {47} frames later in the sample than source i−1. "
          "*One pipeline*: `python -m pipeline` with `-i` K times and `--loop` (`--realtime` when paced: "
          "each source read at 15 FPS like a camera, frames due while it has no room dropped and counted). "
          "*Separate pipelines*: K one-source pipelines at once"
          f" (up to K = {result['separate_max']}; above, {result['separate_max'] * 7}+ processes do not start in a "
          "reasonable time on two cores). *OMZ demo loops*: K `scripts/omz_demo.py` at once, unpaced only (the "
          "demo has no pacing), hpe-0001 only (no demo wrapper for MoveNet). Each set is started together, "
          "warmed up until every source has a frame out, then measured over a common window of "
          f"{result['seconds']:g} s: FPS and drops per source from `ctl status` (frames and drops counted in the "
          "window), latency p95 per source over the status window's last 5 s (the demo: its whole window), "
          "CPU per process from `/proc/<pid>/stat` over the window (cores: 1.00 = one core busy), PSS of every "
          "process at the end of the window. × raw = aggregate FPS / the raw OpenVINO limit of the same compiled "
          "model (`scripts/rawlimit.py`, async, optimal requests).", ""]
    for name, info in result["models"].items():
        md += [f"### {name} ({info['weights']} weights): raw limit {info['raw_fps']:.1f} FPS", "",
               table(result, name), "", f"Raw limit: `{info['raw_command']}`.", ""]
        cmds = {r["setup"]: r["commands"][0] for r in result["rows"]
                if r["model"] == name and r["commands"] and r["k"] == max(result["ks"]) and not r["paced"]}
        paced = next((r["commands"][0] for r in result["rows"]
                      if r["model"] == name and r["paced"] and r["commands"] and r["setup"] == "one pipeline"
                      and r["k"] == max(result["ks"])), None)
        md += [f"* {setup}, K = {max(result['ks'])}: `{c}`" for setup, c in cmds.items()]
        if paced:
            md.append(f"* one pipeline, paced: `{paced}`")
        md.append("")
    md += ["### Against the goals (issue 11)", "", *[f"* {g}" for g in result["goals"]], ""]
    return "\n".join(md)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated (default {DEFAULT_MODELS})")
    parser.add_argument("--ks", default=DEFAULT_KS, help=f"numbers of sources (default {DEFAULT_KS})")
    parser.add_argument("--seconds", type=float, default=6.0, help="measurement window of each set (default 6)")
    parser.add_argument("--separate-max", type=int, default=8,
                        help="largest K run as K separate pipelines (default 8)")
    parser.add_argument("--no-omz", action="store_true", help="skip the Open Model Zoo demo loops")
    parser.add_argument("--raw-seconds", type=float, default=6.0)
    parser.add_argument("--out", default=str(ROOT), help="folder for bench-sources.md and bench-sources.json")
    parser.add_argument("--from-json", metavar="FILE", help="only render the tables of a bench-sources.json")
    ns = parser.parse_args()
    if ns.from_json:
        try:
            saved = json.loads(Path(ns.from_json).read_text())
            print(markdown(saved, saved.get("machine") or machine_description(),
                           saved.get("command", "python scripts/bench_sources.py")))
            print()
            print(short_table(saved))
        except (OSError, ValueError, KeyError) as exc:
            print(f"error: {ns.from_json}: not a bench-sources.json ({exc})", file=sys.stderr)
            return 1
        return 0
    try:
        ks = sorted({int(k) for k in ns.ks.split(",")})
    except ValueError:
        parser.error(f"--ks {ns.ks}: give numbers, e.g. 1,2,4,8,16")
    if not ks or ks[0] < 1 or ns.seconds < 5:
        parser.error("--ks must be positive and --seconds at least 5 (the latency window)")
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (ROOT / "media" / "vtest.avi").exists():
        print("error: media/vtest.avi is missing (make sample)", file=sys.stderr)
        return 1
    wanted = ns.models.split(",")
    chosen = [m for m in benchlib.models() if m["name"] in wanted]
    if not chosen:
        print(f"error: none of {ns.models} is here (make model; make standin)", file=sys.stderr)
        return 1
    command = ("python scripts/bench_sources.py " + " ".join(sys.argv[1:])).strip()
    machine = machine_description()
    with tempfile.TemporaryDirectory(prefix="posepipe-bench-sources-") as tmp:
        result = run(chosen, ks, ns.seconds, Path(tmp), separate_max=ns.separate_max, omz=not ns.no_omz,
                     raw_seconds=ns.raw_seconds, checkpoint=out / "bench-sources.partial.json")
    (out / "bench-sources.json").write_text(json.dumps({"machine": machine, "command": command, **result}, indent=1))
    (out / "bench-sources.partial.json").unlink(missing_ok=True)
    text = markdown(result, machine, command)
    (out / "bench-sources.md").write_text(text + "\n\n" + short_table(result) + "\n")
    print(text)
    print(short_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

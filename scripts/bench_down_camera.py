#!/usr/bin/env python3
"""A file beside a camera that is down at start: does the file run at its speed alone?

Interleaved runs (A B, B A, A B, …) of one clip alone (A) and the same clip beside a camera that is
down (B: a refused port, ``--camera refused``, or a TCP server that accepts and never speaks,
``--camera silent``). Each run reads ``--frames`` frames of the clip (``--max-frames``); the
figure is the sink's FPS over the run (frames / first read to last frame out). A run ends by
itself; B is stopped with ``ctl stop`` once ``ctl status`` shows the file ``ended`` (the camera
never ends); A is polled the same way, so that both runs answer the same ``status`` requests.
The report is each run's FPS, each pair's ratio B/A and the median ratio, with the CPU model and
the run header (precision, batch, slots) of each kind, and the CPU milliseconds per frame of every
process of the run (from ``/proc/<pid>/stat`` at each poll, between the first poll with frames
out and the last before the file ended): on a loaded host FPS swings with the neighbours' load,
CPU per frame much less, so a cost that B adds shows there.

With ``--together``, each pair runs A and B at the same time (``--loop``) and counts the frames
each put out over a common window of ``--seconds`` (taken once both have frames out, closed before
either stops), with the CPU of each run's processes over the same window: both runs meet the same
neighbours' load at the same moments, so their ratio holds on a loaded host where back-to-back runs
swing by a factor of two. (Each run then has about half the host: the figure is B's share against
A's, not either's speed alone.)

    python scripts/bench_down_camera.py [--pairs 5] [--frames 300] [--camera refused|silent]
        [--together [--seconds 15]]
        [-at openpose -m models/omz/intel/human-pose-estimation-0001/FP32/human-pose-estimation-0001.xml]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchlib import TAG_ENV, cpu_by_process, host_idle  # noqa: E402  (the scripts folder is sys.path[0])
from pipeline.ctl.client import request  # noqa: E402
from pipeline.telemetry.machine import machine_description  # noqa: E402

HPE1 = ROOT / "models/omz/intel/human-pose-estimation-0001/FP32/human-pose-estimation-0001.xml"


class Silent:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.sock.getsockname()[1]}/cam"


def refused_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"rtsp://127.0.0.1:{port}/cam"


def one_run(model_args: list[str], clip: str, frames: int, camera: str | None,
            folder: str) -> tuple[float, str, dict[str, float], float]:
    """The sink's FPS of one run, its model header line and the CPU milliseconds per frame of
    each of its processes (by name), between the first poll that saw frames out and the last one
    before the file ended (so that neither start-up nor shutdown counts), and the host's idle share
    of CPU time meanwhile (a run slower for want of CPU leaves none; one that stalls leaves some)."""
    address = f"ipc://{folder}/ctl-{time.monotonic_ns()}"
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    inputs = ["-i", clip] + (["-i", camera] if camera else [])
    cmd = [sys.executable, "-m", "pipeline", *inputs, *model_args, "-no_show", "--max-frames", str(frames),
           "--control", address]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OPENCV_LOG_LEVEL="OFF", **{TAG_ENV: tag}))
    samples: list[tuple[int, dict[int, tuple[str, float]], tuple[float, float]]] = []  # frames out, CPU by pid, host
    while proc.poll() is None:
        time.sleep(0.5)
        cpu, host = cpu_by_process(tag), host_idle()
        try:
            state = request(address, "status", timeout_s=5).state or {}
        except Exception:  # noqa: BLE001 - not up yet, or gone (A ends by itself)
            state = {}
        ended = state.get("sources", {}).get("0", {}).get("state") == "ended"
        if state.get("frames") and not ended:
            samples.append((int(state["frames"]), cpu, host))
        if camera and ended:
            request(address, "stop", timeout_s=5)
            break
    out, err = proc.communicate(timeout=600)
    fps = re.search(r"^FPS: ([\d.]+)", out, re.MULTILINE)
    header = re.search(r"^model: .*$", err, re.MULTILINE)
    if proc.returncode != 0 or not fps:
        raise SystemExit(f"error: run failed ({proc.returncode}): {err.strip()[-500:]}")
    per_frame: dict[str, float] = {}
    idle = float("nan")
    if len(samples) >= 2 and samples[-1][0] > samples[0][0]:
        (f0, first, (idle0, total0)), (f1, last, (idle1, total1)) = samples[0], samples[-1]
        for pid, (name, seconds) in last.items():
            used = seconds - first.get(pid, (name, 0.0))[1]
            per_frame[name] = per_frame.get(name, 0.0) + used / (f1 - f0) * 1e3
        idle = (idle1 - idle0) / max(1.0, total1 - total0)
    return float(fps.group(1)), header.group(0) if header else "", per_frame, idle


class Together:
    """One run of a ``--together`` pair: started with ``--loop``, sampled from outside."""

    def __init__(self, model_args: list[str], clip: str, camera: str | None, folder: str) -> None:
        self.address = f"ipc://{folder}/ctl-{time.monotonic_ns()}"
        self.tag = f"{os.getpid()}-{time.monotonic_ns()}"
        inputs = ["-i", clip] + (["-i", camera] if camera else [])
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", *inputs, "--loop", *model_args, "-no_show",
                                      "--control", self.address], cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=dict(os.environ, OPENCV_LOG_LEVEL="OFF",
                                                                         **{TAG_ENV: self.tag}))

    def frames(self) -> int:
        if self.proc.poll() is not None:
            raise SystemExit(f"error: a run ended early (exit {self.proc.returncode})")
        try:
            return int((request(self.address, "status", timeout_s=5).state or {}).get("frames", 0))
        except Exception:  # noqa: BLE001 - not up yet
            return 0

    def sample(self) -> tuple[int, float]:
        """Frames out so far, CPU seconds of all the run's processes so far."""
        return self.frames(), sum(seconds for _, seconds in cpu_by_process(self.tag).values())

    def stop(self) -> None:
        try:
            request(self.address, "stop", timeout_s=5)
            self.proc.wait(60)
        except Exception:  # noqa: BLE001 - stop it the hard way
            self.proc.terminate()
            self.proc.wait(60)


def together_pair(model_args: list[str], clip: str, camera: str, folder: str, seconds: float,
                  b_first: bool) -> tuple[float, float, float, float]:
    """FPS of A and of B over a common window, and the CPU ms per frame of each."""
    runs = [Together(model_args, clip, None, folder), Together(model_args, clip, camera, folder)]
    if b_first:
        runs.reverse()
    alone, beside = (runs[1], runs[0]) if b_first else (runs[0], runs[1])
    try:
        deadline = time.monotonic() + 300
        while min(alone.frames(), beside.frames()) < 20:
            if time.monotonic() > deadline:
                raise SystemExit("error: the runs never put frames out")
            time.sleep(0.5)
        t0, a0, b0 = time.monotonic(), alone.sample(), beside.sample()
        time.sleep(seconds)
        t1, a1, b1 = time.monotonic(), alone.sample(), beside.sample()
    finally:
        for run in runs:
            run.stop()
    fa, fb = a1[0] - a0[0], b1[0] - b0[0]
    return (fa / (t1 - t0), fb / (t1 - t0), (a1[1] - a0[1]) / max(1, fa) * 1e3, (b1[1] - b0[1]) / max(1, fb) * 1e3)


def main_together(args: argparse.Namespace, model_args: list[str], silent: Silent | None) -> int:
    ratios, cpu_ratios = [], []
    with tempfile.TemporaryDirectory(prefix="ppbench") as folder:
        for i in range(args.pairs):
            camera = silent.url() if silent else refused_url()
            a, b, ca, cb = together_pair(model_args, args.clip, camera, folder, args.seconds, b_first=i % 2 == 1)
            ratios.append(b / a)
            cpu_ratios.append(ca / cb)
            print(f"pair {i} (together, {'B' if i % 2 else 'A'} started first): alone {a:.1f} FPS, beside a "
                  f"{args.camera} camera {b:.1f} FPS, ratio {b / a:.3f}; CPU ms per frame alone {ca:.1f}, "
                  f"beside {cb:.1f}", flush=True)
    print(f"together: median FPS ratio B/A {statistics.median(ratios):.3f} "
          f"(ratios {', '.join(f'{r:.3f}' for r in ratios)}); median CPU-per-frame ratio A/B "
          f"{statistics.median(cpu_ratios):.3f}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--camera", choices=("refused", "silent"), default="refused")
    ap.add_argument("--clip", default=str(ROOT / "media" / "vtest.avi"))
    ap.add_argument("-at", default="openpose")
    ap.add_argument("-m", default=str(HPE1))
    ap.add_argument("--together", action="store_true", help="run A and B at once over a common window")
    ap.add_argument("--seconds", type=float, default=15.0, help="--together: the window")
    args = ap.parse_args()
    model_args = ["-at", args.at, "-m", args.m]
    silent = Silent() if args.camera == "silent" else None
    print(f"CPU: {machine_description()}")
    if args.together:
        return main_together(args, model_args, silent)
    ratios, alone, beside = [], [], []
    headers: dict[str, str] = {}
    cpu: dict[str, list[dict[str, float]]] = {"alone": [], "beside": []}
    with tempfile.TemporaryDirectory(prefix="ppbench") as folder:
        for i in range(args.pairs):
            camera = silent.url() if silent else refused_url()
            if i % 2:  # every other pair B first, so that the order favours neither
                b, headers["beside"], cpu_b, idle_b = one_run(model_args, args.clip, args.frames, camera, folder)
                a, headers["alone"], cpu_a, idle_a = one_run(model_args, args.clip, args.frames, None, folder)
            else:
                a, headers["alone"], cpu_a, idle_a = one_run(model_args, args.clip, args.frames, None, folder)
                b, headers["beside"], cpu_b, idle_b = one_run(model_args, args.clip, args.frames, camera, folder)
            alone.append(a)
            beside.append(b)
            ratios.append(b / a)
            cpu["alone"].append(cpu_a)
            cpu["beside"].append(cpu_b)
            print(f"pair {i} ({'B' if i % 2 else 'A'} first): alone {a:.1f} FPS, beside a {args.camera} camera {b:.1f} FPS, ratio {b / a:.3f}; "
                  f"CPU ms per frame alone {sum(cpu_a.values()):.1f}, beside {sum(cpu_b.values()):.1f}; "
                  f"host idle alone {idle_a:.0%}, beside {idle_b:.0%}", flush=True)
    for kind, line in headers.items():
        print(f"{kind}: {line}")
    print("median CPU ms per frame by process (alone / beside):")
    names = sorted({n for runs in cpu.values() for run in runs for n in run})
    for name in [*names, "all"]:
        def per_frame(kind: str, name: str = name) -> float:
            return statistics.median(sum(run.values()) if name == "all" else run.get(name, 0.0)
                                     for run in cpu[kind])
        print(f"  {name:<14} {per_frame('alone'):7.2f} / {per_frame('beside'):7.2f}")
    print(f"median FPS alone {statistics.median(alone):.1f}, beside {statistics.median(beside):.1f}; "
          f"median ratio {statistics.median(ratios):.3f} (ratios {', '.join(f'{r:.3f}' for r in ratios)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

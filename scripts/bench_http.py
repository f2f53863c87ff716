#!/usr/bin/env python3
"""What ``--http`` costs: one pipeline of 8 sources without it, with it and nobody watching, and
with 4 viewers of every source, runs interleaved (A B C, then C B A, …) so that the host's drift
falls on every setup alike (a section of ``make bench``; runs on its own too).

A viewer is what the page does in a browser: it reads ``/stream/all`` (every live source's newest
picture over one connection, at most ``--http-fps`` a second each) and ``/api/status`` once a
second; the 4 viewers are threads of this script. Figures per run over a common window of
``--seconds``, after every source has a frame out: the pipeline's frames out per second (from
``ctl status``), CPU seconds per frame of all its processes together (``/proc/<pid>/stat``; the
viewers' own CPU is not counted: they stand for browsers elsewhere), the web process's share,
and the pictures each viewer received per second. Then the web process alone, fed faster than this
host's pipeline could (8 sources changing 10 times a second), to show what the server holds.

    python scripts/bench_http.py [--sources 8] [--viewers 4] [--seconds 10] [--rounds 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_sources
import benchlib
import numpy as np

from pipeline.ctl import request
from pipeline.models.fetch import cached_movenet
from pipeline.telemetry.machine import machine_description

SETUPS = ("no --http", "--http, nobody watching", "--http, {viewers} viewer{s}")


def setup_name(setup: int, viewers: int) -> str:
    return SETUPS[setup].format(viewers=viewers, s="" if viewers == 1 else "s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Viewer(threading.Thread):
    """The page's traffic: the picture stream, and the status once a second."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop = port, stop
        self.pictures = 0
        self.counting = False
        self.error = ""

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.request("GET", "/stream/all")
            stream = conn.getresponse()
            status = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            last_status = 0.0
            while not self.stop.is_set():
                head = stream.read(12)
                if len(head) < 12:
                    break
                _, length, _ = struct.unpack("<III", head)
                stream.read(length)
                if self.counting:
                    self.pictures += 1
                if time.monotonic() - last_status >= 1.0:
                    status.request("GET", "/api/status")
                    status.getresponse().read()
                    last_status = time.monotonic()
            conn.close()
            status.close()
        except (OSError, http.client.HTTPException) as exc:
            if not self.stop.is_set():  # not the server going away at the end
                self.error = str(exc)


def watch(crowd: list[Viewer], seconds: float) -> float:
    """Let the viewers count what they receive for ``seconds``; returns the time really spent."""
    for v in crowd:
        v.counting = True
    t0 = time.monotonic()
    time.sleep(seconds)
    for v in crowd:
        v.counting = False
    return time.monotonic() - t0


def run_once(setup: int, clips: list[Path], model: str, seconds: float, viewers: int, work: Path) -> dict[str, Any]:
    address = f"ipc://{work}/ctl-{setup}-{time.monotonic_ns()}"
    port = free_port()
    args = [sys.executable, "-m", "pipeline", *[a for c in clips for a in ("-i", str(c))], "--loop", "-at", "movenet",
            "-m", model, "-no_show", "--control", address]
    if setup > 0:
        args += ["--http", str(port)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OPENCV_LOG_LEVEL="OFF"))
    stop = threading.Event()
    crowd: list[Viewer] = []
    try:
        deadline = time.monotonic() + 600
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the pipeline ended: {proc.stderr.read().strip()[-300:]}")
            try:
                state = request(address, "status", timeout_s=5).state
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.5)
                continue
            if state["sources"] and all(s["frames"] for s in state["sources"].values()):
                break
            time.sleep(0.5)
        if setup == 2:
            crowd = [Viewer(port, stop) for _ in range(viewers)]
            for v in crowd:
                v.start()
            time.sleep(3.0)  # the wishes reach the sink, the first pictures go out
        pids = {"controller": proc.pid, **state["stages"]}
        before = {label: benchlib.cpu_seconds(pid) for label, pid in pids.items()}
        frames0 = request(address, "status", timeout_s=5).state["frames"]
        elapsed = watch(crowd, seconds)
        after = {label: benchlib.cpu_seconds(pid) for label, pid in pids.items()}
        frames = request(address, "status", timeout_s=5).state["frames"] - frames0
        cpu = {label: after[label] - before[label] for label in pids
               if after.get(label) is not None and before.get(label) is not None}
        total = sum(cpu.values())
        return {"setup": setup_name(setup, viewers), "fps": frames / elapsed, "frames": frames,
                "cpu_ms_per_frame": 1000 * total / frames if frames else None,
                "http_cpu_ms_per_frame": 1000 * cpu.get("http", 0.0) / frames if frames else None,
                "sink_cpu_ms_per_frame": 1000 * cpu.get("sink", 0.0) / frames if frames else None,
                "pictures_per_viewer_s": [v.pictures / elapsed for v in crowd],
                "viewer_errors": [v.error for v in crowd if v.error]}
    finally:
        stop.set()
        try:
            request(address, "stop", timeout_s=5)
        except Exception as exc:  # noqa: BLE001 - already gone
            print(f"(stop: {exc})", file=sys.stderr)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for v in crowd:
            v.join(5)


# -- the server alone, at full rate --------------------------------------------------------------

def _serve_alone(board: Any, port: int, fps: float, sources: int, address: str) -> None:
    """A child process: the web server over ``board``, with a stand-in for the controller that
    lists ``sources`` sources as reading (the capacity run has no pipeline: it feeds the board
    itself, faster than this host's pipeline could)."""
    import zmq

    from pipeline import transport
    from pipeline.messages import ControlReply
    from pipeline.outputs.http import HttpAddress
    from pipeline.outputs.preview import PreviewBoard
    from web.control import Controller
    from web.frames import Pictures
    from web.server import App, serve

    ctx = transport.new_context()
    rep = transport.socket(ctx, zmq.REP, address, bind=True)
    state = {"mode": "user", "frames": 0, "stages": {}, "window": {},
             "sources": {str(i): {"state": "reading", "input": f"synthetic {i}", "fps": fps} for i in range(sources)}}
    pictures = Pictures(PreviewBoard.attach(board)[0], fps)
    serve(HttpAddress("127.0.0.1", port), App(Controller(address), pictures, "", fps))
    while True:
        transport.recv(rep)
        transport.send(rep, ControlReply(True, state))


def capacity(sources: int = 8, viewers: int = 4, seconds: float = 10.0, fps: float = 10.0) -> dict[str, Any]:
    """The web process alone (a child process) serving ``viewers`` page streams of ``sources``
    sources whose pictures (768x432 frames of the sample) change ``fps`` times a second each:
    the pictures each viewer receives per second, against the ``sources * fps`` offered, and the
    server's CPU."""
    import multiprocessing as mp

    import cv2

    from pipeline.outputs.preview import PreviewBoard, create_board
    cap = cv2.VideoCapture(str(ROOT / "media" / "vtest.avi"))
    frames = []
    while len(frames) < 50:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(frame[72:504, :768]))
    cap.release()
    ring = create_board(sources, frames[0].nbytes, "")
    board = PreviewBoard(ring)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="posepipe-bench-http-") as tmp:
        address = f"ipc://{tmp}/ctl"
        child = mp.get_context("spawn").Process(target=_serve_alone, args=(ring.spec, port, fps, sources, address),
                                                daemon=True)
        child.start()
        stop = threading.Event()
        offered = [0]

        def feed() -> None:
            n = 0
            while not stop.is_set():
                for sid in range(sources):
                    if board.offer(sid, frames[(n + 7 * sid) % len(frames)], n):
                        offered[0] += 1
                n += 1
                time.sleep(0.25 / fps)  # offered 4 times per period: the board keeps one per period

        feeder = threading.Thread(target=feed, daemon=True)
        crowd: list[Viewer] = []
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            feeder.start()
            crowd = [Viewer(port, stop) for _ in range(viewers)]
            for v in crowd:
                v.start()
            time.sleep(3.0)
            cpu0, offered0 = benchlib.cpu_seconds(child.pid), offered[0]
            elapsed = watch(crowd, seconds)
            cpu = (benchlib.cpu_seconds(child.pid) or 0.0) - (cpu0 or 0.0)
            made = offered[0] - offered0
        finally:
            stop.set()
            child.terminate()
            child.join(10)
            if feeder.is_alive():
                feeder.join(5)
            board.close()
            ring.close()
            ring.unlink()
    pictures = [v.pictures / elapsed for v in crowd]
    return {"sources": sources, "viewers": viewers, "fps": fps, "seconds": elapsed,
            "offered_per_s": made / elapsed, "pictures_per_viewer_s": pictures,
            "server_cores": cpu / elapsed, "server_cpu_ms_per_picture": 1000 * cpu / made if made else None,
            "viewer_errors": [v.error for v in crowd if v.error]}


def measure(sources: int = 8, viewers: int = 4, seconds: float = 10.0, rounds: int = 2) -> dict[str, Any]:
    model = cached_movenet()
    if model is None:
        raise RuntimeError("MoveNet is not fetched (make model)")
    sample = ROOT / "media" / "vtest.avi"
    clips, clip_kind = bench_sources.make_clips(sample, ROOT / "media", sources)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="posepipe-bench-http-") as tmp:
        for r in range(rounds):
            order = (0, 1, 2) if r % 2 == 0 else (2, 1, 0)
            for setup in order:
                print(f"http bench round {r + 1}/{rounds}: {setup_name(setup, viewers)} …",
                      file=sys.stderr, flush=True)
                runs.append(run_once(setup, clips, str(model), seconds, viewers, Path(tmp)))
    summary = {}
    for setup in (setup_name(i, viewers) for i in range(3)):
        mine = [r for r in runs if r["setup"] == setup]
        summary[setup] = {key: statistics.median(r[key] for r in mine)
                          for key in ("fps", "cpu_ms_per_frame", "http_cpu_ms_per_frame", "sink_cpu_ms_per_frame")
                          if all(r[key] is not None for r in mine)}
        pictures = [p for r in mine for p in r["pictures_per_viewer_s"]]
        if pictures:
            summary[setup]["pictures_per_viewer_s"] = statistics.median(pictures)
    print(f"http bench: the server alone, {viewers} viewers of {sources} sources at 10 pictures/s …",
          file=sys.stderr, flush=True)
    alone = capacity(sources, viewers, seconds)
    return {"machine": machine_description(), "sources": sources, "viewers": viewers, "seconds": seconds,
            "rounds": rounds, "clips": clip_kind, "runs": runs, "summary": summary, "capacity": alone}


def markdown(result: dict[str, Any]) -> str:
    base = result["summary"].get("no --http", {})
    rows = [("| setup | pipeline FPS | × no --http | CPU ms/frame (all processes) | × no --http | of it web "
            "process | of it sink | pictures/s per viewer |"), "|---|---|---|---|---|---|---|---|"]
    for setup, s in result["summary"].items():
        fps_ratio = s["fps"] / base["fps"] if base.get("fps") else None
        cpu_ratio = s.get("cpu_ms_per_frame", 0) / base["cpu_ms_per_frame"] if base.get("cpu_ms_per_frame") else None
        rows.append(f"| {setup} | {s['fps']:.1f} | {fps_ratio:.2f} | {s.get('cpu_ms_per_frame', 0):.1f} | "
                    f"{cpu_ratio:.2f} | {s.get('http_cpu_ms_per_frame', 0):.1f} | "
                    f"{s.get('sink_cpu_ms_per_frame', 0):.1f} | "
                    f"{s['pictures_per_viewer_s']:.1f} |" if "pictures_per_viewer_s" in s else
                    f"| {setup} | {s['fps']:.1f} | {fps_ratio:.2f} | {s.get('cpu_ms_per_frame', 0):.1f} | "
                    f"{cpu_ratio:.2f} | {s.get('http_cpu_ms_per_frame', 0):.1f} | "
                    f"{s.get('sink_cpu_ms_per_frame', 0):.1f} | – |")
    m = result["machine"]
    return "\n".join([
        "## The web page's cost (`--http`)", "",
        (f"{result['sources']} sources ({result['clips']}), MoveNet, `--loop` unpaced (the pipeline saturated), "
        f"on {m['cpu']}, {m['cores']} cores: without `--http`, with it and nobody watching, and with "
        f"{result['viewers']} viewers each reading the page's picture stream (every source, at most 10 pictures/s "
        f"each) and its status once a second; {result['rounds']} interleaved rounds of {result['seconds']:g} s, "
        "medians. CPU per frame is that of every process of the run together (the viewers, standing for "
        "browsers elsewhere, are not counted). Ratios within one run of this table are what to trust on a "
        "shared host, not the absolute figures. `python scripts/bench_http.py` repeats it."), "", *rows, "",
        *_capacity_lines(result.get("capacity")), ""])


def _capacity_lines(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return []
    got = c["pictures_per_viewer_s"]
    return [(f"The server alone (`ThreadingHTTPServer`, one process), fed {c['sources']} sources whose pictures "
             f"(768x432) change {c['fps']:g} times a second each ({c['offered_per_s']:.0f} new pictures/s offered), "
             f"{c['viewers']} viewers of all of them: each viewer received "
             f"{min(got):.0f}–{max(got):.0f} pictures/s, the server used {c['server_cores']:.2f} of a core "
             f"({c['server_cpu_ms_per_picture']:.1f} ms per new picture: one JPEG encoding, shared by the viewers, "
             "and its writes to each).")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=8)
    parser.add_argument("--viewers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", help="write the figures here too")
    ns = parser.parse_args()
    try:
        result = measure(ns.sources, ns.viewers, ns.seconds, ns.rounds)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if ns.json:
        Path(ns.json).write_text(json.dumps(result, indent=1))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Soak test: run the pipeline on a looping input for a while and watch its resources.

Every ``--every`` seconds it prints, for all the pipeline's processes together: resident memory
(MiB), open file descriptors, the pipeline's shared memory in /dev/shm (MiB), frames done and the
frame rate. At the end it stops the pipeline through its control socket and checks that no
process and no segment is left.

    python scripts/soak.py --minutes 10 -- -i media/vtest.avi -at movenet
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from pipeline.ctl import request  # noqa: E402
from pipeline.ring import pipeline_segments  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20
    except OSError:
        return 0.0


def fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def shm_mb() -> float:
    total = 0
    for name in pipeline_segments():
        try:
            total += os.stat(f"/dev/shm/{name}").st_blocks * 512
        except OSError:
            pass
    return total / 2**20


def sample(controller: int, stages: dict[str, int]) -> dict[str, float]:
    pids = [controller, *stages.values()]
    return {"rss_mb": sum(rss_mb(p) for p in pids), "fds": sum(fds(p) for p in pids), "shm_mb": shm_mb(),
            "processes": sum(os.path.exists(f"/proc/{p}") for p in pids)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples (default 60)")
    parser.add_argument("--json", help="also write the samples to this file")
    parser.add_argument("pipeline_args", nargs=argparse.REMAINDER, help="-- then the pipeline's arguments")
    ns = parser.parse_args()
    args = [a for a in ns.pipeline_args if a != "--"] or ["-i", "media/vtest.avi", "-at", "movenet"]
    with tempfile.TemporaryDirectory(prefix="posepipe-soak-") as tmp:
        address = f"ipc://{tmp}/ctl"
        cmd = [sys.executable, "-m", "pipeline", *args, "--loop", "-no_show", "--control", address]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rows = []
        try:
            state = None
            for _ in range(120):
                try:
                    state = request(address, "status", timeout_s=1.0).state
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    if proc.poll() is not None:
                        print(proc.communicate()[1], file=sys.stderr)
                        return 1
                    time.sleep(0.5)
            if state is None:
                print("error: the pipeline never answered", file=sys.stderr)
                return 1
            start = time.monotonic()
            print(f"{'minute':>7} {'frames':>8} {'fps':>6} {'rss MiB':>8} {'fds':>5} {'shm MiB':>8} {'procs':>6}")
            last_frames, last_t = state["frames"], start
            while True:
                now = time.monotonic()
                state = request(address, "status", timeout_s=5.0).state
                row = {"minute": round((now - start) / 60, 2), "frames": state["frames"],
                       "fps": (state["frames"] - last_frames) / max(1e-9, now - last_t),
                       **sample(proc.pid, state["stages"])}
                last_frames, last_t = state["frames"], now
                rows.append(row)
                print(f"{row['minute']:7.2f} {row['frames']:8d} {row['fps']:6.1f} {row['rss_mb']:8.1f} "
                      f"{row['fds']:5d} {row['shm_mb']:8.1f} {row['processes']:6d}", flush=True)
                if now - start >= ns.minutes * 60:
                    break
                time.sleep(max(0.0, ns.every - (time.monotonic() - now)))
            request(address, "stop", timeout_s=5.0)
            code = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        leftover = pipeline_segments()
        print(f"exit code {code}; segments left: {len(leftover)}")
        if ns.json:
            with open(ns.json, "w") as f:
                json.dump({"args": args, "samples": rows, "exit_code": code, "segments_left": leftover}, f, indent=1)
        if len(rows) >= 2:
            first, last = rows[min(1, len(rows) - 1)], rows[-1]
            print(f"growth after warm-up: rss {last['rss_mb'] - first['rss_mb']:+.1f} MiB, "
                  f"fds {last['fds'] - first['fds']:+d}, shm {last['shm_mb'] - first['shm_mb']:+.1f} MiB")
        return 0 if code == 0 and not leftover else 1


if __name__ == "__main__":
    sys.exit(main())

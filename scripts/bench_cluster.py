"""Benchmark of ``python -m pipeline.cluster``: what the cluster layer costs, and how fast a lost
node's sources come back.

1. Overhead: the same sources through the plain pipeline and through the cluster with one
   simulated node (``--local-nodes 1``), runs interleaved (this machine's speed drifts). Each
   rate is taken the same way for both: poses lines out over the time from the first line written
   to the last (start-up excluded), as seen by watching the poses file.
2. Recovery: ``--local-nodes 2``; once node1's sources are under way its raylet is SIGKILLed;
   the driver's report gives when the loss was noticed and when each moved source's first line
   was written again, measured from the kill.

    python scripts/bench_cluster.py [--sources 4] [--frames 300] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
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

from benchlib import make_clip  # noqa: E402
from pipeline.telemetry.machine import machine_description  # noqa: E402
from pipeline.ctl import request  # noqa: E402
from pipeline.models.fetch import cached_movenet  # noqa: E402

SAMPLE = ROOT / "media" / "vtest.avi"


class Watch:
    """Watch a poses file grow: when its first line and its last line appeared."""

    def __init__(self, path: Path) -> None:
        self.path, self.first, self.last, self.size = path, 0.0, 0.0, 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                size = self.path.stat().st_size
            except OSError:
                size = 0
            if size != self.size:
                now = time.monotonic()
                self.first = self.first or now
                self.last, self.size = now, size
            time.sleep(0.01)

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.last - self.first


def lines(path: Path) -> int:
    with open(path) as f:
        return sum(1 for _ in f)


def run(argv: list[str], poses: Path) -> dict[str, Any]:
    poses.unlink(missing_ok=True)
    watch = Watch(poses)
    start = time.monotonic()
    done = subprocess.run([sys.executable, *argv, "--poses-out", str(poses)], cwd=ROOT, capture_output=True,
                          text=True)
    wall = time.monotonic() - start
    span = watch.stop()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])}: {done.stderr.strip().splitlines()[-1:]}")
    frames = lines(poses)
    return {"frames": frames, "fps": frames / span if span > 0 else 0.0, "wall_s": wall,
            "precision": next((w.split()[0].rstrip(",") for w in done.stderr.split(" precision ")[1:2]), None)}


def overhead(clips: list[Path], model: str, runs: int, workdir: Path) -> dict[str, Any]:
    common = ["-at", "movenet", "-m", model, "-no_show"]
    for clip in clips:
        common += ["-i", str(clip)]
    plain = ["-m", "pipeline", *common]
    cluster = ["-m", "pipeline.cluster", "--local-nodes", "1", *common]
    got: dict[str, list[dict[str, Any]]] = {"plain": [], "cluster": []}
    for i in range(runs):
        for name, argv in (("plain", plain), ("cluster", cluster)) if i % 2 == 0 else \
                (("cluster", cluster), ("plain", plain)):
            got[name].append(run(argv, workdir / f"{name}{i}.jsonl"))
            print(f"  {name} run {i + 1}: {got[name][-1]['fps']:.1f} FPS, {got[name][-1]['wall_s']:.1f} s wall",
                  file=sys.stderr)
    fps = {name: statistics.median(r["fps"] for r in rs) for name, rs in got.items()}
    return {"runs": got, "plain_fps": fps["plain"], "cluster_fps": fps["cluster"],
            "overhead_pct": 100.0 * (1 - fps["cluster"] / fps["plain"]) if fps["plain"] else None,
            "commands": {"plain": _shown(["-m", "pipeline", *common], workdir),
                         "cluster": _shown(["-m", "pipeline.cluster", "--local-nodes", "1", *common], workdir)}}


def _shown(argv: list[str], workdir: Path) -> str:
    return "python " + " ".join(argv).replace(str(workdir) + "/", "") + " --poses-out p.jsonl"


def ray_idle_cpu(seconds: float = 30.0) -> float:
    """CPU that a one-node simulated cluster with its driver connected uses while idle, in % of
    one core (every process of ours: driver, GCS, raylets, dashboard, monitors, workers)."""
    import logging
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray
    from pipeline.cluster.local import LOOPBACK, LocalCluster
    local = LocalCluster(1)
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        total = 0
        marker = f"RAY_TMPDIR={local.temp}".encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if marker not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                continue
        return total / tick

    try:
        ray.init(address=local.start(), logging_level=logging.WARNING, log_to_driver=False,
                 _node_ip_address=LOOPBACK)
        time.sleep(8)
        before, start = used(), time.monotonic()
        time.sleep(seconds)
        return 100.0 * (used() - before) / (time.monotonic() - start)
    finally:
        ray.shutdown()
        local.close()


def recovery(clips: list[Path], model: str, workdir: Path) -> dict[str, Any]:
    address = f"ipc://{workdir}/ctl"
    report = workdir / "cluster-report.json"
    argv = ["-m", "pipeline.cluster", "--local-nodes", "2", "-at", "movenet", "-m", model, "-no_show"]
    for clip in clips:
        argv += ["-i", str(clip)]
    argv += ["--poses-out", str(workdir / "loss.jsonl"), "--control", address, "--telemetry-out", str(report)]
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    killed_at = 0.0
    try:
        while proc.poll() is None and not killed_at:
            time.sleep(0.5)
            try:
                state = request(address, "status", timeout_s=5.0).state
            except Exception:
                continue
            node = state["nodes"]["node1"]
            if node["sources"] and min(state["sources"][str(s)]["frames"] for s in node["sources"]) >= 20:
                os.kill(node["raylet_pid"], signal.SIGKILL)
                killed_at = time.time()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    if proc.returncode != 0 or not killed_at:
        raise RuntimeError(f"node-loss run failed (exit {proc.returncode}): {err.strip().splitlines()[-1:]}")
    rep = json.loads(report.read_text())
    moves = [m for s in rep["sources"].values() for m in s["moves"]]
    return {"noticed_s": min(m["noticed_wall"] for m in moves) - killed_at,
            "resumed_s": max(m["first_out_wall"] for m in moves) - killed_at,
            "first_resumed_s": min(m["first_out_wall"] for m in moves) - killed_at,
            "moved": len(moves), "summary": out.strip(),
            "command": "python " + " ".join(argv).replace(str(workdir) + "/", "")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=4)
    parser.add_argument("--frames", type=int, default=300, help="frames per source (768x432 clips of the sample)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each, interleaved")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    ns = parser.parse_args()
    model = cached_movenet()
    if model is None or not SAMPLE.exists():
        print("error: run make model sample first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="posepipe-bench-cluster-") as tmp:
        workdir = Path(tmp)
        clip = make_clip(SAMPLE, workdir / "clip.avi", ns.frames)
        clips = [clip] * ns.sources
        print(f"overhead: {ns.sources} sources x {ns.frames} frames, {ns.runs} runs each", file=sys.stderr)
        over = overhead(clips, str(model), ns.runs, workdir)
        print("recovery: 2 nodes, node1's raylet SIGKILLed mid-run", file=sys.stderr)
        rec = recovery(clips, str(model), workdir)
        print("idle: Ray's own processes", file=sys.stderr)
        idle = ray_idle_cpu()
    machine = machine_description()
    precision = over["runs"]["plain"][0]["precision"]
    print(f"\nCPU {machine['cpu']}, {machine['cores']} cores, precision {precision}, MoveNet 768x432\n")
    print("| run | FPS (first to last poses line) |\n|---|---|")
    print(f"| plain pipeline | {over['plain_fps']:.1f} |")
    print(f"| cluster, 1 local node | {over['cluster_fps']:.1f} |")
    print(f"\noverhead: {over['overhead_pct']:.1f} % of throughput (median of {ns.runs} interleaved runs each)")
    print(f"  {over['commands']['plain']}\n  {over['commands']['cluster']}")
    print(f"Ray's own processes with the driver, idle: {idle:.1f} % of one core")
    print(f"\nnode lost (raylet SIGKILL): noticed after {rec['noticed_s']:.1f} s; first resumed line after "
          f"{rec['first_resumed_s']:.1f} s, every moved source ({rec['moved']}) resumed after {rec['resumed_s']:.1f} s "
          "(the rest after the loss is noticed is the new pipeline's start-up on the node left)")
    print(f"  {rec['command']}")
    if ns.out:
        ns.out.write_text(json.dumps({"machine": machine, "precision": precision, "overhead": over,
                                      "recovery": rec, "ray_idle_cpu_pct_of_core": idle}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the bench scripts share: the models they measure, the clip they measure them on, and
how they read a running pipeline (its ``ctl status``, its processes' CPU time, the host's idle
time) and stop it.

Every bench script takes these from here rather than from another script (``scripts/bench.py``
still runs the others' sections, and ``bench_http`` makes its clips as ``bench_sources`` does).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.models.fetch import cached_movenet  # the scripts that import this put the root on sys.path

ROOT = Path(__file__).resolve().parent.parent
TAG_ENV = "POSEPIPE_BENCH_TAG"  # in every process of a run (inherited): how its CPU time is found
CLK_TCK = os.sysconf("SC_CLK_TCK")
STANDIN = ROOT / "models" / "omz" / "intel"


def models() -> list[dict[str, str]]:
    found = []
    for name, family in (("human-pose-estimation-0001", "openpose"), ("human-pose-estimation-0005", "ae")):
        xml = STANDIN / name / "FP32" / f"{name}.xml"
        if xml.exists() and xml.with_suffix(".bin").exists():
            found.append({"name": name.replace("human-pose-estimation-", "hpe-"), "family": family,
                          "path": str(xml), "weights": "stand-in"})
    movenet = cached_movenet()
    if movenet:
        found.append({"name": "movenet", "family": "movenet", "path": str(movenet), "weights": "real"})
    return found


def make_clip(source: Path, out: Path, frames: int = 300) -> Path:
    """A 768x432 (16:9) crop of the sample, MPEG-4 (XVID) AVI like the sample itself."""
    if out.exists():
        return out
    cap = cv2.VideoCapture(str(source))
    writer = cv2.VideoWriter(str(out), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*"XVID"), 10.0, (768, 432))
    n = 0
    while n < frames:
        ok, frame = cap.read()
        if not ok:
            break
        writer.write(np.ascontiguousarray(frame[72:504, :768]))
        n += 1
    writer.release()
    return out


def stop_pipeline(proc: subprocess.Popen, address: str) -> None:
    """End a pipeline a benchmark started: ``ctl stop`` (its frames in flight finish), else
    SIGTERM, and SIGKILL after a minute."""
    if proc.poll() is None:
        try:
            from pipeline.ctl import request
            request(address, "stop", timeout_s=5.0)
        except Exception:  # noqa: BLE001 - stopping it anyway
            proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def ctl_status(address: str) -> dict[str, Any] | None:
    """The pipeline's ``ctl status`` state, or None when it does not answer (yet, or any more)."""
    import zmq

    from pipeline.ctl import request
    from pipeline.messages import WireError
    try:
        reply = request(address, "status", timeout_s=5.0)
    except (zmq.ZMQError, WireError):
        return None
    return reply.state if reply.ok else None


def _stat_fields(stat: bytes) -> tuple[str, float]:
    """A ``/proc/PID/stat`` line's process name and CPU seconds (user + system)."""
    name = stat[stat.find(b"(") + 1:stat.rfind(b")")].decode(errors="replace")
    fields = stat[stat.rfind(b")") + 2:].split()
    return name, (int(fields[11]) + int(fields[12])) / CLK_TCK


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return _stat_fields(f.read())[1]
    except (OSError, IndexError, ValueError):
        return None


def cpu_by_process(tag: str) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of every live process whose environment holds ``TAG_ENV=tag``, by pid
    (with its name: ``pp-infer``, ``python`` for the controller, …)."""
    needle = f"{TAG_ENV}={tag}".encode()
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/stat", "rb") as f:
                found[int(pid)] = _stat_fields(f.read())
        except (OSError, IndexError, ValueError):
            continue
    return found


def cpu_by_thread(pids: dict[int, tuple[str, float]]) -> dict[str, tuple[float, int]]:
    """CPU seconds and context switches (voluntary and not) so far of every live thread of
    ``pids`` (as :func:`cpu_by_process` gives them), summed by ``process/thread`` name: the
    process's own thread is ``main``, the others keep their names (``ZMQbg/IO/0``, FFmpeg's
    ``av:mpeg4:df0``, OpenVINO's, …)."""
    found: dict[str, tuple[float, int]] = {}
    for pid, (pname, _) in pids.items():
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/stat", "rb") as f:
                    tname, seconds = _stat_fields(f.read())
                with open(f"/proc/{pid}/task/{tid}/status", "rb") as f:
                    switches = sum(int(line.split()[1]) for line in f if b"ctxt_switches:" in line)
            except (OSError, IndexError, ValueError):
                continue
            key = f"{pname}/{'main' if int(tid) == pid else tname}"
            cpu, n = found.get(key, (0.0, 0))
            found[key] = (cpu + seconds, n + switches)
    return found


def host_idle() -> tuple[float, float]:
    """The host's idle and total CPU time so far (``/proc/stat``), in ticks."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    return fields[3] + fields[4], sum(fields)

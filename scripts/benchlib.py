"""What the bench scripts share: the models they measure and the clip they measure them on.

:mod:`scripts.bench` (``make bench``), :mod:`scripts.bench_sources` and
:mod:`scripts.bench_cluster` import this module, never each other.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np

from pipeline.models.fetch import cached_movenet  # the scripts that import this put the root on sys.path

ROOT = Path(__file__).resolve().parent.parent
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

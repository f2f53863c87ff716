"""Shared test helpers: run the pipeline as a user would, and find what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SAMPLE = ROOT / "media" / "vtest.avi"
STANDIN = ROOT / "models" / "omz" / "intel"


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    tag: str


def run_pipeline(*args: str, timeout: float = 180, env: dict[str, str] | None = None) -> Result:
    """Run ``python -m pipeline ARGS`` headless; every process it starts carries a unique tag in
    its environment, so :func:`tagged_processes` can tell whether any was left behind."""
    tag = uuid.uuid4().hex
    full_env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    full_env.pop("DISPLAY", None)
    if env:
        full_env.update(env)
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    return Result(done.returncode, done.stdout, done.stderr, tag)


def tagged_processes(tag: str) -> list[int]:
    """PIDs of live processes whose environment holds ``POSEPIPE_TEST_TAG=tag``."""
    needle = f"POSEPIPE_TEST_TAG={tag}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(pid))
        except OSError:
            continue
    return found


def read_poses(path: Path | str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


def movenet_model() -> str:
    from pipeline.modelfetch import cached_movenet
    found = cached_movenet()
    if found is None:
        import pytest
        pytest.skip("MoveNet is not fetched (make model)")
    return str(found)


def make_clip(path: Path, frames: int = 24, size: tuple[int, int] = (384, 288), source: Path = SAMPLE,
              start: int = 100, fps: float = 10.0) -> Path:
    """A short clip made from the sample: ``frames`` frames of vtest.avi from ``start``, scaled to
    ``size`` (w, h), written as MJPG AVI."""
    import cv2
    cap = cv2.VideoCapture(str(source))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    written = 0
    while written < frames:
        ok, frame = cap.read()
        if not ok:
            break
        out.write(cv2.resize(frame, size))
        written += 1
    out.release()
    cap.release()
    assert written == frames, f"sample has fewer than {start + frames} frames"
    return path

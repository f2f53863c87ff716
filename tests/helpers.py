"""Shared test helpers: run the pipeline as a user would, and find what it left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("POSEPIPE_SHARED") or ROOT.parent / "shared")  # POSEPIPE_SHARED: another folder
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
    from pipeline.models.fetch import cached_movenet
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


class Running:
    """A pipeline started in the background (in its own process group), with its control address.

    Every instance not finished by its test is killed, with every process it started, when the
    test ends (see ``tests/conftest.py``): a failed assertion never leaves a looping pipeline
    behind to starve the tests after it."""

    live: list["Running"] = []

    def __init__(self, tmp_path, *args: str, address: str | None = None, control: bool = True,
                 env: dict[str, str] | None = None) -> None:
        self.tag = uuid.uuid4().hex
        self.address = address or f"ipc://{tmp_path}/ctl-{self.tag[:8]}"
        full_env = dict(os.environ, POSEPIPE_TEST_TAG=self.tag, OPENCV_LOG_LEVEL="OFF")
        full_env.pop("DISPLAY", None)
        full_env.update(env or {})
        extra = ["--control", self.address] if control else []
        self.proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args, *extra], cwd=ROOT, env=full_env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        Running.live.append(self)

    def ctl(self, *args: str, timeout: float = 5, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pipeline.ctl", self.address, *args, "--timeout", str(timeout)],
                              cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, **(env or {})))

    def status(self, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = self.ctl("status")
            if done.returncode == 0:
                return json.loads(done.stdout)
            assert self.proc.poll() is None, self.proc.communicate()
            time.sleep(0.3)
        raise AssertionError("pipeline never answered")

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def wait_until(self, check, timeout: float = 120) -> dict:
        """Poll ``status`` until ``check(state)`` holds; return that state."""
        deadline = time.monotonic() + timeout
        state: dict = {}
        while time.monotonic() < deadline:
            state = self.status()
            if check(state):
                return state
            time.sleep(0.3)
        raise AssertionError(f"not reached in {timeout} s: {state}")

    def wait_frames(self, n: int, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.status()
            if state["frames"] >= n:
                return state
            time.sleep(0.3)
        raise AssertionError(f"fewer than {n} frames in {timeout} s")

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        if self in Running.live:
            Running.live.remove(self)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        """SIGKILL the pipeline's controller, let its stages notice and clean up as they would
        after any controller death, then SIGKILL whatever is left; wait until all are gone."""
        for pid in tagged_processes(self.tag):
            try:
                os.kill(pid, signal.SIGCONT)  # a stage a test stopped must run to notice
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        deadline = time.monotonic() + 15
        while tagged_processes(self.tag) and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(50):
            pids = set(tagged_processes(self.tag))
            if self.proc.poll() is None:
                pids.add(self.proc.pid)
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        try:
            self.proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass
        if self in Running.live:
            Running.live.remove(self)

    @classmethod
    def kill_all(cls) -> int:
        """Kill every pipeline a test left running; how many there were."""
        left = list(cls.live)
        for run in left:
            run.kill()
        return len(left)


def group_left(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (zombies excluded)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(pid))
    return found

"""Run the real pipeline (``python -m pipeline``, every stage) over a list of images.

The images are linked into a private folder (so that only the annotated images run, under their
own names) and given to the pipeline as one folder source, each image inferred at its own size.
The pipeline writes its poses (``--poses-out``) and its figures (``--telemetry-out``); a progress
bar follows the poses file. The pipeline's own error line and exit status are passed on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass
class RunResult:
    code: int
    records: list[dict[str, Any]]
    report: dict[str, Any]
    errors: list[str]


def _count_lines(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


class Progress:
    """A one-line progress bar on standard error (a line every 10 % when it is not a terminal)."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total, self.stream = max(1, total), stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.shown = -1
        self.t0 = time.monotonic()

    def update(self, done: int) -> None:
        done = min(done, self.total)
        if self.tty:
            if done == self.shown:
                return
            width = 30
            fill = width * done // self.total
            rate = done / max(1e-6, time.monotonic() - self.t0)
            self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} images, {rate:.1f}/s ")
            self.stream.flush()
        elif done * 10 // self.total > max(self.shown, 0) * 10 // self.total or (done and self.shown < 0):
            self.stream.write(f"{done}/{self.total} images\n")
            self.stream.flush()
        self.shown = done

    def close(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def run_pipeline(folder: str, names: Sequence[str], options: Sequence[str], poses_out: str | None,
                 progress: bool = True) -> RunResult:
    """Run the pipeline over ``names`` in ``folder`` with the pipeline ``options``."""
    with tempfile.TemporaryDirectory(prefix="posepipe-eval-") as tmp:
        images = os.path.join(tmp, "images")
        os.mkdir(images)
        for name in names:
            os.symlink(os.path.abspath(os.path.join(folder, name)), os.path.join(images, name))
        poses = poses_out or os.path.join(tmp, "poses.jsonl")
        report = os.path.join(tmp, "report.json")
        argv = [sys.executable, "-m", "pipeline", "-i", images, *options, "-no_show",
                "--poses-out", poses, "--telemetry-out", report]
        bar = Progress(len(names)) if progress else None
        with open(os.path.join(tmp, "stderr"), "w+") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
            try:
                while proc.poll() is None:
                    time.sleep(0.5)
                    if bar is not None:
                        bar.update(_count_lines(poses))
            except KeyboardInterrupt:
                proc.wait()  # the pipeline got the Ctrl-C too: it drains and exits
                raise
            finally:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait()
            if bar is not None:
                bar.update(_count_lines(poses))
                bar.close()
            err.seek(0)
            errors = [ln.rstrip("\n") for ln in err if ln.startswith(("error:", "warning:"))]
        records = []
        if os.path.exists(poses):
            with open(poses, encoding="utf-8") as f:
                records = [json.loads(line) for line in f if line.strip()]
        rep = {}
        if os.path.exists(report):
            with open(report, encoding="utf-8") as f:
                rep = json.load(f)
        return RunResult(proc.returncode, records, rep, errors)

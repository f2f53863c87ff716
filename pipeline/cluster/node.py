"""The node actor: one per node, pinned there, running that node's pipelines ("jobs").

A job is ``python -m pipeline.cluster.nodejob`` (the pipeline, stopping if its actor goes) with
some of the run's sources, its own ``--poses-out`` file and control address in the actor's
private folder. The driver asks :meth:`NodeRunner.poll` for the poses lines written since it last
asked (a few thousand at most per call, so the answers stay small) and each job's outcome; frames
never leave the node.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MAX_LINES = 2000
STOP_WAIT_S = 6.0
RAYLET_CHECK_S = 0.5  # how often the actor checks that its raylet is still there


@dataclass
class Job:
    job_id: int
    sources: list[int]
    process: subprocess.Popen
    folder: str
    control: str
    poses_at: int = 0  # bytes of the poses file handed out
    stderr_at: int = 0
    log: list[str] = field(default_factory=list)  # the job's warning and error lines
    reported: bool = False  # its outcome was handed to the driver

    @property
    def poses(self) -> str:
        return os.path.join(self.folder, "poses.jsonl")

    @property
    def stderr(self) -> str:
        return os.path.join(self.folder, "stderr.txt")


class NodeRunner:
    """Plain class: :func:`pipeline.cluster.driver` makes it a Ray actor."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.folder = tempfile.mkdtemp(prefix="posepipe-node-")
        self.jobs: dict[int, Job] = {}
        self.env = dict(os.environ, **(env or {}))
        self.env.pop("DISPLAY", None)
        # Ray sets OMP_NUM_THREADS=1 in an actor that holds no CPU; the pipeline sizes its own
        # threads (OpenVINO streams, decode workers) for the whole machine
        if self.env.get("OMP_NUM_THREADS") == "1" and "OMP_NUM_THREADS" not in (env or {}):
            del self.env["OMP_NUM_THREADS"]
        self.raylet_pid = os.getppid()
        threading.Thread(target=self._leave_with_raylet, name="raylet-watch", daemon=True).start()

    def _leave_with_raylet(self) -> None:
        """A raylet killed leaves its workers running (measured: the actor still there 8 s
        later), and with them the pipelines they hold, reading their sources for nobody while the
        driver restarts those sources elsewhere. So the actor watches its raylet (its parent):
        once it is gone, its pipelines drain and stop (:meth:`close`) and the actor exits."""
        while os.getppid() == self.raylet_pid:
            time.sleep(RAYLET_CHECK_S)
        try:
            self.close()
        finally:
            os._exit(1)

    def info(self) -> dict[str, Any]:
        """Who this node is: host, the actor's PID and its raylet's (the actor's parent)."""
        return {"host": socket.gethostname(), "pid": os.getpid(), "raylet_pid": os.getppid(),
                "cpus": os.cpu_count(), "folder": self.folder}

    def start(self, job_id: int, argv: list[str], sources: list[int]) -> int:
        """Start a pipeline on ``argv`` (the run's options, its -i, --source-ids, --start-at, -o);
        returns its PID."""
        folder = os.path.join(self.folder, f"job{job_id}")
        os.makedirs(folder)
        control = f"ipc://{folder}/ctl"
        poses = os.path.join(folder, "poses.jsonl")
        open(poses, "w").close()
        with open(os.path.join(folder, "stdout.txt"), "w") as out, open(os.path.join(folder, "stderr.txt"), "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "pipeline.cluster.nodejob", *argv, "--poses-out", poses,
                                     "--control", control], stdin=subprocess.PIPE, stdout=out, stderr=err,
                                    env=self.env, start_new_session=True)
        self.jobs[job_id] = Job(job_id, list(sources), proc, folder, control)
        return proc.pid

    def poll(self, max_lines: int = MAX_LINES) -> dict[str, Any]:
        """Poses lines written since the last poll, as (source, frame, line), and every job's
        news: new warning and error lines, and its exit code once all its lines are handed out."""
        lines: list[tuple[int, int, str]] = []
        jobs: dict[int, dict[str, Any]] = {}
        for job in self.jobs.values():
            if job.reported:
                continue
            code = job.process.poll()  # read before the file: lines written before exit are all there
            room = max_lines - len(lines)
            complete = self._read_poses(job, lines, room)
            news: dict[str, Any] = {"log": self._read_log(job)}
            if code is not None and complete:
                news["code"] = code
                news["tail"] = job.log[-3:]
                job.reported = True
            jobs[job.job_id] = news
        return {"lines": lines, "jobs": jobs}

    def _read_poses(self, job: Job, out: list[tuple[int, int, str]], room: int) -> bool:
        """Append up to ``room`` complete lines; True when none is left in the file."""
        try:
            with open(job.poses, "rb") as f:
                f.seek(job.poses_at)
                data = f.read(max(room, 1) * 8192)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return True
        start = 0
        while len(out) < room:
            stop = data.find(b"\n", start)
            if stop < 0:
                break
            text = data[start:stop].decode()
            record = json.loads(text)
            out.append((int(record["source"]), int(record["frame"]), text))
            start = stop + 1
        job.poses_at += start
        return job.poses_at >= size

    def _read_log(self, job: Job) -> list[str]:
        try:
            with open(job.stderr, "rb") as f:
                f.seek(job.stderr_at)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        job.stderr_at += end + 1
        new = [line for line in data[:end].decode(errors="replace").splitlines()
               if line.startswith(("warning:", "error:"))]
        job.log.extend(new)
        return new

    def status(self) -> dict[str, Any]:
        """Each job's PID, sources and outcome, with its pipeline's own ``ctl status`` (mode,
        FPS, and per source: state, frames, FPS, latency) while it runs."""
        from pipeline.ctl import request
        out: dict[str, Any] = {}
        for job in self.jobs.values():
            entry: dict[str, Any] = {"pid": job.process.pid, "sources": job.sources, "code": job.process.poll()}
            if entry["code"] is None:
                try:
                    state = request(job.control, "status", timeout_s=1.0).state
                    entry.update(mode=state.get("mode"), fps=state.get("fps"), frames=state.get("frames"),
                                 pipeline_sources=state.get("sources"))
                except Exception as exc:  # still starting, or ending
                    entry["pipeline"] = f"no answer ({type(exc).__name__})"
            out[str(job.job_id)] = entry
        return out

    def ctl(self, command: str, arg: str = "") -> list[str]:
        """Pass a ``ctl`` command (toggle, mode) to every running job; returns their errors."""
        from pipeline.ctl import request
        errors = []
        for job in self.jobs.values():
            if job.process.poll() is None:
                try:
                    reply = request(job.control, command, arg, timeout_s=2.0)
                    if not reply.ok:
                        errors.append(reply.error)
                except Exception as exc:
                    errors.append(f"job {job.job_id}: no answer ({type(exc).__name__})")
        return errors

    def stop(self) -> None:
        """Ask every running job to finish its frames in flight and exit (as Ctrl-C would)."""
        for job in self.jobs.values():
            if job.process.poll() is None:
                job.process.send_signal(signal.SIGTERM)

    def close(self) -> dict[int, int | None]:
        """Stop every job (SIGTERM, then again, then SIGKILL of its process group), remove the
        folder; returns the jobs' exit codes."""
        self.stop()
        deadline = time.monotonic() + STOP_WAIT_S
        again = time.monotonic() + STOP_WAIT_S / 2
        for job in self.jobs.values():
            while job.process.poll() is None and time.monotonic() < deadline:
                if time.monotonic() > again:
                    job.process.send_signal(signal.SIGTERM)
                    again = deadline
                time.sleep(0.05)
            if job.process.poll() is None:
                try:
                    os.killpg(job.process.pid, signal.SIGKILL)
                except OSError:
                    pass
                job.process.wait()
            if job.process.stdin is not None:
                job.process.stdin.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return {job.job_id: job.process.returncode for job in self.jobs.values()}

"""The driver: spreads the sources over the nodes, gathers the poses in one file, and moves the
sources of a lost node to the nodes left.

It keeps each source's next frame. A poses line is written only if its frame is at or past that
index, so the file holds every source's frames in order and exactly once, whatever arrives twice.
A node is lost when its actor dies or stays unreachable (``UNAVAILABLE_LOST_S``), when it leaves
a poll unanswered for ``SILENT_LOST_S``, or when Ray reports the node dead; its unfinished
sources then start on the nodes left (a new pipeline there, ``--start-at`` each at its next
frame), so a file source resumes right after the last frame written.

The driver binds its own control address: ``python -m pipeline.ctl ADDRESS status`` answers per
node (its jobs, each pipeline's own status) and per source; ``stop`` drains every node and ends
the run; ``toggle`` and ``mode`` go to every pipeline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import zmq

from pipeline import transport
from pipeline.errors import EXIT_FAILURE, EXIT_OK, PipelineError
from pipeline.ctl import bind_page_socket, serve_one
from pipeline.messages import ControlReply, ControlRequest

from .node import NodeRunner
from .placement import Node, spread, usable_nodes

POLL_EVERY_S = 0.1
UNAVAILABLE_LOST_S = 3.0  # a node whose actor is unreachable this long is lost
SILENT_LOST_S = 10.0  # a node that leaves a poll unanswered this long is lost
NODE_CHECK_S = 1.0  # how often the driver asks Ray which nodes are alive
START_TIMEOUT_S = 120.0
CALL_TIMEOUT_S = 30.0
STOP_DRAIN_S = 8.0
MAX_RESTARTS = 3  # per source, for pipelines that die on a node that lives on
ERROR_LINE = re.compile(r"^error: source (\d+): (.*)$")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class SourceState:
    sid: int
    text: str
    next_frame: int = 0
    written: int = 0
    state: str = "waiting"  # running, ended, failed, stopped
    node: str = ""
    job: int = -1
    restarts: int = 0
    error: str = ""
    moves: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class NodeState:
    name: str
    node: Node
    actor: Any
    info: dict[str, Any] = field(default_factory=dict)
    alive: bool = True
    pending: Any = None  # the poll in flight
    asked_at: float = 0.0
    unavailable_since: float = 0.0
    lost: str = ""
    lost_at: float = 0.0
    jobs: list[int] = field(default_factory=list)


@dataclass
class JobState:
    job_id: int
    node: str
    sources: list[int]
    pid: int = 0
    code: int | None = None


def output_template(output: str | None, moved: int, many: bool) -> str | None:
    """``-o`` for a pipeline: as given, and for sources that have moved ``moved`` times a name
    of its own (``resumed1/`` in an -o folder, ``-resumed1`` before the extension otherwise), so
    that the annotated output written before the move is kept."""
    if not output or not moved:
        return output
    tag = f"resumed{moved}"
    if "{source}" in output:
        return output.replace("{source}", "{source}-" + tag)
    root, ext = os.path.splitext(output)
    if many or not ext:
        return os.path.join(output, tag)
    return f"{root}-{tag}{ext}"


class Driver:
    def __init__(self, inputs: Sequence[str], node_argv: Sequence[str], output: str | None, poses_out: str | None,
                 control: str | None = None, report_out: str | None = None,
                 http: tuple[str, int, str, float] | None = None) -> None:
        self.sources = {i: SourceState(i, text) for i, text in enumerate(inputs)}
        self.node_argv = list(node_argv)
        self.output = output
        self.poses_path = poses_out
        self.report_out = report_out
        self.control_address = control
        self.nodes: dict[str, NodeState] = {}
        self.jobs: dict[int, JobState] = {}
        self.unplaced: list[int] = []
        self.events: list[dict[str, Any]] = []
        self.error: tuple[str, int] | None = None
        self.interrupts = 0
        self.stop_requested = False
        self.stopping_since = 0.0
        self.duplicates = 0
        self.started = time.monotonic()
        self.first_job_at = 0.0
        self.ended_at = 0.0
        self.poses: Any = None
        self.ctx: zmq.Context | None = None
        self.ctl: zmq.Socket | None = None
        self.control_dir: str | None = None
        self.http = http  # --http: (host, port, token, fps)
        self.http_ctl: zmq.Socket | None = None
        self.http_process: Any = None
        self.http_dir: str | None = None

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> int:
        old = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if self.poses_path:
                self.poses = open(self.poses_path, "w", buffering=1 << 16)
            self.bind_control()
            if self.http is not None:
                self.start_http()
            self.start_nodes()
            self.unplaced = sorted(self.sources)
            self.loop()
        except PipelineError as exc:
            self.fail(str(exc), exc.exit_code)
        finally:
            self.ended_at = time.monotonic()
            self.close()
            for sig, handler in old.items():
                signal.signal(sig, handler)
        self.write_report()
        return self.summary()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.interrupts += 1

    def fail(self, message: str, code: int = EXIT_FAILURE) -> None:
        if self.error is None:
            self.error = (message, code)

    def bind_control(self) -> None:
        self.ctx = transport.new_context()
        if not self.control_address:
            self.control_dir = tempfile.mkdtemp(prefix="posepipe-cluster-")
            self.control_address = f"ipc://{self.control_dir}/ctl"
        from pipeline.ctl import ControlSocket
        self.control_socket = ControlSocket(self.ctx, self.control_address)  # checked, authenticated for tcp://
        self.ctl = self.control_socket.socket
        log(f"control: {self.control_address}  (python -m pipeline.ctl {self.control_address} status|stop)")

    def start_http(self) -> None:
        """``--http``: the page of the whole cluster, served by a process started by the name
        ``config/defaults.toml`` gives (``[cluster] http``), asking a REP socket of its own."""
        import multiprocessing as mp

        from config import load_defaults
        assert self.ctx is not None and self.http is not None
        host, port, token, fps = self.http
        self.http_dir = tempfile.mkdtemp(prefix="posepipe-cluster-http-")
        self.http_ctl, address = bind_page_socket(self.ctx, self.http_dir)
        module, func = load_defaults()["cluster"]["http"].split(":")
        self.http_process = mp.get_context("spawn").Process(target=run_named, args=(module, func, address, host,
                                                                                     port, token, fps),
                                                            name="posepipe-http", daemon=True)
        self.http_process.start()
        shown = f"[{host}]" if ":" in host else host
        log(f"http: http://{shown}:{port}/  (the cluster's page, /metrics, /api/status, /healthz"
            f"{'; every request needs the bearer token' if token else ''})")

    def serve_http(self) -> None:
        if self.http_ctl is not None:
            serve_one(self.http_ctl, self.apply_http)

    def apply_http(self, msg: ControlRequest) -> ControlReply:
        """The web process's requests: those of ``ctl`` (stop excepted), and ``metrics``; the
        status gains each source's figures from its node's pipeline."""
        if msg.command in ("status", "metrics"):
            return ControlReply(True, self.http_status(), "")
        if msg.command == "stop":
            return ControlReply(False, {}, "the page does not stop the cluster")
        reply = self.apply(msg)
        return ControlReply(reply.ok, self.http_status(), reply.error)

    def http_status(self) -> dict[str, Any]:
        state = self.status()
        modes = set()
        for node in state["nodes"].values():
            jobs = node.get("jobs")
            for job in (jobs.values() if isinstance(jobs, dict) else []):
                if job.get("mode"):
                    modes.add(job["mode"])
                for sid, figures in (job.get("pipeline_sources") or {}).items():
                    view = state["sources"].get(str(sid))
                    if view is not None and view.get("state") == "running":
                        view.update({k: figures.get(k) for k in ("fps", "latency_ms", "dropped", "reconnects")})
                        view["state"] = figures.get("state") or view["state"]
        state["mode"] = modes.pop() if len(modes) == 1 else ("mixed" if modes else None)
        state["stages"] = {}
        if self.http_process is not None:
            state["stages"]["http"] = self.http_process.pid
        return state

    def start_nodes(self) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        nodes = usable_nodes(ray.nodes())
        if not nodes:
            raise PipelineError("the Ray cluster has no node with CPUs (or a 'posepipe' resource) to read sources")
        runner = ray.remote(num_cpus=0, max_restarts=0)(NodeRunner)
        for i, node in enumerate(nodes, 1):
            strategy = NodeAffinitySchedulingStrategy(node.node_id, soft=False)
            actor = runner.options(scheduling_strategy=strategy).remote()
            self.nodes[f"node{i}"] = NodeState(f"node{i}", node, actor)
        refs = {name: ns.actor.info.remote() for name, ns in self.nodes.items()}
        for name, ref in refs.items():
            ns = self.nodes[name]
            try:
                ns.info = ray.get(ref, timeout=START_TIMEOUT_S)
            except Exception as exc:
                self.node_lost(ns, f"its actor did not start ({type(exc).__name__})")
                continue
            log(f"{name}: {ns.node.address} ({ns.info.get('host')}), capacity {ns.node.capacity:g}, "
                f"raylet PID {ns.info.get('raylet_pid')}")

    def alive(self) -> list[NodeState]:
        return [ns for ns in self.nodes.values() if ns.alive]

    def loop(self) -> None:
        import ray
        last_check = 0.0
        while True:
            now = time.monotonic()
            if self.unplaced and not self.stopping_since:
                self.place()
            if self.error is not None:
                return
            for ns in self.alive():
                if ns.pending is None and now - ns.asked_at >= POLL_EVERY_S:
                    ns.pending, ns.asked_at = ns.actor.poll.remote(), now
            pending = {ns.pending: ns for ns in self.alive() if ns.pending is not None}
            if pending:
                ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_EVERY_S)
            else:
                ready = []
                time.sleep(POLL_EVERY_S)
            for ref in ready:
                self.on_poll(pending[ref], ref)
            now = time.monotonic()
            for ns in self.alive():
                if ns.pending is not None and now - ns.asked_at > SILENT_LOST_S:
                    self.node_lost(ns, f"no answer for {SILENT_LOST_S:g} s")
            if now - last_check >= NODE_CHECK_S:
                last_check = now
                self.check_nodes()
            self.serve_control()
            self.serve_http()
            if self.interrupts and not self.stopping_since:
                log("stopping: every node finishes its frames in flight (Ctrl-C again to stop at once)")
                self.begin_stop()
            if self.stopping_since and (self.interrupts > 1 or now - self.stopping_since > STOP_DRAIN_S):
                return
            if all(s.state in ("ended", "failed", "stopped") for s in self.sources.values()):
                return

    def begin_stop(self) -> None:
        self.stopping_since = time.monotonic()
        for sid in self.unplaced:
            self.sources[sid].state = "stopped"
        self.unplaced = []
        for ns in self.alive():
            ns.actor.stop.remote()

    # -- placing sources ---------------------------------------------------------------------
    def place(self) -> None:
        alive = self.alive()
        if not alive:
            names = ", ".join(map(str, sorted(self.unplaced)))
            self.fail(f"every node is lost: source{'s' if len(self.unplaced) > 1 else ''} {names} not finished")
            return
        load = {ns.node.node_id: 0 for ns in alive}
        for s in self.sources.values():
            if s.state == "running" and s.node in self.nodes:
                load[self.nodes[s.node].node.node_id] = load.get(self.nodes[s.node].node.node_id, 0) + 1
        by_id = {ns.node.node_id: ns for ns in alive}
        todo, self.unplaced = self.unplaced, []
        for node_id, sids in spread(todo, [ns.node for ns in alive], load).items():
            self.start_job(by_id[node_id], sids)

    def start_job(self, ns: NodeState, sids: list[int]) -> None:
        import ray
        job = JobState(len(self.jobs), ns.name, list(sids))
        moved = max(len(self.sources[sid].moves) + self.sources[sid].restarts for sid in sids)
        argv = list(self.node_argv)
        for sid in sids:
            argv += ["-i", self.sources[sid].text]
        if len(self.sources) > 1:
            argv += ["--source-ids", ",".join(map(str, sids))]
        for sid in sids:
            if self.sources[sid].next_frame:
                argv += ["--start-at", f"{sid}={self.sources[sid].next_frame}"]
        output = output_template(self.output, moved, len(self.sources) > 1)
        if output:
            argv += ["-o", output]
        try:
            job.pid = ray.get(ns.actor.start.remote(job.job_id, argv, sids), timeout=CALL_TIMEOUT_S)
        except Exception as exc:
            self.unplaced.extend(sids)
            self.node_lost(ns, f"it could not start a pipeline ({type(exc).__name__}: {exc})".splitlines()[0])
            return
        self.jobs[job.job_id] = job
        ns.jobs.append(job.job_id)
        self.first_job_at = self.first_job_at or time.monotonic()
        for sid in sids:
            s = self.sources[sid]
            s.state, s.node, s.job = "running", ns.name, job.job_id
            if s.moves and "to" not in s.moves[-1]:
                s.moves[-1]["to"] = ns.name
        starts = [f"{sid}@{self.sources[sid].next_frame}" if self.sources[sid].next_frame else str(sid) for sid in sids]
        log(f"{ns.name}: pipeline PID {job.pid} reads source{'s' if len(sids) > 1 else ''} {' '.join(starts)}")

    # -- what the nodes say ------------------------------------------------------------------
    def on_poll(self, ns: NodeState, ref: Any) -> None:
        import ray
        from ray.exceptions import ActorUnavailableError
        ns.pending = None
        if not ns.alive:
            return
        try:
            news = ray.get(ref)
        except ActorUnavailableError:
            now = time.monotonic()
            ns.unavailable_since = ns.unavailable_since or now
            if now - ns.unavailable_since > UNAVAILABLE_LOST_S:
                self.node_lost(ns, f"its actor unreachable for {UNAVAILABLE_LOST_S:g} s")
            return
        except Exception as exc:
            self.node_lost(ns, f"its actor died ({type(exc).__name__})")
            return
        ns.unavailable_since = 0.0
        self.write_lines(news["lines"])
        for job_id, job_news in news["jobs"].items():
            for line in job_news.get("log", []):
                log(f"{ns.name}: {line}")
            if "code" in job_news:
                self.job_ended(self.jobs[int(job_id)], int(job_news["code"]), job_news.get("tail", []))

    def write_lines(self, lines: list[tuple[int, int, str]]) -> None:
        now = time.monotonic()
        for sid, frame, text in lines:
            s = self.sources.get(sid)
            if s is None or frame < s.next_frame:
                self.duplicates += 1
                continue
            if self.poses is not None:
                self.poses.write(text + "\n")
            s.next_frame = frame + 1
            s.written += 1
            if s.moves and "first_out_s" not in s.moves[-1]:
                s.moves[-1]["first_out_s"] = round(now - s.moves[-1]["noticed"], 3)
                s.moves[-1]["first_out_wall"] = time.time()
        if self.poses is not None and lines:
            self.poses.flush()

    def job_ended(self, job: JobState, code: int, tail: list[str]) -> None:
        job.code = code
        failed = {int(m.group(1)): m.group(2) for m in map(ERROR_LINE.match, tail) if m}
        crashed = code < 0 or code >= 128 or any("died unexpectedly" in line for line in tail)
        for sid in job.sources:
            s = self.sources[sid]
            if s.job != job.job_id or s.state != "running":
                continue
            if code == 0:
                s.state = "ended"
            elif self.stopping_since:
                s.state = "stopped"
            elif sid in failed:
                s.state, s.error = "failed", failed[sid]
            elif crashed and s.restarts < MAX_RESTARTS:
                s.restarts += 1
                s.state = "waiting"
                self.unplaced.append(sid)
            elif code == 1 and failed:
                s.state = "ended"  # the job's error was another source's
            else:
                s.state = "failed"
                s.error = tail[-1].removeprefix("error: ") if tail else f"pipeline exited with status {code}"
        if crashed and not self.stopping_since and any(self.sources[sid].state == "waiting" for sid in job.sources):
            log(f"warning: {job.node}: pipeline PID {job.pid} ended with status {code}; restarting its sources")

    def check_nodes(self) -> None:
        import ray
        try:
            alive = {n["NodeID"] for n in ray.nodes() if n.get("Alive")}
        except Exception:
            return
        for ns in self.alive():
            if ns.node.node_id not in alive:
                self.node_lost(ns, "Ray reports the node dead")

    def node_lost(self, ns: NodeState, why: str) -> None:
        import ray
        if not ns.alive:
            return
        ns.alive, ns.lost, ns.lost_at, ns.pending = False, why, time.monotonic(), None
        try:
            ray.kill(ns.actor, no_restart=True)
        except Exception:
            pass
        moved = []
        for job_id in ns.jobs:
            job = self.jobs[job_id]
            if job.code is not None:
                continue
            job.code = -1
            for sid in job.sources:
                s = self.sources[sid]
                if s.job == job_id and s.state == "running":
                    s.state = "waiting"
                    s.moves.append({"from": ns.name, "frame": s.next_frame, "noticed": ns.lost_at,
                                    "noticed_wall": time.time()})
                    moved.append(sid)
        self.unplaced.extend(moved)
        self.events.append({"node": ns.name, "lost": why, "at_s": round(ns.lost_at - self.started, 3),
                            "wall": time.time(), "sources": {str(sid): self.sources[sid].next_frame for sid in moved}})
        what = f"; moving source{'s' if len(moved) > 1 else ''} {' '.join(map(str, moved))}" if moved else ""
        log(f"warning: {ns.name} ({ns.node.address}) lost: {why}{what}")

    # -- control -----------------------------------------------------------------------------
    def serve_control(self) -> None:
        assert self.ctl is not None
        serve_one(self.ctl, self.apply)

    def apply(self, msg: ControlRequest) -> ControlReply:
        if msg.command == "status":
            return ControlReply(True, self.status(), "")
        if msg.command == "stop":
            self.stop_requested = True
            self.interrupts = max(self.interrupts, 1)
            return ControlReply(True, self.status(with_nodes=False), "")
        if msg.command in ("toggle", "mode"):
            return self.forward(msg.command, msg.arg)
        return ControlReply(False, {}, f"'{msg.command}' is not supported by the cluster driver")

    def forward(self, command: str, arg: str) -> ControlReply:
        import ray
        errors: list[str] = []
        refs = [ns.actor.ctl.remote(command, arg) for ns in self.alive()]
        try:
            for found in ray.get(refs, timeout=5.0):
                errors.extend(found)
        except Exception as exc:
            errors.append(f"no answer from a node ({type(exc).__name__})")
        return ControlReply(not errors, self.status(with_nodes=False), "; ".join(errors))

    def status(self, with_nodes: bool = True) -> dict[str, Any]:
        import ray
        elapsed = time.monotonic() - (self.first_job_at or self.started)
        frames = sum(s.written for s in self.sources.values())
        nodes: dict[str, Any] = {}
        refs = {ns.name: ns.actor.status.remote() for ns in self.alive()} if with_nodes else {}
        for name, ns in self.nodes.items():
            entry = {"address": ns.node.address, "capacity": ns.node.capacity, "alive": ns.alive, "lost": ns.lost,
                     "raylet_pid": ns.info.get("raylet_pid"), "actor_pid": ns.info.get("pid"),
                     "sources": sorted(sid for sid, s in self.sources.items() if s.node == name and s.state == "running")}
            if name in refs:
                try:
                    entry["jobs"] = ray.get(refs[name], timeout=3.0)
                except Exception as exc:
                    entry["jobs"] = f"no answer ({type(exc).__name__})"
            nodes[name] = entry
        return {"cluster": True, "frames": frames, "fps": round(frames / elapsed, 2) if elapsed > 0 else 0.0,
                "nodes": nodes, "sources": {str(sid): self.source_view(s) for sid, s in self.sources.items()},
                "duplicates_dropped": self.duplicates}

    def source_view(self, s: SourceState) -> dict[str, Any]:
        moves = [{k: v for k, v in m.items() if k not in ("noticed", "noticed_wall")} for m in s.moves]
        return {"input": s.text, "state": s.state, "node": s.node, "frames": s.written, "next_frame": s.next_frame,
                "moves": moves, "restarts": s.restarts, "error": s.error}

    # -- ending ------------------------------------------------------------------------------
    def close(self) -> None:
        import ray
        try:
            refs = [ns.actor.close.remote() for ns in self.alive()]
            if refs:
                ray.wait(refs, num_returns=len(refs), timeout=15.0)
            for ns in self.nodes.values():
                try:
                    ray.kill(ns.actor, no_restart=True)
                except Exception:
                    pass
        finally:
            if self.http_process is not None:
                self.http_process.terminate()
                self.http_process.join(5.0)
                if self.http_process.is_alive():
                    self.http_process.kill()
                    self.http_process.join(2.0)
            if self.http_ctl is not None:
                self.http_ctl.close(linger=0)
            if self.http_dir:
                import shutil
                shutil.rmtree(self.http_dir, ignore_errors=True)
            if self.poses is not None:
                self.poses.close()
            control = getattr(self, "control_socket", None)
            if control is not None:
                control.close()
            if self.ctx is not None:
                self.ctx.destroy(linger=0)
            if control is not None:
                control.remove_file()
            if self.control_dir:
                import shutil
                shutil.rmtree(self.control_dir, ignore_errors=True)

    def leftovers(self) -> tuple[list[int], list[str]]:
        """What lost nodes may have left: their pipelines' PIDs and their actors' folders (a
        simulated cluster, all on this machine, cleans them up)."""
        lost = [ns for ns in self.nodes.values() if not ns.alive]
        pids = [self.jobs[j].pid for ns in lost for j in ns.jobs if self.jobs[j].pid]
        return pids, [ns.info["folder"] for ns in lost if ns.info.get("folder")]

    def report(self) -> dict[str, Any]:
        elapsed = (self.ended_at or time.monotonic()) - (self.first_job_at or self.started)
        frames = sum(s.written for s in self.sources.values())
        return {"frames": frames, "elapsed_s": round(elapsed, 3), "fps": round(frames / elapsed, 2) if elapsed > 0 else 0,
                "nodes": {name: {"address": ns.node.address, "capacity": ns.node.capacity, "lost": ns.lost,
                                 "lost_at_s": round(ns.lost_at - self.started, 3) if ns.lost else None,
                                 "info": ns.info} for name, ns in self.nodes.items()},
                "sources": {str(sid): {**self.source_view(s), "moves": s.moves} for sid, s in self.sources.items()},
                "events": self.events, "jobs": [asdict(j) for j in self.jobs.values()],
                "duplicates_dropped": self.duplicates}

    def write_report(self) -> None:
        if not self.report_out:
            return
        try:
            with open(self.report_out, "w") as f:
                json.dump(self.report(), f, indent=1)
        except OSError as exc:
            self.fail(f"cannot write {self.report_out}: {exc.strerror}")

    def summary(self) -> int:
        rep = self.report()
        print(f"cluster: {len(self.sources)} source{'s' if len(self.sources) > 1 else ''} on {len(self.nodes)} "
              f"node{'s' if len(self.nodes) > 1 else ''}: {rep['frames']} frames in {rep['elapsed_s']:.1f} s "
              f"({rep['fps']:.1f} FPS)", flush=True)
        for name, ns in self.nodes.items():
            ran = sorted({sid for j in ns.jobs for sid in self.jobs[j].sources})
            what = f"lost {ns.lost_at - self.started:.1f} s after start: {ns.lost}" if ns.lost else "ran to the end"
            print(f"{name}  {ns.node.address}  sources {' '.join(map(str, ran)) or '-'}  {what}", flush=True)
        print("source  frames  state    nodes", flush=True)
        for sid, s in self.sources.items():
            path = " ".join(f"-> {m.get('to', '?')} at frame {m['frame']}"
                            + (f" ({m['first_out_s']:.1f} s after the loss was noticed)" if "first_out_s" in m else "")
                            for m in s.moves)
            first = s.moves[0]["from"] if s.moves else s.node
            print(f"{sid:>6}  {s.written:>6}  {s.state:<7}  {first} {path}  {s.text}".rstrip(), flush=True)
        if self.error is not None:
            log(f"error: {self.error[0]}")
            return self.error[1]
        failed = [(sid, s.error) for sid, s in self.sources.items() if s.state == "failed"]
        for sid, message in failed:
            log(f"error: source {sid}: {message}")
        if failed:
            return EXIT_FAILURE
        if self.interrupts and not self.stop_requested:
            return 130
        return EXIT_OK


def run_named(module: str, func: str, *args: Any) -> None:
    """A process's entry given by name (``[cluster] http``): the driver never imports web/."""
    import importlib
    getattr(importlib.import_module(module), func)(*args)

"""The controller: plans the run, owns every shared resource, starts and supervises the stages.

It is the process ``python -m pipeline`` runs. It probes the input and the model (so bad input
fails before any process starts), creates the shared-memory rings and the private runtime
directory, binds the events, control and ``ctl`` sockets, and spawns the stages. Then it watches:

* stage messages (ready, warnings, errors, figures, the sink's end of stream);
* ``ctl`` requests (``pipeline.ctl`` and the window's Tab key): mode toggle, status, stop;
* the child processes: a decode worker that dies is restarted and its frames decoded again; a
  capture process that dies is restarted and its sources resume where preprocess last heard
  of them; any other stage that dies stops the run with a one-line error;
* the sources (:mod:`pipeline.sources.table`): the run ends when every source has ended.

Ctrl-C or SIGTERM first drains (capture stops, frames in flight finish), then cancels. On every
exit path the controller stops and reaps every child, unlinks every segment and removes the
runtime directory.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import json
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import zmq

from config import load_defaults

from . import transport
from .config import MODE_TITLES, MODES, PipelineConfig
from .ctl import ControlSocket, Later, Responder, bind_page_socket, check_control_address
from .errors import EXIT_FAILURE, EXIT_OK, Interrupted, PipelineError, ResourceError, UsageError, printable
from .lifetime import spawning
from .lifetime.guardian import Guardian
from .models import Family
from .messages import (AddSource, CaptureLost, ControlReply, ControlRequest, EndOfStream, FrameTimes, Log, Message,
                       RemoveSource, ResumeAt, SetMode, SetWindow, StageError, StageReady, StageStats, Start, Stop, WorkerLost)
from .outputs import check_run_outputs, check_writable_file, output_for, output_kind
from .outputs.http import check_http, check_port_free, http_banner, token_file_mode_warning
from .outputs.preview import create_board, preview_slots
from .plan import CaptureAssignment, RunPlan
from .ring import SlotRing, new_run_id, packed_bytes, segment_prefix, stop_resource_tracker
from .sources import (SourceInfo, SourceSpec, SourceTable, capture_workers, expand_inputs, plan_source_models,
                      source_lines, source_lists)
from .sources.admit import Admission, open_at_start
from .stage import STOP_SIGNAL, stage_main
from .telemetry import Telemetry, peak_rss_mb, pss_mb, run_metrics
from .telemetry.histograms import LatencyHistograms
from .telemetry.machine import machine_description
from .telemetry.textreport import final_table, status_line
from .telemetry.trace import TraceRecorder
from .watchdog import Watchdog
from .window import WindowSizer

# What the run starts: each stage's process entry, "module:Class", as config/defaults.toml names
# it. The controller knows stages by these names only; stages/ implements them.
STAGES = {kind: tuple(entry.split(":")) for kind, entry in load_defaults()["stages"].items()}
DRAIN_TIMEOUT_S = 1.5
JOIN_TIMEOUT_S = 2.0
MAX_WORKER_RESTARTS = 20
RESTARTED = ("decode", "capture")  # stages restarted when they die; any other ends the run
# ... but for the --http process, which is started again under its own name: a page must never
# stop the cameras
RESPAWNED = ("http",)
UNOPENED_FRAME = tuple(load_defaults()["live"]["unopened_frame"])  # (w, h) room for a live source not opened yet
ADD_PROBE_TIMEOUT_S = 60.0  # ctl add: the longest a file or folder may take to be read


def log(text: str) -> None:
    _active_status_break()
    print(printable(text), file=sys.stderr, flush=True)


_STATUS_OWNER: list["Controller"] = []


def _active_status_break() -> None:
    """A log line must not land in the middle of the status line."""
    for controller in _STATUS_OWNER:
        controller.clear_status()


@dataclass
class Child:
    label: str
    kind: str
    process: Any
    instance: int = 0
    generation: int = 0
    ready: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    extra: Any = None  # what the stage was started with besides the plan (given again on a restart)

    @property
    def identity(self) -> str:
        return f"{self.kind}{self.instance}.{self.generation}" if self.kind in RESTARTED else self.kind


class Controller:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        self.mode = config.mode
        self.children: dict[str, Child] = {}
        self.rings: list[SlotRing] = []
        self.run_id = new_run_id()  # in every segment's name: stages find them all if this process dies
        self.runtime: transport.RuntimeDir | None = None
        self.guardian: Guardian | None = None  # removes the run's segments and directory if this process is killed
        self.ctx: zmq.Context | None = None
        self.ctl_socket: ControlSocket | None = None
        self.error: tuple[str, str, int] | None = None  # first error wins: (stage, message, code)
        self.figures: dict[str, dict[str, Any]] = {}  # the last figures of every process, by label
        self.sources: SourceTable | None = None
        self.outputs: dict[int, str | None] = {}  # each source's -o path, by id
        self.lists: list[str] = []  # the .streams lists -i named (inputs too)
        self.lost_captures: dict[str, Child] = {}  # dead capture processes waiting for ResumeAt
        self.finished = False
        self.interrupts = 0
        self.signal_name = ""
        self.stop_requested = False  # a stop asked for through ctl or the window: exit 0
        self.stopping = False
        self.restarts = 0
        self.all_ready = False
        self.plan: RunPlan | None = None
        self.window: WindowSizer | None = None  # sizes the frames in flight (None: --ring-slots fixes them)
        self.started_ns = time.monotonic_ns()
        self.first_frame_ns = 0
        self.telemetry = Telemetry(period_s=config.telemetry_period, mode=config.mode)
        self.watchdog = Watchdog()
        self.tracer = TraceRecorder() if config.trace_out else None
        self.status_shown = False
        self.show_status = not config.show and sys.stderr.isatty()
        self.http_ctl: zmq.Socket | None = None  # --http: the web process's own REP socket
        self.responders: list[Responder] = []  # ctl's socket, and the web process's
        self.admission: Admission | None = None  # sources added at run time (ctl add)
        self.histograms = LatencyHistograms() if config.http else None

    # -- set-up ------------------------------------------------------------------------------
    def prepare(self) -> RunPlan:
        cfg = self.config
        control = check_control_address(cfg.control) if cfg.control else None
        texts = expand_inputs(cfg.inputs)
        ids = cfg.source_ids or tuple(range(len(texts)))
        if len(ids) != len(texts):
            raise UsageError(f"--source-ids names {len(ids)} sources, -i {len(texts)}")
        for sid, _ in cfg.start_at:
            if sid not in ids:
                raise UsageError(f"--start-at: no source {sid} (sources: {', '.join(map(str, ids))})")
        fleet = len(texts) > 1 or bool(cfg.source_ids)  # one camera down must not stop the others
        specs = [SourceSpec(i, text, open_at_start(text, i, len(texts), fleet=fleet, warn=log,
                                                   require_sources=cfg.require_sources))
                 for i, text in zip(ids, texts)]
        named = max(len(specs), 2 if cfg.source_ids else 1)  # a cluster node's -o is always per source
        outputs = {spec.id: output_for(cfg.output, spec.id, named, spec.info) for spec in specs}
        self.lists = source_lists(cfg.inputs)
        check_run_outputs(cfg, [(spec.text, spec.info, outputs[spec.id]) for spec in specs], self.lists)
        self.outputs = outputs
        models, specs = plan_source_models(cfg.inference, specs, (UNOPENED_FRAME[1], UNOPENED_FRAME[0]))
        if cfg.output:
            for spec in specs:
                output_kind(outputs[spec.id], spec.info)
        for path, option in ((cfg.poses_out, "--poses-out"), (cfg.telemetry_out, "--telemetry-out"),
                             (cfg.trace_out, "--trace-out")):
            if path:
                check_writable_file(path, option)
        http = None
        if cfg.http:
            http, _ = check_http(cfg.http, cfg.http_fps, cfg.http_token_file)
            check_port_free(http)
            warning = token_file_mode_warning(cfg.http_token_file)
            if warning:
                log(warning)
        base = transport.run_dir_base()
        try:  # before the run directory and the first segment: nothing of the run outlives a SIGKILL
            self.guardian = Guardian.start(segment_prefix(self.run_id), base, transport.run_dir_prefix())
        except OSError as exc:
            raise ResourceError(f"cannot start the run's guardian process: {exc.strerror or exc}") from None
        self.runtime = transport.RuntimeDir(base)
        endpoints = transport.Endpoints.in_directory(self.runtime.path, control)
        # a live source not opened yet gets room for a frame of [live] unopened_frame
        frame_bytes = max(s.info.max_frame_bytes if s.info.sized else UNOPENED_FRAME[0] * UNOPENED_FRAME[1] * 3
                          for s in specs)
        batch = cfg.batch_for(frame_bytes)
        slots = cfg.slots(batch)
        workers = capture_workers(cfg.capture_workers, len(specs))
        self.sources = SourceTable(specs, workers)
        self.admission = Admission(cfg, models, frame_bytes, len(specs), self.sources, self.outputs, self.lists)
        tensors = SlotRing.create("tensors", slots, max(m.net_h * m.net_w * 3 for m in models), self.run_id)
        self.rings.append(tensors)
        maps = SlotRing.create("maps", slots, max(packed_bytes([shape for _, shape in m.outputs]) for m in models),
                               self.run_id)
        self.rings.append(maps)
        # each capture process's ring: room for the run's frames in flight, and for two frames of
        # each of its sources (and of two more added at run time)
        per_worker = -(-len(specs) // workers)
        frame_slots = max(slots, 2 * (per_worker + 2))
        window = cfg.window_start(slots)
        preview = None
        if http is not None:
            board = create_board(preview_slots(len(specs), cfg.preview_slots), frame_bytes, self.run_id)
            self.rings.append(board)
            preview = board.spec
        if not cfg.ring_slots:
            # one frame per source at least (pipeline/window.py), a camera not opened yet aside: it brings none
            window = min(slots, max(window, sum(1 for s in specs if s.info.sized)))
            self.window = WindowSizer(size=window, high=slots)
        return RunPlan(config=cfg, sources=tuple(specs), models=models, endpoints=endpoints, tensors_ring=tensors.spec,
                       maps_ring=maps.spec, workers=cfg.workers(), batch=batch, capture_workers=workers,
                       frame_bytes=frame_bytes, frame_slots=frame_slots, window=window, run_id=self.run_id,
                       preview=preview, controller_pid=os.getpid(), run_dir=self.runtime.path)

    def spawn(self, kind: str, instance: int = 0, generation: int = 0, extra: Any = None) -> Child:
        assert self.plan is not None
        child = Child(label="", kind=kind, process=None, instance=instance, generation=generation, extra=extra)
        child.label = child.identity
        module, cls = STAGES[kind]
        proc = mp.get_context("spawn").Process(target=stage_main, name=f"posepipe-{child.label}",
                                               args=(module, cls, self.plan, instance, child.identity, extra))
        proc.start()
        if self.guardian is not None:
            self.guardian.watch(proc.pid)
        child.process = proc
        self.children[child.label] = child
        return child

    def spawn_capture(self, instance: int, generation: int = 0, resume: dict[int, int] | None = None) -> Child:
        """A capture process with a frame ring of its own (a restarted one gets a new ring, since
        its predecessor's frames may still be in flight)."""
        assert self.plan is not None and self.sources is not None
        ring = SlotRing.create("frames", self.plan.frame_slots, self.plan.frame_bytes, self.plan.run_id)
        self.rings.append(ring)
        resume = {**dict(self.config.start_at), **(resume or {})}  # --start-at, unless heard of since
        assignment = CaptureAssignment(ring.spec, tuple(self.sources.assignment(instance, resume)))
        return self.spawn("capture", instance, generation, assignment)

    # -- running -----------------------------------------------------------------------------
    def run(self) -> int:
        """Run the pipeline to its end; return the exit code."""
        spawning.install()  # a stage whose controller dies as it starts it exits quietly
        _STATUS_OWNER.append(self)
        old_int = signal.signal(signal.SIGINT, self._on_signal)
        old_term = signal.signal(signal.SIGTERM, self._on_signal)
        old_hup = signal.signal(signal.SIGHUP, self._on_signal)  # a closed terminal: as SIGTERM
        try:
            self.plan = self.prepare()
            self.ctx = transport.new_context()
            ep = self.plan.endpoints
            self.events = transport.socket(self.ctx, zmq.PULL, ep.events, bind=True)
            self.control = transport.socket(self.ctx, zmq.PUB, ep.control, bind=True)
            self.ctl_socket = ControlSocket(self.ctx, ep.ctl)
            self.ctl = self.ctl_socket.socket
            self.responders.append(Responder(self.ctl))
            log(f"control: {ep.ctl}  (python -m pipeline.ctl {ep.ctl} toggle|status|stop)")
            for kind in ("sink", "infer", "preprocess"):
                self.spawn(kind)
            if self.config.http:
                self.http_ctl, address = bind_page_socket(self.ctx, self.runtime.path)
                self.responders.append(Responder(self.http_ctl))
                self.spawn("http", extra=address)
                log(http_banner(self.config.http, self.config.http_fps, self.config.http_token_file))
            for i in range(self.plan.workers):
                self.spawn("decode", i)
            for i in range(self.plan.capture_workers):
                self.spawn_capture(i)
            self.supervise()
        except PipelineError as exc:
            if self.interrupts and self.plan is None and not isinstance(exc, Interrupted):
                # the signal came inside a call that turned it into its own error (reading the
                # model, say): it is still an interruption
                exc = Interrupted(f"interrupted by {self.signal_name} while starting")
            self.fail("pipeline", str(exc), exc.exit_code)
        finally:
            self.shutdown()
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)
            signal.signal(signal.SIGHUP, old_hup)
            self.clear_status()
            _STATUS_OWNER.remove(self)
        self.write_files()
        return self.report()

    def _on_signal(self, signum: int, frame: object) -> None:
        self.interrupts += 1
        self.signal_name = signal.Signals(signum).name
        if self.plan is None and not self.stopping:
            # still planning (probing the input, reading the model): stop right here
            raise Interrupted(f"interrupted by {signal.Signals(signum).name} while starting")

    def fail(self, stage: str, message: str, code: int = EXIT_FAILURE) -> None:
        if self.error is None:
            self.error = (stage, message, code or EXIT_FAILURE)

    def broadcast(self, msg: Message) -> None:
        transport.send(self.control, msg)

    def supervise(self) -> None:
        poller = zmq.Poller()
        poller.register(self.events, zmq.POLLIN)
        poller.register(self.ctl, zmq.POLLIN)
        if self.http_ctl is not None:
            poller.register(self.http_ctl, zmq.POLLIN)
        drain_deadline = 0.0
        last_beat = 0.0
        last_status = 0.0
        while True:
            ready = dict(poller.poll(100))
            if self.events in ready:
                for msg in transport.drain(self.events, self.on_bad_event):
                    self.on_event(msg)
            for responder in self.responders:
                if responder.sock in ready or responder.waiting is not None:
                    responder.serve(self.apply)
            self.watch_children()
            now = time.monotonic()
            if self.all_ready and not drain_deadline:
                self.check_silence(now)
            if self.error is not None or self.finished:
                return
            if self.interrupts and not drain_deadline:
                log("stopping: finishing the frames in flight (Ctrl-C again to stop at once)")
                drain_deadline = now + DRAIN_TIMEOUT_S
            if drain_deadline and (self.interrupts > 1 or now > drain_deadline):
                return
            if not self.all_ready and all(c.ready for c in self.children.values()):
                self.all_ready = True
                last_beat = 0.0
            if self.show_status and self.all_ready and now - last_status >= 0.5:
                self.print_status()
                last_status = now
            if drain_deadline or now - last_beat > 0.5:
                # repeated, so that a stage that subscribed late still hears it
                self.broadcast(SetMode(self.mode))
                if self.window is not None:
                    self.broadcast(SetWindow(self.window.size))
                if self.all_ready:
                    self.broadcast(Start())
                if drain_deadline:
                    self.broadcast(Stop(drain=True, reason="interrupted"))
                last_beat = now

    def on_event(self, msg: Message) -> None:
        stage = getattr(msg, "stage", None)
        if isinstance(stage, str):
            self.watchdog.heard(stage)
        if isinstance(msg, StageReady):
            child = self.children.get(msg.stage)
            if child is not None:
                child.ready = True
                child.info = msg.info
            if msg.stage == "infer":
                info = msg.info
                plan = self.plan
                seen = Family.get(plan.model.family, plan.model.variant).keypoint_threshold
                log(f"model: {plan.model.family} {os.path.basename(plan.model.path)}, input "
                    f"{info.get('net_input')}, device {info.get('device')}, precision {info.get('precision')}, "
                    + (f"keypoints drawn above score {seen:g}, " if seen > 0 else "") +
                    f"{info.get('requests')} requests, {info.get('streams')} streams, batches of "
                    f"{plan.batch}, {plan.slots} slots, {len(plan.sources)} source"
                    f"{'s' if len(plan.sources) > 1 else ''} on {plan.capture_workers} capture process"
                    f"{'es' if plan.capture_workers > 1 else ''}, mode {MODE_TITLES[self.mode]}")
        elif isinstance(msg, StageError):
            self.fail(msg.stage, msg.message, msg.exit_code)
        elif isinstance(msg, Log):
            log(f"{msg.level}: {msg.stage}: {msg.message}")
        elif isinstance(msg, StageStats):
            self.figures[msg.stage] = msg.figures
            self.telemetry.add_figures(msg.stage, msg.figures)
            if msg.stage == "infer" and self.window is not None and self.mode == "user":
                before = self.window.size
                running = len(self.sources.delivering()) if self.sources is not None else 1
                if self.window.update(msg.figures, sources=running) != before:
                    self.broadcast(SetWindow(self.window.size))
            if msg.stage.startswith("capture") and self.sources is not None:
                self.sources.add_capture_figures(msg.figures)
        elif isinstance(msg, FrameTimes):
            if not self.first_frame_ns and len(msg.stamps):
                self.first_frame_ns = int(msg.stamps[0][-1])
            self.telemetry.add_frames(msg.stamps, msg.modes, msg.workers)
            if self.sources is not None:
                self.sources.add_frames(msg)
            if self.tracer is not None:
                self.tracer.add(msg.stamps, msg.workers, msg.seqs, msg.sources)
            if self.histograms is not None and len(msg.stamps):
                self.histograms.add(msg.stamps, msg.sources)
        elif isinstance(msg, EndOfStream) and self.sources is not None:
            self.source_ended(msg)
        elif isinstance(msg, ResumeAt):
            self.resume_capture(msg)
        elif isinstance(msg, ControlRequest):
            self.apply(msg)

    def apply(self, req: ControlRequest) -> ControlReply | Later:
        if req.command == "toggle":
            self.set_mode("latency" if self.mode == "user" else "user")
        elif req.command == "mode":
            if req.arg not in MODES:
                return ControlReply(False, self.state(), f"unknown mode {req.arg!r}; choose {', '.join(MODES)}")
            self.set_mode(req.arg)
        elif req.command == "stop":
            self.interrupts = max(self.interrupts, 1)
            self.stop_requested = True
        elif req.command in ("add", "remove"):
            try:
                if req.command == "add":
                    return self.add_source(req.arg)
                self.remove_source(req.arg)
            except PipelineError as exc:
                return ControlReply(False, self.state(), str(exc))
        elif req.command == "metrics":
            alive = [label for label, c in self.children.items() if c.process.exitcode is None]
            metrics = run_metrics(self.figures, alive, self.started_ns, self.histograms)
            return ControlReply(True, {**self.state(), "metrics": metrics})
        elif req.command != "status":
            return ControlReply(False, self.state(), f"unknown command {req.command!r}")
        return ControlReply(True, self.state())

    def set_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.telemetry.set_mode(mode)
            self.clear_status()
            log(f"mode: {MODE_TITLES[mode]}")
        self.broadcast(SetMode(mode))

    def state(self) -> dict[str, Any]:
        sink = self.figures.get("sink", {})
        return {"mode": self.mode, "frames": sink.get("frames", 0), "fps": sink.get("fps", 0.0),
                "latency_ms": sink.get("latency_ms", 0.0), "publish": sink.get("publish"),
                "stages": {label: c.process.pid for label, c in self.children.items()},
                "frames_by_mode": self.telemetry.frames_by_mode(), "window": self.telemetry.snapshot(),
                "in_flight_limit": self.in_flight_limit(),
                "sources": self.sources.status(time.monotonic_ns()) if self.sources is not None else {}}

    def in_flight_limit(self) -> int | None:
        """Frames the run may have in flight now: 1 per source in Min latency mode, else the
        window (sized by :mod:`pipeline.window`, or fixed by ``--ring-slots``)."""
        if self.plan is None:
            return None
        if self.mode == "latency":
            return len(self.sources.specs) if self.sources is not None else 1
        return self.window.size if self.window is not None else self.plan.window

    # -- sources -----------------------------------------------------------------------------
    def source_ended(self, end: EndOfStream) -> None:
        assert self.sources is not None
        if end.source in self.sources.done:
            return
        self.sources.ended(end)
        if end.error and len(self.sources.specs) > 1:
            log(f"warning: source {end.source} ended after {end.frames} frames: {end.error}")
        self.finished = self.sources.all_done()

    def add_source(self, text: str) -> ControlReply | Later:
        """``ctl add SOURCE``: a camera or stream is taken at once (its capture process opens it,
        state ``connecting``); a file or folder is read on a thread first, the loop going on
        meanwhile, and the reply comes when it has been (:mod:`pipeline.ctl.later`)."""
        assert self.admission is not None
        self.admission.check(text, ending=bool(self.interrupts or self.finished))
        if not self.admission.needs_reading(text):
            return self.take_source(text, self.admission.probe(text))

        def then(read: Any) -> ControlReply:
            try:
                return self.take_source(text, read.result())
            except PipelineError as exc:
                return ControlReply(False, self.state(), str(exc))

        def overdue() -> ControlReply:
            return ControlReply(False, self.state(), f"{printable(text)}: still not read after "
                                                     f"{ADD_PROBE_TIMEOUT_S:.0f} s; not added")

        return Later.after(lambda: self.admission.probe(text), then, ADD_PROBE_TIMEOUT_S, overdue)

    def take_source(self, text: str, info: SourceInfo) -> ControlReply:
        """Give the source read as ``info`` its id and capture process, and tell that process."""
        assert self.admission is not None
        self.admission.check(text, ending=bool(self.interrupts or self.finished))  # it may have begun meanwhile
        spec, worker = self.admission.admit(text, info)
        owner = next((c for c in self.children.values() if c.kind == "capture" and c.instance == worker), None)
        if owner is not None:  # else that process is being restarted, and its assignment has the source
            self.broadcast(AddSource(owner.identity, spec.id, spec.to_dict()))
        what = f"{info.kind}, {info.frame_w}x{info.frame_h}" if info.sized else f"{info.kind}, connecting"
        log(f"source {spec.id} added: {text} ({what})")
        return ControlReply(True, {**self.state(), "added": spec.id})

    def remove_source(self, arg: str) -> None:
        assert self.sources is not None
        if not arg.isdigit() or int(arg) not in self.sources.specs:
            raise UsageError(f"no source {arg!r}; sources: {', '.join(map(str, sorted(self.sources.specs)))}")
        sid = int(arg)
        if sid in self.sources.done:
            raise UsageError(f"source {sid} has ended already")
        self.sources.removed.add(sid)
        self.broadcast(RemoveSource(sid))
        log(f"source {sid} removed")

    def resume_capture(self, msg: ResumeAt) -> None:
        """Preprocess said where the sources of a dead capture process resume: start its successor."""
        child = self.lost_captures.pop(msg.identity, None)
        if child is None or self.stopping:
            return
        resume = {int(k): v for k, v in msg.next_index.items()}
        self.spawn_capture(child.instance, child.generation + 1, resume)

    # -- status line -------------------------------------------------------------------------
    def progress(self) -> tuple[int, int] | None:
        """(frames out, frames in all) when every source is a file of known length."""
        if self.sources is None or (self.config.loop and not self.config.max_frames):
            return None
        total = 0
        for spec in self.sources.specs.values():
            frames = spec.info.frames if not self.config.loop else self.config.max_frames
            if self.config.max_frames:
                frames = min(frames, self.config.max_frames) if frames else self.config.max_frames
            if spec.live or not frames:
                return None
            total += frames
        return (self.telemetry.frames, total) if total else None

    def print_status(self) -> None:
        snap = self.telemetry.snapshot()
        snap["publish"] = self.figures.get("sink", {}).get("publish")
        progress = self.progress()
        eta = None
        if progress and snap.get("fps"):
            eta = max(0, progress[1] - progress[0]) / snap["fps"]
        width = min(shutil.get_terminal_size((80, 24)).columns, 120) - 1
        sys.stderr.write("\r" + status_line(snap, progress, eta, width=width))
        sys.stderr.flush()
        self.status_shown = True

    def clear_status(self) -> None:
        if self.status_shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.status_shown = False

    def on_bad_event(self, exc: ValueError) -> None:
        """A message on the events socket that does not decode: reported, and the run goes on."""
        log(f"warning: ignored a malformed message from a stage: {exc}")

    def watch_children(self) -> None:
        for label, child in list(self.children.items()):
            code = child.process.exitcode
            if code is None:
                continue
            # a stage that reported an error has already failed the run
            for msg in transport.drain(self.events, self.on_bad_event):
                self.on_event(msg)
            if self.error is not None or self.finished:
                return
            if self.interrupts and (code == 0 or -code in (signal.SIGTERM, signal.SIGHUP)):
                continue  # a stage still starting, stopped by the signal that is stopping the run
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
            if child.kind in RESPAWNED and code != 0 and self.restarts < MAX_WORKER_RESTARTS:
                self.restarts += 1
                del self.children[label]
                self.watchdog.forget(label)
                log(f"warning: the web process {how}; starting it again")
                self.spawn(child.kind, extra=child.extra)
                continue
            if child.kind in RESTARTED and code != 0 and self.restarts < MAX_WORKER_RESTARTS:
                self.restarts += 1
                del self.children[label]
                if child.kind == "decode":
                    log(f"warning: decode worker {label} {how}; restarting it")
                    self.broadcast(WorkerLost(child.identity))
                    self.spawn("decode", child.instance, child.generation + 1)
                else:
                    log(f"warning: capture process {label} {how}; restarting it where its sources left off")
                    self.lost_captures[child.identity] = child
                    self.broadcast(CaptureLost(child.identity))
                continue
            self.fail(label, f"stage {label} died unexpectedly ({how})")
            return

    def check_silence(self, now: float) -> None:
        """The watchdog's verdict: a silent decode worker or capture process is killed (and so
        restarted, its frames decoded again or its sources resumed), any other silent stage
        stops the run."""
        labels = [label for label, c in self.children.items() if c.process.exitcode is None]
        for label, quiet in self.watchdog.silent(labels, now):
            child = self.children[label]
            if (child.kind in RESTARTED or child.kind in RESPAWNED) and self.restarts < MAX_WORKER_RESTARTS:
                log(f"warning: {child.kind} process {label} silent for {quiet:.0f} s (stopped or hung); killing it")
                self.watchdog.forget(label)
                try:
                    os.kill(child.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                continue
            self.fail(label, f"stage {label} stopped responding: silent for {quiet:.0f} s while the run goes on "
                             "(stopped with SIGSTOP, or hung)")
            return

    # -- ending ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        self.stopping = True
        try:
            if self.ctx is not None and self.children:
                deadline = time.monotonic() + JOIN_TIMEOUT_S
                while time.monotonic() < deadline and any(c.process.is_alive() for c in self.children.values()):
                    self.broadcast(Stop(drain=False, reason="shutdown"))
                    for msg in transport.drain(self.events, self.on_bad_event):
                        self.on_event(msg)
                    time.sleep(0.05)
                for msg in transport.drain(self.events, self.on_bad_event):
                    self.on_event(msg)
            for child in self.children.values():
                if child.process.is_alive():
                    _stop_now(child.process.pid)
            for child in self.children.values():
                child.process.join(1.0)
                if child.process.is_alive():
                    child.process.kill()
                    child.process.join(1.0)
        finally:
            for responder in self.responders:
                responder.abandon("the run ended before the source could be added")
            if self.ctl_socket is not None:
                self.ctl_socket.close()
            if self.http_ctl is not None:
                self.http_ctl.close(linger=0)
            if self.ctx is not None:
                self.ctx.destroy(linger=0)
            if self.ctl_socket is not None:
                self.ctl_socket.remove_file()
            for ring in self.rings:
                ring.close()
                ring.unlink()
            stop_resource_tracker()
            if self.runtime is not None:
                self.runtime.close()
            if self.config.poses_out and self.plan is not None:
                _trim_partial_line(self.config.poses_out)
            if self.guardian is not None:
                self.guardian.release()  # everything is removed: it leaves without touching anything

    def meta(self) -> dict[str, Any]:
        """What the figures are about: model, device, precision, input, machine, start-up."""
        infer = self.children.get("infer")
        info = dict(infer.info) if infer is not None else {}
        plan = self.plan
        meta: dict[str, Any] = {
            "input": self.config.input, "family": self.config.inference.architecture,
            "model": os.path.basename(self.config.inference.model), "device": info.get("device"),
            "precision": info.get("precision"), "requests": info.get("requests"), "streams": info.get("streams"),
            "threads": info.get("threads"), "net_input": info.get("net_input"),
            "decode_workers": plan.workers if plan else None, "ring_slots": plan.slots if plan else None,
            "sources": len(self.sources.specs) if self.sources else None,
            "capture_workers": plan.capture_workers if plan else None,
            "batch": plan.batch if plan else None,
            "machine": machine_description(),
            "first_frame_s": (self.first_frame_ns - self.started_ns) / 1e9 if self.first_frame_ns else None,
        }
        cpu = {label: round(f.get("cpu_s", 0.0), 3) for label, f in self.figures.items()}
        meta["cpu_run_s"] = {label: round(f.get("cpu_run_s", 0.0), 3) for label, f in self.figures.items()}
        peak = {label: round(f.get("peak_rss_mb", 0.0), 1) for label, f in self.figures.items()}
        meta["cpu_s"] = cpu
        meta["peak_rss_mb"] = peak
        own = peak_rss_mb()
        meta["peak_rss_total_mb"] = round(sum(peak.values()) + own, 1)
        # the honest total: shared libraries and rings counted once across processes (stages'
        # peaks as sampled every 10 s and at their end, and the controller's own now)
        pss = {label: round(f.get("peak_pss_mb", 0.0), 1) for label, f in self.figures.items()}
        meta["peak_pss_total_mb"] = round(sum(pss.values()) + pss_mb(), 1)
        return meta

    def write_files(self) -> None:
        """``--telemetry-out`` and ``--trace-out``, whatever the outcome of a run that started
        (a run refused while planning writes nothing: its outputs may name its inputs)."""
        if self.plan is None:
            return
        try:
            if self.config.telemetry_out:
                report = self.telemetry.report(self.meta())
                if self.sources is not None:
                    report["sources"] = self.sources.totals()
                with open(self.config.telemetry_out, "w") as f:
                    json.dump(report, f, indent=1)
            if self.tracer is not None and self.config.trace_out:
                pids = {label: c.process.pid for label, c in self.children.items() if c.process is not None}
                self.tracer.write(self.config.trace_out, pids)
        except OSError as exc:
            self.fail("pipeline", f"cannot write telemetry: {exc}")

    def report(self) -> int:
        sink = self.figures.get("sink", {})
        if sink.get("frames"):
            latency = ""
            if self.telemetry.frames:
                report = self.telemetry.report(self.meta())
                print(final_table(report), flush=True)
                pct = report["all"]["latency_ms"]
                if pct.get("p50") is not None:
                    latency = f" (p50 {pct['p50']:.1f}, p95 {pct['p95']:.1f})"
            if self.sources is not None and len(self.sources.specs) > 1:
                print("\n".join(printable(line) for line in source_lines(self.sources.totals())), flush=True)
            print(f"Frames: {sink['frames']}  People: {sink.get('people', 0)}", flush=True)
            if sink.get("publish"):
                pub = sink["publish"]
                print(f"Published: {pub['sent']} messages to {pub['to']}, {pub['dropped']} dropped", flush=True)
            print(f"FPS: {sink['fps']:.1f}", flush=True)
            print(f"Latency: {sink['latency_ms']:.1f} ms{latency}", flush=True)
        if self.error is not None:
            stage, message, code = self.error
            log(f"error: {message}" if stage == "pipeline" else f"error: {stage}: {message}")
            return code
        errors = self.sources.errors() if self.sources is not None else []
        for sid, message in errors:
            log(f"error: {message}" if len(self.sources.specs) == 1 else f"error: source {sid}: {message}")
        if errors:
            return EXIT_FAILURE
        if self.interrupts and not self.stop_requested:
            return 130
        return EXIT_OK


def _trim_partial_line(path: str) -> None:
    """If the sink died mid-line, cut the poses file back to its last complete line."""
    try:
        with open(path, "rb+") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size == 0:
                return
            f.seek(max(0, size - 65536))
            tail = f.read()
            if tail.endswith(b"\n"):
                return
            cut = tail.rfind(b"\n")
            f.truncate(size - len(tail) + cut + 1 if cut >= 0 else max(0, size - len(tail)))
    except OSError:
        pass


def _stop_now(pid: int) -> None:
    """Tell a stage that did not hear Stop to stop at once (it ignores SIGTERM from the group)."""
    try:
        os.kill(pid, STOP_SIGNAL)
    except ProcessLookupError:
        pass


def run(config: PipelineConfig) -> int:
    return Controller(config).run()


__all__ = ["Controller", "run"]

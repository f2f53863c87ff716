"""The stage life cycle shared by every pipeline process.

A stage subclasses :class:`Stage` and implements ``open`` (acquire everything), ``run`` (the loop)
and ``close`` (release everything). :func:`stage_main` is the process entry point: it creates the
process's own ZeroMQ context, the events socket (to the controller) and the control socket (from
it), runs the life cycle, and guarantees that ``close`` runs if and only if ``open`` succeeded, on
every exit path. An error becomes one :class:`StageError` message and a non-zero exit. The
controller names the class to run by module and class name (``config/defaults.toml``'s
``[stages]``): the concrete stages live in ``stages/``, above this package, and are imported only
in their own processes.

Stages exit when the controller says :class:`Stop` (or on SIGTERM), never on their own: a stage
that has sent its last message keeps its sockets open until then, so nothing queued is lost.
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from typing import Any, ClassVar

import zmq

from . import transport
from .errors import PipelineError, printable
from .messages import Log, Message, SetMode, Start, Stop, StageError, StageReady, StageStats
from .plan import RunPlan
from .ring import RingSet, SlotRing, run_segments, unlink_segments
from .telemetry.memory import PssSampler, peak_rss_mb, rss_mb


class StopRequested(Exception):
    """Raised inside a stage when it must stop now (SIGTERM or a cancelling Stop)."""


class Stage:
    """Base class of a pipeline process. Subclasses set ``name`` and implement the life cycle."""

    name: ClassVar[str] = "stage"

    def __init__(self, plan: RunPlan, instance: int = 0, identity: str = "", extra: Any = None) -> None:
        self.plan = plan
        self.extra = extra  # what this one process needs besides the plan (a capture's assignment)
        self.config = plan.config
        self.instance = instance
        self.identity = identity or f"{self.name}{instance}"
        self.mode = plan.config.mode
        self.ctx: zmq.Context | None = None
        self.events: zmq.Socket | None = None
        self.control: zmq.Socket | None = None
        self.draining = False  # a draining Stop arrived (only capture acts on it)
        self.started = False  # the controller said Start: every stage is up
        self.cpu_at_start = 0.0  # CPU seconds spent before Start (imports, compilation, warm-up)
        self.pss = PssSampler()  # proportional set size, read every few seconds (it is costly)
        self._last_stats = time.monotonic()
        self._pollers: dict[tuple[int, ...], zmq.Poller] = {}
        self.busy_ns = 0
        self.items = 0

    # -- life cycle, implemented by subclasses ----------------------------------------------
    def open(self) -> dict[str, Any]:
        """Acquire rings, sockets, files; return facts for the controller's log."""
        return {}

    def run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what ``open`` acquired; runs only if ``open`` succeeded."""

    # -- helpers for subclasses -------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.identity if self.name in ("decode", "capture") else self.name

    def socket(self, kind: int, address: str, *, bind: bool, identity: bytes | None = None) -> zmq.Socket:
        assert self.ctx is not None
        return transport.socket(self.ctx, kind, address, bind=bind, identity=identity)

    def emit(self, msg: Message) -> None:
        assert self.events is not None
        transport.send(self.events, msg)

    def warn(self, text: str) -> None:
        self.emit(Log(self.label, text))

    def on_mode(self, mode: str) -> None:
        """Called when the run's mode changes."""
        self.mode = mode

    def handle_control(self) -> None:
        """Apply every waiting control message; raises :class:`StopRequested` on a cancelling Stop."""
        assert self.control is not None
        for msg in transport.drain(self.control):
            if isinstance(msg, Stop):
                if not msg.drain:
                    raise StopRequested(msg.reason)
                self.draining = True
            elif isinstance(msg, Start):
                if not self.started:
                    self.cpu_at_start = time.process_time()
                self.started = True
            elif isinstance(msg, SetMode):
                if msg.mode != self.mode:
                    self.on_mode(msg.mode)
            else:
                self.on_message(msg)

    def on_message(self, msg: Message) -> None:
        """Other control messages (for example ``WorkerLost``); ignored by default."""

    def poll(self, sockets: list[Any], timeout_ms: int) -> set[Any]:
        """Wait for any of ``sockets`` (zmq sockets or file descriptors) or a control message;
        handles control messages and returns the ready inputs."""
        assert self.control is not None
        key = tuple(id(s) for s in sockets)
        poller = self._pollers.get(key)
        if poller is None:
            poller = self._pollers[key] = zmq.Poller()
            poller.register(self.control, zmq.POLLIN)
            for s in sockets:
                poller.register(s, zmq.POLLIN)
        ready = dict(poller.poll(timeout_ms))
        if self.control in ready:
            self.handle_control()
        if controller_gone():
            raise StopRequested("the controller is gone")
        self.maybe_report()
        return {s for s in sockets if s in ready}

    def figures(self) -> dict[str, Any]:
        """This stage's figures for the last telemetry period (extended by subclasses), with the
        process's whole-run CPU time and memory (proportional memory read afresh every few
        seconds, and for the final report)."""
        figs = {"items": self.items, "busy_ms": self.busy_ns / 1e6, **process_figures()}
        figs["cpu_run_s"] = figs["cpu_s"] - self.cpu_at_start if self.started else 0.0
        figs["pss_mb"] = self.pss.sample()
        figs["peak_pss_mb"] = self.pss.peak_mb
        return figs

    def maybe_report(self, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_stats >= self.config.telemetry_period:
            if final:
                self.pss.sample(force=True)
            self.emit(StageStats(self.label, self.figures(), final=final))
            self._last_stats = now
            self.busy_ns = 0
            self.items = 0

    def wait_for_stop(self) -> None:
        """Keep the sockets open until the controller says Stop."""
        while True:
            self.poll([], 200)


def process_figures() -> dict[str, float]:
    """CPU seconds used so far (all threads), resident and peak resident memory (MiB), open fds."""
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:
        fds = 0
    return {"cpu_s": time.process_time(), "rss_mb": rss_mb(), "peak_rss_mb": peak_rss_mb(), "fds": fds}


def _raise_stop(signum: int, frame: object) -> None:
    raise StopRequested(signal.Signals(signum).name)


_CONTROLLER = [0]  # the controller's pid, as the plan names it (not this process's parent at start:
# a controller killed before the stage got here has left it to init already)
ORPHAN_EXIT_S = 1.5  # a stage whose controller died is gone this long after noticing, whatever it was doing
WATCH_EVERY_S = 0.2


def controller_gone() -> bool:
    return os.getppid() != _CONTROLLER[0]


def _from_the_group(signum: int, frame: object) -> None:
    """SIGTERM or SIGHUP: sent to the whole process group (``timeout``, systemd, a closed
    terminal), it reaches the controller too, which drains the run and then stops the stages.
    Only a stage whose controller is gone stops on its own."""
    if controller_gone():
        raise StopRequested(signal.Signals(signum).name)


def _orphan_cleanup(plan: RunPlan) -> None:
    """What the controller would have removed: the run's segments and its directory. Every stage
    that outlives the controller does it on its way out, so the last one leaves nothing."""
    unlink_segments(run_segments(plan.run_id))
    if plan.run_dir and os.path.basename(plan.run_dir).startswith("posepipe-"):
        shutil.rmtree(plan.run_dir, ignore_errors=True)


def _watch_controller(plan: RunPlan) -> None:
    """A thread from the stage's first moment: when the controller dies (even before this stage
    has opened anything, or while it compiles a model or waits in a C call), tell the main thread
    to stop; if it has not gone within ``ORPHAN_EXIT_S``, clean up and leave at once."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    while not controller_gone():
        if sentinel is not None:
            try:
                if multiprocessing.connection.wait([sentinel], WATCH_EVERY_S):
                    sentinel = None  # the controller's end of the pipe closed: it is gone, or going
            except OSError:
                sentinel = None
        else:
            time.sleep(WATCH_EVERY_S)
    try:
        os.kill(os.getpid(), STOP_SIGNAL)
    except OSError:
        pass
    time.sleep(ORPHAN_EXIT_S)
    _orphan_cleanup(plan)
    os._exit(1)


STOP_SIGNAL = signal.SIGUSR1  # the controller's "stop now", when a Stop message is not heard


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, PipelineError):
        return first
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _final_report(stage: Stage) -> None:
    try:
        stage.maybe_report(force=True, final=True)
    except Exception:  # noqa: BLE001 - figures are best effort on the way out
        pass


def _release_rings(stage: Stage) -> None:
    """Unmap every ring the stage attached, even if ``open`` or ``close`` failed half-way: drop
    whatever else the stage holds first (arrays and tensors over ring memory), so that no view
    keeps a mapping alive until interpreter exit (where it prints BufferError noise)."""
    rings = [v for v in vars(stage).values() if isinstance(v, SlotRing)]
    rings += [r for v in vars(stage).values() if isinstance(v, RingSet) for r in v.rings.values()]
    for name, value in list(vars(stage).items()):
        if not isinstance(value, zmq.Socket):  # sockets go with the context, queued events first
            delattr(stage, name)
    gc.collect()
    for ring in rings:
        ring.close()


def name_process(label: str) -> None:
    """Show the stage's name in ``ps``, ``top`` and ``/proc/PID/comm`` (e.g. ``pp-infer``)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.prctl(15, f"pp-{label}".encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def stage_main(module: str, cls_name: str, plan: RunPlan, instance: int = 0, identity: str = "",
               extra: Any = None) -> None:
    """Process entry point: run one stage's life cycle and exit with its status."""
    name_process(identity or cls_name.lower())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the controller decides what Ctrl-C means
    _CONTROLLER[0] = plan.controller_pid or os.getppid()
    code = 0
    ctx: zmq.Context | None = None
    stage: Stage | None = None
    opened = False
    try:  # from here on, a stop (the controller gone included) ends in the clean-up below
        signal.signal(signal.SIGTERM, _from_the_group)
        signal.signal(signal.SIGHUP, _from_the_group)
        signal.signal(STOP_SIGNAL, _raise_stop)
        threading.Thread(target=_watch_controller, args=(plan,), name="controller-watch", daemon=True).start()
        os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg quiet: failures reach the user as one line
        import cv2
        cv2.setNumThreads(1)  # the pipeline scales by processes; OpenVINO owns the cores' threads
        ctx = transport.new_context()
        cls = getattr(importlib.import_module(module), cls_name)
        stage = cls(plan, instance, identity, extra)
        stage.ctx = ctx
        stage.events = transport.socket(ctx, zmq.PUSH, plan.endpoints.events, bind=False)
        stage.control = transport.socket(ctx, zmq.SUB, plan.endpoints.control, bind=False)
        info = stage.open()
        opened = True
        stage.emit(StageReady(stage.label, os.getpid(), info))
        stage.run()
    except StopRequested:
        if stage is not None and opened:
            _final_report(stage)
        pass
    except BaseException as exc:  # noqa: BLE001 - every failure becomes one line and an exit code
        code = exc.exit_code if isinstance(exc, PipelineError) else 1
        if isinstance(exc, KeyboardInterrupt):
            code = 0
        elif stage is not None and stage.events is not None:
            if os.environ.get("POSEPIPE_DEBUG"):
                traceback.print_exc()
            try:
                transport.send(stage.events, StageError(stage.label, one_line(exc), code))
            except zmq.ZMQError:
                pass
        else:
            print(printable(f"error: {cls_name}: {one_line(exc)}"), file=sys.stderr)
    finally:
        for sig in (signal.SIGTERM, signal.SIGHUP, STOP_SIGNAL):
            signal.signal(sig, signal.SIG_IGN)  # finish closing even if told again
        if opened and stage is not None:
            try:
                stage.close()
            except Exception as exc:  # noqa: BLE001
                code = code or 1
                if stage.events is not None:
                    try:
                        transport.send(stage.events, StageError(stage.label, f"while closing: {one_line(exc)}"))
                    except zmq.ZMQError:
                        pass
        if stage is not None:
            _release_rings(stage)
        if ctx is not None:
            ctx.destroy(linger=500)  # let the last events reach the controller
        if controller_gone():
            # the controller was killed and cannot unlink the rings nor remove the run's
            # directory: every stage that gets here does (a second removal is harmless), finding
            # the segments by the run's id in their names (the frame rings of capture processes
            # restarted before anyone read from them included)
            _orphan_cleanup(plan)
    sys.exit(code)

"""Inference: OpenVINO asynchronous requests over the tensor ring, and dispatch to decode workers.

* The model is reshaped to the run's input size and given a PrePostProcessor that takes the
  tensor ring's uint8 BGR NHWC pixels, so conversion runs inside OpenVINO.
* Each ring slot has its own input and output ``ov.Tensor`` over shared memory: a request reads
  the tensor ring and writes the map ring directly, with no copy.
* Sources whose frames need different input sizes get a compiled model per size (the run's
  ``models``; a frame names its own), each with its own requests.
* Two compiled models per size, one per mode: "user" (throughput hint, or ``-nstreams/-nthreads``, with
  ``-nireq`` requests or twice OpenVINO's optimal number) and "latency" (latency hint, one request).
  The second one compiles on a background thread after the stage is up.
* Completion callbacks run on OpenVINO's threads; they only queue the request and wake the main
  loop through a pipe, because ZeroMQ sockets belong to one thread.
* Decode workers connect with DEALER sockets and ask for work (``WorkerReady``); this stage knows
  which frames each worker holds, so a worker that dies has its frames decoded again by others.
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import zmq

from pipeline import transport
from pipeline.config import nstreams_for
from pipeline.errors import ModelError
from pipeline.models.families import Family, check_device, read_model
from pipeline.models.inputs import add_input_steps
from pipeline.lightload import LightLoad
from pipeline.messages import EndOfStream, Frame, Stamp, WorkerLost, WorkerReady
from pipeline.quantize.detect import is_int8
from pipeline.ring import SlotRing

from pipeline.stage import Stage


def build_model(core: Any, plan: Any) -> Any:
    """Read, reshape and wrap the model with the preprocessing the tensor ring needs."""
    import openvino as ov
    from openvino.preprocess import PrePostProcessor

    family = Family.get(plan.family, plan.variant)
    model = read_model(core, plan.path)
    port = model.inputs[0]
    shape = [1, plan.net_h, plan.net_w, 3] if family.input_layout == "NHWC" else [1, 3, plan.net_h, plan.net_w]
    model.reshape({port: ov.PartialShape(shape)})
    if getattr(plan, "scales", ()):  # near and far: the network at every size in one model
        from .multiscale import compose
        model = compose(model, family, plan.all_scales)
        port = model.inputs[0]
    ppp = PrePostProcessor(model)
    add_input_steps(ppp, family, port.get_element_type())
    if family.output_layout == "NHWC":  # the decoders take channel-first maps
        for i, out in enumerate(model.outputs):
            if out.get_partial_shape().rank.get_length() == 4:
                ppp.output(i).model().set_layout(ov.Layout("NHWC"))
                ppp.output(i).tensor().set_layout(ov.Layout("NCHW"))
    return ppp.build()


def compile_config(mode: str, cfg: Any) -> dict[str, str]:
    """OpenVINO properties for a mode."""
    if mode == "latency":
        return {"PERFORMANCE_HINT": "LATENCY"}
    props = {"PERFORMANCE_HINT": "THROUGHPUT"}
    streams = nstreams_for(cfg.nstreams, cfg.device)
    if streams:
        props["NUM_STREAMS"] = str(streams)
    if cfg.nthreads:
        props["INFERENCE_NUM_THREADS"] = str(cfg.nthreads)
    return props


def _prop(compiled: Any, name: str) -> str:
    try:
        return str(compiled.get_property(name))
    except Exception:  # noqa: BLE001 - not every device reports every property
        return "?"


def precision_name(raw: str) -> str:
    """``<Type: 'bfloat16'>`` → ``bf16``."""
    text = raw.split("'")[1] if "'" in raw else raw
    return {"bfloat16": "bf16", "float32": "f32", "float16": "f16", "f32": "f32", "bf16": "bf16",
            "f16": "f16"}.get(text, text)


def model_precision(model: Any, hint: str) -> str:
    """The precision a compiled model computes in: ``int8`` for a quantized model (its
    FakeQuantize layers run in INT8 whatever the hint), else the hint's (``bf16``, ``f32``…)."""
    return "int8" if is_int8(model) else precision_name(hint)


@dataclass
class Engine:
    """One compiled model and its requests."""

    mode: str
    model: int  # index into the run's models (one per network input size)
    compiled: Any
    requests: list[Any]
    free: collections.deque[int] = field(default_factory=collections.deque)
    seq_of: dict[int, int] = field(default_factory=dict)  # request index -> frame seq
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def streams(self) -> int:
        """Requests the device runs at once (NUM_STREAMS; 1 when it does not say)."""
        try:
            return max(1, int(self.info.get("streams", 1)))
        except (TypeError, ValueError):
            return 1


class Infer(Stage):
    name = "infer"

    def open(self) -> dict[str, Any]:
        import openvino as ov

        plan = self.plan
        cfg = self.config.inference
        self.core = ov.Core()
        check_device(self.core, cfg.device)
        self.models = [build_model(self.core, m) for m in plan.models]
        self.tensors = SlotRing.attach(plan.tensors_ring)
        self.maps = SlotRing.attach(plan.maps_ring)
        slots = self.tensors.slots
        # per model and slot: tensors over the rings' shared memory (views, no copies)
        self.in_tensors = [[ov.Tensor(self.tensors.view(s, (1, m.net_h, m.net_w, 3)), shared_memory=True)
                            for s in range(slots)] for m in plan.models]
        self.out_tensors = [[[ov.Tensor(v, shared_memory=True) for v in self.maps.views(s, [sh for _, sh in m.outputs])]
                             for s in range(slots)] for m in plan.models]
        self.engines: dict[tuple[str, int], Engine] = {}
        for m in range(len(plan.models)):
            self.engines[self.mode, m] = self._compile(self.mode, m)
        other = "latency" if self.mode == "user" else "user"
        self._pending_engine: queue.SimpleQueue[Engine | BaseException] = queue.SimpleQueue()
        self._compiler = threading.Thread(target=self._compile_later, args=(other,), daemon=True)
        self._compiler.start()

        self.done: queue.SimpleQueue[tuple[str, int, int]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)

        self.inp = self.socket(zmq.PULL, plan.endpoints.tensors, bind=True)
        self.work = self.socket(zmq.ROUTER, plan.endpoints.work, bind=True)
        self.work.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.sink = self.socket(zmq.PUSH, plan.endpoints.poses, bind=False)

        self.waiting: collections.deque[Frame] = collections.deque()  # tensors to infer
        self.running: dict[int, tuple[str, int, Frame]] = {}  # seq -> (mode, request, frame)
        self.decodable: collections.deque[Frame] = collections.deque()  # maps ready to decode
        self.idle: collections.deque[bytes] = collections.deque()  # workers asking for work
        self.assigned: dict[bytes, dict[int, Frame]] = collections.defaultdict(dict)
        # integrals over this period, by mode: requests in flight × time, and time in the mode
        self._occupancy: dict[str, int] = collections.defaultdict(int)
        self._mode_time: dict[str, int] = collections.defaultdict(int)
        self._occupancy_t = time.monotonic_ns()
        self.light = LightLoad()  # User specified mode under light load: the latency-compiled model
        self._new_period()
        return dict(self.engines[self.mode, 0].info)

    # -- compilation ------------------------------------------------------------------------
    def _compile(self, mode: str, model: int) -> Engine:
        cfg = self.config.inference
        try:
            compiled = self.core.compile_model(self.models[model], cfg.device, compile_config(mode, cfg))
        except Exception as exc:  # noqa: BLE001 - OpenVINO errors are multi-line RuntimeErrors
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            raise ModelError(f"cannot compile the model for {cfg.device}: {lines[-1][:200] if lines else exc}") from None
        if mode == "latency":
            nreq = 1
        else:
            # Twice OpenVINO's optimal number: each stream then has a request queued behind the
            # running one, so it never idles while this process wakes up to restart a request
            # (measured: 1.93 of 2 requests busy on average, against 3.9 of 4)
            nreq = cfg.nireq or 2 * max(1, int(_prop(compiled, "OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        requests = [compiled.create_infer_request() for _ in range(nreq)]
        engine = Engine(mode, model, compiled, requests, collections.deque(range(nreq)))
        for i, req in enumerate(requests):
            req.set_callback(self._on_done, (mode, model, i))
        engine.info = {
            "mode": mode, "device": cfg.device, "requests": nreq,
            "streams": _prop(compiled, "NUM_STREAMS"), "threads": _prop(compiled, "INFERENCE_NUM_THREADS"),
            "precision": model_precision(self.models[model], _prop(compiled, "INFERENCE_PRECISION_HINT")),
            "net_input": ", ".join(" + ".join(f"{w}x{h}" for h, w in m.all_scales) for m in self.plan.models),
        }
        return engine

    def _compile_later(self, mode: str) -> None:
        for model in range(len(self.models)):
            try:
                self._pending_engine.put(self._compile(mode, model))
            except BaseException as exc:  # noqa: BLE001 - reported from the main thread
                self._pending_engine.put(exc)
                return

    def _adopt_engines(self) -> None:
        while not self._pending_engine.empty():
            got = self._pending_engine.get()
            if isinstance(got, BaseException):
                self.warn(f"{got}; staying in {self.mode} mode")
            else:
                self.engines[got.mode, got.model] = got

    # -- callbacks (OpenVINO threads) --------------------------------------------------------
    def _on_done(self, *args: Any) -> None:
        mode, model, index = args[-1]
        self.done.put((mode, model, index, self.engines[mode, model].seq_of.get(index, -1)))
        os.write(self._wake_w, b"\0")

    # -- main loop ---------------------------------------------------------------------------
    def engine(self, model: int = 0) -> Engine:
        """The engine of ``model`` in the current mode (the other mode's until it has compiled)."""
        found = self.engines.get((self.mode, model))
        if found is None:
            found = next(e for (_, m), e in self.engines.items() if m == model)
        return found

    def run(self) -> None:
        while True:
            # a worker's WorkerReady matters only when there are maps to hand out: otherwise it is
            # taken in passing (before the next dispatch), and does not wake this process once a
            # frame for nothing
            hear_workers = bool(self.decodable)
            ready = self.poll([self.inp, self.work, self._wake_r] if hear_workers else [self.inp, self._wake_r], 200)
            self._adopt_engines()
            if self._wake_r in ready:
                self._collect()
            if self.inp in ready:
                self._account()
                now = time.monotonic_ns()
                for msg in transport.drain(self.inp):
                    if isinstance(msg, Frame):
                        msg.stamps[Stamp.INFER_IN] = now
                        self.waiting.append(msg)
                    elif isinstance(msg, EndOfStream):
                        transport.send(self.sink, msg)
            if self.work in ready or not hear_workers:
                self._worker_messages()
            self._start()
            self._dispatch()

    def _account(self) -> None:
        """Integrate, since the last call, the requests in flight (for the mean in-flight figure)
        and, in User specified mode, the streams left idle with no frame to start and the frames
        beyond one per stream (queued behind a running request or waiting here): the two signals
        that size the run's window of frames in flight (:mod:`pipeline.window`)."""
        now = time.monotonic_ns()
        dt = now - self._occupancy_t
        on_latency = 0
        for mode, _, _, engine_mode in self.running.values():
            self._occupancy[mode] += dt
            on_latency += engine_mode == "latency"
        engine = self.engine()
        self._mode_time[engine.mode] += dt
        if engine.mode == "user":
            running, waiting = len(self.running), len(self.waiting)
            streams = 1 if self.light.light else engine.streams  # light load: one latency request
            if not waiting:
                self._idle_stream_ns += max(0, streams - running) * dt
            self._surplus_ns += (max(0, running - streams) + waiting) * dt
            self._user_ns += dt
            self._stream_busy_ns += min(running - on_latency, engine.streams) * dt
            self._latency_busy_ns += min(on_latency, 1) * dt
        self._occupancy_t = now

    def _start(self) -> None:
        """Start every waiting frame whose model has a free request, in order."""
        if not self.waiting:
            return
        self._account()
        held: collections.deque[Frame] = collections.deque()
        while self.waiting:
            frame = self.waiting.popleft()
            engine = self._engine_to_start(frame.model)
            if not engine.free:
                held.append(frame)
                if len(self.models) == 1:  # one model: nothing behind it can start either
                    break
                continue
            index = engine.free.popleft()
            req = engine.requests[index]
            req.set_input_tensor(self.in_tensors[frame.model][frame.slot])
            for i, t in enumerate(self.out_tensors[frame.model][frame.slot]):
                req.set_output_tensor(i, t)
            engine.seq_of[index] = frame.seq
            frame.stamps[Stamp.INFER_START] = time.monotonic_ns()
            self.running[frame.seq] = (self.mode, index, frame, engine.mode)
            req.start_async()
        held.extend(self.waiting)
        self.waiting = held

    def _engine_to_start(self, model: int) -> Engine:
        """The engine a frame of ``model`` starts on: the current mode's, except in User specified
        mode under light load, the latency-compiled one (:mod:`pipeline.lightload`)."""
        if self.mode == "user" and self.light.light:
            found = self.engines.get(("latency", model))
            if found is not None:
                return found
        return self.engine(model)

    def _collect(self) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        self._account()
        while not self.done.empty():
            mode, model, index, seq = self.done.get()
            engine = self.engines[mode, model]
            req = engine.requests[index]
            req.wait()  # re-raises an inference failure here, on the main thread
            engine.free.append(index)
            run_mode, _, frame, _ = self.running.pop(seq)
            now = time.monotonic_ns()
            frame.stamps[Stamp.INFER_DONE] = now
            if run_mode == "user":  # per model in use, for the light-load choice
                if mode == "latency":
                    self._latency_items += 1
                    self._latency_service_ns += now - frame.stamps[Stamp.INFER_START]
                else:
                    self._stream_items += 1
            self.maps.commit(frame.seq)
            self.busy_ns += now - frame.stamps[Stamp.INFER_START]
            self.items += 1
            self.decodable.append(frame)

    def _worker_messages(self) -> None:
        """A worker's message acknowledges the frames it names (one ``WorkerReady`` each) and asks
        for one more dispatch."""
        for identity, msgs in transport.drain_routed(self.work):
            ready = [m for m in msgs if isinstance(m, WorkerReady)]
            for msg in ready:
                if msg.done >= 0:
                    self.assigned[identity].pop(msg.done, None)
            if ready:
                self.idle.append(identity)

    def _batch(self) -> int:
        return self.plan.batch if self.mode == "user" else 1

    def _holding(self) -> bool:
        """While frames wait for a request (inference is the bottleneck: the window is larger than
        the streams need), keep finished maps back while a request that belongs in the same batch
        (started together, so finishing about now) still runs: the batch then leaves as one hop,
        and the stages after inference wake once for it. Otherwise (a window sized to the
        streams, paced or live sources) every map leaves at once: holding it would only add to
        its latency."""
        batch = self._batch()
        if batch == 1 or not self.waiting or len(self.decodable) >= batch:
            return False
        first = self.decodable[0].seq
        return any(seq < first + batch for seq in self.running)

    def _dispatch(self) -> None:
        while self.decodable and self.idle and not self._holding():
            identity = self.idle.popleft()
            frames = [self.decodable[i] for i in range(min(self._batch(), len(self.decodable)))]
            try:
                transport.send_all(self.work, frames, prefix=[identity])
            except zmq.ZMQError:  # the worker is gone (ROUTER_MANDATORY): try another
                self.assigned.pop(identity, None)
                continue
            for frame in frames:
                self.decodable.popleft()
                self.assigned[identity][frame.seq] = frame

    def on_message(self, msg: Any) -> None:
        if isinstance(msg, WorkerLost):
            identity = msg.identity.encode()
            lost = self.assigned.pop(identity, {})
            self.idle = collections.deque(i for i in self.idle if i != identity)
            for seq in sorted(lost, reverse=True):
                self.decodable.appendleft(lost[seq])

    def _new_period(self) -> None:
        """Start this telemetry period's integrals over again."""
        self._occupancy.clear()
        self._mode_time.clear()
        self._idle_stream_ns = self._surplus_ns = self._user_ns = 0
        self._stream_busy_ns = self._latency_busy_ns = self._latency_service_ns = 0
        self._stream_items = self._latency_items = 0

    def _choose_engine(self) -> None:
        """Feed this period's User specified figures to the light-load choice (once the
        latency-compiled model is there)."""
        if ("latency", 0) not in self.engines:
            return
        streams = self.engines["user", 0].streams if ("user", 0) in self.engines else 1
        period_s = self._user_ns / 1e9
        self.light.update(
            items=self._latency_items + self._stream_items, period_s=period_s, streams=streams,
            stream_busy=self._stream_busy_ns / (streams * self._user_ns),
            stream_ms=self._stream_busy_ns / self._stream_items / 1e6 if self._stream_items else None,
            latency_busy=self._latency_busy_ns / self._user_ns,
            latency_ms=self._latency_service_ns / self._latency_items / 1e6 if self._latency_items else None)

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        self._account()
        span = max(1, sum(self._mode_time.values()))
        figs.update(in_flight=len(self.running), mean_in_flight=sum(self._occupancy.values()) / span,
                    in_flight_ms={m: v / 1e6 for m, v in self._occupancy.items()},
                    mode_ms={m: v / 1e6 for m, v in self._mode_time.items()},
                    waiting=len(self.waiting), decodable=len(self.decodable), idle_workers=len(self.idle),
                    mode=self.engine().mode, requests=len(self.engine().requests))
        if self._user_ns:
            streams = 1 if self.light.light else self.engine().streams
            figs.update(streams=streams, idle_streams=self._idle_stream_ns / (streams * self._user_ns),
                        surplus=self._surplus_ns / self._user_ns)
            self._choose_engine()
            figs["light"] = int(self.light.light)
        self._new_period()
        return figs

    def close(self) -> None:
        for engine in self.engines.values():
            for req in engine.requests:
                try:
                    req.wait()
                except Exception:  # noqa: BLE001 - closing anyway
                    pass
        self.engines.clear()
        self._compiler.join(timeout=10)
        while not self._pending_engine.empty():
            self._pending_engine.get()
        self.in_tensors.clear()
        self.out_tensors.clear()
        os.close(self._wake_r)
        os.close(self._wake_w)
        self.tensors.close()
        self.maps.close()

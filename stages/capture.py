"""Capture: one process reads some of the run's sources into its own frame ring.

The controller spreads the sources over ``--capture-workers`` processes (and restarts one that
dies, telling it where each source resumes). A process goes round its sources and admits frames
under two limits: its ring's free slots (slots come back with :class:`Released`, from the sink once
a frame is out, or from preprocess for a frame it already had), and a per-source share of the
ring and of the run's window, so that a file read at full speed cannot crowd out a camera nor
read ahead of what the pipeline can take. In Min latency mode each
source has one frame in flight.

File sources are lossless: they wait for room (back-pressure). With ``--realtime`` they stand in
for cameras: paced at their own frame rate, and a frame that is due while its source has no room
is dropped and counted, as a camera's would be. Live sources (cameras, network streams) grab on
their own threads and keep only the newest frame; a frame that found no room is dropped and
counted. A source ends alone
(its :class:`EndOfStream` travels behind its last frame); the process lives on until Stop, since
``ctl add`` may give it a new source.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import zmq

from pipeline import sources, transport
from pipeline.errors import PipelineError
from pipeline.messages import (AddSource, EndOfStream, Frame, Message, Released, RemoveSource, SetWindow, Stamp,
                               new_stamps)
from pipeline.plan import CaptureAssignment
from pipeline.ring import SlotRing
from pipeline.sources import SourceSpec
from pipeline.sources.filecheck import fit_pixels
from pipeline.stage import Stage


@dataclass
class SourceState:
    """One source as this process reads it."""

    spec: SourceSpec
    reader: sources.Reader
    next_index: int  # the index the next frame gets (frames before it were delivered already)
    started_ns: int = 0  # --realtime: when pacing began, and at which index
    started_index: int = 0
    in_flight: int = 0
    dropped: int = 0  # --realtime file frames that were due while there was no room
    ended: bool = False
    warned: int = 0
    scaled: bool = False  # a live source's frames are scaled down into the slots (warned once)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.spec.id

    def due_ns(self, fps: float) -> int:
        """--realtime: when the next frame is due (0 = now)."""
        if fps <= 0 or not self.started_ns:
            return 0
        return self.started_ns + int((self.next_index - self.started_index) * 1e9 / fps)


class Capture(Stage):
    name = "capture"

    def open(self) -> dict[str, Any]:
        assignment: CaptureAssignment = self.extra
        self.ring = SlotRing.attach(assignment.ring)
        self.out = self.socket(zmq.PUSH, self.plan.endpoints.frames, bind=False)
        self.credits = self.socket(zmq.PULL, self.plan.endpoints.capture_credits(self.identity), bind=True)
        self.sources: list[SourceState] = []
        self.lseq = 0  # frames admitted into this ring
        self.owner: dict[int, int] = {}  # lseq in flight -> source id
        self.turn = 0  # round robin: the source served first next time
        self.ends: list[EndOfStream] = []  # to send behind the frames read so far
        self.window = self.plan.window or self.plan.slots  # the run's frames in flight at most
        # files first: a stream opens on its reader's thread, and OpenCV opens one capture of a
        # process at a time, so a file opened after it could wait for a stream that hangs
        for spec, resume in sorted(assignment.sources, key=lambda item: item[0].live):
            self.add(spec, resume)
        self.sources.sort(key=lambda state: state.id)
        return {"sources": [s.id for s in self.sources], "ring": self.ring.spec.name}

    # -- sources -----------------------------------------------------------------------------
    def add(self, spec: SourceSpec, resume: int) -> None:
        cfg = self.config
        try:
            reader = sources.open_reader(spec.text, spec.info, cfg.loop, cfg.reopen_backoff, cfg.stall_timeout)
            if resume:
                reader.skip(resume)
        except PipelineError as exc:
            self.warn(f"source {spec.id}: {exc}")
            self.ends.append(EndOfStream(-1, spec.id, str(exc), resume))
            return
        self.sources.append(SourceState(spec, reader, resume))

    def end(self, state: SourceState) -> None:
        """The source is done (ended, failed, removed or stopped): close it, and send its end
        behind its frames."""
        if state.ended:
            return
        self._forward_warnings(state)
        state.figures = {**self.source_figures(state), "state": "ended"}
        state.ended = True
        state.reader.close()
        self.ends.append(EndOfStream(-1, state.id, state.reader.error, state.next_index))

    def on_message(self, msg: Message) -> None:
        if isinstance(msg, AddSource) and msg.worker == self.identity:
            self.add(SourceSpec.from_dict(msg.spec), msg.resume)
        elif isinstance(msg, SetWindow):
            self.window = msg.frames
        elif isinstance(msg, RemoveSource):
            for state in self.sources:
                if state.id == msg.source:
                    self.end(state)

    def active(self) -> list[SourceState]:
        return [s for s in self.sources if not s.ended]

    def delivering(self) -> list[SourceState]:
        """The sources that share the ring: a camera that is connecting or reconnecting brings no
        frame, so it holds no share (a file beside a camera that is down reads at full speed)."""
        return [s for s in self.active() if not s.reader.live or s.reader.state not in ("connecting", "reconnecting")]

    def _forward_warnings(self, state: SourceState) -> None:
        warnings = state.reader.warnings
        while state.warned < len(warnings):
            self.warn(f"source {state.id}: {warnings[state.warned]}")
            state.warned += 1

    # -- credit ------------------------------------------------------------------------------
    def _take_credits(self) -> None:
        for msg in transport.drain(self.credits):
            if isinstance(msg, Released):
                for lseq in msg.lseqs.tolist():
                    sid = self.owner.pop(lseq, None)
                    if sid is not None:
                        for state in self.sources:
                            if state.id == sid:
                                state.in_flight -= 1

    def _slot_free(self) -> bool:
        """The slot the next frame would take is not held by a frame still in flight."""
        return self.lseq - self.ring.slots not in self.owner

    def share(self) -> int:
        """Frames in flight per source at most: one in Min latency mode; otherwise an equal part
        of the ring, so that no source crowds out the others, and no more than its part of the
        run's window (``self.window``, the frames the run may have in flight): a frame read
        beyond it would only wait in preprocess, adding its wait to every frame's latency.
        The run's sources are counted as this process's times the capture processes (the
        controller spreads them evenly); the window (:class:`SetWindow`) follows what inference
        needs."""
        if self.mode == "latency":
            return 1
        active = max(1, len(self.delivering()))
        return max(1, min(self.ring.slots // active, -(-self._window_part() // active)))

    def _window_part(self) -> int:
        """This process's part of the run's window (the controller spreads sources evenly)."""
        return -(-self.window // max(1, self.plan.capture_workers))

    def _window_free(self) -> bool:
        """This process's part of the run's window has room (User specified mode; Min latency
        mode is bounded by the one frame per source)."""
        return self.mode == "latency" or len(self.owner) < self._window_part()

    def batch_size(self) -> int:
        """Frames read and sent together: ``--batch`` in User specified mode (live sources only
        add what they have, never wait), one at a time in Min latency mode."""
        return 1 if self.mode == "latency" else max(1, self.plan.batch)

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        while not self.started and not self.draining:
            self.poll([], 100)
        if self.config.realtime:
            now = time.monotonic_ns()
            for state in self.sources:
                state.started_ns, state.started_index = now, state.next_index
        while True:
            self._take_credits()
            if self.draining:
                for state in self.active():
                    self.end(state)
            batch = [] if self.draining else self._read_round()
            if batch or self.ends:
                now = time.monotonic_ns()
                for frame in batch:
                    frame.stamps[Stamp.CAPTURED] = now
                out: list[Message] = [*batch, *self.ends]
                self.ends = []
                transport.send_all(self.out, out)
            # never skip the poll: it handles control (mode, stop) and reports figures, and a
            # capture that always has a frame to read (decode-bound) would otherwise never do either
            self.poll(self._wake_sockets(), 0 if batch else self._idle_ms())

    def _wake_sockets(self) -> list[Any]:
        return [self.credits, *(fd for s in self.active() if (fd := s.reader.fileno()) is not None)]

    def _idle_ms(self) -> int:
        """How long to sleep with nothing to read: until the next paced frame is due, else until
        a frame, a credit or a control message arrives (200 ms at most)."""
        if not self.config.realtime:
            return 200
        now = time.monotonic_ns()
        dues = [s.due_ns(s.spec.info.fps) for s in self.active() if not s.spec.live]
        if not dues:
            return 200
        return int(min(200, max(0, (min(dues) - now) / 1e6)))

    def _ready(self, state: SourceState, now: int) -> bool:
        if state.ended or state.in_flight >= self.share():
            return False
        if self.config.max_frames and state.next_index >= self.config.max_frames:
            self.end(state)
            return False
        if self.config.realtime and not state.spec.live and state.due_ns(state.spec.info.fps) > now:
            return False
        return True

    def _drop_late(self, state: SourceState, now: int) -> None:
        """--realtime: a file source whose next frame's successor is due already passes over the
        frames it is late by, as a camera would drop them: whether the pipeline had no room for
        them or capture itself could not decode them in time, the source stays on the clock."""
        fps = state.spec.info.fps
        if not self.config.realtime or state.spec.live or state.ended or fps <= 0:
            return
        late = int((now - state.due_ns(fps)) * fps / 1e9)
        if late >= 1:
            passed = state.reader.skip(late)
            state.next_index += passed
            state.dropped += passed

    def _read_round(self) -> list[Frame]:
        """Go round the sources, one frame from each that is ready, until the batch is full or
        nobody has anything; the round starts one source later each time."""
        batch: list[Frame] = []
        want = self.batch_size()
        progress = True
        while progress and len(batch) < want:
            progress = False
            order = self.sources[self.turn:] + self.sources[:self.turn]
            self.turn = (self.turn + 1) % max(1, len(self.sources))
            now = time.monotonic_ns()
            for state in order:
                self._drop_late(state, now)
                if len(batch) >= want or not self._slot_free() or not self._window_free():
                    break
                if not self._ready(state, now):
                    continue
                frame = self._read(state)
                if frame is not None:
                    batch.append(frame)
                    progress = True
        return batch

    def _read(self, state: SourceState) -> Frame | None:
        info = state.spec.info
        slot = self.ring.slot_of(self.lseq)
        direct = info.kind == "video" and info.max_frame_bytes <= self.ring.spec.slot_bytes
        view = self.ring.view(slot, (info.frame_h, info.frame_w, 3)) if direct else None
        got = state.reader.read(view)
        del view
        self._forward_warnings(state)
        if got is None:
            if not state.reader.live:
                self.end(state)
            return None
        busy_from = time.monotonic_ns() if state.reader.live else got.t_read_ns
        h, w = got.frame.shape[:2]
        if h * w * 3 > self.ring.spec.slot_bytes:
            if not state.reader.live:
                self.warn(f"source {state.id}: skipped a {w}x{h} frame: larger than the frames the run was "
                          "planned for")
                return None
            # a camera opened after the run was planned (down at start, or added at run time):
            # its frames are scaled into a slot
            fit_h, fit_w = fit_pixels(h, w, self.ring.spec.slot_bytes)
            if not state.scaled:
                state.scaled = True
                self.warn(f"source {state.id}: {w}x{h} frames are larger than this run's frame slots; "
                          f"processed at {fit_w}x{fit_h}")
            got.frame = cv2.resize(got.frame, (fit_w, fit_h), interpolation=cv2.INTER_AREA)
            h, w = fit_h, fit_w
        target = self.ring.view(slot, (h, w, 3))
        if not np.shares_memory(target, got.frame):  # decoded elsewhere: copy it in
            target[...] = got.frame
        del target
        lseq = self.lseq
        self.ring.commit(lseq)
        self.lseq += 1
        self.owner[lseq] = state.id
        state.in_flight += 1
        stamps = new_stamps()
        stamps[Stamp.READ] = got.t_read_ns
        frame = Frame(seq=-1, slot=-1, height=h, width=w, source=state.id, index=state.next_index, name=got.name,
                      cap=self.identity, ring=self.ring.spec.name, lseq=lseq, model=state.spec.model_of(h, w), mode=self.mode,
                      stamps=stamps)
        state.next_index += 1
        self.items += 1
        self.busy_ns += time.monotonic_ns() - busy_from
        return frame

    # -- figures -----------------------------------------------------------------------------
    def source_figures(self, state: SourceState) -> dict[str, Any]:
        if state.ended:
            return state.figures
        reader = state.reader
        return {"state": reader.state, "kind": state.spec.info.kind, "frames": state.next_index,
                "in_flight": state.in_flight, "dropped": getattr(reader, "dropped", 0) + state.dropped,
                "reconnects": getattr(reader, "reopens", 0), "retries": getattr(reader, "retries", 0)}

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        per_source = {str(s.id): self.source_figures(s) for s in self.sources}
        figs.update(in_flight=len(self.owner), limit=self.ring.slots, sources=per_source,
                    dropped=sum(int(f.get("dropped", 0)) for f in per_source.values()))
        return figs

    def close(self) -> None:
        for state in self.sources:
            if not state.ended:
                state.reader.close()
        self.ring.close()

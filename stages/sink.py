"""Sink: restores input order, draws the skeletons, shows and/or writes each frame, returns credit.

Poses arrive from the decode workers in any order; the sink keeps them until the next frame in
sequence is there. For each frame in order it draws on the frame in the frame ring (in place),
shows it (OpenCV window; **Tab** toggles the mode, **Esc**/**q** stops), writes it (``-o``),
records its poses (``-r``, ``--poses-out``), and tells capture the slot is free.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

import cv2
import numpy as np
import zmq

from pipeline import transport
from pipeline.config import MODE_TITLES
from pipeline.messages import ControlRequest, EndOfStream, Finished, FrameTimes, Log, Poses, Stamp
from pipeline.monitors import Monitors
from pipeline.telemetry import STAGES, Telemetry
from pipeline.ring import SlotRing
from pipeline.skeleton import COCO17_EDGES, EDGE_COLOURS
from publishing import epoch_of, frame_message, pose_entries
from publishing.mqtt import open_publisher

from .identity import Identities, draw_ids

from .base import Stage
from .writers import OutputWriter, open_output

WINDOW = "Human Pose Estimation"
KEY_TAB, KEY_ESC = 9, 27


def draw_poses(image: np.ndarray, keypoints: np.ndarray, threshold: float = 0.0) -> None:
    """Draw every person's skeleton on ``image`` in place (keypoints in image pixels); line width
    and joint size follow the person's size, so small people stay readable."""
    for person in keypoints:
        visible = person[:, 2] > threshold
        if not visible.any():
            continue
        pts = person[visible, :2]
        extent = float(max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))) if len(pts) > 1 else 0.0
        width = int(np.clip(extent / 60, 1, 4))
        radius = int(np.clip(extent / 45, 1, 5))
        for (a, b), colour in zip(COCO17_EDGES, EDGE_COLOURS):
            if visible[a] and visible[b]:
                cv2.line(image, (int(person[a, 0]), int(person[a, 1])), (int(person[b, 0]), int(person[b, 1])),
                         colour, width, cv2.LINE_AA)
        for x, y in pts:
            cv2.circle(image, (int(x), int(y)), radius, (0, 0, 255), -1, cv2.LINE_AA)


def put_text(image: np.ndarray, text: str, row: int) -> None:
    org = (10, 24 + 22 * row)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(image, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)


def draw_stage_bars(image: np.ndarray, snapshot: dict[str, Any]) -> None:
    """Per-stage latency bars in the top-right corner: service solid, queue wait light."""
    stages = snapshot.get("stages", {})
    rows = [(name, stages.get(name, {}).get("service_ms") or 0.0, stages.get(name, {}).get("wait_ms") or 0.0)
            for name in STAGES]
    longest = max((svc + wait for _, svc, wait in rows), default=0.0)
    if longest <= 0:
        return
    h, w = image.shape[:2]
    bar_w = min(160, w // 4)
    x0 = w - bar_w - 92
    y0 = 8
    if x0 < 0:
        return
    panel = image[y0:y0 + 16 * len(rows) + 6, x0 - 4:w - 4]
    np.right_shift(panel, 1, out=panel)
    for i, (name, svc, wait) in enumerate(rows):
        y = y0 + 4 + 16 * i
        cv2.putText(image, name[:7], (x0, y + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1, cv2.LINE_AA)
        bx = x0 + 56
        ws = int(bar_w * wait / longest)
        ss = max(1, int(bar_w * svc / longest))
        cv2.rectangle(image, (bx, y + 2), (bx + ws, y + 11), (120, 120, 120), -1)
        cv2.rectangle(image, (bx + ws, y + 2), (bx + ws + ss, y + 11), (80, 200, 255), -1)
        cv2.putText(image, f"{svc + wait:.1f}", (bx + ws + ss + 3, y + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (255, 255, 255), 1, cv2.LINE_AA)


def pose_record(frame_no: int, poses: Poses, ids: np.ndarray | None = None) -> dict[str, Any]:
    """One ``--poses-out`` line: keypoints in frame pixels, COCO-17 order, score 0 = missing."""
    record: dict[str, Any] = {"frame": frame_no, "poses": pose_entries(poses.keypoints, poses.scores, ids)}
    if poses.frame.name:
        record["image"] = poses.frame.name
    return record


class Sink(Stage):
    name = "sink"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.frames = SlotRing.attach(plan.frames_ring)
        self.inp = self.socket(zmq.PULL, plan.endpoints.poses, bind=True)
        self.credits = self.socket(zmq.PUSH, plan.endpoints.credits, bind=False)
        self.writer: OutputWriter | None = open_output(self.config.output, plan.source) if self.config.output else None
        self.poses_file: TextIO | None = open(self.config.poses_out, "w", buffering=1) if self.config.poses_out else None
        self.show = self.config.show
        self.identities = Identities(self.config.tracker, {0: 0.0 if plan.source.live else plan.source.fps})
        self.publisher = open_publisher(self.config.publish, self.config.publish_qos, self.config.publish_ca)
        self.publish_figures: dict[str, Any] = {}
        self.overlay = Telemetry(window_s=2.0, period_s=self.config.telemetry_period, mode=self.mode)
        self.monitors = Monitors(self.config.utilization_monitors)
        self._snapshot: dict[str, Any] = {}
        self._snapshot_t = 0.0
        self.pending: dict[int, Poses] = {}
        self.next_seq = 0
        self.eos: EndOfStream | None = None
        self.window_open = False
        self.first_read_ns = 0
        self.last_out_ns = 0
        self.latency_sum_ns = 0
        self.people = 0
        self.times: list[tuple[np.ndarray, int, int, int]] = []  # (stamps, seq, worker, latency mode)
        self._times_sent = time.monotonic()
        return {"output": self.config.output or "", "show": self.show}

    def run(self) -> None:
        while True:
            if self.poll([self.inp], 5 if self.window_open else 200):
                for msg in transport.drain(self.inp):
                    if isinstance(msg, Poses):
                        if msg.frame.seq >= self.next_seq:
                            self.pending[msg.frame.seq] = msg
                    elif isinstance(msg, EndOfStream):
                        self.eos = msg
            released = self.next_seq
            while self.next_seq in self.pending:
                self.render(self.pending.pop(self.next_seq))
                self.next_seq += 1
            if self.next_seq != released:
                transport.send(self.credits, Finished(self.next_seq))
            if self.window_open:
                self.handle_key(cv2.waitKey(1))
            if time.monotonic() - self._times_sent >= self.config.telemetry_period:
                self.send_times()
            if self.eos is not None and self.next_seq >= self.eos.count:
                self.finish()
                self.wait_for_stop()

    def render(self, poses: Poses) -> None:
        frame = poses.frame
        t_in = time.monotonic_ns()
        frame.stamps[Stamp.SINK_IN] = t_in
        image = self.frames.read(frame.seq, (frame.height, frame.width, 3))
        ids = self.identities.ids(frame, poses.keypoints, poses.scores)
        draw_poses(image, poses.keypoints)
        draw_ids(image, poses.keypoints, ids)
        if self.monitors.active:
            self.monitors.update()
            self.monitors.draw(image)
        if self.writer is not None:
            self.writer.write(image, frame.name)
        if self.show:
            self.display(image, frame)
        del image
        if self.config.raw_output:
            self.print_raw(poses, ids)
        if self.poses_file is not None:
            self.poses_file.write(json.dumps(pose_record(frame.seq, poses, ids), separators=(",", ":")) + "\n")
        if self.publisher is not None:
            self.publisher.publish(frame.source, frame_message(frame.source, frame.index, epoch_of(
                frame.stamps[Stamp.READ]), poses.keypoints, poses.scores, ids))
            for event in self.publisher.events():
                self.emit(Log(self.label, f"mqtt {self.publisher.target.display()}: {event}", "info"))
        t_out = time.monotonic_ns()
        frame.stamps[Stamp.SINK_OUT] = t_out
        latency = t_out - int(frame.stamps[Stamp.READ])
        if not self.first_read_ns:
            self.first_read_ns = int(frame.stamps[Stamp.READ])
        self.last_out_ns = t_out
        self.latency_sum_ns += latency
        self.people += poses.count
        self.items += 1
        self.busy_ns += t_out - t_in
        self.times.append((frame.stamps, frame.seq, frame.worker, int(frame.mode == "latency")))

    def display(self, image: np.ndarray, frame: Any) -> None:
        stamps = frame.stamps.copy()
        stamps[Stamp.SINK_OUT] = time.monotonic_ns()
        self.overlay.add_frames(stamps[None, :], frame.mode, np.asarray([frame.worker]))
        now = time.monotonic()
        if now - self._snapshot_t > 0.25:
            self._snapshot, self._snapshot_t = self.overlay.snapshot(), now
        snap = self._snapshot
        latency = (snap.get("latency_ms") or {}).get("p50") or 0.0
        put_text(image, f"FPS: {snap.get('fps') or 0.0:.1f}  Latency: {latency:.1f} ms", 0)
        put_text(image, f"Mode: {MODE_TITLES[self.mode]} (Tab to switch)", 1)
        draw_stage_bars(image, snap)
        try:
            cv2.imshow(WINDOW, image)
            self.window_open = True
        except cv2.error as exc:
            self.show = False
            self.warn(f"cannot open a window ({str(exc).strip().splitlines()[-1][:80]}); going on without one")

    def on_mode(self, mode: str) -> None:
        super().on_mode(mode)
        self.overlay.set_mode(mode)

    def handle_key(self, key: int) -> None:
        key &= 0xFF
        if key == KEY_TAB:
            self.emit(ControlRequest("toggle"))
        elif self.monitors.toggle(key):
            pass
        elif key in (KEY_ESC, ord("q"), ord("Q")):
            self.emit(ControlRequest("stop"))

    def print_raw(self, poses: Poses, ids: np.ndarray) -> None:
        out = sys.stdout
        out.write(f"frame {poses.frame.seq}: {poses.count} people\n")
        for i, (kp, score) in enumerate(zip(poses.keypoints, poses.scores)):
            points = " ".join(f"({x:.1f},{y:.1f},{s:.2f})" for x, y, s in kp)
            out.write(f"  person {i} score {score:.3f} id {ids[i]}: {points}\n")
        out.flush()

    def send_times(self) -> None:
        """Send the finished frames' timestamps to the controller's telemetry."""
        self._times_sent = time.monotonic()
        if not self.times:
            return
        stamps, seqs, workers, modes = zip(*self.times)
        self.times = []
        self.emit(FrameTimes(stamps=np.stack(stamps), seqs=np.asarray(seqs, np.int64),
                             workers=np.asarray(workers, np.int32), latency_mode=np.asarray(modes, np.uint8)))

    def summary(self) -> dict[str, Any]:
        n = self.next_seq
        wall = (self.last_out_ns - self.first_read_ns) / 1e9 if n else 0.0
        # percentiles come from the controller's telemetry, which keeps them in bounded memory
        return {"frames": n, "fps": n / wall if wall > 0 else 0.0, "latency_ms": self.latency_sum_ns / max(1, n) / 1e6,
                "people": self.people, "wall_s": wall}

    def finish(self) -> None:
        """Every frame is out: finalise the files and tell the controller."""
        self.finalise()
        self.send_times()
        assert self.eos is not None
        self.emit(EndOfStream(count=self.next_seq, error=self.eos.error))
        self.maybe_report(force=True)

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        figs.update(self.summary())
        figs["pending"] = len(self.pending)
        if self.publisher is not None:
            figs["publish"] = self.publisher.figures()
        elif self.publish_figures:
            figs["publish"] = self.publish_figures
        return figs

    def finalise(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        if self.poses_file is not None:
            self.poses_file.close()
            self.poses_file = None
        if self.publisher is not None:
            self.publisher.close()
            self.publish_figures = self.publisher.figures()
            self.publisher = None

    def close(self) -> None:
        self.finalise()
        if self.window_open:
            cv2.destroyAllWindows()
        self.frames.close()

"""Sink: restores the run's order, draws the skeletons, shows and/or writes each frame, returns
credit.

Poses arrive from the decode workers in any order; the sink keeps them until the next frame in
sequence is there. For each frame in order it draws on the frame in its capture process's frame
ring (in place), shows it (OpenCV window, a grid when there are several sources; **Tab** toggles
the mode, **Esc**/**q** stops), writes it to its source's output (``-o``), records its poses
(``-r``, ``--poses-out``), and gives the slots back: the frame ring's to the capture process, the
tensor and map rings' to preprocess. A source's :class:`EndOfStream` closes that source's output
once every frame before it is out, and is passed on to the controller.
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
from pipeline.messages import (AddSource, CaptureLost, ControlRequest, EndOfStream, Finished, FrameTimes, Log, Message,
                               Poses, Stamp)
from pipeline.telemetry.monitors import Monitors
from pipeline.ring import RingSet
from pipeline.models.skeleton import COCO17_EDGES, EDGE_COLOURS
from pipeline.outputs import output_for
from pipeline.outputs.preview import PreviewBoard
from pipeline.sources import SourceSpec
from pipeline.sources.stats import SourceStats
from pipeline.telemetry import STAGES, Telemetry
from publishing import epoch_of, frame_message, pose_entries
from publishing.mqtt import open_publisher

from .decode.registry import keypoint_threshold
from .identity import Identities, draw_ids

from pipeline.stage import Stage
from .mosaic import Mosaic
from .release import Releaser
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


def pose_record(poses: Poses, ids: np.ndarray | None = None) -> dict[str, Any]:
    """One ``--poses-out`` line: the source, the frame's number in it, and each person's tracking
    id and keypoints in frame pixels, COCO-17 order (x, y, score; score 0 = not found)."""
    record: dict[str, Any] = {"source": poses.frame.source, "frame": poses.frame.index,
                              "poses": pose_entries(poses.keypoints, poses.scores, ids)}
    if poses.frame.name:
        record["image"] = poses.frame.name
    return record


class Sink(Stage):
    name = "sink"

    def open(self) -> dict[str, Any]:
        plan = self.plan
        self.frames = RingSet(plan.frame_slots, plan.frame_bytes)
        self.inp = self.socket(zmq.PULL, plan.endpoints.poses, bind=True)
        self.credits = self.socket(zmq.PUSH, plan.endpoints.credits, bind=False)
        self.releaser = Releaser(self)
        self.specs: dict[int, SourceSpec] = {s.id: s for s in plan.sources}
        self.writers: dict[int, OutputWriter] = {}
        self.poses_file: TextIO | None = open(self.config.poses_out, "w", buffering=1) if self.config.poses_out else None
        self.show = self.config.show
        self.seen = keypoint_threshold(plan.model)  # keypoints above this score are drawn
        self.identities = Identities(self.config.tracker, {s.id: 0.0 if s.live else s.info.fps for s in plan.sources},
                                     self.seen)
        self.publisher = open_publisher(self.config.publish, self.config.publish_qos, self.config.publish_ca)
        self.publish_figures: dict[str, Any] = {}
        self.overlay = Telemetry(window_s=2.0, period_s=self.config.telemetry_period, mode=self.mode)
        self.per_source = SourceStats(window_s=2.0, window_frames=500)
        self.mosaic = Mosaic()
        self.monitors = Monitors(self.config.utilization_monitors)
        # --http: the latest picture of each watched source, for the web process to serve
        self.preview: PreviewBoard | None = None
        if plan.preview is not None:
            self.preview, self.preview_ring = PreviewBoard.attach(plan.preview)
        self._snapshot: dict[str, Any] = {}
        self._snapshot_t = 0.0
        self.pending: dict[int, Poses] = {}
        self.next_seq = 0
        self.ends: list[EndOfStream] = []  # waiting for the frames before them
        self.done: set[int] = set()  # sources whose end has been passed on
        self.rendered: dict[int, int] = {}  # frames out, per source
        self.window_open = False
        self.first_read_ns = 0
        self.last_out_ns = 0
        self.latency_sum_ns = 0
        self.people = 0
        self.times: list[tuple[np.ndarray, int, int, int, int]] = []  # (stamps, seq, worker, latency mode, source)
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
                        self.ends.append(msg)
            out = []
            while self.next_seq in self.pending:
                poses = self.pending.pop(self.next_seq)
                self.render(poses)
                out.append(poses.frame)
                self.next_seq += 1
            if out:
                transport.send(self.credits, Finished(self.next_seq))
                self.releaser.release(out)
            if self.ends:
                self.end_sources()
            if self.window_open:
                self.handle_key(cv2.waitKey(1))
            if time.monotonic() - self._times_sent >= self.config.telemetry_period:
                self.send_times()

    def on_message(self, msg: Message) -> None:
        if isinstance(msg, AddSource):
            spec = SourceSpec.from_dict(msg.spec)
            self.specs[spec.id] = spec
            self.identities.file_fps[spec.id] = 0.0 if spec.live else spec.info.fps
        elif isinstance(msg, CaptureLost):
            self.releaser.lost(msg.identity)

    # -- per source --------------------------------------------------------------------------
    def writer_for(self, source: int) -> OutputWriter | None:
        if not self.config.output or source in self.done:
            return None
        writer = self.writers.get(source)
        if writer is None:
            spec = self.specs[source]
            count = max(len(self.plan.sources), len(self.specs), 2 if self.config.source_ids else 1)
            path = output_for(self.config.output, source, count, spec.info)
            writer = self.writers[source] = open_output(path, spec.info)
        return writer

    def end_sources(self) -> None:
        """Sources whose every frame is out: close their output, tell the controller."""
        waiting = []
        for end in self.ends:
            if end.count > self.next_seq:
                waiting.append(end)
                continue
            if end.source in self.done:
                continue  # said again by a restarted capture process
            self.done.add(end.source)
            writer = self.writers.pop(end.source, None)
            if writer is not None:
                writer.close()
            self.send_times()
            self.emit(EndOfStream(count=self.next_seq, source=end.source, error=end.error,
                                  frames=self.rendered.get(end.source, 0)))
        self.ends = waiting

    # -- one frame ---------------------------------------------------------------------------
    def render(self, poses: Poses) -> None:
        frame = poses.frame
        t_in = time.monotonic_ns()
        frame.stamps[Stamp.SINK_IN] = t_in
        image = self.frames.read(frame.ring, frame.lseq, (frame.height, frame.width, 3))
        ids = self.identities.ids(frame, poses.keypoints, poses.scores)
        writer = self.writer_for(frame.source)
        if self.show or writer is not None or self.preview is not None:
            # drawn only for someone to see (a window, a video, the web page): headless with
            # no output, skeletons cost CPU that inference needs (0.7 ms a frame for 5 people)
            draw_poses(image, poses.keypoints, self.seen)
            draw_ids(image, poses.keypoints, ids, self.seen)
        if self.monitors.active and len(self.specs) == 1:  # several sources: once, on the mosaic
            self.monitors.update()
            self.monitors.draw(image)
        if self.preview is not None:
            self.preview.offer(frame.source, image, frame.index)
        if writer is not None:
            writer.write(image, frame.name)
        if self.show:
            self.display(image, frame)
        del image
        if self.config.raw_output:
            self.print_raw(poses, ids)
        if self.poses_file is not None:
            self.poses_file.write(json.dumps(pose_record(poses, ids), separators=(",", ":")) + "\n")
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
        self.rendered[frame.source] = self.rendered.get(frame.source, 0) + 1
        self.items += 1
        self.busy_ns += t_out - t_in
        self.times.append((frame.stamps, frame.seq, frame.worker, int(frame.mode == "latency"), frame.source))

    def display(self, image: np.ndarray, frame: Any) -> None:
        stamps = frame.stamps.copy()
        stamps[Stamp.SINK_OUT] = time.monotonic_ns()
        self.overlay.add_frames(stamps[None, :], frame.mode, np.asarray([frame.worker]))
        self.per_source.add(np.asarray([frame.source]), stamps[None, Stamp.READ], stamps[None, Stamp.SINK_OUT])
        now = time.monotonic()
        if now - self._snapshot_t > 0.25:
            self._snapshot, self._snapshot_t = self.overlay.snapshot(), now
        snap = self._snapshot
        latency = (snap.get("latency_ms") or {}).get("p50") or 0.0
        title = f"Mode: {MODE_TITLES[self.mode]} (Tab to switch)"
        if len(self.specs) > 1:
            mine = self.per_source.window(int(stamps[Stamp.SINK_OUT])).get(frame.source, {})
            p50 = (mine.get("latency_ms") or {}).get("p50") or 0.0
            live = sorted(s for s in self.specs if s not in self.done)
            self.mosaic.put(frame.source, image, [f"source {frame.source}: {mine.get('fps', 0.0):.1f} FPS, {p50:.0f} ms"],
                            live if frame.source in live else [*live, frame.source])
            self.mosaic.header(f"FPS: {snap.get('fps') or 0.0:.1f}  Latency: {latency:.1f} ms  {title}")
            shown = self.mosaic.view(self.monitors)
        else:
            put_text(image, f"FPS: {snap.get('fps') or 0.0:.1f}  Latency: {latency:.1f} ms", 0)
            put_text(image, title, 1)
            draw_stage_bars(image, snap)
            shown = image
        try:
            cv2.imshow(WINDOW, shown)
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
        where = f"source {poses.frame.source} frame" if len(self.specs) > 1 else "frame"
        out.write(f"{where} {poses.frame.index}: {poses.count} people\n")
        for i, (kp, score) in enumerate(zip(poses.keypoints, poses.scores)):
            points = " ".join(f"({x:.1f},{y:.1f},{s:.2f})" for x, y, s in kp)
            out.write(f"  person {i} score {score:.3f} id {ids[i]}: {points}\n")
        out.flush()

    def send_times(self) -> None:
        """Send the finished frames' timestamps to the controller's telemetry."""
        self._times_sent = time.monotonic()
        if not self.times:
            return
        stamps, seqs, workers, modes, sources = zip(*self.times)
        self.times = []
        self.emit(FrameTimes(stamps=np.stack(stamps), seqs=np.asarray(seqs, np.int64),
                             workers=np.asarray(workers, np.int32), latency_mode=np.asarray(modes, np.uint8),
                             sources=np.asarray(sources, np.int32)))

    def summary(self) -> dict[str, Any]:
        n = self.next_seq
        wall = (self.last_out_ns - self.first_read_ns) / 1e9 if n else 0.0
        # percentiles come from the controller's telemetry, which keeps them in bounded memory
        return {"frames": n, "fps": n / wall if wall > 0 else 0.0, "latency_ms": self.latency_sum_ns / max(1, n) / 1e6,
                "people": self.people, "wall_s": wall, "frames_by_source": {str(k): v for k, v in self.rendered.items()}}

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
        writers, self.writers = list(self.writers.values()), {}
        poses, self.poses_file = self.poses_file, None
        try:
            failure: BaseException | None = None
            for writer in writers:  # every output is finalised, even after one failed
                try:
                    writer.close()
                except Exception as exc:  # noqa: BLE001 - the first failure is raised below
                    failure = failure or exc
            if failure is not None:
                raise failure
        finally:
            if poses is not None:
                poses.close()
        if self.publisher is not None:
            self.publisher.close()
            self.publish_figures = self.publisher.figures()
            self.publisher = None

    def close(self) -> None:
        try:
            self.send_times()
        finally:
            try:
                self.finalise()
                # the figures once every output is closed (what the publisher delivered at the
                # end, for one), after the ones sent when Stop came
                self.maybe_report(force=True, final=True)
            finally:
                if self.window_open:
                    cv2.destroyAllWindows()
                self.frames.close()

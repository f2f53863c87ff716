"""Cameras that are down at start hold no frame of the run's window: the file beside them keeps
the window its streams need (the floor of one frame per source counts only sources that bring
frames; pipeline/window.py), instead of one frame more in flight, waiting, per camera down."""

from __future__ import annotations

import pytest
import zmq

from pipeline import transport
from pipeline.cli import config_from_args
from pipeline.controller import Controller
from pipeline.messages import StageStats
from tests.helpers import make_clip, movenet_model
from tests.hostile_servers import refused_port

DOWN = 7


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=10, size=(384, 288))


def test_cameras_down_at_start_hold_no_frame_of_the_window(clip):
    cameras = [arg for _ in range(DOWN) for arg in ("-i", f"rtsp://127.0.0.1:{refused_port()}/cam")]
    config = config_from_args(["-i", str(clip), *cameras, "-at", "movenet", "-m", movenet_model(), "-no_show"])
    controller = Controller(config)
    try:
        plan = controller.plan = controller.prepare()  # as run() does
        slots = plan.tensors_ring.slots
        wanted = config.window_start(slots)
        if wanted >= 1 + DOWN:
            pytest.skip(f"this host's window ({wanted} frames) is as large as the sources anyway")
        assert controller.sources is not None and controller.sources.delivering() == [0]  # the cameras: connecting
        assert plan.window == wanted  # not one frame per camera that brings none
        controller.ctx = transport.new_context()  # where the new window is broadcast (closed by shutdown)
        controller.control = transport.socket(controller.ctx, zmq.PUB, plan.endpoints.control, bind=True)
        # inference saturated with frames waiting: the window shrinks to what its streams need
        # (streams + 1), not to one frame per source, cameras down included
        for _ in range(4):
            controller.on_event(StageStats("infer", {"items": 100, "streams": 2, "idle_streams": 0.0, "surplus": 6.0}))
        assert controller.in_flight_limit() == 3
    finally:
        controller.shutdown()

"""A stage whose open or close fails reports one line; it prints nothing else (no BufferError
noise from shared memory still mapped at exit). And a device the run cannot use is refused before
any stage starts."""

from __future__ import annotations

import multiprocessing as mp

import cv2
import pytest
import zmq

from pipeline import transport
from pipeline.cli import config_from_args
from pipeline.controller import Controller
from pipeline.messages import StageError
from tests.helpers import movenet_model, run_pipeline, tagged_processes


def _run_stage(cls_name: str, plan, err_path: str) -> None:
    import os
    fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)  # the child's stderr, interpreter exit included, goes to the file
    from pipeline.stage import stage_main
    stage_main("tests.failing_stage", cls_name, plan, 0, "failing")


@pytest.mark.parametrize("cls_name, words", [("FailsInOpen", "cannot open on purpose"),
                                             ("FailsInClose", "while closing: OSError: cannot finalise")])
def test_a_failing_stage_says_one_line_and_nothing_else(cls_name, words, tmp_path, sample):
    image = tmp_path / "a.png"
    cap = cv2.VideoCapture(str(sample))
    _ok, frame = cap.read()
    cap.release()
    cv2.imwrite(str(image), frame)
    controller = Controller(config_from_args(["-i", str(image), "-at", "movenet", "-m", movenet_model(), "-no_show"]))
    plan = controller.prepare()
    ctx = transport.new_context()
    try:
        events = transport.socket(ctx, zmq.PULL, plan.endpoints.events, bind=True)
        control = transport.socket(ctx, zmq.PUB, plan.endpoints.control, bind=True)
        err_path = tmp_path / "stderr.txt"
        proc = mp.get_context("spawn").Process(target=_run_stage, args=(cls_name, plan, str(err_path)))
        proc.start()
        if cls_name == "FailsInClose":
            # the stage keeps running until told to stop
            import time

            from pipeline.messages import Stop
            deadline = time.monotonic() + 60
            while proc.is_alive() and time.monotonic() < deadline:
                transport.send(control, Stop(drain=False, reason="test"))
                time.sleep(0.1)
        proc.join(60)
        stderr = err_path.read_text()
        events.poll(5000)
        got = [m for m in transport.drain(events) if isinstance(m, StageError)]
        assert proc.exitcode == 1
        assert len(got) == 1 and words in got[0].message
        assert "BufferError" not in stderr and "Exception ignored" not in stderr, stderr
    finally:
        ctx.destroy(linger=0)
        controller.shutdown()


@pytest.mark.parametrize("device, missing", [("HETERO:NPU", "NPU"), ("HETERO:NPU,CPU", "NPU"),
                                             ("MULTI:GPU,CPU", "GPU"), ("AUTO:NPU", "NPU"),
                                             ("CPU.7", None), ("BATCH:NPU(4)", "NPU")])
def test_devices_that_are_not_there_are_refused_before_the_stages_start(device, missing, sample):
    res = run_pipeline("-i", str(sample), "-at", "movenet", "-m", movenet_model(), "-no_show", "-d", device)
    assert res.code == 1, res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, res.stderr
    # the one line names the device asked for and, for a virtual device, only the part that is missing
    if missing is None:
        assert errors[0].startswith(f"error: device {device!r} is not available here (available: "), errors
    else:
        assert errors[0].startswith(f"error: device {device!r}: {missing} not available here (available: "), errors
    assert "CPU" in errors[0].split("(available: ")[1]  # and says what is there instead
    assert "Traceback" not in res.stderr
    assert "control:" not in res.stderr  # refused while planning: no stage ever started
    assert not tagged_processes(res.tag)

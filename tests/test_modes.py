"""Run-time mode switching and the telemetry files, as a user profiling a pipeline sees them."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from pipeline.telemetry import STAGES
from pipeline.telemetry.trace import validate_trace
from tests.helpers import ROOT, Running, make_clip, movenet_model, read_poses, tagged_processes


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=24)


def ctl(address: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "pipeline.ctl", address, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_switching_to_min_latency_mid_run_lowers_latency_and_requests_in_flight(clip, tmp_path):
    poses, report_file, trace_file = tmp_path / "p.jsonl", tmp_path / "r.json", tmp_path / "t.json"
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--poses-out", str(poses), "--telemetry-out", str(report_file), "--trace-out", str(trace_file))
    run.wait_frames(50)
    switched = ctl(run.address, "toggle")
    assert switched["mode"] == "latency"
    assert ctl(run.address, "status")["mode"] == "latency"
    deadline = time.monotonic() + 120
    while ctl(run.address, "status")["frames_by_mode"].get("latency", 0) < 40:
        assert time.monotonic() < deadline, "no frames in Min latency mode"
        time.sleep(0.3)
    ctl(run.address, "stop")
    code, out, err = run.finish(timeout=180)
    assert code == 0, err
    assert "mode: Min latency" in err
    total = len(read_poses(poses))
    assert [r["frame"] for r in read_poses(poses)] == list(range(total))  # once each, in order
    assert not tagged_processes(run.tag)

    report = json.loads(report_file.read_text())
    user, latency = report["modes"]["user"], report["modes"]["latency"]
    assert user["frames"] + latency["frames"] == total and latency["frames"] > 20
    # (that Min latency mode has the lower latency is a measurement: make bench reports it)
    assert latency["requests_in_flight"] < user["requests_in_flight"]
    assert latency["requests_in_flight"] <= 1.0 + 1e-6

    # stage service and wait times add up to the end-to-end latency
    for section in (report["all"], user, latency):
        assert abs(section["sum_check"]["relative"]) < 0.10
    # the figures say what they are about
    assert report["meta"]["precision"] and report["meta"]["device"] == "CPU"
    # memory: PSS counts shared libraries and rings once, so it is below the sum of RSS peaks
    assert 0 < report["meta"]["peak_pss_total_mb"] < report["meta"]["peak_rss_total_mb"]

    trace = json.loads(trace_file.read_text())
    assert validate_trace(trace) == []
    spans = [e for e in trace["traceEvents"] if e.get("ph") == "X"]
    for stage in STAGES:
        frames = sorted(e["args"]["frame"] for e in spans if e["name"] == stage)
        assert frames == list(range(total)), stage


def test_mode_command_and_bad_requests(clip, tmp_path):
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                  "--mode", "latency")
    run.wait_frames(3)
    status = ctl(run.address, "status")
    assert status["mode"] == "latency"
    # each stage process shows its name in ps/top, so a user can tell them apart
    for label, pid in status["stages"].items():
        with open(f"/proc/{pid}/comm") as f:
            assert f.read().strip() == f"pp-{label}"[:15], label
    assert ctl(run.address, "mode", "user")["mode"] == "user"
    bad = subprocess.run([sys.executable, "-m", "pipeline.ctl", run.address, "mode"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "needs a mode name" in bad.stderr
    ctl(run.address, "stop")
    code, out, err = run.finish()
    assert code == 0, err
    assert "Min latency" in out and "User specified" in out  # the final table has a section per mode


def test_frames_in_flight_follow_the_window(clip, tmp_path):
    """User specified mode holds no more frames than its window (sized as the run goes, shown by
    ctl status), Min latency mode one per source, and --ring-slots fixes the window."""
    run = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show")
    run.wait_frames(40)
    status = ctl(run.address, "status")
    limit = status["in_flight_limit"]
    assert limit >= 3  # at least one frame ready behind OpenVINO's streams (2 on 2 cores)
    assert ctl(run.address, "toggle")["in_flight_limit"] == 1
    ctl(run.address, "stop")
    code, _, err = run.finish(timeout=180)
    assert code == 0, err

    fixed = Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                    "--ring-slots", "5")
    fixed.wait_frames(30)
    assert ctl(fixed.address, "status")["in_flight_limit"] == 5
    ctl(fixed.address, "stop")
    code, _, err = fixed.finish(timeout=180)
    assert code == 0, err


def test_a_camera_with_capacity_to_spare_runs_on_the_latency_model(tmp_path):
    """User specified mode with a source paced at 5 FPS (far below what the model takes) moves
    its frames to the latency-compiled model, and the run still delivers every frame once."""
    slow = make_clip(tmp_path / "slow.avi", frames=24, fps=5.0)
    poses = tmp_path / "p.jsonl"
    run = Running(tmp_path, "-i", str(slow), "--loop", "--realtime", "-at", "movenet", "-m", movenet_model(),
                  "-no_show", "--poses-out", str(poses))
    run.wait_frames(5)
    state = run.wait_until(lambda s: (s["window"].get("queues", {}).get("infer", {}).get("light") == 1), timeout=90)
    assert state["mode"] == "user"
    ctl(run.address, "stop")
    code, _, err = run.finish(timeout=180)
    assert code == 0, err
    records = read_poses(poses)
    assert [r["frame"] for r in records] == list(range(len(records)))


def test_ctl_without_a_pipeline_says_so(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pipeline.ctl", f"ipc://{tmp_path}/none", "status", "--timeout",
                           "0.5"], cwd=ROOT, capture_output=True, text=True, timeout=60)  # a hang fails here
    assert done.returncode == 1
    assert "no answer" in done.stderr and "Traceback" not in done.stderr

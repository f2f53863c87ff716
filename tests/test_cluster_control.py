"""A cluster run (two simulated Ray nodes, one looping source each) controlled while live:
``ctl mode`` reaches the pipeline of every node, a pipeline killed on a live node is restarted
where its source left off, ``ctl stop`` drains every node, and so does Ctrl-C; every frame once
and in order.
(tests/test_cluster.py loses a whole node; Ray runs are slow, so the first test does three things
in one run.)"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.helpers import ROOT, make_clip, movenet_model, read_poses, tagged_processes
from tests.test_cluster import by_source, cluster_command, cluster_env, ctl_status

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'posepipe[cluster]')")


def jobs_of(state: dict, node: str) -> list[dict]:
    jobs = state["nodes"][node].get("jobs")
    return [j for j in jobs.values() if j.get("code") is None] if isinstance(jobs, dict) else []


def until(address: str, check, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        state = ctl_status(address) or {}
        if state and check(state):
            return state
        time.sleep(1.0)
    raise AssertionError(f"{what}: not seen in {timeout:.0f} s: {state}")


def start_cluster(tmp_path, first_frame: int) -> tuple[subprocess.Popen, str, str, object]:
    """Two local nodes, one looping 20-frame clip each (from ``first_frame`` of the sample), poses
    written, under a control address: (process, control address, test tag, poses file)."""
    clips = [make_clip(tmp_path / f"{name}.avi", frames=20, size=(256, 192), start=first_frame + 80 * i)
             for i, name in enumerate("ab")]
    poses = tmp_path / "p.jsonl"
    address = f"ipc://{tmp_path}/ctl"
    tag = uuid.uuid4().hex
    args = ["--local-nodes", "2", "-at", "movenet", "-m", movenet_model(), "-no_show", "--loop",
            "--poses-out", str(poses), "--control", address]
    for clip in clips:
        args += ["-i", str(clip)]
    proc = subprocess.Popen(cluster_command(*args), cwd=ROOT, env=cluster_env(tag), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, address, tag, poses


def both_nodes_running(address: str) -> dict:
    return until(address, lambda s: all(any((j.get("frames") or 0) >= 5 for j in jobs_of(s, n))
                                        for n in ("node1", "node2")), 600, "both nodes running")


def test_mode_restart_and_stop_reach_every_node(tmp_path, sample):
    proc, address, tag, poses = start_cluster(tmp_path, 100)
    try:
        state = both_nodes_running(address)
        assert all(j.get("mode") == "user" for n in ("node1", "node2") for j in jobs_of(state, n))
        switched = subprocess.run([*cluster_command()[:2], "pipeline.ctl", address, "mode", "latency", "--timeout",
                                   "30"], cwd=ROOT, capture_output=True, text=True, check=False)
        assert switched.returncode == 0, switched.stderr
        until(address, lambda s: all(j.get("mode") == "latency" for n in ("node1", "node2") for j in jobs_of(s, n))
              and all(jobs_of(s, n) for n in ("node1", "node2")), 60, "every node in Min latency mode")

        state = ctl_status(address)
        (job,) = jobs_of(state, "node1")
        (sid,) = job["sources"]
        os.kill(job["pid"], signal.SIGKILL)
        until(address, lambda s: s["sources"][str(sid)]["restarts"] == 1 and any(
            j["pid"] != job["pid"] and (j.get("frames") or 0) >= 3 for j in jobs_of(s, "node1")),
            300, "the killed pipeline restarted")

        stopped = subprocess.run([*cluster_command()[:2], "pipeline.ctl", address, "stop", "--timeout", "30"],
                                 cwd=ROOT, capture_output=True, text=True, check=False)
        assert stopped.returncode == 0, stopped.stderr
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    frames = by_source(read_poses(poses))
    assert set(frames) == {0, 1}
    for source, got in frames.items():
        assert got == list(range(len(got))), f"source {source}: frames missing or twice"
        assert len(got) >= 10
    assert "Traceback" not in err
    assert not tagged_processes(tag), "processes left behind"


def test_ctrl_c_drains_every_node(tmp_path, sample):
    """Ctrl-C (SIGINT) to the cluster driver drains every node as in the pipeline: each node's
    pipeline finishes the frames it has in flight, every frame written is written once and in
    order on both nodes, the exit status is 130, and nothing is left running."""
    proc, address, tag, poses = start_cluster(tmp_path, 300)
    try:
        both_nodes_running(address)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    frames = by_source(read_poses(poses))
    assert set(frames) == {0, 1}, "a node wrote nothing"
    for source, got in frames.items():
        assert got == list(range(len(got))), f"source {source}: frames missing or twice"
        assert len(got) >= 5
    assert "Traceback" not in err
    assert not tagged_processes(tag), "processes left behind"

"""A cluster run (two simulated Ray nodes, one looping source each) controlled while live:
``ctl mode`` reaches the pipeline of every node, a pipeline killed on a live node is restarted
where its source left off, ``ctl stop`` drains every node, and so does Ctrl-C; every frame once
and in order. A live stream (the RTSP test server) whose node is lost goes on, live, on the other.
(tests/test_cluster.py loses a whole node; Ray runs are slow, so the first test does three things
in one run.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from tests.helpers import ROOT, group_left, make_clip, movenet_model, read_poses, tagged_processes
from tests.test_cluster import by_source, cluster_command, cluster_env, ctl_status

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'posepipe[cluster]')")


def jobs_of(state: dict, node: str) -> list[dict]:
    jobs = state["nodes"][node].get("jobs")
    return [j for j in jobs.values() if j.get("code") is None] if isinstance(jobs, dict) else []


def ctl(address: str, *command: str) -> None:
    """``python -m pipeline.ctl ADDRESS COMMAND…`` as a user types it; it must succeed."""
    done = subprocess.run([*cluster_command()[:2], "pipeline.ctl", address, *command, "--timeout", "30"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def until(address: str, check, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    state: dict = {}
    while time.monotonic() < deadline:
        state = ctl_status(address) or {}
        if state and check(state):
            return state
        time.sleep(1.0)
    raise AssertionError(f"{what}: not seen in {timeout:.0f} s: {state}")


def launch_cluster(tmp_path, inputs: list[str], *extra: str) -> tuple[subprocess.Popen, str, str, object]:
    """Two local nodes reading ``inputs``, poses written, under a control address:
    (process, control address, test tag, poses file)."""
    poses = tmp_path / "p.jsonl"
    address = f"ipc://{tmp_path}/ctl"
    tag = uuid.uuid4().hex
    args = ["--local-nodes", "2", "-at", "movenet", "-m", movenet_model(), "-no_show",
            "--poses-out", str(poses), "--control", address, *extra]
    for text in inputs:
        args += ["-i", text]
    proc = subprocess.Popen(cluster_command(*args), cwd=ROOT, env=cluster_env(tag), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, address, tag, poses


def start_cluster(tmp_path, first_frame: int) -> tuple[subprocess.Popen, str, str, object]:
    """Two local nodes, one looping 20-frame clip each (from ``first_frame`` of the sample)."""
    clips = [make_clip(tmp_path / f"{name}.avi", frames=20, size=(256, 192), start=first_frame + 80 * i)
             for i, name in enumerate("ab")]
    return launch_cluster(tmp_path, [str(clip) for clip in clips], "--loop")


def both_nodes_running(address: str) -> dict:
    return until(address, lambda s: all(any((j.get("frames") or 0) >= 5 for j in jobs_of(s, n))
                                        for n in ("node1", "node2")), 600, "both nodes running")


def test_mode_restart_and_stop_reach_every_node(tmp_path, sample):
    proc, address, tag, poses = start_cluster(tmp_path, 100)
    try:
        state = both_nodes_running(address)
        assert all(j.get("mode") == "user" for n in ("node1", "node2") for j in jobs_of(state, n))
        ctl(address, "mode", "latency")
        until(address, lambda s: all(j.get("mode") == "latency" for n in ("node1", "node2") for j in jobs_of(s, n))
              and all(jobs_of(s, n) for n in ("node1", "node2")), 60, "every node in Min latency mode")

        state = ctl_status(address)
        (job,) = jobs_of(state, "node1")
        (sid,) = job["sources"]
        os.kill(job["pid"], signal.SIGKILL)
        until(address, lambda s: s["sources"][str(sid)]["restarts"] == 1 and any(
            j["pid"] != job["pid"] and (j.get("frames") or 0) >= 3 for j in jobs_of(s, "node1")),
            300, "the killed pipeline restarted")

        ctl(address, "stop")
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


def test_a_live_stream_moves_to_the_other_node_when_its_node_is_lost(tmp_path, rtsp_servers):
    """README, "A node lost": a stream goes on live on the nodes left. The node reading an RTSP
    stream loses its raylet (SIGKILL); the driver moves the stream to the other node, whose
    pipeline opens it anew and goes on numbering its frames after the last one written: the poses
    file has every frame once and in order, people in the frames written after the move, and the
    summary and the driver's report name both nodes. The lost node's pipeline, which nobody
    reads any more, stops while the run goes on ("a lost node leaves nothing running for long")."""
    server = rtsp_servers(fps=10, name="cam")
    report = tmp_path / "report.json"
    proc, address, tag, poses = launch_cluster(tmp_path, [server.url], "--telemetry-out", str(report))
    try:
        state = until(address, lambda s: s["sources"]["0"]["frames"] >= 5, 600, "the stream's poses")
        victim = state["sources"]["0"]["node"]
        (survivor,) = {"node1", "node2"} - {victim}
        (orphan,) = [j["pid"] for j in jobs_of(state, victim)]
        os.kill(state["nodes"][victim]["raylet_pid"], signal.SIGKILL)
        killed = time.monotonic()
        state = until(address, lambda s: s["sources"]["0"]["node"] == survivor and s["sources"]["0"]["moves"]
                      and s["sources"]["0"]["frames"] >= s["sources"]["0"]["moves"][0]["frame"] + 20, 600,
                      "20 frames of the stream from the other node")
        (move,) = state["sources"]["0"]["moves"]
        assert move["from"] == victim and move["to"] == survivor and move["frame"] >= 5
        assert state["nodes"][victim]["lost"] and not state["nodes"][survivor]["lost"]
        while group_left(orphan) and time.monotonic() - killed < 60:
            time.sleep(0.5)
        assert not group_left(orphan), "the lost node's pipeline ran on for a minute"
        assert proc.poll() is None, "the run ended"
        ctl(address, "stop")
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    records = read_poses(poses)
    frames = [r["frame"] for r in records]
    assert frames == list(range(len(frames))), "frames missing or twice around the move"
    after = [r for r in records if r["frame"] >= move["frame"]]
    assert len(after) >= 20
    assert sum(bool(r["poses"]) for r in after) >= len(after) // 2, "the moved stream's frames have no people"
    line = next(line for line in out.splitlines() if line.split()[:1] == ["0"])
    assert f"{victim} -> {survivor} at frame {move['frame']}" in line
    moves = json.loads(report.read_text())["sources"]["0"]["moves"]
    assert [(m["from"], m["to"]) for m in moves] == [(victim, survivor)]
    assert "Traceback" not in err
    assert not tagged_processes(tag), "processes left behind"

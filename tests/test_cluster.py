"""Past one machine: the sources spread over a (simulated) Ray cluster, poses in one file, and a
node lost mid-run without a frame lost or written twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict

import pytest

from pipeline.cluster.cli import build_parser, node_arguments
from pipeline.cluster.driver import output_template
from pipeline.cluster.placement import Node, spread, usable_nodes
from tests.helpers import ROOT, make_clip, movenet_model, read_poses, run_pipeline, tagged_processes

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'posepipe[cluster]')")


def by_source(poses: list[dict]) -> dict[int, list[int]]:
    frames: dict[int, list[int]] = defaultdict(list)
    for record in poses:
        frames[record["source"]].append(record["frame"])
    return dict(frames)


# -- placement and options, no cluster needed ----------------------------------------------------
def test_sources_spread_by_capacity():
    nodes = [Node("a", "10.0.0.1", 1), Node("b", "10.0.0.2", 3)]
    placed = spread(range(8), nodes)
    assert len(placed["a"]) == 2 and len(placed["b"]) == 6
    # sources of a lost node go to the one with the least load per capacity
    assert spread([8, 9], nodes, load={"a": 0, "b": 6}) == {"a": [8, 9]}
    assert spread([1], []) == {}


def test_nodes_with_the_posepipe_resource_are_the_only_ones_used():
    raw = [{"NodeID": "h", "Alive": True, "NodeManagerAddress": "h", "Resources": {"CPU": 0}},
           {"NodeID": "x", "Alive": True, "NodeManagerAddress": "x", "Resources": {"CPU": 8}},
           {"NodeID": "y", "Alive": True, "NodeManagerAddress": "y", "Resources": {"CPU": 4, "posepipe": 2}},
           {"NodeID": "z", "Alive": False, "NodeManagerAddress": "z", "Resources": {"CPU": 4, "posepipe": 2}}]
    assert usable_nodes(raw) == [Node("y", "y", 2.0)]
    assert [n.node_id for n in usable_nodes(raw[:2])] == ["x"]  # no resource anywhere: CPUs, head left out


def test_resumed_sources_write_their_annotated_output_beside_the_first_part():
    assert output_template("/o", 0, True) == "/o"
    assert output_template("/o", 1, True) == "/o/resumed1"
    assert output_template("/o/clip_{source}.avi", 2, True) == "/o/clip_{source}-resumed2.avi"
    assert output_template("/o/clip.mp4", 1, False) == "/o/clip-resumed1.mp4"


def test_nodes_get_the_pipeline_options_but_the_drivers_own():
    parser = build_parser()
    ns = parser.parse_args(["-at", "movenet", "-i", "a", "-i", "b", "-o", "out", "--poses-out", "p.jsonl",
                            "--local-nodes", "2", "-t", "0.3", "--loop", "--control", "ipc:///tmp/x"])
    argv = node_arguments(parser, ns)
    assert argv[0] == "-no_show"
    assert "-at" in argv and "movenet" in argv and "--loop" in argv and "0.3" in argv
    for own in ("-i", "-o", "--poses-out", "--local-nodes", "--control", "a", "out"):
        assert own not in argv


# -- the pipeline's own options for a node of a larger run ----------------------------------------
def test_start_at_and_source_ids_number_the_poses_as_the_whole_run_does(tmp_path, sample):
    clip = make_clip(tmp_path / "clip.avi", frames=12, size=(256, 192))
    poses = tmp_path / "p.jsonl"
    res = run_pipeline("-i", str(clip), "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--source-ids", "7,3", "--start-at", "3=5", "--poses-out", str(poses),
                       "-o", str(tmp_path / "out_{source}.avi"))
    assert res.code == 0, res.stderr
    assert by_source(read_poses(poses)) == {7: list(range(12)), 3: list(range(5, 12))}
    assert (tmp_path / "out_7.avi").exists() and (tmp_path / "out_3.avi").exists()


@pytest.mark.parametrize("args, words", [(("--start-at", "1"), "SOURCE=FRAME"),
                                         (("--start-at", "4=2"), "no source 4"),
                                         (("--source-ids", "1,1"), "distinct")])
def test_bad_node_options_are_one_line_errors(tmp_path, sample, args, words):
    res = run_pipeline("-i", str(sample), "-at", "movenet", "-m", movenet_model(), "-no_show", *args)
    assert res.code == 2
    assert words in res.stderr and "Traceback" not in res.stderr


# -- the cluster -----------------------------------------------------------------------------------
def cluster_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cluster", *args]


def cluster_env(tag: str) -> dict[str, str]:
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    return env


@pytest.mark.parametrize("args, words", [((), "--ray-address"), (("--local-nodes", "0"), "--local-nodes"),
                                         (("--local-nodes", "2", "-i", "missing.avi"), "missing.avi")])
def test_cluster_usage_errors_come_before_ray_starts(tmp_path, sample, args, words):
    tag = uuid.uuid4().hex
    done = subprocess.run(cluster_command("-at", "movenet", "-m", movenet_model(), "-no_show", "-i", str(sample),
                                          *args), cwd=ROOT, env=cluster_env(tag), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert words in done.stderr and "Traceback" not in done.stderr
    assert not tagged_processes(tag)


def ctl_status(address: str) -> dict | None:
    done = subprocess.run([sys.executable, "-m", "pipeline.ctl", address, "status", "--timeout", "10"], cwd=ROOT,
                          capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else None


def test_a_lost_node_loses_no_frame(tmp_path, sample):
    """The issue's command on five clips and two simulated nodes: one node's raylet is SIGKILLed
    mid-run; its sources go on on the other node after the last frame written; every source is
    complete and in order in the one poses file, exit 0, the summary says what happened, and
    nothing is left running."""
    frames = 300  # long enough that node1 is lost mid-run: 90 finished before the loss was seen on a fast host
    clips = [make_clip(tmp_path / f"{name}.avi", frames=frames, size=(256, 192), start=100 + 60 * i)
             for i, name in enumerate("abcde")]
    poses = tmp_path / "p.jsonl"
    address = f"ipc://{tmp_path}/ctl"
    tag = uuid.uuid4().hex
    args = ["--local-nodes", "2", "-at", "movenet", "-m", movenet_model(), "-no_show"]
    for clip in clips:
        args += ["-i", str(clip)]
    proc = subprocess.Popen(cluster_command(*args, "--poses-out", str(poses), "--control", address,
                                            "--telemetry-out", str(tmp_path / "report.json")),
                            cwd=ROOT, env=cluster_env(tag), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = None
        deadline = time.monotonic() + 400
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(1.0)
            state = ctl_status(address)
            if not state:
                continue
            node = state["nodes"]["node1"]
            written = [state["sources"][str(sid)]["frames"] for sid in node["sources"]]
            if written and min(written) >= 5:  # mid-run: every source of node1 has started
                assert max(written) < frames, "the run went too fast to lose a node in the middle"
                assert set(state["sources"]) == {str(i) for i in range(5)}
                assert node["jobs"] and node["alive"]
                victim = node["raylet_pid"]
                moved = node["sources"]
        assert victim, "node1 never got going"
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert by_source(read_poses(poses)) == {i: list(range(frames)) for i in range(5)}
    assert "node1" in out and "lost" in out
    for sid in moved:
        line = next(line for line in out.splitlines() if line.split()[:1] == [str(sid)])
        assert "node1 -> node2 at frame" in line and "ended" in line
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["nodes"]["node1"]["lost"] and not report["nodes"]["node2"]["lost"]
    assert all(report["sources"][str(sid)]["moves"][0]["to"] == "node2" for sid in moved)
    assert not tagged_processes(tag), "processes left behind"
    for node in report["nodes"].values():  # the lost node's folder too, on this one machine
        assert not os.path.exists(node["info"]["folder"])

"""--publish: the address, the message and its schema, and whole runs against a real mosquitto
on 127.0.0.1, including one whose broker is stopped and started again mid-run."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from publishing import SCHEMA_PATH, check_options, frame_message, parse_target
from tests.helpers import ROOT, make_clip, movenet_model, run_pipeline, tagged_processes
from tests.mqtt_broker import Broker, Subscriber, free_port, make_certificates

TOPIC = "posepipe/test"


@pytest.fixture(scope="module")
def schema():
    jsonschema = pytest.importorskip("jsonschema")
    document = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=24)


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


# -- the address ------------------------------------------------------------------------------

def test_addresses():
    t = parse_target("mqtt://broker.local/site/cam")
    assert (t.host, t.port, t.topic, t.tls, t.username) == ("broker.local", 1883, "site/cam", False, None)
    assert t.topic_for(2) == "site/cam/2"
    t = parse_target("mqtts://me:p%40ss@10.0.0.5:8884/poses/")
    assert (t.host, t.port, t.topic, t.tls, t.username, t.password) == ("10.0.0.5", 8884, "poses", True, "me", "p@ss")
    assert "p@ss" not in t.display() and "me@" in t.display()
    assert parse_target("mqtts://[::1]/x").port == 8883


@pytest.mark.parametrize("url, reason", [
    ("http://host/topic", "mqtt:// or mqtts://"), ("mqtt:///topic", "no broker host"), ("mqtt://host", "no topic"),
    ("mqtt://host/", "no topic"), ("mqtt://host/a/+/b", "wildcards"), ("mqtt://host/a/#", "wildcards"),
    ("mqtt://host:99999/t", "not an mqtt:// address"), ("mqtt://host:0/t", "port 0")])
def test_bad_addresses(url, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_target(url)


def test_option_combinations(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert check_options(None, 0, None) is None
    assert check_options("mqtts://h/t", 2, str(ca)).tls
    for args, reason in [((None, 0, str(ca)), "needs --publish"), (("mqtt://h/t", 0, str(ca)), "mqtts://"),
                         (("mqtts://h/t", 0, str(tmp_path / "nope.pem")), "not a readable file"),
                         (("mqtt://h/t", 3, None), "0, 1 or 2")]:
        with pytest.raises(ValueError, match=re.escape(reason)):
            check_options(*args)


@pytest.mark.parametrize("args, reason", [
    (["--publish", "mqtt://127.0.0.1"], "no topic"),
    (["--publish", "mqtt://127.0.0.1/t", "--publish-ca", "/nonexistent.pem"], "--publish-ca is for TLS"),
    (["--publish", "ftp://127.0.0.1/t"], "mqtt:// or mqtts://"),
])
def test_bad_publish_options_are_one_line_errors(clip, args, reason):
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", *args)
    assert res.code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and reason in lines[0], res.stderr


# -- the message ------------------------------------------------------------------------------

def test_messages_fit_the_schema(schema):
    kp = np.random.default_rng(0).uniform(0, 500, (3, 17, 3)).astype(np.float32)
    msg = json.loads(frame_message(1, 7, time.time(), kp, np.array([0.5, 0.4, 0.3], np.float32),
                                   np.array([4, 9, -1])))
    schema.validate(msg)
    assert [p["id"] for p in msg["poses"]] == [4, 9, -1]
    schema.validate(json.loads(frame_message(0, 0, time.time(), np.zeros((0, 17, 3)), np.zeros(0), np.zeros(0))))
    # the schema does catch a message that lacks what a subscriber relies on
    for broken in ({k: v for k, v in msg.items() if k != "time"},
                   {**msg, "poses": [{k: v for k, v in msg["poses"][0].items() if k != "id"}]},
                   {**msg, "poses": [{**msg["poses"][0], "keypoints": msg["poses"][0]["keypoints"][:16]}]}):
        assert not schema.is_valid(broken)


# -- whole runs against a real broker -----------------------------------------------------------

def check_messages(messages, schema, source=0):
    for topic, msg, _ in messages:
        schema.validate(msg)
        assert topic == f"{TOPIC}/{source}" and msg["source"] == source
        assert abs(msg["time"] - time.time()) < 600  # epoch seconds of capture, not a monotonic clock
        assert all(p["id"] >= 1 for p in msg["poses"])
    frames = [m["frame"] for _, m, _ in messages]
    assert frames == sorted(frames) and len(set(frames)) == len(frames)


def summary(stdout):
    found = re.search(r"Published: (\d+) messages to (\S+), (\d+) dropped", stdout)
    assert found, stdout
    return int(found.group(1)), found.group(2), int(found.group(3))


def test_every_frame_is_published_with_ids(clip, broker, schema, tmp_path):
    """QoS 1 with the broker up all along: one message per frame, in order, matching --poses-out."""
    sub = Subscriber(broker.port, f"{TOPIC}/#")
    poses = tmp_path / "poses.jsonl"
    try:
        res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--publish-qos", "1",
                           "--publish", f"mqtt://127.0.0.1:{broker.port}/{TOPIC}", "--poses-out", str(poses))
        assert res.code == 0, res.stderr
        got = sub.wait_for(24, timeout=10)
    finally:
        sub.close()
    sent, to, dropped = summary(res.stdout)
    assert to == f"mqtt://127.0.0.1:{broker.port}/{TOPIC}" and sent + dropped == 24 and sent >= 23
    assert [m["frame"] for _, m, _ in got] == list(range(24))  # every frame, in order
    check_messages(got, schema)
    records = [json.loads(line) for line in poses.read_text().splitlines()]
    assert [[p["id"] for p in m["poses"]] for _, m, _ in got] == [[p["id"] for p in r["poses"]] for r in records]
    assert [[p["keypoints"] for p in m["poses"]] for _, m, _ in got] == \
        [[p["keypoints"] for p in r["poses"]] for r in records]


def test_no_broker_does_not_hold_the_run_up(clip):
    """Nothing listens on the port: the run goes at its own pace, exits 0, counts every drop."""
    port = free_port()
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--publish", f"mqtt://127.0.0.1:{port}/{TOPIC}")
    assert res.code == 0, res.stderr
    assert summary(res.stdout) == (0, f"mqtt://127.0.0.1:{port}/{TOPIC}", 24)
    assert not tagged_processes(res.tag)


@pytest.mark.parametrize("sources", [1, 2])
def test_broker_restarted_mid_run(clip, broker, schema, tmp_path, sources):
    """The broker stops mid-run and starts again on the same port: every source's messages
    arrive before and after, the run is never held up (frames published while the broker is
    down are dropped and counted), and it exits 0."""
    sub = Subscriber(broker.port, f"{TOPIC}/#")
    control = f"ipc://{tmp_path}/ctl"
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    inputs = [arg for _ in range(sources) for arg in ("-i", str(clip))]
    run = subprocess.Popen([sys.executable, "-m", "pipeline", *inputs, "--loop", "-at", "movenet", "-m",
                            movenet_model(), "-no_show", "--control", control, "--publish",
                            f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def per_source(messages):
        return {s: [m for m in messages if m[1]["source"] == s] for s in range(sources)}

    try:
        before = per_source(sub.wait_for(10 * sources + 5, timeout=180))
        assert all(len(m) >= 5 for m in before.values()), "not every source's messages came before the restart"
        broker.stop()
        stopped = time.monotonic()
        time.sleep(2.0)
        broker.start()
        after = per_source(sub.wait_for(10 * sources + 5, timeout=90, after=stopped))
        assert all(len(m) >= 5 for m in after.values()), "not every source's messages came after the restart"
        subprocess.run([sys.executable, "-m", "pipeline.ctl", control, "stop"], cwd=ROOT, env=env,
                       capture_output=True, timeout=30)
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        sub.close()
    assert run.returncode == 0, err
    for source in range(sources):
        check_messages(before[source], schema, source)
        check_messages(after[source], schema, source)
        assert after[source][0][1]["frame"] > before[source][-1][1]["frame"]
    sent, _, dropped = summary(out)
    assert sent >= sum(map(len, before.values())) + sum(map(len, after.values())) and dropped >= 1
    assert "connection lost" in err and "connected again" in err
    assert not tagged_processes(tag)


def test_tls_with_a_ca_file(clip, schema, tmp_path):
    """mqtts:// checks the broker's certificate: with --publish-ca naming the CA that signed it,
    every frame arrives; with the system's CAs (which never signed it) none is sent, and the run
    still ends normally."""
    certs = make_certificates(tmp_path)
    broker = Broker(tmp_path, tls=certs)
    broker.start()
    try:
        sub = Subscriber(broker.port, f"{TOPIC}/#", ca_file=certs["ca"])
        url = f"mqtts://127.0.0.1:{broker.port}/{TOPIC}"
        try:
            res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--publish-qos",
                               "1", "--publish", url, "--publish-ca", certs["ca"])
            assert res.code == 0, res.stderr
            got = sub.wait_for(24, timeout=10)
        finally:
            sub.close()
        assert [m["frame"] for _, m, _ in got] == list(range(24))
        sent, _, dropped = summary(res.stdout)
        assert sent + dropped == 24 and sent >= 23  # the last acknowledgement may come after the grace at exit
        check_messages(got, schema)
        res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--publish", url)
        assert res.code == 0, res.stderr
        assert summary(res.stdout) == (0, url, 24)
    finally:
        broker.stop()


def test_status_line_shows_the_broker_and_the_drops():
    from pipeline.telemetry.textreport import status_line
    snap = {"mode": "user", "fps": 30.0, "latency_ms": {"p50": 40.0, "p95": 50.0}, "dropped": 0,
            "publish": {"connected": False, "dropped": 37, "sent": 100, "pending": 0, "to": "mqtt://h:1883/t"}}
    for progress in (None, (50, 100)):
        for width in (120, 80, 60):
            line = status_line(snap, progress, 10.0, width=width)
            assert len(line) == width and "mqtt down drops 37" in line, line
    assert "mqtt" not in status_line({**snap, "publish": None}, None, None, width=80)

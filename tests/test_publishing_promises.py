"""What the README promises of MQTT publishing, against a real mosquitto on 127.0.0.1: user
names and passwords, QoS 2 end to end, at most 100 messages on their way (the rest dropped and
counted, never queued without bound), and reconnection with back-off (0.5 s doubling to 8 s)."""

from __future__ import annotations

import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from typing import Any

import pytest

from pipeline.outputs.publish import parse_target
from publishing.mqtt import MqttPublisher
from tests.helpers import make_clip, movenet_model, run_pipeline
from tests.mqtt_broker import Broker, free_port

TOPIC = "posepipe/promise"


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=12)


@pytest.fixture
def locked_broker(tmp_path):
    """A broker that lets in user "cam" with password "s3cret:/@x" only."""
    broker = Broker(tmp_path)
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "cam", "s3cret:/@x"], check=True,
                   capture_output=True)
    broker.config.write_text(broker.config.read_text().replace(
        "allow_anonymous true", f"allow_anonymous false\npassword_file {passwords}"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path)
    b.start()
    yield b
    if b.process is not None:
        os.kill(b.process.pid, signal.SIGCONT)
    b.stop()


class QosSubscriber:
    """Subscribes at QoS 2 with credentials and records each message's topic and delivered QoS."""

    def __init__(self, port: int, user: str, password: str) -> None:
        import paho.mqtt.client as mqtt
        self.got: list[tuple[str, int]] = []
        self.ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"qos-sub-{port}")
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"{TOPIC}/#", qos=2)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.ready.set()
        self.client.on_message = lambda c, u, msg: self.got.append((msg.topic, msg.qos))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.ready.wait(10), "the test subscriber could not subscribe"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_a_run_publishes_with_a_password_at_qos_2(clip, locked_broker):
    """The credentials in the URL get the run in; every frame arrives delivered at QoS 2 (a
    subscriber at QoS 2 receives at the publisher's QoS: 1 would show as 1); the password is
    never printed."""
    sub = QosSubscriber(locked_broker.port, "cam", "s3cret:/@x")
    try:
        url = f"mqtt://cam:s3cret%3A%2F%40x@127.0.0.1:{locked_broker.port}/{TOPIC}"
        res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show", "--publish", url,
                           "--publish-qos", "2")
        assert res.code == 0, res.stderr
        assert wait(lambda: len(sub.got) >= 12, 10)
    finally:
        sub.close()
    assert sub.got == [(f"{TOPIC}/0", 2)] * 12
    assert re.search(r"Published: 12 messages to \S+, 0 dropped", res.stdout), res.stdout
    assert "s3cret" not in res.stdout + res.stderr


def test_a_wrong_password_is_refused_and_counted_not_fatal(locked_broker):
    publisher = MqttPublisher(parse_target(f"mqtt://cam:wrong@127.0.0.1:{locked_broker.port}/{TOPIC}"), qos=1)
    try:
        assert wait(lambda: any("refused" in e for e in publisher.events()), 10), "no refusal reported"
        assert not publisher.figures()["connected"]
        for _ in range(5):
            publisher.publish(0, b"{}")
    finally:
        publisher.close(timeout=0.5)
    assert publisher.figures()["sent"] == 0 and publisher.figures()["dropped"] == 5


def test_at_most_100_messages_on_their_way(broker):
    """The broker stops answering (SIGSTOP: the connection stays open, nothing is acknowledged):
    100 messages wait, the next 50 are dropped and counted at once; when it answers again the
    100 go out."""
    publisher = MqttPublisher(parse_target(f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"), qos=1)
    try:
        assert wait(lambda: publisher.figures()["connected"], 10)
        os.kill(broker.process.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        handed = [publisher.publish(0, b'{"n": %d}' % k) for k in range(150)]
        took = time.monotonic() - t0
        figures = publisher.figures()
        assert handed == [True] * 100 + [False] * 50
        assert (figures["pending"], figures["dropped"], figures["sent"]) == (100, 50, 0), figures
        assert took < 5.0, f"publishing to a silent broker held the caller {took:.1f} s"
        os.kill(broker.process.pid, signal.SIGCONT)
        assert wait(lambda: publisher.figures()["sent"] == 100, 30), publisher.figures()
    finally:
        os.kill(broker.process.pid, signal.SIGCONT)
        publisher.close(timeout=1.0)
    assert publisher.figures()["dropped"] == 50


def test_reconnection_backs_off(tmp_path):
    """A 'broker' that accepts each connection and closes it at once: the publisher comes back
    after 0.5, 1, 2, 4 s..., so about 5 attempts in 9 s (at most 8 allowed), not hundreds."""
    server = socket.socket()
    server.bind(("127.0.0.1", free_port()))
    server.listen(16)
    server.settimeout(0.2)
    attempts: list[float] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            attempts.append(time.monotonic())
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    publisher: Any = MqttPublisher(parse_target(f"mqtt://127.0.0.1:{server.getsockname()[1]}/{TOPIC}"), qos=1)
    try:
        time.sleep(9.0)
    finally:
        publisher.close(timeout=0.1)
        stop.set()
        thread.join(5)
        server.close()
    assert 3 <= len(attempts) <= 8, f"{len(attempts)} connection attempts in 9 s"
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[-1] >= 1.5, f"the gaps between attempts do not grow: {gaps}"

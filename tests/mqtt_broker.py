"""A real mosquitto broker for the tests, on 127.0.0.1 and a free port, that can be stopped and
started again on the same port; and a subscriber that records what arrives."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")
                                               if Path(p).exists()), None)
    if found is None:
        pytest.skip("mosquitto is not installed (Debian package mosquitto; `make test` installs it)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, folder: Path, tls: dict[str, str] | None = None) -> None:
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        # as root, mosquitto would become user "mosquitto", which cannot read the test's files
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false",
                 "log_dest stderr", f"user {getpass.getuser()}"]
        if tls:
            lines += [f"cafile {tls['ca']}", f"certfile {tls['cert']}", f"keyfile {tls['key']}"]
        self.config.write_text("\n".join(lines) + "\n")
        self.log = folder / "mosquitto.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log, "ab")
        self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-500:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def make_certificates(folder: Path) -> dict[str, str]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    f = {name: str(folder / name) for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "san")}
    Path(f["san"]).write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    for cmd in (["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f["ca.key"], "-out", f["ca.pem"],
                 "-days", "2", "-subj", "/CN=posepipe test CA"],
                ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", f["server.key"], "-out", f["server.csr"],
                 "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", f["server.csr"], "-CA", f["ca.pem"], "-CAkey", f["ca.key"],
                 "-CAcreateserial", "-out", f["server.pem"], "-days", "2", "-extfile", f["san"]]):
        subprocess.run(["openssl", *cmd], check=True, capture_output=True)
    return {"ca": f["ca.pem"], "cert": f["server.pem"], "key": f["server.key"]}


class Subscriber:
    """Subscribes to ``topic`` (again after every reconnection) and keeps every message."""

    def __init__(self, port: int, topic: str, ca_file: str | None = None) -> None:
        import paho.mqtt.client as mqtt
        self.topic = topic
        self.messages: list[tuple[str, dict[str, Any], float]] = []  # (topic, message, arrival)
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{port}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self.subscribed.set()
        self.client.on_message = self._on_message
        if ca_file:
            self.client.tls_set(ca_certs=ca_file)
        self.client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload), time.monotonic()))

    def received(self) -> list[tuple[str, dict[str, Any], float]]:
        with self.lock:
            return list(self.messages)

    def wait_for(self, count: int, timeout: float, after: float = 0.0) -> list[tuple[str, dict[str, Any], float]]:
        """Wait until ``count`` messages arrived after monotonic time ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [m for m in self.received() if m[2] > after]
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return [m for m in self.received() if m[2] > after]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

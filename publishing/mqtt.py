"""The MQTT publisher: paho-mqtt's network thread inside the process that calls it.

The caller never waits on the broker. :meth:`MqttPublisher.publish` hands a message to paho and
returns; paho's own thread connects, writes and reconnects (back-off from 0.5 s doubling to 8 s).
At most ``max_pending`` messages are on their way at once (written to no socket yet, or, at
QoS 1 and 2, not yet acknowledged); a message that finds that many waiting is dropped and
counted, and so is every QoS 0 message while the broker is unreachable (QoS 1 and 2 messages
wait in the bounded queue and go out after the reconnection).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from pipeline.outputs.publish import MqttTarget

RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 8.0
CONNECT_TIMEOUT_S = 3.0


class MqttPublisher:
    def __init__(self, target: MqttTarget, qos: int = 0, ca_file: str | None = None, max_pending: int = 100) -> None:
        self.target = target
        self.qos = qos
        self.max_pending = max_pending
        self.sent = 0  # written (QoS 0) or acknowledged (QoS 1, 2)
        self.dropped = 0
        self.connected = False
        self.connections = 0
        self._lock = threading.Lock()  # between the caller and paho's thread; never held around paho calls
        self._pending: set[int] = set()  # message ids on their way
        self._early: set[int] = set()  # message ids paho finished before publish() returned
        self._events: list[str] = []
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"posepipe-{os.getpid()}-{uuid.uuid4().hex[:6]}")
        if target.username:
            client.username_pw_set(target.username, target.password)
        if target.tls:
            client.tls_set(ca_certs=ca_file)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)  # type: ignore[arg-type]
        client.connect_timeout = CONNECT_TIMEOUT_S
        client.max_queued_messages_set(max_pending)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        self.client = client
        client.connect_async(target.host, target.port, keepalive=30)
        client.loop_start()

    # -- paho's thread -----------------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            if reason.is_failure:
                self._events.append(f"the broker refused the connection: {reason}")
                return
            self.connected = True
            self.connections += 1
            self._events.append("connected" if self.connections == 1 else "connected again")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        with self._lock:
            if self.connected:
                self._events.append(f"connection lost ({reason}); reconnecting")
            self.connected = False
            if self.qos == 0:  # paho throws away the QoS 0 messages it has not written
                self.dropped += len(self._pending)
                self._pending.clear()

    def _on_publish(self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        with self._lock:
            if mid in self._pending:
                self._pending.discard(mid)
                self.sent += 1
            else:
                self._early.add(mid)

    # -- the caller's side -------------------------------------------------------------------
    def publish(self, source: int, payload: bytes) -> bool:
        """Hand one message to paho, or drop it (counted); never blocks. True if handed over."""
        with self._lock:
            full = len(self._pending) >= self.max_pending
            offline = not self.connected and self.qos == 0
            if full or offline:
                self.dropped += 1
                return False
        info = self.client.publish(self.target.topic_for(source), payload, qos=self.qos)
        queued = info.rc == mqtt.MQTT_ERR_SUCCESS or (self.qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN)
        with self._lock:
            if not queued:
                self.dropped += 1
                self._early.discard(info.mid)
            elif info.mid in self._early:
                self._early.discard(info.mid)
                self.sent += 1
            else:
                self._pending.add(info.mid)
        return queued

    def events(self) -> list[str]:
        """What happened to the connection since the last call (for the log)."""
        with self._lock:
            events, self._events = self._events, []
        return events

    def figures(self) -> dict[str, Any]:
        with self._lock:
            return {"to": self.target.display(), "sent": self.sent, "dropped": self.dropped,
                    "pending": len(self._pending), "connected": self.connected}

    def close(self, timeout: float = 3.0) -> None:
        """Give the messages on their way up to ``timeout`` seconds, count the rest as dropped,
        disconnect and stop paho's thread (never waiting on it for more than a few seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending or not self.connected:
                    break
            time.sleep(0.01)
        with self._lock:
            self.dropped += len(self._pending)
            self._pending.clear()
        self.client.disconnect()
        stopper = threading.Thread(target=self.client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(CONNECT_TIMEOUT_S + 1.0)


def open_publisher(url: str | None, qos: int = 0, ca_file: str | None = None) -> MqttPublisher | None:
    """The publisher ``--publish`` asks for, or None."""
    from pipeline.outputs.publish import parse_target
    return MqttPublisher(parse_target(url), qos, ca_file) if url else None

"""Where ``--publish`` sends: ``mqtt://[user:pass@]HOST[:PORT]/TOPIC`` or ``mqtts://…`` (TLS)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
MQTT_STRING_MAX = 65535  # bytes of UTF-8 in any MQTT string: topic, user name, password
SOURCE_SUFFIX_MAX = len("/2147483647")  # what the topic gets per source (ids up to 2^31-1)


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    topic: str  # messages go to ``topic/<source>``
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def topic_for(self, source: int) -> str:
        return f"{self.topic}/{source}"

    def display(self) -> str:
        """The address without the password, for logs."""
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}/{self.topic}"


def parse_target(url: str) -> MqttTarget:
    """The target named by ``url``; ValueError with a one-line reason if it names none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not an mqtt:// address ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"{url!r}: the address must start with mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"{url!r}: no broker host")
    topic = parts.path.lstrip("/")
    if not topic:
        raise ValueError(f"{url!r}: no topic (mqtt://HOST[:PORT]/TOPIC)")
    if any(c in topic for c in "+\0") or "#" in url or "?" in url:
        raise ValueError(f"{url!r}: a topic to publish on has no wildcards (+, #), query or fragment")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in topic):
        raise ValueError("--publish: the topic holds control characters, which MQTT topics must not")
    try:
        size = len(topic.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError("--publish: the topic is not valid UTF-8") from None
    if size + SOURCE_SUFFIX_MAX > MQTT_STRING_MAX:
        raise ValueError(f"--publish: the topic is {size} bytes; MQTT allows {MQTT_STRING_MAX} with the "
                         f"per-source suffix (at most {MQTT_STRING_MAX - SOURCE_SUFFIX_MAX})")
    for what, value in (("user name", parts.username), ("password", parts.password)):
        if value is not None and len(unquote(value).encode("utf-8", "surrogatepass")) > MQTT_STRING_MAX:
            raise ValueError(f"--publish: the {what} is longer than MQTT allows ({MQTT_STRING_MAX} bytes)")
    if port == 0:
        raise ValueError(f"{url!r}: port 0")
    return MqttTarget(host=parts.hostname, port=port or DEFAULT_PORTS[scheme], topic=topic.rstrip("/"),
                      tls=scheme == "mqtts", username=unquote(parts.username) if parts.username else None,
                      password=unquote(parts.password) if parts.password is not None else None)


def check_options(url: str | None, qos: int, ca_file: str | None) -> MqttTarget | None:
    """Validate ``--publish``, ``--publish-qos`` and ``--publish-ca`` together (ValueError)."""
    if qos not in (0, 1, 2):
        raise ValueError(f"--publish-qos must be 0, 1 or 2 (got {qos})")
    if url is None:
        if ca_file:
            raise ValueError("--publish-ca needs --publish mqtts://…")
        return None
    target = parse_target(url)
    if ca_file:
        if not target.tls:
            raise ValueError("--publish-ca is for TLS: use an mqtts:// address")
        if not os.path.isfile(ca_file) or not os.access(ca_file, os.R_OK):
            raise ValueError(f"--publish-ca {ca_file}: not a readable file")
    return target

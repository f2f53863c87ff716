"""TCP servers on 127.0.0.1 that a camera URL may point at and that never serve a stream: one
that accepts and never says a word (a frozen camera), one that answers with garbage, and a port
where nothing listens (refused). Each runs on a thread of the test process and closes every
connection when stopped."""

from __future__ import annotations

import os
import socket
import threading


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self, path: str = "cam") -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:  # a timeout too
                continue
            self.accepted += 1
            self.conns.append(conn)
            self.on_connect(conn)

    def on_connect(self, conn: socket.socket) -> None:
        pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.conns:
            conn.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SilentServer(_Server):
    """Accepts every connection and never sends a byte."""


class GarbageServer(_Server):
    """Answers every connection with random bytes, then closes it."""

    def on_connect(self, conn: socket.socket) -> None:
        try:
            conn.sendall(os.urandom(4096))
        except OSError:
            pass
        conn.close()

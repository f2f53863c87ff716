"""The HTTP side of ``--http``: routes, checks and the server.

Standard library ``ThreadingHTTPServer``: one thread per connection, which is what long-lived
MJPEG and picture streams want (each viewer's thread sleeps between pictures; JPEG encoding and
socket writes release the GIL). It needs no dependency on the pipeline's hosts, and
``scripts/bench_http.py`` shows it keeps up with 4 viewers of 8 sources. Connections are capped
(``MAX_CLIENTS``); an idle one is dropped after ``IDLE_S``.

Safety: without a token the server answers only requests whose ``Host`` is a loopback name (a
web page elsewhere cannot reach it through DNS rebinding); with one, every request carries
``Authorization: Bearer TOKEN`` (or ``?token=TOKEN``, for a browser's first visit). Requests that
change the run are ``POST``/``DELETE`` with a JSON body, never a plain form or a ``GET``, and are
refused when their ``Origin`` is another site. Bad requests get a 4xx and one JSON line; the
hostile inputs ``ctl add`` refuses are refused by the same controller code.
"""

from __future__ import annotations

import hmac
import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pipeline.config import MODES
from pipeline.outputs.http import HttpAddress, is_loopback

from .control import Controller, NoAnswer
from .frames import Encoded, Pictures
from .metrics import exposition

MAX_CLIENTS = 64
IDLE_S = 30.0
MAX_BODY = 64 * 1024
MAX_SOURCE_ID = 10**9
BOUNDARY = "posepipe-frame"
PAGE = (Path(__file__).with_name("page.html")).read_bytes()
_STREAM = re.compile(r"^/stream/(\d{1,9})\.mjpg$")
_FRAME = re.compile(r"^/frame/(\d{1,9})\.jpg$")
_SOURCE = re.compile(r"^/api/sources/([^/]{1,64})$")
ENDED = ("ended", "removed", "failed", "done")


class App:
    """What every request handler shares."""

    def __init__(self, controller: Controller, pictures: Pictures | None, token: str, fps: float) -> None:
        self.controller = controller
        self.pictures = pictures
        self.token = token
        self.fps = fps
        self.stopping = threading.Event()
        self.requests = 0
        self.bytes_out = 0

    def live_sources(self) -> list[int]:
        state = self.controller.cached_status() or {}
        return sorted(int(sid) for sid, src in state.get("sources", {}).items()
                      if sid.isdigit() and str(src.get("state")) not in ENDED)


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"
    timeout = IDLE_S
    server_version = "posepipe"
    sys_version = ""

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def app(self) -> App:
        return self.server.app

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the run's stderr is for the run; requests are counted, not logged

    def send_body(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.app.bytes_out += len(body)

    def send_json(self, code: int, obj: Any) -> None:
        self.send_body(code, json.dumps(obj, sort_keys=True).encode() + b"\n", "application/json")

    def fail(self, code: int, message: str) -> None:
        self.send_json(code, {"ok": False, "error": message})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's errors (bad request lines, unknown methods) as one JSON line too."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # not a request line at all: answer as HTTP/1.x anyway
            self.request_version = "HTTP/1.0"
        try:
            self.fail(code, message or self.responses.get(code, ("error",))[0])
        except OSError:
            pass

    # -- checks ------------------------------------------------------------------------------
    def allowed(self) -> bool:
        """Token, Host and Origin checks; answers the request itself when it fails them."""
        url = urlsplit(self.path)
        if self.app.token:
            given = ""
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                given = auth[len("Bearer "):].strip()
            else:
                given = (parse_qs(url.query).get("token") or [""])[0]
            if not hmac.compare_digest(given.encode(), self.app.token.encode()):
                self.send_body(401, b'{"ok": false, "error": "a bearer token is needed"}\n', "application/json",
                               {"WWW-Authenticate": 'Bearer realm="posepipe"'})
                return False
        else:
            host = _host_name(self.headers.get("Host", ""))
            if host is None or not is_loopback(host):
                self.fail(403, "this server answers loopback names only (Host header); serve on another interface "
                               "with --http HOST:PORT and --http-token-file")
                return False
        if self.command in ("POST", "DELETE"):
            origin = self.headers.get("Origin")
            if origin and origin != "null" and urlsplit(origin).netloc != self.headers.get("Host", ""):
                self.fail(403, "cross-site request refused")
                return False
        return True

    def read_json(self) -> dict[str, Any] | None:
        """The request's JSON object body, or None after answering 4xx."""
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            self.fail(415, "send a JSON body (Content-Type: application/json)")
            return None
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.fail(411, "Content-Length needed")
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True
            self.fail(413, f"a body of at most {MAX_BODY} bytes")
            return None
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.fail(400, "the body is not JSON")
            return None
        if not isinstance(body, dict):
            self.fail(400, "the body must be a JSON object")
            return None
        return body

    # -- methods -----------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.app.requests += 1
        if not self.allowed():
            return
        path = urlsplit(self.path).path
        try:
            if path in ("/", "/index.html"):
                self.send_body(200, PAGE, "text/html; charset=utf-8",
                               {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                                           "style-src 'unsafe-inline'; script-src 'unsafe-inline'"})
            elif path == "/api/status":
                self.send_json(200, self.app.controller.status())
            elif path == "/metrics":
                state = self.app.controller.ask("metrics").state
                self.send_body(200, exposition(state), "text/plain; version=0.0.4; charset=utf-8")
            elif path == "/healthz":
                self.health()
            elif self.app.pictures is None and (path.startswith(("/stream/", "/frame/"))):
                self.fail(404, "no pictures here: each node's pipeline serves its own (--http on the node)")
            elif path == "/stream/all":
                self.stream_all()
            elif (m := _STREAM.match(path)) is not None:
                self.mjpeg(int(m.group(1)))
            elif (m := _FRAME.match(path)) is not None:
                self.one_picture(int(m.group(1)))
            else:
                self.fail(404, f"no such page: {path[:80]}")
        except NoAnswer as exc:
            self.fail(503, str(exc))

    def do_HEAD(self) -> None:
        if urlsplit(self.path).path.startswith("/stream/"):
            self.app.requests += 1
            if self.allowed():
                self.send_body(200, b"", "application/octet-stream")  # the headers; streams have no length
            return
        self.do_GET()

    def do_POST(self) -> None:
        self.app.requests += 1
        if not self.allowed():
            return
        path = urlsplit(self.path).path
        if path not in ("/api/sources", "/api/mode"):
            self.fail(404 if not path.startswith("/api/sources/") else 405, f"cannot POST to {path[:80]}")
            return
        body = self.read_json()
        if body is None:
            return
        try:
            if path == "/api/sources":
                source = body.get("source")
                if not isinstance(source, str) or not source.strip() or len(source) > 4096 or "\0" in source:
                    self.fail(400, "give {\"source\": \"a file, a folder, a camera id or a stream URL\"}")
                    return
                self.reply(self.app.controller.ask("add", source.strip()))
            else:
                mode = body.get("mode")
                if mode == "toggle":
                    self.reply(self.app.controller.ask("toggle"))
                elif mode in MODES:
                    self.reply(self.app.controller.ask("mode", mode))
                else:
                    self.fail(400, f"give {{\"mode\": \"toggle\"}} or one of {', '.join(MODES)}")
        except NoAnswer as exc:
            self.fail(503, str(exc))

    def do_DELETE(self) -> None:
        self.app.requests += 1
        if not self.allowed():
            return
        m = _SOURCE.match(urlsplit(self.path).path)
        if m is None:
            self.fail(404, "DELETE /api/sources/ID")
            return
        sid = m.group(1)
        if not sid.isdigit() or len(sid) > 9:
            self.fail(400, f"a source id is a whole number, not {sid[:20]!r}")
            return
        try:
            self.reply(self.app.controller.ask("remove", sid))
        except NoAnswer as exc:
            self.fail(503, str(exc))

    def reply(self, reply: Any) -> None:
        if reply.ok:
            self.send_json(200, {"ok": True, "state": reply.state})
        else:
            code = 404 if reply.error.startswith("no source") else 409 if "ended" in reply.error else 400
            self.send_json(code, {"ok": False, "error": reply.error, "state": reply.state})

    # -- pages -------------------------------------------------------------------------------
    def health(self) -> None:
        state = self.app.controller.ask("status").state
        problems = []
        for label, pid in sorted(state.get("stages", {}).items()):
            why = _process_problem(int(pid))
            if why:
                problems.append(f"stage {label} (pid {pid}) {why}")
        for name, node in sorted(state.get("nodes", {}).items()):  # a cluster driver's status
            if not node.get("alive"):
                problems.append(f"node {name} ({node.get('address')}) is lost")
        if problems:
            self.send_body(503, ("; ".join(problems) + "\n").encode(), "text/plain; charset=utf-8")
        else:
            alive = f"{len(state['nodes'])} nodes" if state.get("nodes") else f"{len(state.get('stages', {}))} processes"
            self.send_body(200, f"ok: {alive} alive\n".encode(),
                           "text/plain; charset=utf-8")

    def picture(self, source: int, last: Encoded | None, wait_s: float) -> Encoded | None:
        assert self.app.pictures is not None
        found = self.app.pictures.wait_newer(source, last, wait_s)
        if found is False:
            raise _Busy()
        return found or None

    def one_picture(self, source: int) -> None:
        if str(source) not in self.app.controller.status().get("sources", {}):
            self.fail(404, f"no source {source}")  # and no preview slot taken for it
            return
        try:
            found = self.picture(source, None, 3.0)
        except _Busy:
            self.fail(503, "every preview slot is taken by other sources")
            return
        if found is None:
            self.fail(404, f"no picture of source {source} (no such source, or no frame yet)")
            return
        self.send_body(200, found.jpeg, "image/jpeg", {"X-Frame-Index": str(found.index)})

    def mjpeg(self, source: int) -> None:
        """``multipart/x-mixed-replace`` JPEGs of one source, until the viewer or the run goes."""
        status = self.app.controller.status()
        if str(source) not in status.get("sources", {}):
            self.fail(404, f"no source {source}")
            return
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        last: Encoded | None = None
        period = 1.0 / self.app.fps
        while not self.app.stopping.is_set():
            t0 = time.monotonic()
            try:
                found = self.picture(source, last, 1.0)
            except _Busy:
                return
            if found is not None and found is not last:
                head = (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(found.jpeg)}\r\n"
                        f"X-Frame-Index: {found.index}\r\n\r\n").encode()
                try:
                    self.wfile.write(head + found.jpeg + b"\r\n")
                    self.wfile.flush()
                except OSError:
                    return
                self.app.bytes_out += len(found.jpeg)
                last = found
            elif source not in self.app.live_sources() and self.app.controller.cached_status() is not None:
                return  # the source ended or was removed
            time.sleep(max(0.0, period - (time.monotonic() - t0)))

    def stream_all(self) -> None:
        """The page's pictures: every live source's newest JPEG over one connection (a browser
        opens at most six per server), each part a 12-byte little-endian header (source id,
        JPEG length, frame index) and the JPEG. Chunked, until the viewer or the run goes."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        assert self.app.pictures is not None
        sent: dict[int, Encoded] = {}
        period = 1.0 / self.app.fps
        last_status = 0.0
        while not self.app.stopping.is_set():
            t0 = time.monotonic()
            if t0 - last_status > 1.0:
                try:
                    self.app.controller.status()
                except NoAnswer:
                    pass
                last_status = t0
            chunk = bytearray()
            for source in self.app.live_sources():
                found = self.app.pictures.jpeg(source)
                if isinstance(found, Encoded) and sent.get(source) is not found:
                    chunk += struct.pack("<III", source, len(found.jpeg), found.index & 0xFFFFFFFF) + found.jpeg
                    sent[source] = found
            try:
                if chunk:
                    self.wfile.write(b"%x\r\n" % len(chunk) + bytes(chunk) + b"\r\n")
                    self.wfile.flush()
                    self.app.bytes_out += len(chunk)
            except OSError:
                return
            time.sleep(max(0.0, period - (time.monotonic() - t0)))
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass


class _Busy(Exception):
    """Every slot of the preview board is watched for other sources."""


def _host_name(host: str) -> str | None:
    """The name part of a Host header ('127.0.0.1:8080' -> '127.0.0.1', '[::1]:80' -> '::1')."""
    host = host.strip()
    if not host:
        return None
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else None
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _process_problem(pid: int) -> str:
    """Why the process ``pid`` is not running ("" when it is)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "is gone"
    return {"Z": "has exited", "X": "has exited", "T": "is stopped (SIGSTOP)", "t": "is stopped (traced)"}.get(state, "")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, where: HttpAddress, app: App) -> None:
        self.address_family = where.family
        self.app = app
        self.slots = threading.BoundedSemaphore(MAX_CLIENTS)
        super().__init__((where.host, where.port), Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a viewer that went away mid-write; the request's thread ends, the server goes on


def serve(where: HttpAddress, app: App) -> tuple[Server, threading.Thread]:
    server = Server(where, app)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
    thread.start()
    return server, thread


__all__ = ["App", "Server", "serve"]

"""``--http [HOST:]PORT``, ``--http-fps`` and ``--http-token-file``, checked before the run starts.

A bare port, or an empty host, binds the loopback interface. Any other interface needs a bearer
token (``--http-token-file``): a page that adds and removes cameras and shows their pictures must
not be open to the whole network by accident.
"""

from __future__ import annotations

import ipaddress
import math
import os
import socket
from dataclasses import dataclass

from ..errors import UsageError

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
MIN_TOKEN_CHARS = 16
MAX_HTTP_FPS = 60.0


@dataclass(frozen=True)
class HttpAddress:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def family(self) -> int:
        return socket.AF_INET6 if ":" in self.host else socket.AF_INET

    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_http(text: str) -> HttpAddress:
    """``PORT``, ``:PORT``, ``HOST:PORT`` or ``[V6]:PORT``; :class:`UsageError` otherwise."""
    host, colon, port = text.strip().rpartition(":")
    if not colon:
        host, port = "", text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif host.startswith("[") or host.endswith("]") or host.count(":"):
        raise UsageError(f"--http {text}: write an IPv6 address in brackets: [::1]:8080")
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(f"--http {text}: expected [HOST:]PORT with a port number 1..65535")
    host = host or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"
    if not host.replace(".", "").replace("-", "").replace(":", "").isalnum():
        raise UsageError(f"--http {text}: {host!r} is not a host name or address")
    return HttpAddress(host, int(port))


def read_token(path: str) -> str:
    """The bearer token in ``path`` (its first line), at least 16 characters."""
    try:
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--http-token-file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(token) < MIN_TOKEN_CHARS or not token.isprintable() or " " in token:
        raise UsageError(f"--http-token-file {path}: the first line must be a token of at least {MIN_TOKEN_CHARS} "
                         "characters without spaces (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
    return token


def check_http(address: str, fps: float, token_file: str | None) -> tuple[HttpAddress, str]:
    """The address to serve on and the token ("" for none), or :class:`UsageError`."""
    where = parse_http(address)
    if not (math.isfinite(fps) and 0 < fps <= MAX_HTTP_FPS):
        raise UsageError(f"--http-fps must be between 0 and {MAX_HTTP_FPS:g} (got {fps:g})")
    token = read_token(token_file) if token_file else ""
    if not where.loopback and not token:
        raise UsageError(f"--http {address}: serving on {where.host}, not loopback, needs --http-token-file "
                         "(a bearer token every request must carry)")
    return where, token


def check_port_free(where: HttpAddress) -> None:
    """Bind and release the address now, so that a port in use fails before anything starts."""
    sock = socket.socket(where.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((where.host, where.port))
    except socket.gaierror:
        raise UsageError(f"--http {where.host}:{where.port}: unknown host {where.host}") from None
    except OSError as exc:
        raise UsageError(f"--http {where.host}:{where.port}: {exc.strerror or exc}") from None
    finally:
        sock.close()


def token_file_mode_warning(path: str | None) -> str:
    """A warning when the token file is readable by others ("" when fine)."""
    if not path:
        return ""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    return f"warning: --http-token-file {path} is readable by other users (chmod 600 it)" if mode & 0o044 else ""


__all__ = ["HttpAddress", "check_http", "check_port_free", "is_loopback", "parse_http", "read_token"]


def http_banner(address: str, fps: float, token_file: str | None) -> str:
    """The line that tells the user where the page is and who can reach it."""
    http, token = check_http(address, fps, token_file)
    where = "loopback only" if http.loopback else f"reachable on {http.host}"
    if token:
        where += ", every request needs the bearer token of --http-token-file"
    return f"http: {http.url()}  (live page, /metrics, /api/status, /healthz; {where})"

"""The controller's ``--control`` address: checked before the run starts, bound with one-line
errors, and never taken over from another run.

* ``ipc://PATH``: the folder must exist and the path fit a Unix socket address (107 bytes). A
  socket file another run is listening on is refused (ZeroMQ would silently replace it, and the
  other run could no longer be reached); a stale one, left by a run that died, is reused; a
  file that is not a socket is never touched.
* ``tcp://HOST:PORT``: an empty host binds the loopback interface (``tcp://:5555``); other
  hosts, ``*`` included, are bound as given. Every ``tcp://`` control socket requires CurveZMQ
  authentication (:mod:`pipeline.ctlkeys`).
"""

from __future__ import annotations

import errno
import os
import socket as pysocket
import stat

import zmq

from .keys import CurveServer, keys_dir
from ..errors import UsageError

UNIX_PATH_MAX = 107  # sockaddr_un.sun_path holds 108 bytes with the terminating zero
MAX_REQUEST_BYTES = 64 * 1024  # a control request is a few dozen bytes; refuse anything large


def _bad(address: str, why: str) -> UsageError:
    return UsageError(f"--control {address}: {why}")


def ipc_in_use(path: str) -> bool:
    """Whether a process accepts connections on the Unix socket ``path``."""
    probe = pysocket.socket(pysocket.AF_UNIX, pysocket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def check_control_address(address: str) -> str:
    """The address to bind (an empty tcp host becomes 127.0.0.1), or :class:`UsageError`."""
    scheme, sep, rest = address.partition("://")
    if not sep or scheme not in ("ipc", "tcp"):
        raise _bad(address, "expected ipc://PATH or tcp://HOST:PORT")
    if scheme == "ipc":
        return "ipc://" + _check_ipc(address, rest)
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise _bad(address, "expected tcp://HOST:PORT with a port number 1..65535")
    host = host or "127.0.0.1"
    if host.startswith("[") != host.endswith("]"):
        raise _bad(address, "unbalanced brackets around the host")
    return f"tcp://{host}:{int(port)}"


def _check_ipc(address: str, path: str) -> str:
    if not path:
        raise _bad(address, "no path")
    if len(os.fsencode(path)) > UNIX_PATH_MAX:
        raise _bad(address, f"the path is longer than the {UNIX_PATH_MAX} bytes a socket address holds")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise _bad(address, f"folder {folder} does not exist")
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise _bad(address, exc.strerror or str(exc)) from None
    if not stat.S_ISSOCK(mode):
        raise _bad(address, "a file that is not a socket is there")
    if ipc_in_use(path):
        raise _bad(address, "already in use by another run")
    return path


class ControlSocket:
    """The bound REP socket of the controller, with what it needs to release."""

    def __init__(self, ctx: zmq.Context, address: str) -> None:
        self.address = address
        self.curve: CurveServer | None = None
        self.owns_file = False
        sock = ctx.socket(zmq.REP)
        sock.linger = 0
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        self.socket = sock
        try:
            if address.startswith("tcp://"):
                self.curve = CurveServer(keys_dir())
                self.curve.apply(ctx, sock)
            elif address.startswith("ipc://"):
                _check_ipc(address, address[len("ipc://"):])  # again, right before binding
            sock.bind(address)
        except zmq.ZMQError as exc:
            self.close()
            if exc.errno == errno.EMFILE:
                raise UsageError("too many open files (ulimit -n)") from None
            why = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise _bad(address, why) from None
        except BaseException:
            self.close()
            raise
        self.owns_file = address.startswith("ipc://")

    def close(self) -> None:
        """Close the socket and stop the authenticator (before the context is destroyed)."""
        self.socket.close(linger=0)
        if self.curve is not None:
            self.curve.close()
            self.curve = None

    def remove_file(self) -> None:
        """After the context is gone: remove the ipc socket file this run bound, unless another
        process listens there now."""
        if self.owns_file:
            self.owns_file = False
            path = self.address[len("ipc://"):]
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode) and not ipc_in_use(path):
                    os.unlink(path)
            except OSError:
                pass


__all__ = ["ControlSocket", "check_control_address", "ipc_in_use"]


def bind_page_socket(ctx: zmq.Context, directory: str) -> tuple[zmq.Socket, str]:
    """The web process's own REP socket (``--http``), in the run's private ``directory``: the
    requests of ``ctl``, without the CurveZMQ keys a ``tcp://`` control address needs (only
    processes of this user reach the folder). Returns the socket and its address."""
    address = f"ipc://{os.path.join(directory, 'http')}"
    sock = ctx.socket(zmq.REP)
    sock.linger = 0
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)  # before bind: it applies to what connects
    sock.bind(address)
    return sock, address

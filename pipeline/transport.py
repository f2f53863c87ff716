"""ZeroMQ wiring: the run's endpoints and small helpers that send and receive messages.

Every process creates its own context after it starts (never inherited), with ``linger = 0``, and
closes it on every exit path. Long-lived sides bind; workers connect. Endpoints default to
``ipc://`` sockets in a private runtime directory (mode 0700) made for the run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import zmq

from . import messages
from .errors import ResourceError
from .messages import Message

# Socket names and who binds them.
#   frames   capture PUSH -> preprocess PULL (bind)
#   tensors  preprocess PUSH -> infer PULL (bind)
#   work     infer ROUTER (bind) <-> decode DEALER
#   poses    decode PUSH / infer PUSH (EndOfStream) -> sink PULL (bind)
#   credits  sink PUSH -> preprocess PULL (bind): tensor and map slots free again
#   credits-<capture identity>  sink / preprocess PUSH -> that capture process's PULL (bind):
#            its frame ring slots free again
#   control  controller PUB (bind) -> every stage SUB
#   events   every stage PUSH -> controller PULL (bind)
#   ctl      controller REP (bind) <- pipeline.ctl / the window's Tab key (REQ)
SOCKET_NAMES = ("frames", "tensors", "work", "poses", "credits", "control", "events", "ctl")


@dataclass(frozen=True)
class Endpoints:
    frames: str
    tensors: str
    work: str
    poses: str
    credits: str
    control: str
    events: str
    ctl: str

    @classmethod
    def in_directory(cls, directory: str, ctl: str | None = None) -> "Endpoints":
        names = {n: f"ipc://{os.path.join(directory, n)}" for n in SOCKET_NAMES}
        if ctl:
            names["ctl"] = ctl
        return cls(**names)

    def capture_credits(self, identity: str) -> str:
        """Where the capture process ``identity`` takes back its frame ring's slots."""
        return f"{self.credits}-{identity}"


IPC_PATH_MAX = 107  # sockaddr_un.sun_path, less its terminating zero
_RUN_DIR_NAME = len("posepipe-") + 8 + 8  # the controller's pid and a dash, and what tempfile.mkdtemp adds


# the longest socket name a run makes: a restarted capture process's credits (capture_credits)
_LONGEST_SOCKET = max(*(len(n) for n in SOCKET_NAMES), len("credits-capture99.999"))


def _fits(base: str) -> bool:
    """Whether every socket of a run directory made in ``base`` has a short enough path."""
    longest = _LONGEST_SOCKET
    return len(os.fsencode(os.path.abspath(base))) + 1 + _RUN_DIR_NAME + 1 + longest <= IPC_PATH_MAX


def run_dir_base() -> str:
    """The folder a run directory goes in: ``$XDG_RUNTIME_DIR`` if usable, else the system's
    temporary folder (raises ResourceError if even that is too long a path for the sockets)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not base or not os.access(base, os.W_OK) or not _fits(base):
        base = None  # the system's temporary folder
    if not _fits(base or tempfile.gettempdir()):
        raise ResourceError(f"the temporary folder {tempfile.gettempdir()} is too long a path for the run's "
                            f"sockets ({IPC_PATH_MAX} bytes at most): set TMPDIR to a shorter one")
    return base or tempfile.gettempdir()


def run_dir_prefix() -> str:
    """How this process's run directories are named: ``posepipe-<pid>-`` and mkdtemp's letters."""
    return f"posepipe-{os.getpid()}-"


class RuntimeDir:
    """A private (0700) directory holding the run's ipc sockets; removed on close."""

    def __init__(self, base: str | None = None) -> None:
        base = base or run_dir_base()
        remove_stale_run_dirs(base)
        self.path = tempfile.mkdtemp(prefix=run_dir_prefix(), dir=base)
        os.chmod(self.path, 0o700)

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def remove_stale_run_dirs(base: str) -> None:
    """Remove this user's run directories in ``base`` whose controller is dead (killed before its
    stages started, who remove it otherwise). A directory is named ``posepipe-<pid>-<random>``."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) != 3 or parts[0] != "posepipe" or not parts[1].isdigit():
            continue
        path = os.path.join(base, name)
        try:
            if os.lstat(path).st_uid != os.getuid() or not os.path.isdir(path) or os.path.islink(path):
                continue
            os.kill(int(parts[1]), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError, OverflowError):
            continue


def new_context() -> zmq.Context:
    ctx = zmq.Context()
    ctx.linger = 0
    return ctx


def socket(ctx: zmq.Context, kind: int, address: str, *, bind: bool, hwm: int = 0,
           identity: bytes | None = None, subscribe: bool = True) -> zmq.Socket:
    """A socket bound or connected to ``address``. ``hwm`` 0 means unlimited (flow control is
    done by credits, never by silently dropping messages)."""
    sock = ctx.socket(kind)
    sock.linger = 0
    sock.sndhwm = hwm
    sock.rcvhwm = hwm
    if identity is not None:
        sock.identity = identity
    if kind == zmq.SUB and subscribe:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    if bind:
        sock.bind(address)
    else:
        sock.connect(address)
    return sock


def send(sock: zmq.Socket, msg: Message, *, prefix: list[bytes] | None = None, flags: int = 0) -> None:
    _send_parts(sock, messages.encode(msg), prefix, flags)


def send_all(sock: zmq.Socket, msgs: Sequence[Message], *, prefix: list[bytes] | None = None,
             flags: int = 0) -> None:
    """Send ``msgs`` (in order) as one batch: one hop, one wake-up of the receiver. Nothing to
    send is a no-op."""
    if msgs:
        _send_parts(sock, messages.encode_batch(msgs), prefix, flags)


def _send_parts(sock: zmq.Socket, parts: list[Any], prefix: list[bytes] | None, flags: int) -> None:
    if prefix:
        parts = [*prefix, *parts]
    sock.send_multipart(parts, flags=flags)  # every part is small: copying beats zero-copy tracking


def recv(sock: zmq.Socket, flags: int = 0) -> Message:
    """One message (a request/reply socket never carries batches)."""
    return messages.decode(sock.recv_multipart(flags=flags))


def recv_all(sock: zmq.Socket, flags: int = 0) -> list[Message]:
    """The messages of one multipart message: one, or a batch's."""
    return messages.decode_all(sock.recv_multipart(flags=flags))


def recv_routed(sock: zmq.Socket, flags: int = 0) -> tuple[bytes, list[Message]]:
    """Receive on a ROUTER: the peer identity and the message(s) it sent."""
    parts = sock.recv_multipart(flags=flags)
    return parts[0], messages.decode_all(parts[1:])


def drain_batches(sock: zmq.Socket, on_error: Callable[[messages.WireError], None] | None = None
                  ) -> Iterator[list[Message]]:
    """Every multipart message already waiting on ``sock``, each as the list of messages it
    carries, without blocking. With ``on_error``, a message that does not decode is handed to it
    and skipped instead of ending the drain with :class:`~pipeline.messages.WireError`."""
    while True:
        try:
            yield recv_all(sock, zmq.NOBLOCK)
        except zmq.Again:
            return
        except messages.WireError as exc:
            if on_error is None:
                raise
            on_error(exc)


def drain_routed(sock: zmq.Socket) -> Iterator[tuple[bytes, list[Message]]]:
    """:func:`drain_batches` on a ROUTER: each with the identity of the peer that sent it."""
    while True:
        try:
            yield recv_routed(sock, zmq.NOBLOCK)
        except zmq.Again:
            return


def drain(sock: zmq.Socket, on_error: Callable[[messages.WireError], None] | None = None) -> Iterator[Message]:
    """Every message already waiting on ``sock`` (batches unpacked, in order), without blocking;
    ``on_error`` as in :func:`drain_batches`."""
    for batch in drain_batches(sock, on_error):
        yield from batch

"""CurveZMQ keys for a ``--control tcp://…`` socket: who may control a run over the network.

A ``tcp://`` control socket is reachable by anyone who can reach the port, so it only accepts
clients that prove they hold a key the operator authorised (CurveZMQ: the traffic is encrypted,
and the controller rejects every other client during the handshake). The keys live in files in
one directory, ``$POSEPIPE_KEYS`` or ``~/.config/posepipe/keys``:

* ``server.key`` / ``server.key_secret``: the controller's key pair;
* ``client.key`` / ``client.key_secret``: a client's key pair (``pipeline.ctl`` uses it);
* ``authorized/``: the public keys of the clients the controller accepts (``*.key``).

``python -m pipeline.ctlkeys`` creates them (mode 0700 directory, secret files 0600). To let
another machine control a run, copy ``server.key`` and a client key pair there, and that
client's public key into ``authorized/`` here. ``ipc://`` control sockets need no keys: they
live in a private 0700 directory (or the path the user chose) and the file system guards them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from typing import Sequence

import zmq

from ..errors import UsageError

KEYS_ENV = "POSEPIPE_KEYS"


def keys_dir() -> str:
    """Where the keys are: ``$POSEPIPE_KEYS``, else ``$XDG_CONFIG_HOME/posepipe/keys``."""
    if os.environ.get(KEYS_ENV):
        return os.environ[KEYS_ENV]
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "posepipe", "keys")


def _load(path: str, secret: bool) -> tuple[bytes, bytes | None]:
    import zmq.auth
    if not os.path.isfile(path):
        raise UsageError(f"tcp:// control needs CurveZMQ keys: {path} not found "
                         f"(create them with: python -m pipeline.ctlkeys --dir {os.path.dirname(path)})")
    try:
        public, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the key {path}: {exc}") from None
    if secret and not secret_key:
        raise UsageError(f"{path} holds no secret key")
    return public, secret_key


@dataclass
class CurveServer:
    """The controller's side: its key pair and the authenticator that admits known clients."""

    directory: str
    authenticator: object | None = None

    def apply(self, ctx: zmq.Context, sock: zmq.Socket) -> None:
        from zmq.auth.thread import ThreadAuthenticator
        public, secret = _load(os.path.join(self.directory, "server.key_secret"), secret=True)
        allowed = os.path.join(self.directory, "authorized")
        if not os.path.isdir(allowed) or not any(n.endswith(".key") for n in os.listdir(allowed)):
            raise UsageError(f"tcp:// control: no authorised client keys in {allowed} "
                             "(python -m pipeline.ctlkeys creates one)")
        auth = ThreadAuthenticator(ctx)
        auth.start()
        auth.configure_curve(domain="*", location=allowed)
        self.authenticator = auth
        sock.curve_secretkey = secret
        sock.curve_publickey = public
        sock.curve_server = True

    def close(self) -> None:
        if self.authenticator is not None:
            self.authenticator.stop()  # type: ignore[attr-defined]
            self.authenticator = None


def apply_client(sock: zmq.Socket, directory: str | None = None) -> None:
    """Make ``sock`` a CurveZMQ client of a controller whose keys are in ``directory``."""
    directory = directory or keys_dir()
    public, secret = _load(os.path.join(directory, "client.key_secret"), secret=True)
    server, _ = _load(os.path.join(directory, "server.key"), secret=False)
    sock.curve_secretkey = secret
    sock.curve_publickey = public
    sock.curve_serverkey = server


def create_keys(directory: str, force: bool = False) -> list[str]:
    """Create the server and client key pairs in ``directory`` and authorise the client;
    returns the files written. Existing keys are kept unless ``force``."""
    import zmq.auth
    if os.path.exists(os.path.join(directory, "server.key_secret")) and not force:
        raise UsageError(f"keys already exist in {directory} (--force replaces them)")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    allowed = os.path.join(directory, "authorized")
    os.makedirs(allowed, mode=0o700, exist_ok=True)
    old = os.umask(0o077)
    try:
        written = []
        for name in ("server", "client"):
            public, secret = zmq.auth.create_certificates(directory, name)
            os.chmod(secret, 0o600)
            written += [public, secret]
        shutil.copy(os.path.join(directory, "client.key"), os.path.join(allowed, "client.key"))
        written.append(os.path.join(allowed, "client.key"))
    finally:
        os.umask(old)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.ctlkeys",
                                     description="Create the CurveZMQ keys that a --control tcp://… socket needs.")
    parser.add_argument("--dir", default=None, help=f"where to put them (default: ${KEYS_ENV} or "
                                                    "~/.config/posepipe/keys)")
    parser.add_argument("--force", action="store_true", help="replace existing keys")
    ns = parser.parse_args(argv)
    directory = ns.dir or keys_dir()
    try:
        for path in create_keys(directory, ns.force):
            print(path)
    except (UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


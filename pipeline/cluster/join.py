"""Joining a running Ray cluster without hanging: ``--ray-address`` is checked with a plain TCP
connection first (nothing listening is one error line at once), and ``ray.init`` gets a deadline
(a host that accepts but never speaks Ray's protocol would otherwise keep it retrying, and
printing, for minutes). Ray's own connection chatter during the join is held back and shown only
if the join succeeds."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from typing import Any

from pipeline.errors import EXIT_FAILURE, PipelineError, UsageError

CONNECT_TIMEOUT_S = 5.0
JOIN_TIMEOUT_S = 20.0  # with the check above and Python's start, an answer within 30 s


def head_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) of ``HOST:PORT`` or ``ray://HOST:PORT``; None for ``auto`` (found by Ray)."""
    if address in ("auto", "local"):
        return None
    text = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--ray-address {address}: give HOST:PORT (as `ray start --head` prints) or 'auto'")
    return host.strip("[]"), int(port)


def check_reachable(address: str) -> None:
    """A TCP connection to the head; :class:`PipelineError` with one line if none can be made."""
    endpoint = head_endpoint(address)
    if endpoint is None:
        return
    try:
        with socket.create_connection(endpoint, timeout=CONNECT_TIMEOUT_S):
            pass
    except TimeoutError:
        raise PipelineError(f"cannot join the Ray cluster at {address}: no answer within "
                            f"{CONNECT_TIMEOUT_S:g} s") from None
    except OSError as exc:
        raise PipelineError(f"cannot join the Ray cluster at {address}: {exc.strerror or exc}") from None


def join(ray: Any, address: str, **kwargs: Any) -> None:
    """``ray.init(address=address, **kwargs)`` within ``JOIN_TIMEOUT_S``: past it, one error line
    and the process exits (Ray's connection threads cannot be stopped otherwise)."""
    check_reachable(address)
    with tempfile.TemporaryFile() as held:
        saved = os.dup(2)
        sys.stderr.flush()
        os.dup2(held.fileno(), 2)

        def give_up() -> None:
            os.write(saved, f"error: cannot join the Ray cluster at {address}: no answer from Ray within "
                            f"{JOIN_TIMEOUT_S:g} s\n".encode())
            os._exit(EXIT_FAILURE)

        timer = threading.Timer(JOIN_TIMEOUT_S, give_up)
        timer.daemon = True
        timer.start()
        ok = False
        try:
            ray.init(address=address, **kwargs)
            ok = True
        finally:
            timer.cancel()
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if ok:  # Ray's chatter was not about a failure: show it
                held.seek(0)
                chatter = held.read()
                if chatter:
                    sys.stderr.buffer.write(chatter)
                    sys.stderr.flush()

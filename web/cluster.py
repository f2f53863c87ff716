"""``python -m pipeline.cluster --http``: the page, ``/metrics``, ``/api/status`` and ``/healthz``
of a whole cluster, served by a process the driver starts by name (``config/defaults.toml``
``[cluster] http``). It asks the driver the same requests as ``pipeline.ctl`` does; the driver's
status is per node and per source. There are no pictures: they stay on the node that reads the
source (its pipeline's own ``--http``)."""

from __future__ import annotations

import os
import signal
import time

from pipeline.outputs.http import HttpAddress

from .control import Controller
from .server import App
from .server import serve as serve_http


def serve(address: str, host: str, port: int, token: str, fps: float) -> None:
    """The process's entry: serve until the driver stops it (SIGTERM) or goes away."""
    parent = os.getppid()
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what Ctrl-C means
    app = App(Controller(address), None, token, fps)
    server, thread = serve_http(HttpAddress(host, port), app)
    try:
        while not stopping and os.getppid() == parent:
            time.sleep(0.2)
    finally:
        app.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(2.0)


"""The ``--http`` process: a stage like the others (started, watched and stopped by the
controller), whose loop only answers control messages and reports its figures, while the HTTP
server runs in threads of its own. It never touches a frame in flight: pictures come from the
preview board (:mod:`pipeline.outputs.preview`), figures from the controller."""

from __future__ import annotations

import threading
from typing import Any

from pipeline.outputs.http import check_http
from pipeline.outputs.preview import PreviewBoard
from pipeline.stage import Stage

from .control import Controller
from .frames import Pictures
from .server import App, Server, serve


class HttpStage(Stage):
    name = "http"

    def open(self) -> dict[str, Any]:
        cfg = self.config
        assert cfg.http and self.plan.preview is not None and isinstance(self.extra, str)
        where, token = check_http(cfg.http, cfg.http_fps, cfg.http_token_file)
        self.board, self.board_ring = PreviewBoard.attach(self.plan.preview)
        self.pictures = Pictures(self.board, cfg.http_fps)
        self.app = App(Controller(self.extra), self.pictures, token, cfg.http_fps)
        self.server: Server | None = None
        self.thread: threading.Thread | None = None
        try:
            self.server, self.thread = serve(where, self.app)
        except OSError as exc:
            from pipeline.errors import UsageError
            raise UsageError(f"--http {where.host}:{where.port}: {exc.strerror or exc}") from None
        return {"url": where.url()}

    def run(self) -> None:
        while True:
            self.poll([], 500)
            if self.app.controller.cached_status() is not None:
                live = {int(s) for s in self.app.controller.cached_status().get("sources", {}) if s.isdigit()}
                self.pictures.forget(live)

    def figures(self) -> dict[str, Any]:
        figs = super().figures()
        figs["items"] = self.pictures.encoded
        figs["busy_ms"] = self.pictures.encode_ns / 1e6
        self.pictures.encoded = 0
        self.pictures.encode_ns = 0
        figs["requests"] = self.app.requests
        figs["bytes_out"] = self.app.bytes_out
        return figs

    def close(self) -> None:
        self.app.stopping.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(2.0)
        self.board.close()

"""The window's view of several sources: a header line for the whole run over a grid with one
cell per source, each cell showing that source's newest frame (scaled to fit, aspect kept) with
its own figures; the ``-u`` monitors (about the machine, not a source) drawn once over it."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

CELL_TEXT = (255, 255, 255)


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) of a near-square grid for ``count`` cells."""
    cols = max(1, math.ceil(math.sqrt(count)))
    return max(1, math.ceil(count / cols)), cols


HEADER = 28  # pixels of the run's line above the grid


class Mosaic:
    def __init__(self, max_w: int = 1600, max_h: int = 900) -> None:
        self.max_w, self.max_h = max_w, max_h
        self.order: list[int] = []  # source ids, in cell order
        self.canvas = np.zeros((1, 1, 3), np.uint8)
        self.cell = (1, 1)  # (w, h)

    def _layout(self, sources: list[int]) -> None:
        self.order = sorted(sources)
        rows, cols = grid_shape(len(self.order))
        w = self.max_w // cols
        h = min(self.max_h // rows, w * 9 // 16)
        w = h * 16 // 9
        self.cell = (max(16, w), max(9, h))
        self.canvas = np.zeros((HEADER + self.cell[1] * rows, self.cell[0] * cols, 3), np.uint8)

    def put(self, source: int, image: np.ndarray, lines: list[str], sources: list[int]) -> None:
        """Draw ``image`` (any size) into ``source``'s cell with ``lines`` of text on it."""
        if sorted(sources) != self.order:
            self._layout(sources)
        at = self.order.index(source)
        cols = self.canvas.shape[1] // self.cell[0]
        cw, ch = self.cell
        x0, y0 = (at % cols) * cw, HEADER + (at // cols) * ch
        cell = self.canvas[y0:y0 + ch, x0:x0 + cw]
        h, w = image.shape[:2]
        scale = min(cw / w, ch / h)
        rw, rh = max(1, int(w * scale)), max(1, int(h * scale))
        cell[...] = 0
        cell[:rh, :rw] = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA)
        for i, text in enumerate(lines):
            org = (6, 18 + 18 * i)
            cv2.putText(cell, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
            cv2.putText(cell, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, CELL_TEXT, 1, cv2.LINE_AA)
        cv2.rectangle(cell, (0, 0), (cw - 1, ch - 1), (64, 64, 64), 1)

    def header(self, text: str) -> None:
        """The run's line (FPS, latency, mode) above the grid."""
        bar = self.canvas[:HEADER]
        bar[...] = 32
        cv2.putText(bar, text, (8, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, CELL_TEXT, 1, cv2.LINE_AA)

    def view(self, monitors: Any = None) -> np.ndarray:
        """What the window shows: the canvas, with the shown monitors drawn once in its corner
        (on a copy, so that cells not refreshed since are not darkened again)."""
        if monitors is None or not monitors.active:
            return self.canvas
        shown = self.canvas.copy()
        monitors.update()
        monitors.draw(shown)
        return shown

"""Stages that fail on purpose, for tests of the stage life cycle (imported by spawned processes)."""

from __future__ import annotations

from typing import Any

from pipeline.ring import SlotRing
from pipeline.stage import Stage


class FailsInOpen(Stage):
    """Attaches the tensor ring, takes a view of it (as stages do), then fails."""

    name = "failing"

    def open(self) -> dict[str, Any]:
        self.frames = SlotRing.attach(self.plan.tensors_ring)
        self.view = self.frames.view(0, (4, 4, 3))
        raise RuntimeError("cannot open on purpose")


class FailsInClose(Stage):
    """Opens, runs, and fails while finalising with a ring view still held."""

    name = "failing"

    def open(self) -> dict[str, Any]:
        self.frames = SlotRing.attach(self.plan.tensors_ring)
        self.view = self.frames.view(0, (4, 4, 3))
        return {}

    def run(self) -> None:
        return

    def close(self) -> None:
        raise OSError("cannot finalise on purpose")

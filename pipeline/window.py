"""The run's window: how many frames may be in flight at once in User specified mode.

Every frame in flight beyond what keeps inference busy only waits in some queue, and by Little's
law adds ``1 / FPS`` to every frame's latency. Too few, and a stream of the device idles while
the next frame is still being read, letterboxed or carried between processes. The right number
depends on the host (how long an inference takes against everything else a frame goes through),
so it is measured, not guessed: inference reports, each telemetry period, the share of its
streams' time left idle with no frame to start (``idle_streams``) and the mean number of frames
beyond one per stream (``surplus``: queued behind a running request or waiting to start).

* Never fewer than one frame ready behind the running ones (streams + 1), nor than one frame
  per running source: with many sources, a batch of one frame from each costs every source no
  more than the time between two of its own frames, and saves the hops and wake-ups of frames
  sent one by one (measured: 8 sources, 8 frames against 3, 8 % more throughput).
* Streams idled more than ``GROW_IDLE`` of the time: one frame more.
* Streams hardly idled and more than one frame waited on average: fewer frames (as many as
  waited beyond the one, at least one), but not below the size that last had to grow (for
  ``HOLD_PERIODS`` periods), so the window does not swing between a size that starves and one
  that queues.

The controller owns a :class:`WindowSizer`, feeds it inference's figures and broadcasts the
window to capture and preprocess (:class:`pipeline.messages.SetWindow`), which admit frames under
it. Min latency mode keeps one frame per source instead; ``--ring-slots`` fixes the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GROW_IDLE = 0.03  # streams idle more than this share of the time: the window is too small
SHRINK_IDLE = 0.01  # ... less than this, with more than SHRINK_SURPLUS frames waiting: too large
SHRINK_SURPLUS = 1.0
HOLD_PERIODS = 10  # periods during which the window does not shrink below a size that had to grow
MIN_ITEMS = 4  # a period with fewer inferences says nothing
WARMUP_PERIODS = 2  # the first periods with frames (the pipeline filling up) say nothing either


@dataclass
class WindowSizer:
    """Sizes the window from inference's figures, one telemetry period at a time."""

    size: int  # the current window
    low: int = 2  # never fewer frames than this (streams + 1, or the sources, once known)
    high: int = 8  # nor more (the tensor and map rings' slots)
    floor: int = 0  # the size that last had to grow ...
    floor_left: int = 0  # ... and for how many more periods it holds
    seen: int = 0  # periods with frames so far

    def __post_init__(self) -> None:
        self.size = min(self.high, max(self.low, self.size))

    def update(self, figures: dict[str, Any], sources: int = 1) -> int:
        """Take one period's inference figures (``items``, ``streams``, ``idle_streams``,
        ``surplus``) and the number of sources still running; returns the window."""
        idle, surplus = figures.get("idle_streams"), figures.get("surplus")
        if idle is None or surplus is None or (figures.get("items") or 0) < MIN_ITEMS:
            return self.size
        self.seen += 1
        if self.seen <= WARMUP_PERIODS:
            return self.size
        streams = int(figures.get("streams") or 1)
        self.low = min(self.high, max(2, streams + 1, sources))
        if self.floor_left:
            self.floor_left -= 1
        if idle > GROW_IDLE and self.size < self.high:
            self.size += 1
            self.floor, self.floor_left = self.size, HOLD_PERIODS
        elif idle < SHRINK_IDLE and surplus > SHRINK_SURPLUS:
            floor = self.floor if self.floor_left else 0
            step = max(1, int(surplus - SHRINK_SURPLUS))  # far too large (after a load change): at once
            self.size = max(self.low, floor, self.size - step)
        self.size = max(self.size, self.low)
        return self.size

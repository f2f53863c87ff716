"""Light load in User specified mode: which compiled model a frame runs on.

The throughput-compiled model runs several streams, each on a share of the cores; a frame alone
on one of them takes several times a latency-compiled request, which puts every core on one
frame. When the sources bring fewer frames than the cores could take (cameras with capacity to
spare), frames run one at a time on the latency-compiled model (the one Min latency mode uses,
compiled already): the same frames, lower latency. When frames would wait for it, they go back
to the throughput streams.

Inference reports each telemetry period, on the model in use:

* throughput model: ``stream_busy``, the share of its streams' time busy. A latency request does
  the work of a stream in ``1 / streams`` of its time at best, so it would be busy about that
  share of the time (more, if it was measured slower: ``latency_ms`` from an earlier light spell);
* latency model: ``latency_busy``, the share of the time its one request ran.

Light when the predicted latency-model load is under ``LIGHT_BELOW``; back to the throughput model
when the measured one is over ``HEAVY_ABOVE``. The gap between the two keeps a steady load on one
side. Two periods in a row are needed either way, and the first periods of a run (the pipeline
filling up, its streams idle for want of frames) decide nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

LIGHT_BELOW = 0.70  # predicted busy share of the latency request under which the load is light
HEAVY_ABOVE = 0.85  # measured busy share of the latency request over which it is not
PERIODS = 2  # periods in a row before a change
WARMUP_PERIODS = 3  # the first periods with frames (the pipeline filling up) decide nothing


@dataclass
class LightLoad:
    """Decides, one period at a time, whether frames run on the latency-compiled model."""

    light: bool = False
    latency_ms: float = 0.0  # a latency request's measured time (0: not measured yet)
    streak: int = 0  # periods in a row that asked for a change
    seen: int = 0  # periods with frames so far

    def update(self, *, items: int, period_s: float, streams: int, stream_busy: float | None = None,
               stream_ms: float | None = None, latency_busy: float | None = None,
               latency_ms: float | None = None) -> bool:
        """One period's figures on the model in use; returns whether the next frames run light.

        On the throughput model: ``stream_busy`` (share of stream time busy) and ``stream_ms``
        (a stream's time per frame). On the latency model: ``latency_busy`` and ``latency_ms``."""
        if latency_ms:
            self.latency_ms = latency_ms if not self.latency_ms else 0.7 * self.latency_ms + 0.3 * latency_ms
        if items <= 0 or period_s <= 0:
            self.streak = 0
            return self.light
        self.seen += 1
        if self.seen <= WARMUP_PERIODS:
            return self.light
        if self.light:
            change = latency_busy is not None and latency_busy > HEAVY_ABOVE
        else:
            if stream_busy is None:
                return self.light
            predicted = stream_busy  # = items × (stream_ms / streams) / period
            if self.latency_ms and stream_ms:
                predicted = items * max(self.latency_ms, stream_ms / max(1, streams)) / 1e3 / period_s
            change = predicted < LIGHT_BELOW
        self.streak = self.streak + 1 if change else 0
        if self.streak >= PERIODS:
            self.light, self.streak = not self.light, 0
        return self.light

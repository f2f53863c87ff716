"""Notice a stage that has gone silent: stopped (SIGSTOP, a debugger), or hung in a call.

Every stage reports its figures once per telemetry period from its main loop, so a stage that
is alive and looping is heard at least that often. The controller tells the watchdog whenever
it hears from a stage; once every stage is up, one that stays silent for ``silent_s`` seconds
while the run is going (not draining or finished) is named by :meth:`Watchdog.silent`. The
controller then restarts it (a decode worker) or stops the run with one line.
"""

from __future__ import annotations

import time

from config import load_defaults


def default_silence_s() -> float:
    """``[watchdog] silent_s`` from ``config/defaults.toml``."""
    return float(load_defaults().get("watchdog", {}).get("silent_s", 10.0))


class Watchdog:
    def __init__(self, silent_s: float | None = None) -> None:
        self.silent_s = default_silence_s() if silent_s is None else silent_s
        self._heard: dict[str, float] = {}

    def heard(self, label: str, now: float | None = None) -> None:
        """``label`` just said something (figures, ready, a log line)."""
        self._heard[label] = time.monotonic() if now is None else now

    def forget(self, label: str) -> None:
        """``label`` is gone (restarted under a new label, or exited)."""
        self._heard.pop(label, None)

    def silent(self, labels: list[str], now: float | None = None) -> list[tuple[str, float]]:
        """The stages among ``labels`` silent for longer than the limit, with how long. A stage
        never heard from is counted from the first time it is asked about."""
        now = time.monotonic() if now is None else now
        out = []
        for label in labels:
            since = self._heard.setdefault(label, now)
            if now - since > self.silent_s:
                out.append((label, now - since))
        return out


__all__ = ["Watchdog", "default_silence_s"]

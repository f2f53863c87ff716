"""How much memory a process really holds."""

from __future__ import annotations

import os
import resource
import time

_PAGE = os.sysconf("SC_PAGE_SIZE")


def pss_mb(pid: int | str = "self") -> float:
    """Proportional set size (MiB): resident memory with each page shared by n processes counted
    1/n in each, so that the processes' figures add up to the memory they really hold (RSS counts
    every shared library and ring once per process). 0 where /proc does not tell."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def rss_mb() -> float:
    """This process's resident memory now (MiB); 0 where /proc does not tell."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PssSampler:
    """This process's proportional set size, read at most every ``every_s`` seconds.

    The kernel walks every page table of the process to add PSS up (``smaps_rollup``): 1.6-5 ms
    of CPU per read in a stage process here, with the rings and OpenVINO mapped. Read every
    telemetry period in six processes, that was ~1 % of a 2-core host, taken from inference.
    Memory moves slowly after start-up, so a read every few seconds (and one on demand, for the
    final report) keeps the figure and its peak at a fraction of the cost."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last_mb = 0.0
        self.peak_mb = 0.0
        self._read_at = float("-inf")

    def sample(self, force: bool = False) -> float:
        """The latest figure (MiB), read afresh when it is older than ``every_s`` or ``force``."""
        now = time.monotonic()
        if force or now - self._read_at >= self.every_s:
            self._read_at = now
            self.last_mb = pss_mb()
            self.peak_mb = max(self.peak_mb, self.last_mb)
        return self.last_mb

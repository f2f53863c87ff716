"""How much memory a process really holds."""

from __future__ import annotations

import os
import resource


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
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

"""How much memory a process really holds."""

from __future__ import annotations


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

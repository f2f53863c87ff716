"""Bounded distributions of nanosecond values: every frame of a run counted, in fixed memory
(exact percentiles up to a limit, then log-spaced histograms within 0.5 %)."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

NS_PER_MS = 1e6


class LogHistogram:
    """Counts of non-negative nanosecond values in log-spaced bins (``ratio`` apart) from ``lo``.

    Values below ``lo`` share bin 0, values beyond the last edge the last bin. Memory is fixed;
    a percentile is exact to within half a bin (``(ratio - 1) / 2`` relative).
    """

    def __init__(self, lo_ns: float = 1e3, hi_ns: float = 1e12, ratio: float = 1.01) -> None:
        self.lo = float(lo_ns)
        self.log_ratio = math.log(ratio)
        self.nbins = int(math.ceil(math.log(hi_ns / lo_ns) / self.log_ratio)) + 2
        self.counts = np.zeros(self.nbins, dtype=np.int64)

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.float64)
        if v.size > 64:
            self.counts += np.bincount(self._bins(v), minlength=self.nbins)
        elif v.size:
            np.add.at(self.counts, self._bins(v), 1)

    def _bins(self, v: np.ndarray) -> np.ndarray:
        idx = np.zeros(v.shape, dtype=np.int64)
        above = v >= self.lo
        idx[above] = 1 + np.floor(np.log(v[above] / self.lo) / self.log_ratio).astype(np.int64)
        return np.minimum(idx, self.nbins - 1)

    def edges(self, index: int) -> tuple[float, float]:
        """The value range ``[low, high)`` of bin ``index``."""
        if index == 0:
            return 0.0, self.lo
        low = self.lo * math.exp((index - 1) * self.log_ratio)
        return low, low * math.exp(self.log_ratio)

    def merged(self, other: "LogHistogram") -> "LogHistogram":
        out = LogHistogram.__new__(LogHistogram)
        out.lo, out.log_ratio, out.nbins = self.lo, self.log_ratio, self.nbins
        out.counts = self.counts + other.counts
        return out

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (numpy's linear definition, interpolated inside the bin)."""
        n = int(self.counts.sum())
        if n == 0:
            return None
        rank = q / 100.0 * (n - 1)
        cum = np.cumsum(self.counts)
        index = int(np.searchsorted(cum, rank, side="right"))
        index = min(index, self.nbins - 1)
        before = int(cum[index - 1]) if index else 0
        frac = (rank - before + 0.5) / max(1, int(self.counts[index]))
        low, high = self.edges(index)
        if low <= 0.0:
            return low + (high - low) * min(1.0, frac)
        return low * (high / low) ** min(1.0, max(0.0, frac))


class Distribution:
    """One series of nanosecond values over a whole run, in bounded memory.

    Keeps the count, sum, min and max exactly; keeps the values themselves (exact percentiles)
    until there are more than ``exact_limit`` of them, and a :class:`LogHistogram` always.
    """

    def __init__(self, exact_limit: int = 20000) -> None:
        self.exact_limit = exact_limit
        self.count = 0
        self.total = 0
        self.min: int | None = None
        self.max: int | None = None
        self.hist = LogHistogram()
        self._exact: list[np.ndarray] | None = []

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, dtype=np.int64)
        if not v.size:
            return
        self.count += int(v.size)
        self.total += int(v.sum())
        lo, hi = int(v.min()), int(v.max())
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)
        self.hist.add(np.maximum(v, 0))
        if self._exact is not None:
            if self.count <= self.exact_limit:
                self._exact.append(v.copy())
            else:
                self._exact = None  # from now on the histogram answers

    def merged(self, other: "Distribution") -> "Distribution":
        out = Distribution(self.exact_limit)
        out.count, out.total = self.count + other.count, self.total + other.total
        mins = [m for m in (self.min, other.min) if m is not None]
        maxs = [m for m in (self.max, other.max) if m is not None]
        out.min, out.max = (min(mins) if mins else None), (max(maxs) if maxs else None)
        out.hist = self.hist.merged(other.hist)
        if self._exact is not None and other._exact is not None and out.count <= out.exact_limit:
            out._exact = self._exact + other._exact
        else:
            out._exact = None
        return out

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def percentile(self, q: float) -> float | None:
        if not self.count:
            return None
        if self._exact is not None:
            return float(np.percentile(np.concatenate(self._exact), q))
        value = self.hist.percentile(q)
        assert value is not None and self.min is not None and self.max is not None
        return min(max(value, float(self.min)), float(self.max))

    def summary_ms(self, quantiles: Iterable[float] = (50, 95)) -> dict[str, float | None]:
        """``{"mean": …, "p50": …, …}`` in milliseconds (None when empty)."""
        out: dict[str, float | None] = {"mean": ms(self.mean())}
        for q in quantiles:
            out[f"p{q:g}"] = ms(self.percentile(q))
        return out


def ms(ns: float | None) -> float | None:
    """Nanoseconds as milliseconds (None stays None)."""
    return None if ns is None else float(ns) / NS_PER_MS

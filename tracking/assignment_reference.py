"""Plain-numpy twins of :mod:`tracking.assignment_kernels` (same names, signatures and results),
written for clarity; the tests compare each kernel with its twin."""

from __future__ import annotations

import numpy as np

from .assignment_kernels import FORBIDDEN  # noqa: F401 - same constant for both backends


def _hungarian_rows(cost: np.ndarray, out_col: np.ndarray) -> None:
    """See :func:`tracking.assignment_kernels._hungarian_rows` (vectorised over columns)."""
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    match = np.zeros(m + 1, np.int64)
    back = np.zeros(m + 1, np.int64)
    for row in range(1, n + 1):
        match[0] = row
        col0 = 0
        slack = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[col0] = True
            r = match[col0]
            free = ~used[1:]
            cur = cost[r - 1] - u[r] - v[1:]
            better = free & (cur < slack[1:])
            slack[1:][better] = cur[better]
            back[1:][better] = col0
            candidates = np.where(free, slack[1:], np.inf)
            col1 = int(np.argmin(candidates)) + 1
            delta = candidates[col1 - 1]
            u[match[used]] += delta
            v[used] -= delta
            slack[~used] -= delta
            col0 = col1
            if match[col0] == 0:
                break
        while col0 != 0:
            col1 = back[col0]
            match[col0] = match[col1]
            col0 = col1
    out_col[:] = -1
    cols = np.nonzero(match[1:] > 0)[0]
    out_col[match[1:][cols] - 1] = cols


def hungarian(cost: np.ndarray, out_col: np.ndarray) -> None:
    """See :func:`tracking.assignment_kernels.hungarian`."""
    n, m = cost.shape
    out_col[:] = -1
    if n == 0 or m == 0:
        return
    if n <= m:
        _hungarian_rows(np.ascontiguousarray(cost, np.float64), out_col)
        return
    row_of_col = np.empty(m, np.int64)
    _hungarian_rows(np.ascontiguousarray(cost.T, np.float64), row_of_col)
    assigned = row_of_col >= 0
    out_col[row_of_col[assigned]] = np.nonzero(assigned)[0]

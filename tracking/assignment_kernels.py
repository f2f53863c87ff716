"""Numba kernel of the optimal one-to-one assignment (Hungarian algorithm), shared by the tracker
(tracks to poses, :mod:`tracking.kernels`) and the associative-embedding decoder (joints to people,
:mod:`stages.decode.ae_kernels`).

Pure ``@numba.njit(cache=True)`` functions over numpy arrays that write their result into arrays
the caller preallocates; each has a plain-numpy twin of the same name and signature in
:mod:`tracking.assignment_reference`, and the tests run both over the same inputs. It lives in
``tracking`` because ``stages`` may import ``tracking`` but ``tracking`` never imports ``stages``.
Numba's cache does not notice a change made in another file: :func:`hungarian` and
:data:`FORBIDDEN` are compiled into the cached :func:`tracking.kernels.assign` and
:func:`stages.decode.ae_kernels.group_ae`, so after changing them, touch those two files (or delete
their entries in ``__pycache__``).
"""

from __future__ import annotations

import numba as nb
import numpy as np

# Cost of a pair the assignment must not choose (tags too far apart, a pose too unlike a track).
FORBIDDEN = 1.0e6


@nb.njit(cache=True)
def _hungarian_rows(cost: np.ndarray, out_col: np.ndarray) -> None:
    """Minimum-cost assignment of every row of ``cost`` (n, m), n <= m, to a distinct column.

    Shortest augmenting paths with row and column potentials (Kuhn-Munkres in its O(n^2 m)
    form): rows are added one at a time, and each addition grows a tree of tight edges from the
    new row until it reaches a free column, updating the potentials by the smallest slack.
    """
    n, m = cost.shape
    u = np.zeros(n + 1, np.float64)
    v = np.zeros(m + 1, np.float64)
    match = np.zeros(m + 1, np.int64)  # column -> row (1-based), 0 = free; column 0 is the root
    back = np.zeros(m + 1, np.int64)
    slack = np.empty(m + 1, np.float64)
    used = np.empty(m + 1, np.bool_)
    for row in range(1, n + 1):
        match[0] = row
        col0 = 0
        slack[:] = np.inf
        used[:] = False
        while True:
            used[col0] = True
            r = match[col0]
            delta = np.inf
            col1 = 0
            for j in range(1, m + 1):
                if used[j]:
                    continue
                cur = cost[r - 1, j - 1] - u[r] - v[j]
                if cur < slack[j]:
                    slack[j] = cur
                    back[j] = col0
                if slack[j] < delta:
                    delta = slack[j]
                    col1 = j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            col0 = col1
            if match[col0] == 0:
                break
        while col0 != 0:
            col1 = back[col0]
            match[col0] = match[col1]
            col0 = col1
    out_col[:] = -1
    for j in range(1, m + 1):
        if match[j] > 0:
            out_col[match[j] - 1] = j - 1


@nb.njit(cache=True)
def hungarian(cost: np.ndarray, out_col: np.ndarray) -> None:
    """Optimal (minimum total cost) one-to-one assignment for a rectangular ``cost`` (n, m).

    ``cost`` must be finite. Writes ``out_col`` (n,) int64: the column given to each row, or -1
    for rows left over when n > m.
    """
    n, m = cost.shape
    if n == 0 or m == 0:
        out_col[:] = -1
        return
    if n <= m:
        _hungarian_rows(np.ascontiguousarray(cost), out_col)
        return
    row_of_col = np.empty(m, np.int64)
    _hungarian_rows(np.ascontiguousarray(cost.T), row_of_col)
    out_col[:] = -1
    for j in range(m):
        if row_of_col[j] >= 0:
            out_col[row_of_col[j]] = j

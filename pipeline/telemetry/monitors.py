"""Utilisation monitors drawn on the frames (``-u``), like the Open Model Zoo demos' ones.

Letters: ``c`` total CPU load (a graph over time), ``d`` per-core CPU load (one bar per core),
``m`` memory (RAM, and swap when there is any, over time). Pressing a letter in the window
toggles its monitor. The figures come from ``/proc/stat`` and ``/proc/meminfo`` (Linux; no
psutil); a short history is kept, sampled at most every ``interval_s`` seconds.

The graphs are small translucent panels in the bottom-left corner, drawn in place on the BGR
frame; drawing touches only the panels' pixels and costs well under a millisecond.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

MONITORS = {"c": "total CPU load", "d": "per-core CPU load", "m": "memory"}
ORDER = tuple(MONITORS)  # panels are laid out left to right in this order

_MARGIN = 8
_GAP = 4
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_TEXT = (255, 255, 255)
_COLOURS = {"cpu": (80, 220, 80), "ram": (60, 200, 255), "swap": (220, 120, 255), "grid": (110, 110, 110)}
_GIB = float(1 << 30)


# --------------------------------------------------------------------------------------------
# /proc parsing


@dataclass(frozen=True)
class CpuTimes:
    """Cumulative jiffies of one CPU line of ``/proc/stat``: time not idle, and all time."""

    busy: int
    total: int


def parse_proc_stat(text: str) -> dict[str, CpuTimes]:
    """``{"cpu": …, "cpu0": …, …}`` from the text of ``/proc/stat``.

    ``total`` counts user, nice, system, idle, iowait, irq, softirq and steal (guest time is
    already inside user); idle and iowait are the idle part.
    """
    out: dict[str, CpuTimes] = {}
    for line in text.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("cpu"):
            continue
        try:
            values = [int(v) for v in fields[1:9]]
        except ValueError:
            continue
        if len(values) < 4:
            continue
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        total = sum(values)
        out[fields[0]] = CpuTimes(busy=total - idle, total=total)
    return out


def cpu_load(before: CpuTimes, after: CpuTimes) -> float | None:
    """The busy fraction (0…1) between two samples, None if no time passed."""
    total = after.total - before.total
    if total <= 0:
        return None
    return min(1.0, max(0.0, (after.busy - before.busy) / total))


def parse_meminfo(text: str) -> dict[str, int]:
    """``/proc/meminfo`` as ``{name: bytes}`` (values in kB are scaled, bare counts kept)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[name.strip()] = value * 1024 if len(parts) > 1 and parts[1].lower() == "kb" else value
    return out


@dataclass(frozen=True)
class MemoryUse:
    """Bytes of RAM and swap in use and in all."""

    used: int
    total: int
    swap_used: int
    swap_total: int

    @property
    def fraction(self) -> float:
        return self.used / self.total if self.total else 0.0

    @property
    def swap_fraction(self) -> float:
        return self.swap_used / self.swap_total if self.swap_total else 0.0


def memory_use(info: dict[str, int]) -> MemoryUse | None:
    """RAM in use = MemTotal - MemAvailable (older kernels: MemFree + Buffers + Cached)."""
    total = info.get("MemTotal", 0)
    if total <= 0:
        return None
    available = info.get("MemAvailable")
    if available is None:
        available = info.get("MemFree", 0) + info.get("Buffers", 0) + info.get("Cached", 0)
    swap_total = info.get("SwapTotal", 0)
    swap_used = max(0, swap_total - info.get("SwapFree", swap_total))
    return MemoryUse(used=max(0, total - available), total=total, swap_used=swap_used, swap_total=swap_total)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# the monitors


class Monitors:
    """The ``-u`` monitors: ``letters`` names the ones shown at first (any of "cdm").

    ``history`` is how many samples the graphs keep, ``interval_s`` the least time between two
    samples, ``proc`` the directory holding ``stat`` and ``meminfo`` (tests pass sample files).
    """

    def __init__(self, letters: str = "", *, history: int = 60, interval_s: float = 0.5, proc: str = "/proc",
                 clock: Callable[[], float] = time.monotonic) -> None:
        unknown = sorted({ch for ch in letters if ch not in MONITORS})
        if unknown:
            valid = ", ".join(f"{k} ({v})" for k, v in MONITORS.items())
            raise ValueError(f"unknown monitor letter(s) {''.join(unknown)!r}: valid ones are {valid}")
        self.shown = {k: k in letters for k in ORDER}
        self.interval_s = interval_s
        self.stat_path = os.path.join(proc, "stat")
        self.meminfo_path = os.path.join(proc, "meminfo")
        self.clock = clock
        self.cpu: collections.deque[float] = collections.deque(maxlen=history)
        self.cores: list[float] = []
        self.ram: collections.deque[float] = collections.deque(maxlen=history)
        self.swap: collections.deque[float] = collections.deque(maxlen=history)
        self.memory: MemoryUse | None = None
        self._stat: dict[str, CpuTimes] = {}
        self._last: float | None = None
        if self.active:
            self.update(force=True)

    @property
    def active(self) -> bool:
        """Is any monitor shown?"""
        return any(self.shown.values())

    def toggle(self, key: str | int) -> bool:
        """Show or hide the monitor of ``key`` (a letter, or a ``cv2.waitKey`` code); True if it
        was one of the monitors' keys."""
        letter = chr(key & 0xFF) if isinstance(key, int) else key
        letter = letter.lower()
        if letter not in MONITORS:
            return False
        was_active = self.active
        self.shown[letter] = not self.shown[letter]
        if self.active and not was_active:
            self._stat = {}  # a baseline from long ago would average over the hidden time
            self.update(force=True)
        return True

    def update(self, force: bool = False) -> bool:
        """Take a sample if ``interval_s`` has passed (or ``force``) and a monitor is shown;
        True if one was taken."""
        now = self.clock()
        if not self.active or (not force and self._last is not None and now - self._last < self.interval_s):
            return False
        self._last = now
        self._sample_cpu()
        self._sample_memory()
        return True

    def _sample_cpu(self) -> None:
        text = _read(self.stat_path)
        if text is None:
            return
        stat = parse_proc_stat(text)
        previous, self._stat = self._stat, stat
        if not previous:
            return
        total = cpu_load(previous["cpu"], stat["cpu"]) if "cpu" in previous and "cpu" in stat else None
        if total is not None:
            self.cpu.append(total)
        names = sorted((k for k in stat if k != "cpu"), key=lambda k: int(k[3:]) if k[3:].isdigit() else -1)
        cores = [cpu_load(previous[k], stat[k]) if k in previous else None for k in names]
        if any(c is not None for c in cores):
            self.cores = [0.0 if c is None else c for c in cores]

    def _sample_memory(self) -> None:
        text = _read(self.meminfo_path)
        use = memory_use(parse_meminfo(text)) if text is not None else None
        if use is None:
            return
        self.memory = use
        self.ram.append(use.fraction)
        if use.swap_total:
            self.swap.append(use.swap_fraction)

    # -- drawing ---------------------------------------------------------------------------
    def panels(self, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, int, int, int]]]:
        """Where each shown monitor goes on a frame of ``shape``: ``[(letter, (x0, y0, x1, y1))]``.

        Panels sit in the bottom-left corner, left to right; those that do not fit are left out.
        """
        h, w = shape[:2]
        pw, ph = min(200, max(90, w // 4)), min(90, max(40, h // 6))
        y1 = h - _MARGIN
        y0 = y1 - ph
        if y0 < 0:
            return []
        out = []
        x = _MARGIN
        for letter in ORDER:
            if not self.shown[letter]:
                continue
            if x + pw > w - _MARGIN:
                break
            out.append((letter, (x, y0, x + pw, y1)))
            x += pw + _GAP
        return out

    def region(self, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
        """The bounding box ``(x0, y0, x1, y1)`` of everything :meth:`draw` touches, or None."""
        boxes = [box for _, box in self.panels(shape)]
        if not boxes:
            return None
        return boxes[0][0], boxes[0][1], boxes[-1][2], boxes[-1][3]

    def draw(self, image: np.ndarray) -> tuple[int, int, int, int] | None:
        """Draw the shown monitors on the BGR uint8 ``image`` in place; returns :meth:`region`."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"monitors draw on BGR uint8 images, not {image.dtype} {image.shape}")
        for letter, (x0, y0, x1, y1) in self.panels(image.shape):
            roi = image[y0:y1, x0:x1]
            np.right_shift(roi, 1, out=roi)  # darken to half: a translucent black backdrop
            {"c": self._draw_cpu, "d": self._draw_cores, "m": self._draw_memory}[letter](roi)
        return self.region(image.shape)

    def _draw_cpu(self, roi: np.ndarray) -> None:
        last = f"{100 * self.cpu[-1]:.0f}%" if self.cpu else "-"
        _label(roi, f"CPU {last}")
        _graph(roi, self.cpu, _COLOURS["cpu"])

    def _draw_cores(self, roi: np.ndarray) -> None:
        _label(roi, f"CPU cores ({len(self.cores)})" if self.cores else "CPU cores -")
        x0, y0, x1, y1 = _plot_area(roi)
        n = len(self.cores)
        if not n:
            return
        step = (x1 - x0) / n
        for i, load in enumerate(self.cores):
            left, right = int(x0 + i * step), max(int(x0 + i * step) + 1, int(x0 + (i + 1) * step) - 1)
            top = int(round(y1 - load * (y1 - y0)))
            colour = (80, int(220 - 140 * load), int(80 + 175 * load))  # green → red with load
            cv2.rectangle(roi, (left, top), (right - 1, y1), colour, cv2.FILLED)

    def _draw_memory(self, roi: np.ndarray) -> None:
        m = self.memory
        text = f"Mem {m.used / _GIB:.1f}/{m.total / _GIB:.1f}G" if m else "Mem -"
        if m and m.swap_total:
            text += f" sw {100 * m.swap_fraction:.0f}%"
        _label(roi, text)
        if self.swap:
            _graph(roi, self.swap, _COLOURS["swap"])
        _graph(roi, self.ram, _COLOURS["ram"])


def _label(roi: np.ndarray, text: str) -> None:
    cv2.putText(roi, text, (4, 12), _FONT, 0.38, _TEXT, 1, cv2.LINE_AA)


def _plot_area(roi: np.ndarray) -> tuple[int, int, int, int]:
    h, w = roi.shape[:2]
    return 4, 17, w - 5, h - 4


def _graph(roi: np.ndarray, values: collections.deque[float], colour: tuple[int, int, int]) -> None:
    """A line of ``values`` (0…1), newest at the right, over a 50 % grid line."""
    x0, y0, x1, y1 = _plot_area(roi)
    mid = (y0 + y1) // 2
    cv2.line(roi, (x0, mid), (x1, mid), _COLOURS["grid"], 1)
    if not values:
        return
    v = np.clip(np.fromiter(values, dtype=np.float32, count=len(values)), 0.0, 1.0)
    cap = values.maxlen or len(values)
    xs = x1 - (len(v) - 1 - np.arange(len(v))) * (x1 - x0) / max(1, cap - 1)
    ys = y1 - v * (y1 - y0)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    if len(pts) == 1:
        cv2.circle(roi, (int(pts[0, 0]), int(pts[0, 1])), 1, colour, cv2.FILLED)
    else:
        cv2.polylines(roi, [pts.reshape(-1, 1, 2)], False, colour, 1, cv2.LINE_AA)

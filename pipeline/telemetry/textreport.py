"""Text views of the telemetry: the one-line status refreshed in place and the final table.

Both fit an 80-column terminal: :func:`status_line` pads or shortens to exactly ``width``
characters, :func:`final_table` keeps every line within ``width``.
"""

from __future__ import annotations

import math
from typing import Any

from ..config import MODE_TITLES
from .collector import number as _number

def fmt_num(value: float | None, width: int = 6) -> str:
    """A number in at most ``width`` (≥ 5) characters: 0.12, 12.3, 1234, 1e+06, <0.01; "-" for None."""
    if value is None or not math.isfinite(value):
        return "-"
    a = abs(value)
    if a == 0:
        text = "0"
    elif a < 0.01:
        text = "<0.01" if value > 0 else "-0.00"
    elif a < 10:
        text = f"{value:.2f}"
    elif a < 100:
        text = f"{value:.1f}"
    else:
        text = f"{value:.0f}"
    if len(text) > width:
        text = f"{value:.0e}"
    return text if len(text) <= width else "*" * max(1, width)


def fmt_duration(seconds: float | None) -> str:
    """``m:ss`` or ``h:mm:ss``; "--:--" when unknown, ">999h" when absurd."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(round(seconds))
    if s >= 1000 * 3600:
        return ">999h"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in "~" when cut."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "~"


def status_line(snapshot: dict[str, Any], progress: tuple[int, int] | None = None, eta_s: float | None = None,
                width: int = 80) -> str:
    """One line of at most ``width`` characters (padded to it, to overwrite the last one after "\\r").

    Shows the mode, FPS and latency p50/p95; for a file input (``progress=(done, total)``) a bar
    with the percentage and ETA, for a live one the drops. Parts are shortened or left out, least
    useful first, until the line fits.
    """
    if width <= 0:
        return ""
    mode = snapshot.get("mode")
    names = [_fit(MODE_TITLES.get(mode, str(mode)), 24), _fit(str(mode), 14), _fit(str(mode), 8)] if mode else ["-"]
    lat = snapshot.get("latency_ms") or {}
    fps = f"{fmt_num(_number(snapshot.get('fps')))} fps"
    p50, p95 = fmt_num(_number(lat.get("p50"))), fmt_num(_number(lat.get("p95")))
    lats = [f"lat p50 {p50} p95 {p95} ms", f"lat {p50}/{p95} ms", ""]
    if progress is not None:
        tails = _progress_tails(progress, eta_s)
    else:
        tails = [f"drops {fmt_count(_number(snapshot.get('dropped')) or 0)}", ""]
    publish = snapshot.get("publish")
    if publish:  # --publish: the broker's state and the messages dropped, before anything else goes
        mqtt = f"mqtt {'up' if publish.get('connected') else 'down'} drops {fmt_count(publish.get('dropped') or 0)}"
        tails = [f"{tail} | {mqtt}" if tail else mqtt for tail in tails]
    for li, ti in _STATUS_PRIORITY:
        if ti >= len(tails):
            continue
        for name in dict.fromkeys(names):
            line = _join([name, fps, lats[li]], tails[ti], width, progress)
            if line is not None:
                return line.ljust(width)
    return _fit(f"{names[-1]} {fps}", width).ljust(width)


# (latency text, tail text) indices, best first: shorten the latency before losing the bar, and
# keep the percentage longer than the latency.
_STATUS_PRIORITY = [(0, 0), (1, 0), (0, 1), (1, 1), (1, 2), (2, 1), (2, 2), (1, 3), (2, 3)]


def fmt_count(value: float) -> str:
    """A count in at most 6 characters: 12, 123456, 1.2e+07."""
    n = int(value)
    return str(n) if len(str(n)) <= 6 else f"{n:.1e}".replace("e+0", "e+")


def _progress_tails(progress: tuple[int, int], eta_s: float | None) -> list[str]:
    """Progress texts from richest to shortest; "{bar}" marks where a bar may go."""
    done, total = (int(x) for x in progress)
    if total <= 0:
        return [f"frame {done}", ""]
    pct = max(0, min(100, int(100 * done / total)))
    eta = f"ETA {fmt_duration(eta_s)}" if done < total else "done"
    return [f"{{bar}} {pct:3d}% {eta}", f"{pct}% {eta}", f"{pct}%", ""]


def _join(parts: list[str], tail: str, width: int, progress: tuple[int, int] | None) -> str | None:
    """The parts and tail joined with " | ", the bar sized to the room left; None if too long."""
    head = " | ".join(p for p in parts if p)
    if not tail:
        return head if len(head) <= width else None
    if "{bar}" not in tail:
        line = f"{head} | {tail}"
        return line if len(line) <= width else None
    room = width - len(head) - len(" | ") - len(tail.replace("{bar}", ""))
    bar_w = min(30, room - 2)
    if bar_w < 6 or progress is None:
        return None
    done, total = progress
    filled = int(round(bar_w * max(0.0, min(1.0, done / total))))
    bar = "[" + "#" * filled + "." * (bar_w - filled) + "]"
    return f"{head} | {tail.replace('{bar}', bar)}"


def final_table(report: dict[str, Any], width: int = 80) -> str:
    """The per-stage table printed at exit (lines of at most ``width`` characters).

    One block per mode when both modes ran (then a whole-run summary), else one block.
    """
    modes = report.get("modes") or {}
    blocks: list[str] = []
    sections = list(modes.values()) if len(modes) > 1 else [report.get("all") or {}]
    for section in sections:
        blocks.append("\n".join(_section_lines(section)))
    if len(modes) > 1:
        blocks.append("\n".join(_totals_lines(report.get("all") or {}, "Whole run")))
    lines = "\n\n".join(blocks).splitlines()
    return "\n".join(_fit(line, width).rstrip() for line in lines)


_ROW = "{:<11}{:>9}{:>9}{:>9}{:>9}{:>9}"


def _section_lines(section: dict[str, Any]) -> list[str]:
    title = section.get("title") or "Run"
    lines = [f"{title}: {section.get('frames', 0)} frames", _ROW.format("stage", "service", "p95", "wait", "p95",
                                                                        "share"),
             _ROW.format("", "mean ms", "ms", "mean ms", "ms", "")]
    for stage, figs in (section.get("stages") or {}).items():
        svc, wait = figs.get("service_ms") or {}, figs.get("wait_ms") or {}
        share = _number(figs.get("share"))
        lines.append(_ROW.format(stage[:11], fmt_num(svc.get("mean"), 8), fmt_num(svc.get("p95"), 8),
                                 fmt_num(wait.get("mean"), 8), fmt_num(wait.get("p95"), 8),
                                 "-" if share is None else f"{fmt_num(100 * share, 7)}%"))
    check = section.get("sum_check") or {}
    lines.append(_ROW.format("sum", "", "", "", "", "") .rstrip()
                 + f"  stages {fmt_num(check.get('stages_sum_ms'), 8)} ms = latency mean "
                 f"{fmt_num(check.get('latency_mean_ms'), 8)} ms")
    return lines + _totals_lines(section, None)


def _totals_lines(section: dict[str, Any], title: str | None) -> list[str]:
    lat = section.get("latency_ms") or {}
    lines = [title] if title else []
    lines.append(f"FPS {fmt_num(section.get('fps'))}  latency p50 {fmt_num(lat.get('p50'))} "
                 f"p95 {fmt_num(lat.get('p95'))} p99 {fmt_num(lat.get('p99'))} ms")
    lines.append(f"frames {section.get('frames', 0)}  drops {section.get('dropped', 0)}")
    workers = section.get("workers") or {}
    busy = [f"{name.replace('decode', 'd')} {fmt_num(100 * u, 5)}%" for name, w in workers.items()
            if (u := _number(w.get("utilisation"))) is not None]
    if busy:
        lines.extend(_wrap("decode busy: ", busy, 78))
    return lines


def _wrap(prefix: str, items: list[str], width: int) -> list[str]:
    lines, current = [], prefix
    for item in items:
        if len(current) + len(item) + 1 > width and current.strip():
            lines.append(current.rstrip())
            current = " " * len(prefix)
        current += item + " "
    lines.append(current.rstrip())
    return lines

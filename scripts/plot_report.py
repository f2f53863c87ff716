#!/usr/bin/env python3
"""Chart a telemetry report: per-stage wait and service time, stacked, one bar per mode.

    python scripts/plot_report.py report.json -o chart.png

The report is the JSON of ``pipeline.telemetry.Telemetry.report()``. Each stage gets a group of
bars, one per mode that ran, each bar its mean wait (light) under its mean service time (solid);
a last group, "total", stacks every wait under every service time and marks the measured mean
end-to-end latency, which the stacks must reach. Drawn with OpenCV only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BLACK, _GREY, _LIGHT = (30, 30, 30), (120, 120, 120), (225, 225, 225)
_PALETTE = [(180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148)]  # BGR


class ReportError(ValueError):
    """The file is not a readable telemetry report."""


@dataclass(frozen=True)
class Series:
    """One mode's bars: mean wait and service per stage (ms) and its mean end-to-end latency."""

    title: str
    wait: list[float]
    service: list[float]
    latency: float | None


def load_report(path: str) -> dict[str, Any]:
    """The report at ``path``, or :class:`ReportError` saying why not."""
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(report, dict):
        raise ReportError(f"{path} is not a telemetry report (not a JSON object)")
    return report


def chart_data(report: dict[str, Any]) -> tuple[list[str], list[Series]]:
    """The stage names and one :class:`Series` per mode (the whole run if no mode is listed)."""
    modes = report.get("modes")
    sections = list(modes.values()) if isinstance(modes, dict) and modes else []
    if not sections and isinstance(report.get("all"), dict):
        sections = [report["all"]]
    sections = [s for s in sections if isinstance(s, dict) and isinstance(s.get("stages"), dict) and s["stages"]]
    if not sections:
        raise ReportError("not a telemetry report: no per-stage times")
    stages = list(sections[0]["stages"])
    series = [_series(section, stages) for section in sections]
    if not any(v > 0 for s in series for v in s.wait + s.service):
        raise ReportError("the report has no frame with stage times")
    return stages, series


def _series(section: dict[str, Any], stages: list[str]) -> Series:
    wait, service = [], []
    for stage in stages:
        figures = section["stages"].get(stage)
        if not isinstance(figures, dict):
            raise ReportError(f"not a telemetry report: stage {stage!r} has no figures")
        wait.append(_mean(figures.get("wait_ms")))
        service.append(_mean(figures.get("service_ms")))
    latency = section.get("latency_ms")
    mean = latency.get("mean") if isinstance(latency, dict) else None
    return Series(str(section.get("title") or "run"), wait, service, _finite(mean))


def _mean(figures: Any) -> float:
    """The ``mean`` of a ``{"mean", "p50", …}`` dict; 0 for a stage without that time."""
    if figures is None:
        return 0.0
    if not isinstance(figures, dict):
        raise ReportError("not a telemetry report: stage times are not objects")
    return _finite(figures.get("mean")) or 0.0


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


# --------------------------------------------------------------------------------------------
# drawing


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 × 10^k)."""
    top = max(top, 1e-9)
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    n = int(math.ceil(top / step - 1e-9))
    return [i * step for i in range(n + 1)]


def _tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.0e}"


def _lighter(colour: tuple[int, int, int], amount: float = 0.6) -> tuple[int, int, int]:
    return tuple(int(c + (255 - c) * amount) for c in colour)  # type: ignore[return-value]


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, colour=_BLACK,
          align: str = "left") -> None:
    (w, _), _ = cv2.getTextSize(text, _FONT, scale, 1)
    x = org[0] - (w if align == "right" else w // 2 if align == "center" else 0)
    cv2.putText(img, text, (int(x), int(org[1])), _FONT, scale, colour, 1, cv2.LINE_AA)


def _vertical_text(img: np.ndarray, text: str, centre: tuple[int, int], scale: float = 0.5) -> None:
    """``text`` turned 90° anticlockwise, centred on ``centre``."""
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    patch = np.full((h + base + 4, w + 4, 3), 255, np.uint8)
    cv2.putText(patch, text, (2, h + 2), _FONT, scale, _BLACK, 1, cv2.LINE_AA)
    patch = np.ascontiguousarray(np.rot90(patch))
    ph, pw = patch.shape[:2]
    y0, x0 = max(0, centre[1] - ph // 2), max(0, centre[0] - pw // 2)
    region = img[y0:y0 + ph, x0:x0 + pw]
    region[:] = np.minimum(region, patch[: region.shape[0], : region.shape[1]])


def render(report: dict[str, Any], size: tuple[int, int] = (1000, 560)) -> np.ndarray:
    """The chart of ``report`` as a BGR image of ``size`` (width, height)."""
    stages, series = chart_data(report)
    width, height = size
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 80, width - 190, 70, height - 70
    groups = stages + ["total"]
    totals = [(sum(s.wait), sum(s.service)) for s in series]
    highest = max([w + v for s in series for w, v in zip(s.wait, s.service)]
                  + [w + v for w, v in totals] + [s.latency or 0.0 for s in series])
    ticks = nice_ticks(highest * 1.05)
    scale = (bottom - top) / ticks[-1]
    _draw_axes(img, ticks, scale, (left, right, top, bottom))
    slot = (right - left) / len(groups)
    bar_w = max(4, int(slot * 0.8 / len(series)))
    for gi, group in enumerate(groups):
        x_start = left + gi * slot + (slot - bar_w * len(series)) / 2
        for si, s in enumerate(series):
            wait, service = totals[si] if group == "total" else (s.wait[gi], s.service[gi])
            x0 = int(x_start + si * bar_w)
            _stacked_bar(img, x0, bar_w - 2, bottom, scale, wait, service, _PALETTE[si % len(_PALETTE)])
            if group == "total" and s.latency is not None:
                y = int(round(bottom - s.latency * scale))
                cv2.line(img, (x0 - 3, y), (x0 + bar_w + 1, y), _BLACK, 2)
        _text(img, group, (int(left + (gi + 0.5) * slot), bottom + 18), align="center")
    _text(img, "stage", ((left + right) // 2, bottom + 45), scale=0.5, align="center")
    _vertical_text(img, "mean time per frame (ms)", (22, (top + bottom) // 2))
    _draw_title(img, report, series, left)
    _draw_legend(img, series, (right + 20, top))
    return img


def _draw_axes(img: np.ndarray, ticks: list[float], scale: float, box: tuple[int, int, int, int]) -> None:
    left, right, top, bottom = box
    for value in ticks:
        y = int(round(bottom - value * scale))
        cv2.line(img, (left, y), (right, y), _LIGHT, 1)
        cv2.line(img, (left - 5, y), (left, y), _BLACK, 1)
        _text(img, _tick_text(value), (left - 8, y + 5), align="right")
    cv2.line(img, (left, top), (left, bottom), _BLACK, 1)
    cv2.line(img, (left, bottom), (right, bottom), _BLACK, 1)


def _stacked_bar(img: np.ndarray, x0: int, w: int, bottom: int, scale: float, wait: float, service: float,
                 colour: tuple[int, int, int]) -> None:
    """Wait (light, at the bottom) under service (solid)."""
    y_wait = int(round(bottom - wait * scale))
    y_top = int(round(bottom - (wait + service) * scale))
    if y_wait < bottom:
        cv2.rectangle(img, (x0, y_wait), (x0 + w, bottom - 1), _lighter(colour), cv2.FILLED)
    if y_top < y_wait:
        cv2.rectangle(img, (x0, y_top), (x0 + w, y_wait), colour, cv2.FILLED)
    if y_top < bottom:
        cv2.rectangle(img, (x0, y_top), (x0 + w, bottom - 1), _GREY, 1)


def _draw_title(img: np.ndarray, report: dict[str, Any], series: list[Series], left: int) -> None:
    _text(img, "Per-stage latency: mean wait + service per frame", (left, 24), scale=0.6)
    meta = report.get("meta") if isinstance(report.get("meta"), dict) else {}
    facts = [f"{k} {v}" for k, v in meta.items() if isinstance(v, (str, int, float)) and not isinstance(v, bool)]
    if facts:
        _text(img, ", ".join(facts)[:140], (left, 46), scale=0.4, colour=_GREY)


def _draw_legend(img: np.ndarray, series: list[Series], origin: tuple[int, int]) -> None:
    x, y = origin
    for i, s in enumerate(series):
        colour = _PALETTE[i % len(_PALETTE)]
        _text(img, s.title[:22], (x, y + 4), scale=0.45)
        for j, (label, fill) in enumerate((("service", colour), ("wait", _lighter(colour)))):
            yy = y + 14 + j * 18
            cv2.rectangle(img, (x, yy), (x + 14, yy + 12), fill, cv2.FILLED)
            cv2.rectangle(img, (x, yy), (x + 14, yy + 12), _GREY, 1)
            _text(img, label, (x + 20, yy + 11), scale=0.42)
        if s.latency is not None:
            _text(img, f"e2e mean {s.latency:.1f} ms", (x, y + 62), scale=0.42, colour=_GREY)
        y += 84
    cv2.line(img, (x, y + 4), (x + 14, y + 4), _BLACK, 2)
    _text(img, "measured e2e", (x + 20, y + 9), scale=0.42)


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="report JSON written by the pipeline's telemetry")
    parser.add_argument("-o", "--output", help="PNG to write (default: the report's name with .png)")
    args = parser.parse_args(argv)
    output = args.output or os.path.splitext(args.report)[0] + ".png"
    try:
        image = render(load_report(args.report))
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        written = cv2.imwrite(output, image)
    except cv2.error:
        written = False
    if not written:
        print(f"error: cannot write {output}", file=sys.stderr)
        return 1
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""scripts/plot_report.py draws a readable PNG from a report and fails cleanly on a bad file."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.messages import NUM_STAMPS
from pipeline.telemetry import Telemetry

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "plot_report.py"


def load_script():
    spec = importlib.util.spec_from_file_location("plot_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


plot_report = load_script()


def report(modes=("user", "latency")) -> dict:
    rng = np.random.default_rng(0)
    t = Telemetry(clock=lambda: 0, meta={"model": "hpe-0001", "device": "CPU"})
    start = 10**12
    for k, mode in enumerate(modes):
        steps = rng.integers(1, 5, size=(50, NUM_STAMPS - 1)) * (k + 1) * 1_000_000
        stamps = np.zeros((50, NUM_STAMPS), dtype=np.int64)
        stamps[:, 0] = start + np.arange(50) * 30_000_000
        stamps[:, 1:] = stamps[:, :1] + np.cumsum(steps, axis=1)
        t.add_frames(stamps, mode, np.zeros(50, dtype=int))
        start = int(stamps[-1, -1]) + 1
    return t.report()


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_writes_a_png_that_opencv_reads(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report()))
    out = tmp_path / "chart.png"
    res = run(str(path), "-o", str(out))
    assert res.returncode == 0, res.stderr
    image = cv2.imread(str(out))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 300
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10  # bars, text and legend, not a blank


def test_default_output_is_next_to_the_report(tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(report(modes=("user",))))
    assert plot_report.main([str(path)]) == 0
    assert cv2.imread(str(tmp_path / "run.png")) is not None


def test_one_bar_per_mode_and_a_total_group():
    stages, series = plot_report.chart_data(report())
    assert stages == ["capture", "preprocess", "infer", "decode", "sink"]
    assert [s.title for s in series] == ["User specified", "Min latency"]
    for s in series:
        assert sum(s.wait) + sum(s.service) == pytest.approx(s.latency, rel=0.01)
    image = plot_report.render(report())
    assert image.dtype == np.uint8 and image.ndim == 3


def test_missing_report_fails_with_one_line(tmp_path):
    res = run(str(tmp_path / "missing.json"), "-o", str(tmp_path / "x.png"))
    assert res.returncode == 1
    assert res.stderr.startswith("error: cannot read") and res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"frames": 3}', '{"all": {"stages": {}}}',
                                     '{"modes": {"user": {"stages": {"capture": 5}}}}',
                                     json.dumps(Telemetry().report())])
def test_invalid_reports_fail_with_one_line(tmp_path, capsys, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert plot_report.main([str(path), "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "x.png").exists()


def test_unwritable_output_fails_with_one_line(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report()))
    assert plot_report.main([str(path), "-o", str(tmp_path / "no" / "such" / "dir" / "x.png")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot write")

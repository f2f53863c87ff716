"""The Open Model Zoo demo baseline (``scripts/omz_demo.py``) that ``make bench`` runs beside the
pipeline: the changes that let the demo's wrappers run on OpenVINO 2026, its drawing, and a tiny
run on an OpenPose-shaped model (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from scripts import omz_demo
from tests.helpers import ROOT, make_clip


def test_the_demos_cpu_keys_are_spelled_as_today():
    assert omz_demo.plugin_config("", 0) == {"NUM_STREAMS": "AUTO"}
    assert omz_demo.plugin_config("1", 2) == {"NUM_STREAMS": "1", "INFERENCE_NUM_THREADS": "2"}


def _two_output_model(first: int, second: int):
    import openvino as ov
    import openvino.opset8 as ops

    x = ops.parameter([1, 3, 8, 8], ov.Type.f32, name="image")
    a = ops.convolution(x, ops.constant(np.zeros((first, 3, 1, 1), np.float32)), [1, 1], [0, 0], [0, 0], [1, 1])
    b = ops.convolution(x, ops.constant(np.zeros((second, 3, 1, 1), np.float32)), [1, 1], [0, 0], [0, 0], [1, 1])
    a.output(0).get_tensor().set_names({"Mconv7_stage2_L1"})
    b.output(0).get_tensor().set_names({"Mconv7_stage2_L2"})
    return ov.Model([ops.result(a), ops.result(b)], [x])


@pytest.mark.parametrize("channels", [(38, 19), (19, 38)])
def test_openpose_outputs_get_the_names_the_wrapper_looks_for(channels):
    class Adapter:
        model = _two_output_model(*channels)

    omz_demo.name_openpose_outputs(Adapter)
    names = {o.get_partial_shape()[1].get_length(): o.get_any_name() for o in Adapter.model.outputs}
    assert names == {38: "pafs", 19: "heatmaps"}


def test_runtime_alias_resolves_what_the_wrappers_import(tmp_path):
    code = ("import sys; from pathlib import Path; from scripts import omz_demo;"
            f"omz_demo.alias_runtime(Path({str(tmp_path)!r}));"
            "import openvino, openvino.runtime.opset8 as o8;"
            "from openvino.runtime import AsyncInferQueue, Core, PartialShape, layout_helpers;"
            "assert Core is openvino.Core and o8 is openvino.opset8; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_drawing_blends_limbs_and_leaves_an_empty_frame_alone():
    image = np.zeros((100, 100, 3), np.uint8)
    omz_demo.draw(image, np.zeros((0, 17, 3), np.float32), 0.1)
    assert not image.any()
    pose = np.zeros((1, 17, 3), np.float32)
    pose[0, 5] = (20, 50, 1.0)   # left shoulder
    pose[0, 7] = (80, 50, 1.0)   # left elbow: one limb between them
    omz_demo.draw(image, pose, 0.1)
    row = image[50, 30:70]
    assert row.any(axis=1).all(), "the limb is drawn along its whole length"
    assert not image[10:30].any(), "nothing far from the limb"
    assert row.max() < 255, "limbs are blended at 0.6, not painted"


def _tiny_openpose_ir(path):
    """An OpenPose-shaped IR: an image in, 38 PAF and 19 heatmap channels out at 1/8 the size."""
    import openvino as ov
    import openvino.opset8 as ops

    x = ops.parameter([1, 3, 256, 456], ov.Type.f32, name="data")
    pooled = ops.avg_pool(x, [8, 8], [0, 0], [0, 0], [8, 8], True)
    rng = np.random.default_rng(0)
    pafs = ops.convolution(pooled, ops.constant(rng.normal(0, 0.01, (38, 3, 1, 1)).astype(np.float32)),
                           [1, 1], [0, 0], [0, 0], [1, 1])
    heat = ops.convolution(pooled, ops.constant(rng.normal(0, 0.01, (19, 3, 1, 1)).astype(np.float32)),
                           [1, 1], [0, 0], [0, 0], [1, 1])
    pafs.output(0).get_tensor().set_names({"Mconv7_stage2_L1"})
    heat.output(0).get_tensor().set_names({"Mconv7_stage2_L2"})
    ov.save_model(ov.Model([ops.result(pafs), ops.result(heat)], [x]), str(path))
    return path


def test_a_tiny_run_reports_fps_latency_and_memory(tmp_path, sample):
    """The demo's wrappers (installed from PyPI on first use) run on OpenVINO 2026 end to end."""
    xml = _tiny_openpose_ir(tmp_path / "tiny.xml")
    clip = make_clip(tmp_path / "clip.avi", frames=8)
    report = tmp_path / "r.json"
    done = subprocess.run([sys.executable, "scripts/omz_demo.py", "-i", str(clip), "--loop", "-m", str(xml),
                           "-at", "openpose", "--max-frames", "12", "-o", str(tmp_path / "out.avi"),
                           "--json", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    figures = json.loads(report.read_text())
    assert figures["frames"] == 12 and figures["fps"] > 0 and figures["latency_ms"]["p50"] > 0
    assert figures["net_input"].endswith("x256"), "OpenPose nets are resized to 256 rows"
    assert 0 < figures["peak_pss_mb"] <= figures["peak_rss_mb"] + 1
    assert (tmp_path / "out.avi").stat().st_size > 12 * 1000


def test_with_sync_it_loads_then_waits_for_go_before_reading(tmp_path, sample):
    """``--sync`` lets ``make bench`` start several demo loops over the same seconds."""
    xml = _tiny_openpose_ir(tmp_path / "tiny.xml")
    clip = make_clip(tmp_path / "clip.avi", frames=8)
    sync, report = tmp_path / "sync", tmp_path / "r.json"
    sync.mkdir()
    proc = subprocess.Popen([sys.executable, "scripts/omz_demo.py", "-i", str(clip), "--loop", "-m", str(xml),
                             "-at", "openpose", "--max-frames", "6", "--sync", str(sync), "--json", str(report)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not list(sync.glob("ready.*")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p.name for p in sync.glob("ready.*")] == [f"ready.{proc.pid}"], proc.stderr.read() if proc.poll() else ""
        time.sleep(1.0)
        assert proc.poll() is None and not report.exists(), "no frame is read before go"
        (sync / "go").touch()
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    figures = json.loads(report.read_text())
    assert figures["frames"] == 6 and figures["latency_ms"]["p95"] >= figures["latency_ms"]["p50"] > 0


def test_an_unreadable_input_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "scripts/omz_demo.py", "-i", str(tmp_path / "none.avi"), "-m", "x.xml",
                           "-at", "openpose"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot read" in done.stderr



def test_a_registry_that_cannot_serve_the_wrappers_is_one_reason_and_nothing_half_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEPIPE_CACHE", str(tmp_path))
    failed = subprocess.CompletedProcess([], 1, "", "WARNING: retrying\nERROR: No matching distribution found\n")
    monkeypatch.setattr(omz_demo.subprocess, "run", lambda *a, **k: failed)
    with pytest.raises(omz_demo.Unavailable, match="No matching distribution found"):
        omz_demo.model_api_dir()
    assert list(tmp_path.iterdir()) == [], "no staging folder or partial install left in the cache"

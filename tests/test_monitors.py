"""The -u monitors read /proc, toggle with their letters and draw only in their corner."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.telemetry.monitors import Monitors, cpu_load, memory_use, parse_meminfo, parse_proc_stat

STAT = """cpu  {u} 0 {s} {i} 0 0 0 0 0 0
cpu0 {u0} 0 0 {i0} 0 0 0 0 0 0
cpu1 {u1} 0 0 {i1} 0 0 0 0 0 0
intr 12345 0 0
ctxt 999
"""

MEMINFO = """MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    4000000 kB
Buffers:          100000 kB
Cached:          3000000 kB
SwapTotal:       1000000 kB
SwapFree:         750000 kB
HugePages_Total:       0
"""


def write_proc(folder, u0, i0, u1, i1, meminfo=MEMINFO):
    (folder / "stat").write_text(STAT.format(u=u0 + u1, s=0, i=i0 + i1, u0=u0, i0=i0, u1=u1, i1=i1))
    (folder / "meminfo").write_text(meminfo)


@pytest.fixture
def proc(tmp_path):
    write_proc(tmp_path, u0=100, i0=100, u1=100, i1=100)
    return tmp_path


def test_parse_sample_files(proc):
    stat = parse_proc_stat((proc / "stat").read_text())
    assert set(stat) == {"cpu", "cpu0", "cpu1"}
    assert stat["cpu0"].busy == 100 and stat["cpu0"].total == 200
    info = parse_meminfo((proc / "meminfo").read_text())
    assert info["MemTotal"] == 16000000 * 1024 and info["HugePages_Total"] == 0
    use = memory_use(info)
    assert use.used == 12000000 * 1024 and use.swap_used == 250000 * 1024
    assert use.fraction == pytest.approx(0.75) and use.swap_fraction == pytest.approx(0.25)


def test_memory_without_memavailable_uses_free_buffers_and_cache():
    old = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n"
    use = memory_use(parse_meminfo(old))
    assert use.used == 500 * 1024 and use.swap_total == 0
    assert memory_use(parse_meminfo("garbage\n")) is None


def test_cpu_load_between_two_samples(proc):
    mon = Monitors("cd", proc=str(proc), interval_s=0.0)
    write_proc(proc, u0=150, i0=150, u1=190, i1=110)  # cpu0 50 % busy, cpu1 90 %
    assert mon.update()
    assert mon.cpu[-1] == pytest.approx(0.7)
    assert mon.cores == [pytest.approx(0.5), pytest.approx(0.9)]
    assert cpu_load(parse_proc_stat((proc / "stat").read_text())["cpu"],
                    parse_proc_stat((proc / "stat").read_text())["cpu"]) is None


def test_real_proc_gives_sane_figures():
    if not os.path.exists("/proc/stat") or not os.path.exists("/proc/meminfo"):
        pytest.skip("no /proc here")
    mon = Monitors("cdm", interval_s=0.0)
    for _ in range(100):  # until every core has seen a clock tick (10 ms each)
        time.sleep(0.02)
        mon.update()
        if mon.cpu and mon.cores:
            break
    assert mon.memory is not None and 0 < mon.memory.used <= mon.memory.total
    assert mon.cpu and all(0.0 <= v <= 1.0 for v in [*mon.cpu, *mon.cores, *mon.ram])
    cores = [k for k in parse_proc_stat(Path("/proc/stat").read_text()) if k != "cpu"]
    assert len(mon.cores) == len(cores)


def test_update_waits_for_its_interval(proc):
    clock = {"t": 0.0}
    mon = Monitors("m", proc=str(proc), interval_s=1.0, clock=lambda: clock["t"])
    assert not mon.update()
    clock["t"] = 1.5
    assert mon.update()
    assert len(mon.ram) == 2


def test_unknown_letters_are_refused_with_the_valid_ones():
    with pytest.raises(ValueError) as err:
        Monitors("cxz")
    text = str(err.value)
    assert "'xz'" in text and "c (" in text and "d (" in text and "m (" in text


def test_keys_toggle_their_monitor(proc):
    mon = Monitors("c", proc=str(proc))
    assert mon.shown == {"c": True, "d": False, "m": False}
    assert mon.toggle("c") and not mon.shown["c"] and not mon.active
    assert mon.toggle("m") and mon.shown["m"]
    assert mon.toggle(ord("d")) and mon.shown["d"]
    assert mon.toggle("D") and not mon.shown["d"]
    assert not mon.toggle("q") and not mon.toggle(27)


def fed_monitors(proc, letters="cdm"):
    mon = Monitors(letters, proc=str(proc), interval_s=0.0)
    for k in range(1, 6):
        write_proc(proc, u0=100 + 30 * k, i0=100 + 70 * k, u1=100 + 80 * k, i1=100 + 20 * k)
        mon.update()
    return mon


@pytest.mark.parametrize("letters", ["c", "d", "m", "cdm", "md"])
def test_drawing_changes_pixels_only_in_the_bottom_left_corner(proc, letters):
    mon = fed_monitors(proc, letters)
    image = np.random.default_rng(0).integers(0, 256, size=(576, 768, 3), dtype=np.uint8)
    before = image.copy()
    box = mon.draw(image)
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 < 768 // 2 and y0 > 576 // 2 and y1 <= 576 and x1 <= 768
    changed = np.any(image != before, axis=2)
    assert changed[y0:y1, x0:x1].any()
    changed[y0:y1, x0:x1] = False
    assert not changed.any()


def test_hidden_monitors_draw_nothing(proc):
    mon = fed_monitors(proc, "")
    image = np.full((240, 320, 3), 128, np.uint8)
    assert mon.draw(image) is None
    assert (image == 128).all()


def test_tiny_frames_are_left_alone_or_drawn_inside(proc):
    mon = fed_monitors(proc)
    for shape in [(30, 40, 3), (70, 120, 3), (120, 200, 3)]:
        image = np.zeros(shape, np.uint8)
        box = mon.draw(image)
        if box is None:
            assert not image.any()
        else:
            assert box[2] <= shape[1] and box[3] <= shape[0]


def test_draw_wants_a_bgr_uint8_frame(proc):
    mon = fed_monitors(proc)
    with pytest.raises(ValueError):
        mon.draw(np.zeros((100, 100), np.uint8))
    with pytest.raises(ValueError):
        mon.draw(np.zeros((100, 100, 3), np.float32))


def test_missing_proc_files_do_not_break_drawing(tmp_path):
    mon = Monitors("cdm", proc=str(tmp_path / "nowhere"), interval_s=0.0)
    mon.update()
    image = np.zeros((480, 640, 3), np.uint8)
    assert mon.draw(image) is not None


def test_several_sources_get_the_monitors_once_on_the_mosaic_not_on_every_tile(proc):
    from stages.mosaic import Mosaic
    mon = fed_monitors(proc, "cdm")
    mon.interval_s = 3600.0  # the figures stay as they are while the window is redrawn
    mosaic = Mosaic(max_w=1280, max_h=720)
    rng = np.random.default_rng(1)
    frames = {sid: rng.integers(0, 256, size=(288, 384, 3), dtype=np.uint8) for sid in range(4)}
    for sid, frame in frames.items():
        mosaic.put(sid, frame, [f"source {sid}"], list(frames))
    canvas = mosaic.canvas.copy()
    for _ in range(3):  # shown again and again while cells refresh one by one
        shown = mosaic.view(mon)
    assert np.array_equal(mosaic.canvas, canvas)  # the cells themselves are never drawn on
    changed = np.any(shown != canvas, axis=2)
    x0, y0, x1, y1 = mon.region(canvas.shape)
    assert changed[y0:y1, x0:x1].any()
    changed[y0:y1, x0:x1] = False
    assert not changed.any()  # one set of panels, in the canvas's corner only
    view_once = mosaic.view(mon)
    assert np.array_equal(view_once[y0:y1, x0:x1], shown[y0:y1, x0:x1])  # not darker each time
    assert mosaic.view(None) is mosaic.canvas

"""The run's window of frames in flight follows what inference needs (pipeline/window.py)."""

from __future__ import annotations

from pipeline.window import HOLD_PERIODS, WARMUP_PERIODS, WindowSizer


def period(idle: float, surplus: float, items: int = 25, streams: int = 2) -> dict:
    return {"idle_streams": idle, "surplus": surplus, "items": items, "streams": streams}


def settle(sizer: WindowSizer) -> None:
    for _ in range(WARMUP_PERIODS):
        sizer.update(period(0.5, 0.0))  # filling up: ignored


def test_warm_up_and_quiet_periods_change_nothing():
    sizer = WindowSizer(size=4, high=20)
    settle(sizer)
    assert sizer.size == 4
    assert sizer.update(period(0.9, 0.0, items=1)) == 4  # too few frames to say anything
    assert sizer.update({"items": 30}) == 4  # no figures (Min latency mode)


def test_idle_streams_grow_the_window_one_frame_at_a_time_up_to_the_rings():
    sizer = WindowSizer(size=4, high=6)
    settle(sizer)
    assert [sizer.update(period(0.10, 0.0)) for _ in range(4)] == [5, 6, 6, 6]


def test_frames_waiting_shrink_it_at_once_but_not_below_one_ready_per_stream():
    sizer = WindowSizer(size=20, high=20)
    settle(sizer)
    assert sizer.update(period(0.0, 16.5)) == 5  # 15.5 frames too many: gone in one period
    assert sizer.update(period(0.0, 2.6)) == 4
    assert sizer.update(period(0.0, 1.6)) == 3
    assert sizer.update(period(0.0, 1.2)) == 3  # streams + 1: one frame ready behind the two running
    assert WindowSizer(size=2, high=20, low=2).update(period(0.0, 0.0, streams=4)) == 2  # warm-up
    four = WindowSizer(size=9, high=20)
    settle(four)
    assert four.update(period(0.0, 3.0, streams=4)) == 7
    assert four.update(period(0.0, 3.0, streams=4)) == 5
    assert four.update(period(0.0, 3.0, streams=4)) == 5


def test_a_size_that_had_to_grow_holds_against_shrinking_for_a_while():
    sizer = WindowSizer(size=4, high=20)
    settle(sizer)
    assert sizer.update(period(0.05, 0.5)) == 5  # 4 starved a stream
    for _ in range(HOLD_PERIODS - 1):
        assert sizer.update(period(0.0, 2.7)) == 5  # queueing, but 4 starved: hold
    assert sizer.update(period(0.0, 2.7)) == 4  # tried again later


def test_many_sources_keep_a_frame_each_in_the_window():
    sizer = WindowSizer(size=8, high=20)
    settle(sizer)
    assert sizer.update(period(0.0, 5.0), sources=8) == 8  # queueing, but one frame per source stays
    assert sizer.update(period(0.0, 5.0), sources=30) == 20  # at most the rings' slots
    assert sizer.update(period(0.0, 18.0), sources=2) == 3  # sources ended: back to what the streams need

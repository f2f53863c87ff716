"""Under light load, User specified mode runs frames on the latency-compiled model
(pipeline/lightload.py); when they would wait for it, back on the throughput streams."""

from __future__ import annotations

from pipeline.lightload import HEAVY_ABOVE, LIGHT_BELOW, WARMUP_PERIODS, LightLoad


def started(light: bool = False) -> LightLoad:
    """A choice past the run's first periods."""
    return LightLoad(light=light, seen=WARMUP_PERIODS)


def throughput_period(choice: LightLoad, fps: float, stream_ms: float, streams: int = 2) -> bool:
    busy = fps * stream_ms / 1e3 / streams
    return choice.update(items=int(fps), period_s=1.0, streams=streams, stream_busy=busy, stream_ms=stream_ms)


def latency_period(choice: LightLoad, fps: float, latency_ms: float) -> bool:
    return choice.update(items=int(fps), period_s=1.0, streams=2, latency_busy=fps * latency_ms / 1e3,
                         latency_ms=latency_ms)


def test_a_camera_with_capacity_to_spare_goes_light_after_two_periods():
    choice = started()
    # 15 FPS on two streams of 77 ms a frame: a latency request (~38 ms) would be busy 58 %
    assert throughput_period(choice, 15, 77.0) is False
    assert throughput_period(choice, 15, 77.0) is True
    assert latency_period(choice, 15, 40.0) is True  # 60 % busy: stays


def test_a_saturated_run_never_goes_light():
    choice = started()
    assert not any(throughput_period(choice, 25, 77.0) for _ in range(10))  # 96 % predicted


def test_load_rising_past_the_latency_request_goes_back_to_the_streams():
    choice = started(light=True)
    assert latency_period(choice, 23, 40.0) is True  # 92 %: one period is not enough
    assert latency_period(choice, 23, 40.0) is False
    # measured slower than the streams promised: the next prediction uses the measured time
    assert choice.latency_ms > 30.0
    assert throughput_period(choice, 19, 60.0) is False  # 19 x 40 ms = 76 % > LIGHT_BELOW
    assert throughput_period(choice, 19, 60.0) is False


def test_the_first_periods_of_a_run_decide_nothing():
    choice = LightLoad()
    assert not any(throughput_period(choice, 3, 77.0) for _ in range(WARMUP_PERIODS + 1))
    assert throughput_period(choice, 3, 77.0) is True


def test_a_period_without_frames_changes_nothing():
    choice = started()
    assert throughput_period(choice, 10, 77.0) is False
    assert choice.update(items=0, period_s=1.0, streams=2, stream_busy=0.0) is False
    assert throughput_period(choice, 10, 77.0) is False  # the streak started again
    assert throughput_period(choice, 10, 77.0) is True
    assert LIGHT_BELOW < HEAVY_ABOVE  # a steady load stays on one side

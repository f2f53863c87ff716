"""The controller's telemetry: stage times add up, percentiles and windows are right, the text fits."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.messages import NUM_STAMPS, Stamp
from pipeline.telemetry import STAGES, Telemetry, frame_times
from pipeline.telemetry.textreport import final_table, status_line
from pipeline.telemetry.trace import TraceRecorder, chrome_trace, validate_trace

T0 = 10**12  # a plausible monotonic_ns origin
MS = 1_000_000


def make_stamps(n: int, seed: int = 0, start: int = T0, period_ms: float = 10.0,
                step_ms: tuple[float, float] = (0.5, 4.0)) -> np.ndarray:
    """``n`` frames read every ``period_ms``, each boundary a random step after the previous."""
    rng = np.random.default_rng(seed)
    steps = rng.uniform(step_ms[0] * MS, step_ms[1] * MS, size=(n, NUM_STAMPS - 1)).astype(np.int64)
    stamps = np.zeros((n, NUM_STAMPS), dtype=np.int64)
    stamps[:, 0] = start + (np.arange(n) * period_ms * MS).astype(np.int64)
    stamps[:, 1:] = stamps[:, :1] + np.cumsum(steps, axis=1)
    return stamps


def stamps_with_latency(latency_ms: np.ndarray, start: int = T0, period_ms: float = 10.0) -> np.ndarray:
    """Frames whose end-to-end latency is exactly ``latency_ms``, spread evenly over the stages."""
    n = latency_ms.size
    stamps = np.zeros((n, NUM_STAMPS), dtype=np.int64)
    stamps[:, 0] = start + (np.arange(n) * period_ms * MS).astype(np.int64)
    total = (latency_ms * MS).astype(np.int64)
    for k in range(1, NUM_STAMPS):
        stamps[:, k] = stamps[:, 0] + total * k // (NUM_STAMPS - 1)
    return stamps


def fed(stamps: np.ndarray, mode: str = "user", **kwargs) -> Telemetry:
    t = Telemetry(clock=lambda: int(stamps[:, Stamp.SINK_OUT].max()), **kwargs)
    t.add_frames(stamps, mode, np.arange(len(stamps)) % 3)
    return t


# -- stage arithmetic ----------------------------------------------------------------------


def test_stage_times_of_every_frame_add_up_to_its_latency():
    times = frame_times(make_stamps(50))
    np.testing.assert_array_equal(times.service.sum(axis=1) + times.wait.sum(axis=1), times.e2e)


def test_report_stage_means_add_up_to_mean_latency_within_one_percent():
    stamps = make_stamps(300, seed=1)
    report = fed(stamps).report()
    section = report["all"]
    stage_sum = sum(s["service_ms"]["mean"] + (s["wait_ms"] or {"mean": 0.0})["mean"]
                    for s in section["stages"].values())
    e2e = (stamps[:, Stamp.SINK_OUT] - stamps[:, Stamp.READ]).mean() / MS
    assert section["latency_ms"]["mean"] == pytest.approx(e2e, rel=1e-9)
    assert stage_sum == pytest.approx(e2e, rel=0.01)
    assert section["sum_check"]["ok"] is True
    assert sum(s["share"] for s in section["stages"].values()) == pytest.approx(1.0, rel=0.01)


def test_stage_boundaries_follow_the_stamps():
    stamps = make_stamps(20, seed=2)
    section = fed(stamps).report()["all"]["stages"]
    infer_wait = (stamps[:, Stamp.INFER_START] - stamps[:, Stamp.PRE_OUT]).mean() / MS
    decode_service = (stamps[:, Stamp.DECODE_OUT] - stamps[:, Stamp.DECODE_IN]).mean() / MS
    assert section["infer"]["wait_ms"]["mean"] == pytest.approx(infer_wait)
    assert section["decode"]["service_ms"]["mean"] == pytest.approx(decode_service)
    assert section["capture"]["wait_ms"] is None
    assert list(section) == list(STAGES)


# -- percentiles ---------------------------------------------------------------------------


def test_percentiles_on_known_data():
    latency = np.arange(1, 101, dtype=np.float64)  # 1 … 100 ms, shuffled
    np.random.default_rng(3).shuffle(latency)
    t = fed(stamps_with_latency(latency, period_ms=1.0), window_s=60.0)
    whole = t.report()["all"]["latency_ms"]
    window = t.snapshot()["latency_ms"]
    for got in (whole, window):
        assert got["p50"] == pytest.approx(50.5, rel=1e-6)
        assert got["p95"] == pytest.approx(95.05, rel=1e-6)
        assert got["p99"] == pytest.approx(99.01, rel=1e-6)
    assert whole["min"] == pytest.approx(1.0) and whole["max"] == pytest.approx(100.0)


def test_long_run_percentiles_stay_within_one_percent_in_bounded_memory():
    latency = np.random.default_rng(4).lognormal(mean=3.0, sigma=0.5, size=5000)
    stamps = stamps_with_latency(latency, period_ms=1.0)
    t = Telemetry(exact_limit=100, clock=lambda: int(stamps[-1, Stamp.SINK_OUT]))
    for chunk in np.array_split(np.arange(len(stamps)), 50):
        t.add_frames(stamps[chunk], "user", np.zeros(len(chunk), dtype=int))
    got = t.report()["all"]["latency_ms"]
    exact = (stamps[:, Stamp.SINK_OUT] - stamps[:, Stamp.READ]) / MS
    for q in (50, 95, 99):
        assert got[f"p{q}"] == pytest.approx(np.percentile(exact, q), rel=0.01)
    assert got["mean"] == pytest.approx(exact.mean(), rel=1e-9)


# -- modes ---------------------------------------------------------------------------------


def test_frames_are_split_by_mode():
    user = stamps_with_latency(np.full(60, 20.0), period_ms=10.0)
    latency = stamps_with_latency(np.full(40, 5.0), start=int(user[-1, Stamp.SINK_OUT]) + MS, period_ms=10.0)
    t = Telemetry(clock=lambda: int(latency[-1, Stamp.SINK_OUT]))
    t.add_frames(user, ["user"] * 60, np.zeros(60, dtype=int))
    t.set_mode("latency")
    t.add_frames(latency, ["latency"] * 40, np.zeros(40, dtype=int))
    report = t.report()
    assert set(report["modes"]) == {"user", "latency"}
    assert report["modes"]["user"]["frames"] == 60
    assert report["modes"]["latency"]["frames"] == 40
    assert report["modes"]["user"]["latency_ms"]["mean"] == pytest.approx(20.0, rel=1e-6)
    assert report["modes"]["latency"]["latency_ms"]["mean"] == pytest.approx(5.0, rel=1e-6)
    assert report["all"]["frames"] == 100
    assert report["all"]["latency_ms"]["mean"] == pytest.approx((60 * 20 + 40 * 5) / 100, rel=1e-6)
    assert report["modes"]["latency"]["title"] == "Min latency"
    assert t.snapshot()["mode"] == "latency"
    table = final_table(report)
    assert "User specified" in table and "Min latency" in table and "Whole run" in table


def test_fps_counts_frames_per_second_of_the_run():
    stamps = stamps_with_latency(np.full(201, 15.0), period_ms=10.0)  # 100 fps for 2 s
    t = fed(stamps, window_s=1.0)
    assert t.report()["all"]["fps"] == pytest.approx(100.0, rel=0.02)
    assert t.snapshot()["fps"] == pytest.approx(100.0, rel=0.02)


# -- sliding window ------------------------------------------------------------------------


def test_sliding_window_forgets_old_frames():
    old = stamps_with_latency(np.full(50, 100.0), period_ms=10.0)
    now = {"t": int(old[-1, Stamp.SINK_OUT])}
    t = Telemetry(window_s=2.0, clock=lambda: now["t"])
    t.add_frames(old, "user", np.zeros(50, dtype=int))
    assert t.snapshot()["frames"] == 50
    now["t"] += 5 * 10**9  # five quiet seconds
    snap = t.snapshot()
    assert snap["frames"] == 0 and snap["fps"] == 0.0 and snap["latency_ms"]["p50"] is None
    fresh = stamps_with_latency(np.full(10, 2.0), start=now["t"] - 100 * MS, period_ms=5.0)
    t.add_frames(fresh, "user", np.zeros(10, dtype=int))
    snap = t.snapshot()
    assert snap["frames"] == 10
    assert snap["latency_ms"]["p50"] == pytest.approx(2.0)
    assert snap["total_frames"] == 60
    assert t.report()["all"]["frames"] == 60  # the whole run still has every frame


def test_sliding_window_is_bounded_in_count():
    stamps = stamps_with_latency(np.full(500, 3.0), period_ms=0.1)
    t = fed(stamps, max_window_frames=64)
    assert t.snapshot()["frames"] == 64
    assert t.snapshot()["fps"] > 0


# -- stage figures -------------------------------------------------------------------------


def test_figures_give_drops_utilisation_and_queues():
    t = Telemetry(period_s=1.0, clock=lambda: T0)
    t.set_mode("user")
    for k in range(1, 4):  # three one-second periods
        t.add_figures("decode0.0", {"items": 10, "busy_ms": 250.0}, t_ns=T0 + k * 10**9)
        t.add_figures("decode1.0", {"items": 20, "busy_ms": 750.0}, t_ns=T0 + k * 10**9)
        t.add_figures("capture", {"in_flight": 3, "limit": 4, "dropped": 2 * k}, t_ns=T0 + k * 10**9)
    t.add_figures("infer", {"in_flight": 2, "waiting": 1, "decodable": 0, "idle_workers": 1, "requests": 4},
                  t_ns=T0 + 3 * 10**9)
    t.add_figures("sink", {"pending": 5}, t_ns=T0 + 3 * 10**9)
    snap = t.snapshot(now_ns=T0 + 3 * 10**9)
    assert snap["workers"] == {"decode0": pytest.approx(0.25), "decode1": pytest.approx(0.75)}
    assert snap["dropped"] == 6
    assert snap["in_flight"] == 2 and snap["requests"] == 4
    assert snap["queues"]["capture"] == {"in_flight": 3, "limit": 4}
    assert snap["queues"]["sink"] == {"pending": 5}
    report = t.report()
    assert report["dropped"] == 6
    workers = report["all"]["workers"]
    assert workers["decode0"]["utilisation"] == pytest.approx(0.25)
    assert workers["decode1"]["items"] == 60


def test_restarted_worker_counts_as_the_same_worker():
    t = Telemetry(period_s=1.0, clock=lambda: T0, mode="user")
    t.add_figures("decode2.0", {"items": 1, "busy_ms": 100.0, "period_ms": 1000.0}, t_ns=T0)
    t.add_figures("decode2.1", {"items": 1, "busy_ms": 300.0, "period_ms": 1000.0}, t_ns=T0 + 10**9)
    assert t.report()["all"]["workers"]["decode2"]["utilisation"] == pytest.approx(0.2)


def test_report_counts_the_frames_each_worker_decoded():
    stamps = make_stamps(30, seed=5)
    workers = np.array([0, 1, 1] * 10)
    t = Telemetry(clock=lambda: 0)
    t.add_frames(stamps, "user", workers)
    report = t.report()["all"]["workers"]
    assert report["decode0"]["frames"] == 10 and report["decode1"]["frames"] == 20
    decode = (stamps[:, Stamp.DECODE_OUT] - stamps[:, Stamp.DECODE_IN]) / MS
    assert report["decode1"]["decode_mean_ms"] == pytest.approx(decode[workers == 1].mean())


def test_frames_with_missing_stamps_count_but_do_not_skew_times():
    stamps = stamps_with_latency(np.full(10, 10.0))
    stamps[3, Stamp.DECODE_IN] = 0
    section = fed(stamps).report()["all"]
    assert section["frames"] == 10 and section["incomplete"] == 1
    assert section["latency_ms"]["mean"] == pytest.approx(10.0, rel=1e-6)


def test_report_is_json_with_meta_even_when_empty():
    meta = {"model": "m.xml", "device": "CPU", "precision": "FP16", "input": "456x256", "machine": "x86_64"}
    for t in (Telemetry(meta=meta), fed(make_stamps(30), meta=meta)):
        report = t.report()
        json.dumps(report, allow_nan=False)
        assert report["meta"] == meta
        assert all(len(line) <= 80 for line in final_table(report).splitlines())


def test_add_frames_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        Telemetry().add_frames(make_stamps(3), ["user"] * 2, np.zeros(3, dtype=int))
    with pytest.raises(ValueError):
        Telemetry().add_frames(np.zeros((3, 4), dtype=np.int64), "user", np.zeros(3, dtype=int))


# -- status line and table -----------------------------------------------------------------


def snapshot_with(mode="user", fps=29.97, p50=33.3, p95=48.1, dropped=0) -> dict:
    return {"mode": mode, "fps": fps, "latency_ms": {"p50": p50, "p95": p95, "p99": p95}, "dropped": dropped}


SNAPSHOTS = [
    snapshot_with(),
    snapshot_with(mode="latency", fps=0.0001, p50=0.00001, p95=0.0004),
    snapshot_with(fps=1e15, p50=1e13, p95=9.99e300, dropped=10**15),
    snapshot_with(mode="a-very-long-mode-name-that-nobody-would-choose-" * 4),
    snapshot_with(fps=None, p50=None, p95=float("nan")),
    snapshot_with(fps=-5.0, p50=-1.0, p95=-1e9),
    {},
]
PROGRESS = [None, (0, 500), (500, 500), (250, 500), (10**12, 10**12), (7, 0), (600, 500)]


def test_status_line_is_always_one_line_exactly_as_wide_as_asked():
    """Whatever the figures (none, absurd, NaN, negative), progress or ETA, the line overwrites
    the previous one after "\\r": exactly ``width`` characters, no line break."""
    for width in (1, 5, 12, 20, 40, 60, 79, 80, 120):
        for snap in SNAPSHOTS:
            for progress in PROGRESS:
                for eta in (None, 0.0, 83.0, 1e9):
                    line = status_line(snap, progress, eta, width=width)
                    assert len(line) == width and "\n" not in line and "\r" not in line, (width, snap, progress,
                                                                                            eta, line)


def test_status_line_gives_up_the_least_useful_parts_first():
    """As the terminal narrows: the mode's long title and the latency's labels go first, then the
    bar, then the ETA and the latency; the percentage outlives the latency; the FPS stays."""
    def at(width: int) -> str:
        return status_line(snapshot_with(), (250, 500), 83.0, width=width)
    assert all(w in at(80) for w in ("User specified", "30.0 fps", "lat p50 33.3 p95 48.1 ms", "[#", "50%",
                                     "ETA 1:23"))
    assert "User specified" not in at(70) and "lat p50 33.3 p95 48.1 ms" in at(70) and "[#" in at(70)
    assert "lat 33.3/48.1 ms" in at(60) and "[#" in at(60)  # latency shortened before the bar goes
    assert "[" not in at(50) and "50% ETA 1:23" in at(50)
    assert "lat 33.3/48.1 ms" in at(40) and "50%" in at(40) and "ETA" not in at(40)
    assert "lat" not in at(30) and "50% ETA 1:23" in at(30)
    assert at(20).startswith("user | 30.0 fps")
    assert at(12) == "user 30.0 f~" and at(5) == "user~"  # cut, and said to be cut


def test_status_line_figures_stay_short_whatever_they_are():
    huge = status_line(snapshot_with(fps=1e15, p50=1e13, p95=9.99e300, dropped=10**15), None, None, width=120)
    assert "1e+15 fps" in huge and "1e+13" in huge and "1e+301" in huge and "drops 1.0e+15" in huge
    assert "<0.01 fps" in status_line(snapshot_with(fps=0.0001), None, None)
    unknown = status_line(snapshot_with(fps=None, p50=None, p95=float("nan")), None, None)
    assert "- fps" in unknown and "lat p50 - p95 - ms" in unknown and "nan" not in unknown
    long_mode = status_line(snapshot_with(mode="m" * 200), (1, 2), 5.0)
    assert long_mode.startswith("m" * 13 + "~ | ")
    assert "ETA 0:05" in long_mode and "ETA >999h" in status_line(snapshot_with(), (1, 2), 1e9)
    assert "frame 7" in status_line(snapshot_with(), (7, 0), None)  # no total known: the count
    assert "100% done" in status_line(snapshot_with(), (600, 500), 0.0)  # past the end: still 100 %


def test_status_line_shows_what_matters():
    live = status_line(snapshot_with(mode="latency", dropped=12))
    assert "Min latency" in live and "30.0 fps" in live and "33.3" in live and "48.1" in live and "drops 12" in live
    start = status_line(snapshot_with(), (0, 400), None)
    assert "0%" in start and "ETA" in start
    half = status_line(snapshot_with(), (200, 400), 75.0)
    assert "50%" in half and "1:15" in half and "[" in half
    end = status_line(snapshot_with(), (400, 400), 0.0)
    assert "100%" in end


def test_final_table_lines_fit_80_columns_and_list_every_stage():
    t = fed(make_stamps(100))
    t.set_mode("latency")
    t.add_frames(make_stamps(100, start=T0 + 2 * 10**9), "latency", np.arange(100) % 2)
    for k in range(12):
        t.add_figures(f"decode{k}.0", {"items": 1, "busy_ms": 10.0, "period_ms": 1000.0})
    report = t.report()
    table = final_table(report)
    assert all(len(line) <= 80 for line in table.splitlines())
    for stage in STAGES:
        assert stage in table
    assert "FPS" in table and "p99" in table and "drops" in table
    huge = json.loads(json.dumps(report))
    for section in [huge["all"], *huge["modes"].values()]:
        for figures in section["stages"].values():
            figures["service_ms"] = {"mean": 1.5e17, "p50": 1e17, "p95": 9e307}
        section["frames"] = 10**18
        section["fps"] = 1e300
        section["latency_ms"] = {"p50": 1e-9, "p95": 1e12, "p99": None}
    assert all(len(line) <= 80 for line in final_table(huge).splitlines())


# -- Chrome trace --------------------------------------------------------------------------


PIDS = {"capture": 101, "preprocess": 102, "infer": 103, "decode0": 110, "decode1.0": 111, "sink": 104}


def test_chrome_trace_is_valid_with_one_span_per_frame_per_stage():
    n = 40
    stamps = make_stamps(n, period_ms=1.0)  # frames overlap: several in flight at once
    workers = np.arange(n) % 2
    seqs = np.arange(100, 100 + n)
    trace = chrome_trace(stamps, workers, PIDS, seqs)
    assert validate_trace(trace) == []
    json.loads(json.dumps(trace))
    spans = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == n * len(STAGES)
    for stage in STAGES:
        assert sorted(e["args"]["frame"] for e in spans if e["name"] == stage) == list(seqs)
    names = {e["pid"]: e["args"]["name"] for e in trace["traceEvents"] if e.get("name") == "process_name"}
    assert len([e for e in trace["traceEvents"] if e.get("name") == "process_name"]) == len(names)
    assert names == {101: "capture", 102: "preprocess", 103: "infer", 110: "decode0", 111: "decode1", 104: "sink"}
    for e in spans:
        if e["name"] == "decode":
            assert e["pid"] == (110 if workers[e["args"]["frame"] - 100] == 0 else 111)
    by_lane: dict = {}
    for e in spans:
        by_lane.setdefault((e["pid"], e["tid"]), []).append((e["ts"], e["ts"] + e["dur"]))
    for intervals in by_lane.values():
        intervals.sort()
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(intervals, intervals[1:]))


def test_chrome_trace_times_are_microseconds():
    stamps = stamps_with_latency(np.array([10.0]))
    trace = chrome_trace(stamps, np.array([0]), PIDS, np.array([0]))
    sink = next(e for e in trace["traceEvents"] if e["ph"] == "X" and e["name"] == "sink")
    assert sink["dur"] == pytest.approx(1000.0)  # 10 ms over 10 boundaries = 1 ms = 1000 µs
    assert sink["ts"] == pytest.approx(9000.0)


def test_chrome_trace_names_processes_missing_from_pids():
    trace = chrome_trace(make_stamps(4), np.array([0, 1, 2, 3]), {"capture": 5}, np.arange(4))
    assert validate_trace(trace) == []
    named = [e for e in trace["traceEvents"] if e.get("name") == "process_name"]
    assert len({e["pid"] for e in named}) == len(named) == 3 + 4 + 1


@pytest.mark.parametrize("broken, expected", [
    ({}, "traceEvents"),
    ("nope", "object or an array"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "dur": -1}]}, "dur"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": "0", "dur": 1}]}, "ts"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": float("nan"), "dur": 1}]}, "ts"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0}]}, "dur"),
    ({"traceEvents": [{"ph": "X", "pid": 1, "tid": 1, "ts": 0, "dur": 1}]}, "name"),
    ({"traceEvents": [{"name": "a", "pid": 1, "tid": 1, "ts": 0}]}, "phase"),
    ({"traceEvents": [{"ph": "Q", "name": "a", "pid": 1, "tid": 1, "ts": 0}]}, "phase"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": "one", "tid": 1, "ts": 0, "dur": 1}]}, "pid"),
    ({"traceEvents": [{"ph": "M", "name": "process_name", "pid": 1, "args": {}}]}, "args.name"),
    ({"traceEvents": [{"ph": "M", "name": "process_colour", "pid": 1, "args": {"name": "x"}}]}, "metadata"),
    ({"traceEvents": [{"ph": "E", "pid": 1, "tid": 1, "ts": 0}]}, "without a matching"),
    ({"traceEvents": [{"ph": "B", "name": "a", "pid": 1, "tid": 1, "ts": 0}]}, "without 'E'"),
    ({"traceEvents": [{"ph": "b", "name": "a", "pid": 1, "tid": 1, "ts": 0}]}, "id"),
    ({"traceEvents": ["event"]}, "not an object"),
    ({"traceEvents": [], "displayTimeUnit": "s"}, "displayTimeUnit"),
    ({"traceEvents": [{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "dur": 1, "args": [1]}]}, "args"),
])
def test_validate_trace_catches_broken_traces(broken, expected):
    problems = validate_trace(broken)
    assert problems, broken
    assert any(expected in p for p in problems), problems


def test_validate_trace_accepts_the_array_form_and_lists_many_problems_briefly():
    assert validate_trace([{"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0.5, "dur": 2}]) == []
    bad = {"traceEvents": [{"ph": "X"}] * 500}
    assert 0 < len(validate_trace(bad)) <= 51


def test_trace_recorder_keeps_the_latest_frames_only():
    rec = TraceRecorder(max_frames=10)
    stamps = make_stamps(25, period_ms=1.0)
    for chunk in np.array_split(np.arange(25), 4):
        rec.add(stamps[chunk], chunk % 2, chunk)
    assert len(rec) == 10 and rec.forgotten == 15
    _, _, seqs = rec.frames()
    assert list(seqs) == list(range(15, 25))
    trace = rec.trace(PIDS)
    assert validate_trace(trace) == []
    assert len([e for e in trace["traceEvents"] if e["ph"] == "X"]) == 10 * len(STAGES)


def test_requests_in_flight_are_credited_to_the_mode_they_ran_in():
    tel = Telemetry(mode="user")
    tel.add_frames(make_stamps(10), "user", np.zeros(10, int))
    tel.add_frames(make_stamps(10, start=T0 + 10**9), "latency", np.zeros(10, int))
    tel.add_figures("infer", {"in_flight_ms": {"user": 2000.0}, "mode_ms": {"user": 1000.0}})
    tel.add_figures("infer", {"in_flight_ms": {"user": 300.0, "latency": 600.0},
                              "mode_ms": {"user": 200.0, "latency": 800.0}})
    modes = tel.report()["modes"]
    assert modes["user"]["requests_in_flight"] == pytest.approx(2300 / 1200)
    assert modes["latency"]["requests_in_flight"] == pytest.approx(0.75)

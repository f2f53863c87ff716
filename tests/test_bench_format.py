"""``make bench`` output format, on a tiny run (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT, movenet_model


def test_tiny_bench_writes_the_table_and_json(tmp_path, sample):
    movenet_model()
    done = subprocess.run([sys.executable, "scripts/bench.py", "--only", "movenet", "--seconds", "1",
                           "--raw-seconds", "1", "--workers", "1", "--noise-frames", "0", "--sources-ks", "1",
                           "--sources-seconds", "5", "--http-sources", "2", "--http-viewers", "1",
                           "--http-rounds", "1", "--http-seconds", "2", "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr
    md = (tmp_path / "BENCHMARKS.md").read_text()
    assert ("| model | input | precision | raw FPS | pipeline FPS, video written | ratio | pipeline FPS, no output "
            "| ratio |") in md
    assert "| movenet (real weights) |" in md
    assert "| OMZ demo FPS, video written | ratio | OMZ demo FPS, no output | ratio |" in md
    assert "| model | raw latency ms | pipeline latency p50 ms | over raw ms | FPS | OMZ demo, 1 request, p50 ms |" in md
    movenet_line = next(ln for ln in md.splitlines() if ln.startswith("| movenet (real weights) |"))
    assert movenet_line.endswith("| – | – | – | – |"), "no Open Model Zoo demo exists for MoveNet"
    latency_line = next(ln for ln in md.splitlines() if ln.startswith("| movenet |"))
    assert latency_line.endswith("| – |"), "no Open Model Zoo demo memory for MoveNet"
    assert "Machine:" in md and "python -m pipeline" in md
    assert "(Min latency mode lower: " in md
    assert "## The web page's cost (`--http`)" in md
    assert "| --http, 1 viewer |" in md
    assert "## Decoders on noisy maps" not in md  # --noise-frames 0 skips it
    assert "## Many cameras" in md and "| 1 | one pipeline | 15 FPS |" in md, "the many-cameras section, K = 1"
    data = json.loads((tmp_path / "bench.json").read_text())
    assert [(r["setup"], r["k"], r["paced"]) for r in data["sources"]["rows"]] == [
        ("one pipeline", 1, False), ("one pipeline", 1, True)]
    assert data["sources"]["models"]["movenet"]["raw_fps"] == data["rows"][0]["raw_fps"], "raw limit reused"
    row = data["rows"][0]
    for key in ("raw_fps", "pipeline_fps", "throughput_ratio", "pipeline_fps_drawn", "throughput_ratio_drawn",
                "raw_fps_runs", "batch", "raw_latency_ms", "latency_p50_ms",
                "latency_written_p50_ms", "decode_fps_by_workers", "cpu_ms_per_frame", "peak_rss_mb", "peak_pss_mb",
                "first_frame_s", "precision", "omz_fps_drawn", "omz_latency_p50_ms", "latency_mode_lower"):
        assert key in row, key
    assert row["precision"] in ("bf16", "f32", "f16")
    assert row["throughput_ratio"] > 0 and row["throughput_ratio_drawn"] > 0
    assert len(row["raw_fps_runs"]) == 2 and row["batch"] >= 1 and set(row["decode_fps_by_workers"]) == {"1"}
    assert {"capture", "preprocess", "infer", "sink"} <= set(row["cpu_ms_per_frame"])


def test_the_noise_table_section(monkeypatch):
    """make bench's section on the decoders under noise, on one scene per family and level (run
    in this process: the full bench above runs without it)."""
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    import bench

    noise = bench.decode_noise(1)
    md = "\n".join(bench.noise_section(noise, "a test CPU"))
    assert md.startswith("## Decoders on noisy maps") and "a test CPU" in md
    assert noise["command"] in md
    assert ("| family | noise | people | recall | OMZ | precision | OMZ | keypoints within 4 px | OMZ "
            "| decode ms/frame | OMZ |") in md
    for family in ("openpose", "ae", "higherhrnet"):
        for level in ("clean", "low", "medium", "high"):
            assert f"| {family} | {level} | 1 |" in md
    ours = [r for r in noise["rows"] if r["decoder"] == "ours"]
    assert len(ours) == 12 and all(0.0 <= r["recall"] <= 1.0 and r["ms_per_frame"] > 0 for r in ours)
    for row in ours:  # one clean person, rendered: our decoders find it exactly, whatever the family
        if row["level"] == "clean":
            assert (row["recall"], row["precision"], row["keypoints_4px"]) == (1.0, 1.0, 1.0), row
    assert json.loads(json.dumps(noise)) == noise  # bench.json holds it as it is


def test_real_maps_check_counts_different_people_not_pieces():
    """real_maps_check --against-movenet: a second pose near a person already found is a
    duplicate, a pose near nobody is extra, and only different people count toward 5+."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import real_maps_check as rmc
    finally:
        sys.path.pop(0)

    def pose(x: float, y: float) -> dict:
        return {"keypoints": [[x, y, 0.5]] * 5 + [[0.0, 0.0, 0.0]] * 12}

    truth = [[pose(100 * i, 100) for i in range(1, 6)]]  # five people in a row
    legs = pose(110, 130)  # a piece of the first person
    found = [[pose(100, 100), legs, pose(205, 95), pose(300, 100), pose(400, 100), pose(700, 400)]]
    assert rmc.against(found, truth) == {"matched": 4, "duplicates": 1, "extra": 1, "truth": 5,
                                         "frames_5_matched": 0}
    found[0].append(pose(498, 102))
    assert rmc.against(found, truth)["frames_5_matched"] == 1


def test_int8_bench_puts_the_pipeline_beside_the_raw_limit(tmp_path, sample):
    """``scripts/bench_int8.py`` runs the pipeline on each variant in the same rounds as its raw
    limit and reports the share; here with MoveNet as both variants (no quantization needed)."""
    from tests.helpers import make_clip
    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_int8

    clip = make_clip(tmp_path / "clip.avi", frames=30, size=(384, 288))
    model = movenet_model()
    work = tmp_path / "work"
    work.mkdir()
    got = bench_int8.measure([("a", model), ("b", model)], "movenet", clip, rounds=1, seconds=2, work=work)
    for row in got["rows"]:
        assert row["pipeline_median_fps"] > 0 and 0 < row["pipeline_share"] == row["round_shares"][0]
        assert row["pipeline_input"] == got["input"], "the pipeline ran the same compiled model as the raw limit"
        assert row["pipeline_command"].startswith("python -m pipeline -i ")
        assert 0.3 < row["infer_cpu_share"] < 1, "inference takes most of the pipeline's CPU, not all of it"
    md = bench_int8.markdown({"movenet": got}, {"cpu": "x", "cores": 2, "openvino": "y"}, "python scripts/bench_int8.py")
    assert "| pipeline FPS (median) | pipeline × raw | per round | inference's share of the pipeline's CPU |" in md
    assert f"| {got['rows'][0]['pipeline_share']:.2f} |" in md
    raw_only = bench_int8.measure([("a", model)], "movenet", clip, rounds=1, seconds=1)
    assert "pipeline_share" not in raw_only["rows"][0]
    assert "| – | – | – | – |" in bench_int8.markdown({"movenet": raw_only}, {"cpu": "x", "cores": 2, "openvino": "y"}, "c")

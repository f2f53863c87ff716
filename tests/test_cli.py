"""The command line keeps the seed's options and fails with one clear line."""

from __future__ import annotations

import pytest

from tests.helpers import run_pipeline, tagged_processes

SEED_OPTIONS = ["-i", "--loop", "-o", "-m", "-at", "--tsize", "-t", "-r", "-d", "-nireq", "-nstreams", "-nthreads",
                "-no_show", "-u"]


def test_help_lists_every_seed_option():
    res = run_pipeline("-h")
    assert res.code == 0
    for option in SEED_OPTIONS:
        assert f" {option}" in res.stdout, option
    for family in ("openpose", "ae", "higherhrnet", "movenet"):
        assert family in res.stdout


def test_no_options_gives_usage_and_an_error():
    res = run_pipeline()
    assert res.code == 2
    assert res.stderr.startswith("usage:")
    assert "error: the following arguments are required: -i/--input" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("args, expected", [
    (["-i", "nope.mp4", "-at", "openpose"], "-m is required"),
    (["-i", "x", "-at", "pose"], "invalid choice"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "-nireq", "0"], "-nireq must be"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "-nthreads", "-1"], "-nthreads must be"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "-nstreams", "two"], "-nstreams"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "--tsize", "0"], "--tsize must be"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "-t", "1.5"], "-t must be between 0 and 1"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "--bogus"], "unrecognized arguments: --bogus"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "--batch", "17"], "--batch must be between 1 and 16"),
    (["-i", "x", "-at", "openpose", "-m", "m.xml", "--batch", "4", "--ring-slots", "3"],
     "--ring-slots (3) must be at least --batch (4)"),
])
def test_bad_options_exit_2_with_one_line(args, expected):
    res = run_pipeline(*args)
    assert res.code == 2, res.stderr
    assert expected in res.stderr
    assert "Traceback" not in res.stderr
    assert not tagged_processes(res.tag)


@pytest.mark.parametrize("batch, ring_slots, frame, expected", [
    (0, 0, (432, 768), 8),  # small frames: a full batch
    (0, 0, (1080, 1920), 5),  # at most 32 MiB of frames per batch
    (0, 0, (2160, 3840), 1),  # 4K: per-frame work dwarfs a hop, no batching
    (3, 0, (2160, 3840), 3),  # asked for: as asked
    (0, 4, (432, 768), 2),  # half the ring: one batch comes in while another goes out
])
def test_batch_size_follows_the_frame_size_unless_given(batch, ring_slots, frame, expected):
    from pipeline.config import InferenceConfig, PipelineConfig
    cfg = PipelineConfig(inputs=("x",), inference=InferenceConfig(model="m.xml", architecture="openpose"),
                         batch=batch, ring_slots=ring_slots)
    got = cfg.batch_for(frame[0] * frame[1] * 3)
    assert got == expected
    assert cfg.slots(got) >= 2 * got  # room for one batch coming in while another goes out


def test_help_names_the_command_and_the_defaults_a_newcomer_needs():
    import subprocess
    import sys
    from pathlib import Path
    from tests.helpers import ROOT
    res = run_pipeline("-h")
    assert res.stdout.startswith("usage: python -m pipeline ")
    text = " ".join(res.stdout.split())
    assert "twice OpenVINO's optimal number" in text  # -nireq: what the default really is
    assert "movenet 0.1," in text and "yolo-pose 0.25" in text  # -t: each family's default
    assert "c = total CPU load" in text and "d = load per core" in text and "m = memory" in text  # -u
    script = Path(sys.executable).parent / "posepipe"
    if not script.exists():
        pytest.skip("posepipe is not installed in this environment")
    done = subprocess.run([str(script), "-h"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("usage: posepipe "), done.stdout[:200]


def test_packaging_is_what_a_fresh_machine_runs():
    import tomllib
    from tests.helpers import ROOT
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"  # an SPDX expression, not the deprecated table
    makefile = (ROOT / "Makefile").read_text()
    fetch = [ln for ln in makefile.splitlines() if "fetch_sample.py" in ln]
    assert fetch and all(ln.strip().startswith("$(BIN)/python ") for ln in fetch)  # the venv's python


def test_near_and_far_sizes_by_family_and_options():
    """Default: the frame-derived size plus the native one when the frame is clearly larger;
    --tsize: one size; --scales: the given ones, largest first."""
    from pipeline.models.families import Family, plan_scales

    movenet = Family.get("movenet")
    assert plan_scales(movenet, (720, 1280), 0, (-1, -1)) == [(736, 1280), (160, 256)]
    assert plan_scales(movenet, (576, 768), 0, (-1, -1)) == [(576, 768), (192, 256)]
    assert plan_scales(movenet, (270, 320), 0, (-1, -1)) == [(288, 320)]  # hardly larger: one
    assert plan_scales(movenet, (720, 1280), 512, (-1, -1)) == [(288, 512)]
    assert plan_scales(movenet, (720, 1280), 0, (-1, -1), (256, 640)) == [(384, 640), (160, 256)]
    tfpose = Family.get("openpose", "tfpose")
    assert plan_scales(tfpose, (576, 768), 0, (-1, -1)) == [(576, 768), (256, 344)]
    hpe = Family.get("openpose")
    assert plan_scales(hpe, (576, 768), 0, (256, 456)) == [(256, 344)]  # no native size: one
    yolo = Family.get("yolo-pose")
    # a dynamic YOLO model: far (long side 960) and near (640, its training size) by default
    assert plan_scales(yolo, (720, 1280), 0, (-1, -1)) == [(544, 960), (384, 640)]
    assert plan_scales(yolo, (720, 1280), 640, (-1, -1)) == [(384, 640)]
    assert plan_scales(yolo, (720, 1280), 0, (640, 640)) == [(640, 640)]


def test_tsize_and_scales_exclude_each_other_and_bad_scales_are_usage_errors(sample):
    for args in (["--tsize", "256", "--scales", "768,256"], ["--scales", "768,x"], ["--scales", "0"],
                 ["--scales", "768,64"]):
        res = run_pipeline("-i", str(sample), "-at", "movenet", "-no_show", *args)
        assert res.code == 2, (args, res.stderr)
        assert "Traceback" not in res.stderr
        assert len([ln for ln in res.stderr.splitlines() if "error:" in ln]) == 1, res.stderr

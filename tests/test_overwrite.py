"""An output that names an input file (same inode, through any path or symlink) is a usage error
before anything is opened: the input stays intact."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from pipeline.errors import UsageError
from pipeline.outputs.overwrite import check_outputs_spare_inputs
from tests.helpers import make_clip, movenet_model, run_pipeline, tagged_processes


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("ow") / "clip.avi", frames=6)


def assert_refused(res, *words):
    assert res.code == 2, res.stderr
    assert "Traceback" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), res.stderr
    assert not tagged_processes(res.tag)


@pytest.mark.parametrize("option", ["-o", "--poses-out", "--telemetry-out", "--trace-out"])
def test_output_that_is_the_input_file_is_refused(option, clip, tmp_path):
    video = tmp_path / "in.avi"
    shutil.copy(clip, video)
    before = digest(video)
    res = run_pipeline("-i", str(video), "-at", "movenet", "-m", movenet_model(), "-no_show", option, str(video))
    assert_refused(res, option, "would be overwritten")
    assert digest(video) == before


def test_output_through_a_symlink_or_another_path_is_refused(clip, tmp_path):
    video = tmp_path / "in.avi"
    shutil.copy(clip, video)
    before = digest(video)
    link = tmp_path / "link.avi"
    link.symlink_to(video)
    res = run_pipeline("-i", str(video), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(link))
    assert_refused(res, "would be overwritten")
    other = tmp_path / "sub" / ".." / "in.avi"
    (tmp_path / "sub").mkdir()
    res = run_pipeline("-i", str(link), "-at", "movenet", "-m", movenet_model(), "-no_show", "--poses-out", str(other))
    assert_refused(res, "would be overwritten")
    hard = tmp_path / "hard.avi"
    os.link(video, hard)
    res = run_pipeline("-i", str(video), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(hard))
    assert_refused(res, "would be overwritten")
    assert digest(video) == before


def test_an_image_of_a_folder_input_or_the_folder_itself_is_refused(tmp_path, sample):
    import cv2
    folder = tmp_path / "photos"
    folder.mkdir()
    cap = cv2.VideoCapture(str(sample))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(folder / "a.jpg"), frame)
    before = digest(folder / "a.jpg")
    res = run_pipeline("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "--poses-out", str(folder / "a.jpg"))
    assert_refused(res, "a.jpg", "would be overwritten")
    res = run_pipeline("-i", str(folder), "-at", "movenet", "-m", movenet_model(), "-no_show", "-o", str(folder))
    assert_refused(res, "would be overwritten")
    res = run_pipeline("-i", str(folder / "a.jpg"), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(folder))
    assert_refused(res, "folder of the input")
    assert digest(folder / "a.jpg") == before


def test_distinct_files_pass(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("x")
    check_outputs_spare_inputs([("-o", str(b)), ("--poses-out", None)], [str(a)])
    with pytest.raises(UsageError):
        check_outputs_spare_inputs([("-o", str(a))], [str(a)])


# -- every output of a run against every input of the run (several sources) ---------------------


def test_another_sources_output_over_an_input_is_refused(clip, tmp_path):
    """Source 1's ``{source}`` output is source 0's input, directly or through a hard link."""
    cams = tmp_path / "X"
    cams.mkdir()
    first = cams / "cam_1.avi"
    shutil.copy(clip, first)
    before = digest(first)
    res = run_pipeline("-i", str(first), "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(cams / "cam_{source}.avi"))
    assert_refused(res, "-o", "cam_1.avi", "would be overwritten")
    other = tmp_path / "other.avi"
    os.link(first, other)  # the same file under another name
    res = run_pipeline("-i", str(clip), "-i", str(other), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(cams / "cam_{source}.avi"))
    assert_refused(res, "would be overwritten")
    assert digest(first) == before


def test_a_per_source_file_of_an_output_folder_over_an_input_is_refused(clip, tmp_path):
    folder = tmp_path / "F"
    folder.mkdir()
    victim = folder / "source1.mp4"
    shutil.copy(clip, victim)  # an AVI under an .mp4 name: FFmpeg reads it all the same
    before = digest(victim)
    # source 0 reads F/source1.mp4; source 1's output in the folder -o F is F/source1.mp4
    res = run_pipeline("-i", str(victim), "-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       "-o", str(folder))
    assert_refused(res, "source1.mp4", "would be overwritten")
    assert digest(victim) == before


def test_the_source_list_itself_is_an_input(clip, tmp_path):
    listing = tmp_path / "cams.streams"
    listing.write_text(f"{clip}\n{clip}\n")
    before = digest(listing)
    for option in ("--poses-out", "--telemetry-out", "--trace-out"):
        res = run_pipeline("-i", str(listing), "-at", "movenet", "-m", movenet_model(), "-no_show",
                           option, str(listing))
        assert_refused(res, option, "cams.streams", "would be overwritten")
    assert digest(listing) == before


def test_ctl_add_of_an_output_of_the_run_is_refused(clip, tmp_path):
    from tests.helpers import Running
    out = tmp_path / "out"
    out.mkdir()
    future = out / "o_1.avi"  # what source 1 would write
    shutil.copy(clip, future)
    before = digest(future)
    with Running(tmp_path, "-i", str(clip), "--loop", "-at", "movenet", "-m", movenet_model(), "-no_show",
                 "-o", str(out / "o_{source}.avi")) as run:
        run.wait_until(lambda s: s["frames"] >= 3)
        written = run.ctl("add", str(out / "o_0.avi"))  # being written by source 0
        assert written.returncode == 1 and "would be overwritten" in written.stderr, written.stderr
        own = run.ctl("add", str(future))  # its own output, as source 1
        assert own.returncode == 1 and "would be overwritten" in own.stderr, own.stderr
        assert set(run.status()["sources"]) == {"0"}
        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=120)
    assert code == 0, err
    assert digest(future) == before

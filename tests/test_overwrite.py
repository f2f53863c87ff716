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

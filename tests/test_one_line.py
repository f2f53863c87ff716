"""Hostile environments get one ``error:`` line and a non-zero exit, never a traceback or an
abort: a run directory path too long for a socket, standard output on a full disk, too few
file descriptors, a nonsensical ``ctl --timeout``."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import uuid

import pytest

from tests.helpers import ROOT, make_clip, movenet_model, run_pipeline, tagged_processes


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("ol") / "clip.avi", frames=6)


def one_error(stderr: str) -> str:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def long_folder(tmp_path) -> str:
    path = tmp_path / ("d" * (110 - len(str(tmp_path))))
    path.mkdir()
    return str(path)


def test_a_runtime_dir_too_long_for_sockets_is_not_used(clip, tmp_path):
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       env={"XDG_RUNTIME_DIR": long_folder(tmp_path)})
    assert res.code == 0, res.stderr
    assert "Frames: 6" in res.stdout


def test_a_temporary_folder_too_long_for_sockets_is_one_line(clip, tmp_path):
    res = run_pipeline("-i", str(clip), "-at", "movenet", "-m", movenet_model(), "-no_show",
                       env={"TMPDIR": long_folder(tmp_path), "XDG_RUNTIME_DIR": ""})
    assert res.code == 1
    assert "TMPDIR" in one_error(res.stderr)
    assert not tagged_processes(res.tag)


def test_stdout_on_a_full_disk_is_one_line(clip):
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "pipeline", "-i", str(clip), "-at", "movenet", "-m",
                               movenet_model(), "-no_show"], cwd=ROOT, env=env, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=180)
    assert done.returncode == 1
    assert "No space left" in one_error(done.stderr)
    assert "control:" not in done.stderr  # refused before any stage started, not found at the end
    assert not tagged_processes(tag)


def test_too_few_file_descriptors_is_one_line(clip):
    tag = uuid.uuid4().hex
    env = dict(os.environ, POSEPIPE_TEST_TAG=tag, OPENCV_LOG_LEVEL="OFF")
    env.pop("DISPLAY", None)
    done = subprocess.run([sys.executable, "-m", "pipeline", "-i", str(clip), "-at", "movenet", "-m",
                           movenet_model(), "-no_show"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32)))
    assert done.returncode == 1
    assert "ulimit -n" in one_error(done.stderr)
    assert not tagged_processes(tag)


def test_a_low_soft_limit_is_raised_and_the_run_goes_on(clip):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip("hard limit below 1024 here")
    done = subprocess.run([sys.executable, "-m", "pipeline", "-i", str(clip), "-at", "movenet", "-m",
                           movenet_model(), "-no_show"], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, OPENCV_LOG_LEVEL="OFF", DISPLAY=""),
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (32, hard)))
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
def test_ctl_timeout_must_be_a_number_of_seconds(value):
    done = subprocess.run([sys.executable, "-m", "pipeline.ctl", "ipc:///nonexistent/ctl", "status", "--timeout",
                           value], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert "--timeout" in done.stderr and "Traceback" not in done.stderr

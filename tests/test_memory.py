"""Memory figures: the proportional set size the telemetry and the benchmark report."""

from __future__ import annotations

import numpy as np

from pipeline.telemetry.memory import pss_mb


def test_pss_is_what_this_process_holds_and_zero_for_no_process():
    ballast = np.ones(64 * 2**20, np.uint8)  # 64 MiB, touched: private to this process
    assert pss_mb() > 64
    assert pss_mb(2**22 + 12345) == 0.0
    del ballast

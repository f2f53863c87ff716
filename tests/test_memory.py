"""Memory figures: the proportional set size the telemetry and the benchmark report."""

from __future__ import annotations

import numpy as np

from pipeline.telemetry.memory import PssSampler, pss_mb


def test_pss_is_what_this_process_holds_and_zero_for_no_process():
    ballast = np.ones(64 * 2**20, np.uint8)  # 64 MiB, touched: private to this process
    assert pss_mb() > 64
    assert pss_mb(2**22 + 12345) == 0.0
    del ballast


def test_the_sampler_reads_pss_again_only_when_its_figure_is_old_or_asked_to():
    sampler = PssSampler(every_s=3600)
    first = sampler.sample()
    assert first > 0
    ballast = np.ones(96 * 2**20, np.uint8)  # 96 MiB more, touched
    assert sampler.sample() == first  # read a moment ago: the figure it has
    fresh = sampler.sample(force=True)  # the final report asks for a fresh one
    assert fresh > first + 90
    assert sampler.peak_mb == fresh
    del ballast
    assert sampler.sample(force=True) < fresh - 90
    assert sampler.peak_mb == fresh  # the peak stays
    assert PssSampler(every_s=0).sample() > 0

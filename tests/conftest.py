from __future__ import annotations

import pytest

from pipeline.ring import pipeline_segments


@pytest.fixture(autouse=True)
def no_leaked_segments():
    """Every test must leave /dev/shm as it found it."""
    before = set(pipeline_segments())
    yield
    leaked = set(pipeline_segments()) - before
    assert not leaked, f"shared-memory segments left behind: {sorted(leaked)}"


@pytest.fixture(scope="session")
def sample():
    from tests.helpers import SAMPLE
    if not SAMPLE.exists():
        pytest.skip("sample clip not fetched (make sample)")
    return SAMPLE

from __future__ import annotations

import pytest

import os
import time
import uuid

from pipeline.ring import SHM_TAG_ENV, pipeline_segments

# Every segment this test session's processes create carries this tag (children inherit the
# environment), so the leak check below ignores other pipelines running on the same host.
SHM_TAG = os.environ.setdefault(SHM_TAG_ENV, uuid.uuid4().hex[:8])


@pytest.fixture(autouse=True)
def no_leaked_segments():
    """Every test must leave /dev/shm as it found it."""
    from tests.helpers import Running
    before = set(pipeline_segments(SHM_TAG))
    yield
    if Running.kill_all():
        time.sleep(1.0)  # killed mid-run: give the stages a moment to notice and clean up
    leaked = set(pipeline_segments(SHM_TAG)) - before
    assert not leaked, f"shared-memory segments left behind: {sorted(leaked)}"


@pytest.fixture(scope="session")
def sample():
    from tests.helpers import SAMPLE
    if not SAMPLE.exists():
        pytest.skip("sample clip not fetched (make sample)")
    return SAMPLE


@pytest.fixture
def rtsp_servers(sample):
    """Start real RTSP servers on 127.0.0.1 (tests/rtsp.py): ``make(fps=10, name="stream",
    source=sample, port=0)`` returns a started :class:`tests.rtsp.RtspServer`; all are stopped at the end.
    Skips when GStreamer's RTSP server packages are not installed."""
    from tests.rtsp import RtspServer, rtsp_server_missing
    reason = rtsp_server_missing()
    if reason:
        pytest.skip(reason)
    servers = []

    def make(fps=10, name="stream", source=None, port=0):
        server = RtspServer(source or sample, fps=fps, name=name, port=port)
        servers.append(server)
        return server.start()

    try:
        yield make
    finally:
        for server in servers:
            server.close()


@pytest.fixture
def rtsp_server(rtsp_servers):
    """One real RTSP server streaming the sample clip at 10 FPS (``.url``, ``.stop()``, …)."""
    return rtsp_servers()

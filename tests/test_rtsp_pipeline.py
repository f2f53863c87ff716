"""A real network stream among the sources: a GStreamer RTSP server on 127.0.0.1 is stopped and
started again mid-run (and frozen, like a hung camera); the stream reconnects and the file source
beside it never pauses."""

from __future__ import annotations

import time

import pytest

from tests.helpers import Running, make_clip, movenet_model, read_poses


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.avi", frames=24, size=(384, 288))


def frames_of(state: dict, sid: int) -> int:
    return state["sources"][str(sid)]["frames"]


def still_moving(run: Running, sid: int, seconds: float = 1.5) -> None:
    """Source ``sid`` delivers more frames over the next seconds."""
    before = frames_of(run.status(), sid)
    run.wait_until(lambda s: frames_of(s, sid) > before, timeout=60)
    time.sleep(seconds)


def test_stream_reconnects_while_the_other_source_goes_on(rtsp_servers, clip, tmp_path):
    server = rtsp_servers(fps=15, name="cam")
    out = tmp_path / "p.jsonl"
    with Running(tmp_path, "-i", server.url, "-i", str(clip), "-at", "movenet", "-m", movenet_model(),
                    "-no_show", "--loop", "--stall-timeout", "2", "--poses-out", str(out)) as run:
        state = run.wait_until(lambda s: frames_of(s, 0) >= 10 and frames_of(s, 1) >= 5)
        assert state["sources"]["0"]["kind"] == "stream" and state["sources"]["0"]["state"] == "live"

        server.stop()
        down = run.wait_until(lambda s: s["sources"]["0"]["state"] == "reconnecting", timeout=60)
        still_moving(run, 1)  # the file source does not wait for the stream
        assert run.status()["sources"]["1"]["state"] == "reading"

        server.start()
        back = run.wait_until(lambda s: s["sources"]["0"]["state"] == "live"
                              and frames_of(s, 0) > frames_of(down, 0) + 5, timeout=90)
        assert back["sources"]["0"]["reconnects"] >= 1

        server.freeze()  # connected, but no frame comes: --stall-timeout notices
        run.wait_until(lambda s: s["sources"]["0"]["state"] == "reconnecting", timeout=60)
        still_moving(run, 1)
        server.thaw()
        server.restart()  # a frozen server never recovers its old sessions
        final = run.wait_until(lambda s: s["sources"]["0"]["state"] == "live"
                               and s["sources"]["0"]["reconnects"] >= 2, timeout=90)
        assert frames_of(final, 0) > frames_of(back, 0)

        assert run.ctl("stop").returncode == 0
        code, _, err = run.finish(timeout=600)
    assert code == 0, err
    assert "stream " + server.url + " stopped delivering" in err
    records = read_poses(out)
    stream = [r["frame"] for r in records if r["source"] == 0]
    files = [r["frame"] for r in records if r["source"] == 1]
    assert stream == sorted(set(stream))  # in order, never twice (live frames may be dropped)
    assert files == list(range(len(files)))  # a file loses nothing
    assert sum(len(r["poses"]) for r in records if r["source"] == 0) > 0  # people found in the stream

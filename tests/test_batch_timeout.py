"""``--batch-timeout-ms``: in User specified mode, a batch leaves preprocess when it is full or
when its first frame has waited that long (README, "One engine, fairly shared" and "Batches").

A clip played with ``--realtime`` at 10 fps brings one frame every 100 ms, so a batch of 8 never
fills: how long its frames wait, and how many travel together, is the timeout's doing alone. The
window is fixed (``--ring-slots``) above the clip's length, so that however slow inference is on a
loaded machine, a full window never sends a batch early. Frames that travelled together share their preprocess span's end in ``--trace-out`` (the
batch left at once), so the trace shows both the batches and the first frame's wait. The light
load path (pipeline/lightload.py) is inference's choice of compiled model: it does not change
what preprocess sends, so these runs exercise the path the option governs.

Bounds: a frame cannot leave before the timeout, so the wait's lower bound is one load cannot
undercut; the batch sizes are compared as medians, which a frame or two bunched by a loaded
scheduler does not move.
"""

from __future__ import annotations

import json
import statistics
import subprocess

import pytest

from tests.helpers import make_clip, movenet_model, run_pipeline, tagged_processes

BATCH = 8
FRAMES = 30
SLOTS = 32  # more than the clip's frames: the window can never be full


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample):
    return make_clip(tmp_path_factory.mktemp("batch_timeout") / "clip.avi", frames=FRAMES, fps=10.0)


def batches(tmp_path, clip, timeout_ms: float) -> list[list[float]]:
    """Run the clip in real time; the preprocess spans (ms) of each batch, in the order they left."""
    trace = tmp_path / f"trace{timeout_ms:g}.json"
    try:  # about 10 s here; a batch that waits for ever to fill never lets the run end
        done = run_pipeline("-i", str(clip), "--realtime", "-at", "movenet", "-m", movenet_model(), "-no_show",
                            "--mode", "user", "--batch", str(BATCH), "--ring-slots", str(SLOTS),
                            "--batch-timeout-ms", f"{timeout_ms:g}", "--trace-out", str(trace), timeout=150)
    except subprocess.TimeoutExpired:
        pytest.fail("the run never ended: its last batch, which cannot fill, waited for ever")
    assert done.code == 0, done.stderr
    assert not tagged_processes(done.tag)
    spans = [e for e in json.loads(trace.read_text())["traceEvents"]
             if e.get("ph") == "X" and e["name"] == "preprocess"]
    groups: dict[int, list[tuple[float, float]]] = {}
    for e in spans:  # a batch's frames all left preprocess at one instant: the same end, in whole ns
        # (ts and dur are µs with ns decimals: their float sum rounded to 0.1 µs split a batch
        # whose end fell on a half, and its second frame looked like one that left early)
        end_ns = round(e["ts"] * 1000) + round(e["dur"] * 1000)
        groups.setdefault(end_ns, []).append((e["ts"], e["dur"] / 1e3))
    assert sum(len(g) for g in groups.values()) >= 20, "too few frames came through"
    return [[dur for _, dur in sorted(g)] for _, g in sorted(groups.items())]


def test_a_batch_that_cannot_fill_leaves_after_the_timeout_with_the_frames_that_came(clip, tmp_path):
    timeout_ms = 350.0
    found = batches(tmp_path, clip, timeout_ms)
    sizes = [len(b) for b in found]
    # frames 100 ms apart wait up to 350 ms for partners: about four travel together, never eight
    assert statistics.median(sizes) >= 2, f"frames went one by one: the timeout was not waited for ({sizes})"
    assert statistics.median(sizes) < BATCH, f"batches waited to be full: the timeout was not kept ({sizes})"
    # a batch that did not fill left no sooner than the timeout after its first frame came in
    first_waits = [b[0] for b in found if len(b) < BATCH]
    assert first_waits and min(first_waits) >= 0.9 * timeout_ms, first_waits


def test_a_zero_timeout_sends_each_frame_on_as_it_comes(clip, tmp_path):
    found = batches(tmp_path, clip, 0)
    sizes = [len(b) for b in found]
    assert statistics.median(sizes) == 1, f"frames waited for partners despite --batch-timeout-ms 0 ({sizes})"

"""Which sources a run takes: each ``-i`` at start, and each ``ctl add`` while it runs.

At start (:func:`open_at_start`) every input is probed before any process starts, so that a bad
one stops the run with one line. Among several sources a camera or stream that does not answer
within ``[live] start_probe_timeout`` is not a reason to keep the others down: it starts
``connecting`` and its capture process retries it (``--require-sources``: stop instead).

At run time (:class:`Admission`) a source is checked as it would have been at start: no output
of the run may be its input and its output no input of the run, its frames must fit the run's
slots. A camera or stream is never opened here (that may take seconds, or never end): its
capture process opens it. A file is read by :meth:`Admission.probe`, which may take long (a
folder of many images): the controller calls it off its loop (:mod:`pipeline.ctl.later`).
"""

from __future__ import annotations

from collections.abc import Callable

from config import load_defaults

from ..config import PipelineConfig
from ..errors import Interrupted, PipelineError, UsageError
from ..models.families import ModelPlan
from ..outputs import check_run_outputs, output_for, output_kind
from .inputs import live_kind
from .probe import probe
from .shapes import model_for
from .spec import SourceInfo, SourceSpec
from .table import SourceTable

START_PROBE_TIMEOUT_S = float(load_defaults()["live"]["start_probe_timeout"])  # a stream's patience at start


def open_at_start(text: str, sid: int, count: int, *, fleet: bool, require_sources: bool,
                  warn: Callable[[str], None]) -> SourceInfo:
    """What input ``text`` (source ``sid`` of ``count``) is, or :class:`PipelineError`. With
    ``fleet`` (several sources, or a cluster node) a camera or stream down at start is
    :meth:`SourceInfo.unopened` instead, with a warning, unless ``require_sources``."""
    # OpenCV opens one stream at a time, so ten silent cameras would hold the start for ten
    # open timeouts: among several sources a stream gets a few seconds to answer
    background = fleet and not require_sources
    try:
        info = probe(text, START_PROBE_TIMEOUT_S if background else 0.0)
    except Interrupted:
        raise
    except PipelineError as exc:
        kind = live_kind(text)
        if background and kind is not None:
            warn(f"warning: source {sid}: {exc}; retrying it in the background while the other sources run "
                 "(--require-sources: stop instead)")
            return SourceInfo.unopened(kind)
        if count > 1:
            exc.args = (f"source {sid}: {exc}",)
        raise
    for name in info.skipped:
        warn(f"warning: skipping {name}: not a readable image")
    return info


class Admission:
    """Sources added at run time, checked against the run: its options, its models and frame
    slots (``models``, ``frame_bytes``), the sources it had at start (``started``), its table
    of sources, each source's ``-o`` path (``outputs``, filled in here) and its ``.streams``
    lists (``lists``, inputs too)."""

    def __init__(self, config: PipelineConfig, models: tuple[ModelPlan, ...], frame_bytes: int, started: int,
                 table: SourceTable, outputs: dict[int, str | None], lists: list[str]) -> None:
        self.config = config
        self.models = models
        self.frame_bytes = frame_bytes
        self.started = started
        self.table = table
        self.outputs = outputs
        self.lists = lists

    @staticmethod
    def check(text: str, ending: bool) -> None:
        """What needs no reading: something named, and a run still taking sources."""
        if not text:
            raise UsageError("add needs a source: an image, a folder, a video, a camera id or a stream URL")
        if ending:
            raise UsageError("the run is ending: no source can be added")

    @staticmethod
    def needs_reading(text: str) -> bool:
        """A file or folder is read before it is taken; a camera or stream is not opened here."""
        return live_kind(text) is None

    @staticmethod
    def probe(text: str) -> SourceInfo:
        """What ``text`` is (may take long for a file or folder; never opens a camera or stream)."""
        kind = live_kind(text)
        return SourceInfo.unopened(kind) if kind is not None else probe(text)

    def admit(self, text: str, info: SourceInfo) -> tuple[SourceSpec, int]:
        """Give the source the next id and the least busy capture process: ``(spec, process)``,
        or :class:`UsageError` with the reason it cannot be taken."""
        sid = self.table.next_id()
        named = max(self.started, len(self.table.specs) + 1, 2 if self.config.source_ids else 1)
        output = output_for(self.config.output, sid, named, info)
        if output:
            output_kind(output, info)
        sources = [(spec.text, spec.info, self.outputs.get(spec.id)) for spec in self.table.specs.values()]
        check_run_outputs(self.config, [*sources, (text, info, output)], self.lists)
        if info.sized and info.max_frame_bytes > self.frame_bytes:
            raise UsageError(f"{text}: frames of {info.frame_w}x{info.frame_h} are larger than this run's frame "
                             f"slots ({self.frame_bytes} bytes); start a run with it instead")
        spec = SourceSpec(sid, text, info, model_for(self.config.inference, self.models, info))
        worker = self.table.place(spec)
        self.outputs[sid] = output
        return spec, worker

"""The run's configuration: one frozen tree, built once from ``config/defaults.toml`` and the
command line, validated with one-line errors, and handed to every process explicitly (inside
the :class:`~pipeline.plan.RunPlan`)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import UsageError
from .models.families import FAMILIES

MODES = ("user", "latency")
MAX_BATCH = 16
AUTO_BATCH_MAX = 8  # measured on hpe-0001: 8 frames per hop reach 0.90 of the raw limit, 2 reach 0.82
AUTO_BATCH_BYTES = 32 * 2**20
MODE_TITLES = {"user": "User specified", "latency": "Min latency"}
# Sources (and a folder's images) whose frames ask for different network input sizes get a
# compiled model each, up to this many sizes; further sizes are letterboxed into the planned size
# nearest their shape. COCO val2017's photos ask for 6-9 sizes at the models' defaults.
MAX_INPUT_SHAPES = 8


@dataclass(frozen=True)
class InferenceConfig:
    model: str
    architecture: str
    device: str = "CPU"
    nireq: int = 0  # 0 = twice OpenVINO's optimal number of requests
    nstreams: str = ""  # "" = OpenVINO's throughput-hint choice
    nthreads: int = 0  # 0 = OpenVINO's choice
    tsize: int = 0  # 0 = family/model default
    scales: tuple[int, ...] = ()  # --scales: network input sizes run together (() = the family's default)

    def __post_init__(self) -> None:
        if self.architecture not in FAMILIES:
            raise UsageError(f"-at must be one of {', '.join(FAMILIES)}, not {self.architecture!r}")
        if not 0 <= self.nireq <= 64:
            raise UsageError(f"-nireq must be between 1 and 64 (got {self.nireq})")
        if not 0 <= self.nthreads <= 1024:
            raise UsageError(f"-nthreads must be between 1 and 1024 (got {self.nthreads})")
        if self.tsize < 0:
            raise UsageError(f"--tsize must be positive (got {self.tsize})")
        if self.nstreams:
            _parse_nstreams(self.nstreams)
        if not self.device or any(c.isspace() for c in self.device):
            raise UsageError(f"-d: bad device name {self.device!r}")


def _parse_nstreams(value: str) -> dict[str, int]:
    """``N`` or ``DEV:N,DEV:N`` → {device or "": N}."""
    out: dict[str, int] = {}
    for item in value.split(","):
        dev, _, num = item.rpartition(":")
        try:
            n = int(num)
        except ValueError:
            raise UsageError(f"-nstreams: {item!r} is not a number of streams") from None
        if not 1 <= n <= 64:
            raise UsageError(f"-nstreams must be between 1 and 64 (got {n})")
        out[dev] = n
    return out


def nstreams_for(value: str, device: str) -> int:
    """The number of streams ``-nstreams`` asks for on ``device`` (0 = not set)."""
    if not value:
        return 0
    parsed = _parse_nstreams(value)
    return parsed.get(device, parsed.get("", 0))


@dataclass(frozen=True)
class PipelineConfig:
    inputs: tuple[str, ...]  # -i, in order (``.streams`` lists expanded)
    inference: InferenceConfig
    loop: bool = False
    output: str | None = None
    prob_threshold: float | None = None  # None = the model family's (its preset's prob_threshold)
    raw_output: bool = False
    show: bool = True
    utilization_monitors: str = ""
    mode: str = "user"
    decode_workers: int = 0  # 0 = derived from the core count
    ring_slots: int = 0  # 0 = derived
    batch: int = 0  # frames per message hop in User specified mode (1 = no batching, 0 = auto)
    poses_out: str | None = None
    control: str | None = None
    telemetry_period: float = 1.0
    reopen_backoff: tuple[float, float] = (0.5, 8.0)
    max_frames: int = 0  # stop after this many frames (0 = no limit)
    telemetry_out: str | None = None
    trace_out: str | None = None
    capture_workers: int = 0  # 0 = derived from the cores and the number of sources
    stall_timeout: float = 5.0  # a live source silent this long is reopened
    realtime: bool = False  # pace file sources at their own frame rate
    batch_timeout_ms: float = 5.0  # a batch leaves preprocess when full or this old
    tracker: str = "bytetrack"  # "none": no tracking ids
    publish: str | None = None  # mqtt://[user:pass@]HOST[:PORT]/TOPIC
    publish_qos: int = 0
    publish_ca: str | None = None
    start_at: tuple[tuple[int, int], ...] = ()  # --start-at: (source id, first frame index)
    source_ids: tuple[int, ...] = ()  # --source-ids: the sources' ids in -i order (default 0, 1, …)
    http: str | None = None  # --http [HOST:]PORT: the live page, /metrics and the REST API (web/)
    http_fps: float = 10.0  # --http-fps: pictures per second per source at most
    http_token_file: str | None = None  # --http-token-file: the bearer token (needed off loopback)
    preview_slots: int = 0  # sources watched at once on the page (0 = automatic)
    require_sources: bool = False  # every camera and stream must open at start, else no source runs

    def __post_init__(self) -> None:
        if self.prob_threshold is not None and not 0.0 <= self.prob_threshold <= 1.0:
            raise UsageError(f"-t must be between 0 and 1 (got {self.prob_threshold})")
        if self.mode not in MODES:
            raise UsageError(f"--mode must be one of {', '.join(MODES)} (got {self.mode!r})")
        if not 0 <= self.decode_workers <= 64:
            raise UsageError(f"--decode-workers must be between 1 and 64 (got {self.decode_workers})")
        if self.ring_slots and not 2 <= self.ring_slots <= 256:
            raise UsageError(f"--ring-slots must be between 2 and 256 (got {self.ring_slots})")
        if not 0 <= self.batch <= MAX_BATCH:
            raise UsageError(f"--batch must be between 1 and {MAX_BATCH} (got {self.batch})")
        if self.ring_slots and self.ring_slots < self.batch:
            raise UsageError(f"--ring-slots ({self.ring_slots}) must be at least --batch ({self.batch})")
        if self.max_frames < 0:
            raise UsageError(f"--max-frames must be positive (got {self.max_frames})")
        if not 0 <= self.capture_workers <= 64:
            raise UsageError(f"--capture-workers must be between 1 and 64 (got {self.capture_workers})")
        if not 0.1 <= self.stall_timeout <= 3600:  # also rejects NaN
            raise UsageError(f"--stall-timeout must be between 0.1 and 3600 seconds (got {self.stall_timeout})")
        if not 0 <= self.batch_timeout_ms <= 10000:
            raise UsageError(f"--batch-timeout-ms must be between 0 and 10000 (got {self.batch_timeout_ms})")

    @property
    def input(self) -> str:
        """The inputs as the user gave them, for reports."""
        return " ".join(self.inputs)

    def workers(self) -> int:
        if self.decode_workers:
            return self.decode_workers
        return max(1, (os.cpu_count() or 2) - 1)

    def batch_for(self, frame_bytes: int) -> int:
        """Frames per hop: ``--batch``, or automatically as many as fit in ``AUTO_BATCH_BYTES``
        (8 frames of 768x432; 5 of 1080p; 1 of 4K, whose per-frame work dwarfs a hop's cost),
        and at most half of ``--ring-slots`` so that one batch can come in while another goes out."""
        if self.batch:
            return self.batch
        batch = max(1, min(AUTO_BATCH_MAX, AUTO_BATCH_BYTES // max(1, frame_bytes)))
        return max(1, min(batch, self.ring_slots // 2)) if self.ring_slots else batch

    def window_start(self, slots: int) -> int:
        """Frames in flight at the start in User specified mode: ``--ring-slots`` if given (then
        for the whole run), else about one running and one ready per stream (the requests'
        guess below), until :mod:`pipeline.window` has measured what this host needs."""
        if self.ring_slots:
            return self.ring_slots
        return min(slots, self.inference.nireq or 2 * max(2, (os.cpu_count() or 2) // 2))

    def slots(self, batch: int = 1) -> int:
        """Slots of every ring: the most frames the run can ever hold (the window of frames in
        flight, :mod:`pipeline.window`, moves below it). With batches of ``batch`` frames, one
        batch is on its way in while another is decoded and drawn, besides the requests."""
        if self.ring_slots:
            return self.ring_slots
        # requests in User specified mode: -nireq, or (a guess before OpenVINO is asked) two per
        # stream with about one stream per two cores
        nireq = self.inference.nireq or 2 * max(2, (os.cpu_count() or 2) // 2)
        return max(8, nireq + self.workers() + 4, nireq + 2 * batch)

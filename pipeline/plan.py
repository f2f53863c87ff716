"""The run's plan: what the controller decided before starting the stages, handed to every stage
process as its first argument (the configuration, the sources, the compiled models' shapes, the
endpoints and the rings), and what one capture process reads."""

from __future__ import annotations

from dataclasses import dataclass

from .config import PipelineConfig
from .models.families import ModelPlan
from .ring import RingSpec
from .sources.spec import SourceSpec
from .transport import Endpoints


@dataclass(frozen=True)
class RunPlan:
    """Everything a stage process needs, passed to it as its first argument."""

    config: PipelineConfig
    sources: tuple[SourceSpec, ...]  # the sources known at start, by id
    models: tuple[ModelPlan, ...]  # one per network input shape; a source names its own (SourceSpec.model)
    endpoints: Endpoints
    tensors_ring: RingSpec
    maps_ring: RingSpec
    workers: int  # decode workers
    batch: int = 1  # frames per hop in User specified mode (see PipelineConfig.batch_for)
    capture_workers: int = 1
    frame_bytes: int = 0  # a frame ring slot: the largest frame of any source
    frame_slots: int = 8  # slots of each capture process's frame ring
    window: int = 0  # frames in flight at the start in User specified mode (0: every slot)
    run_id: str = ""  # in the name of every segment of the run (pipeline.ring.run_segments)
    preview: RingSpec | None = None  # --http: the board of watched frames (pipeline.outputs.preview)
    controller_pid: int = 0  # the controller: a stage whose controller is gone stops on its own
    run_dir: str = ""  # the run's private directory (its ipc sockets): the last one out removes it

    @property
    def model(self) -> ModelPlan:
        """The first source's model plan (the one every plan shares but for the input size)."""
        return self.models[0]

    @property
    def slots(self) -> int:
        """Frames of the whole run in flight at most (tensor and map ring slots)."""
        return self.tensors_ring.slots


@dataclass(frozen=True)
class CaptureAssignment:
    """What one capture process reads: its frame ring and its sources, each with the frame index
    to start at (non-zero when a restarted process resumes its predecessor's sources)."""

    ring: RingSpec
    sources: tuple[tuple[SourceSpec, int], ...]  # (source, resume index)

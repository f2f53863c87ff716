"""Which compiled model each source uses: one model plan per network input size the sources ask
for (sources of one camera model share one), so that each source is inferred at the size it
would get alone. A folder of images of several sizes asks for a size per image: each image is
inferred at the size it would get alone too (images whose sizes give the same network input
share one model). Past ``MAX_INPUT_SHAPES`` sizes a source, or an image, is letterboxed into the
planned size nearest its shape; a source added at run time whose size the run has no model for
gets the first source's."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ..config import MAX_INPUT_SHAPES, InferenceConfig
from ..models.families import Family, ModelPlan, plan_model, plan_scales
from .spec import SourceInfo, SourceSpec


def _size_for(inf: InferenceConfig, info: SourceInfo) -> ModelPlan:
    return plan_model(inf.model, inf.architecture, (info.frame_h, info.frame_w), inf.tsize, inf.device,
                      scales=inf.scales)


class _Planner:
    """Model plans by network input size, reading the model file once per new size."""

    def __init__(self, inf: InferenceConfig) -> None:
        self.inf = inf
        self.models: list[ModelPlan] = []
        self.by_frame: dict[tuple[int, int], int] = {}

    def _inputs(self, hw: tuple[int, int]) -> tuple[tuple[int, int], ...] | None:
        """The network input sizes a frame of ``hw`` gets (None before the first plan is read)."""
        if not self.models:
            return None
        first = self.models[0]
        family = Family.get(first.family, first.variant)
        return tuple(plan_scales(family, hw, self.inf.tsize, first.model_input_hw, self.inf.scales))

    def _nearest(self, hw: tuple[int, int]) -> int:
        """The planned model whose input shape is nearest a frame of ``hw`` (least letterbox)."""
        aspect = hw[1] / max(1, hw[0])
        return min(range(len(self.models)), key=lambda i: abs(self.models[i].net_w / self.models[i].net_h - aspect))

    def model_for(self, hw: tuple[int, int]) -> int:
        if hw in self.by_frame:
            return self.by_frame[hw]
        wanted = self._inputs(hw)
        same = [i for i, m in enumerate(self.models) if m.all_scales == wanted]
        if same:
            index = same[0]
        elif len(self.models) >= MAX_INPUT_SHAPES:
            index = self._nearest(hw)
        else:
            plan = plan_model(self.inf.model, self.inf.architecture, hw, self.inf.tsize, self.inf.device,
                              scales=self.inf.scales)
            same = [i for i, m in enumerate(self.models) if m.all_scales == plan.all_scales]
            index = same[0] if same else len(self.models)
            if not same:
                self.models.append(plan)
        self.by_frame[hw] = index
        return index


def plan_source_models(inf: InferenceConfig, specs: Sequence[SourceSpec],
                       assumed: tuple[int, int] = (720, 1280)) -> tuple[tuple[ModelPlan, ...], list[SourceSpec]]:
    """The run's model plans, and the sources with the index of the one each uses (and, for a
    folder of images of several sizes, the one each size uses). A live source not opened yet
    (size unknown) uses the first plan; if no source has a size, the run is planned for frames
    of ``assumed`` (height, width)."""
    planner = _Planner(inf)
    out = []
    if not any(spec.info.sized for spec in specs):
        planner.model_for(assumed)
    for spec in specs:
        if not spec.info.sized:
            out.append(dataclasses.replace(spec, model=0))
            continue
        model = planner.model_for((spec.info.frame_h, spec.info.frame_w))
        out.append(dataclasses.replace(spec, model=model))
    # the sizes of folders' other images come after every source's own first size
    for k, spec in enumerate(out):
        sizes = dict.fromkeys(spec.info.sizes)
        if len(sizes) > 1:
            by_size = tuple((h, w, planner.model_for((h, w))) for h, w in sizes)
            out[k] = dataclasses.replace(spec, models_by_size=by_size)
    return tuple(planner.models), out


def model_for(inf: InferenceConfig, models: Sequence[ModelPlan], info: SourceInfo) -> int:
    """The index of the running model a source added at run time uses (0 if none fits its size,
    or if its size is not known yet)."""
    if not info.sized:
        return 0
    wanted = _size_for(inf, info)
    return next((i for i, m in enumerate(models) if (m.net_h, m.net_w) == (wanted.net_h, wanted.net_w)), 0)

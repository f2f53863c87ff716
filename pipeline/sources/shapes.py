"""Which compiled model each source uses: one model plan per network input size the sources ask
for (sources of one camera model share one), so that each source is inferred at the size it
would get alone. Past ``MAX_INPUT_SHAPES`` sizes, and for a source added at run time whose size
the run has no model for, a source is letterboxed into the first source's size."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ..config import MAX_INPUT_SHAPES, InferenceConfig
from ..models.families import ModelPlan, plan_model
from .spec import SourceInfo, SourceSpec


def _size_for(inf: InferenceConfig, info: SourceInfo) -> ModelPlan:
    return plan_model(inf.model, inf.architecture, (info.frame_h, info.frame_w), inf.tsize, inf.device,
                      scales=inf.scales)


def plan_source_models(inf: InferenceConfig, specs: Sequence[SourceSpec],
                       assumed: tuple[int, int] = (720, 1280)) -> tuple[tuple[ModelPlan, ...], list[SourceSpec]]:
    """The run's model plans, and the sources with the index of the one each uses. A live
    source not opened yet (size unknown) uses the first plan; if no source has a size, the run is
    planned for frames of ``assumed`` (height, width)."""
    models: list[ModelPlan] = []
    by_frame: dict[tuple[int, int], int] = {}
    out = []
    if not any(spec.info.sized for spec in specs):
        models.append(_size_for(inf, SourceInfo("stream", assumed[0], assumed[1], 0, 0.0, 0)))
    for spec in specs:
        if not spec.info.sized:
            out.append(dataclasses.replace(spec, model=0))
            continue
        hw = (spec.info.frame_h, spec.info.frame_w)
        if hw not in by_frame:
            plan = _size_for(inf, spec.info)
            same = [i for i, m in enumerate(models) if (m.net_h, m.net_w) == (plan.net_h, plan.net_w)]
            if same:
                by_frame[hw] = same[0]
            elif len(models) < MAX_INPUT_SHAPES:
                by_frame[hw] = len(models)
                models.append(plan)
            else:
                by_frame[hw] = 0
        out.append(dataclasses.replace(spec, model=by_frame[hw]))
    return tuple(models), out


def model_for(inf: InferenceConfig, models: Sequence[ModelPlan], info: SourceInfo) -> int:
    """The index of the running model a source added at run time uses (0 if none fits its size,
    or if its size is not known yet)."""
    if not info.sized:
        return 0
    wanted = _size_for(inf, info)
    return next((i for i, m in enumerate(models) if (m.net_h, m.net_w) == (wanted.net_h, wanted.net_w)), 0)

"""Run in a fresh interpreter by test_warmup.py: ``python -m tests.decode.warmup_probe FAMILY``
prints which Numba kernels the family's ``warmup()`` compiled and which a decode of a rendered
crowd compiled after it (JSON)."""

from __future__ import annotations

import importlib
import json
import sys

import numpy as np
from numba.core.registry import CPUDispatcher

from tests.decode import render

KERNELS = ("openpose_kernels", "ae_kernels", "heatmap_kernels", "nms_kernels")


def compiled() -> dict[str, int]:
    """Compiled signatures of every Numba kernel of the decoders, by name."""
    mods = [importlib.import_module(f"stages.decode.{name}") for name in KERNELS]
    return {f"{m.__name__.rsplit('.', 1)[1]}.{k}": len(v.signatures)
            for m in mods for k, v in vars(m).items() if isinstance(v, CPUDispatcher)}


def decode_a_crowd(family: str) -> None:
    rng = np.random.default_rng(0)
    decoder = importlib.import_module(f"stages.decode.{family}")
    if family == "openpose":
        pafs, heat = render.render_openpose(render.crowd(rng, 4, 32, 57), 32, 57, noise=0.02)
        found = decoder.decode(pafs, heat)
    elif family == "ae":
        heat, emb = render.render_ae(render.crowd(rng, 4, 64, 64), render.spaced_tags(rng, 4), 64, 64,
                                     nms_negate=True)
        found = decoder.decode(heat, emb)
    else:
        lo, hi, emb = render.render_higherhrnet(render.crowd(rng, 4, 64, 64), render.spaced_tags(rng, 4), 64, 64)
        found = decoder.decode_two_scale(lo, hi, emb)
    assert len(found[1]) == 4, f"{family} decoded {len(found[1])} of 4 people"


def main(family: str) -> None:
    before = compiled()
    importlib.import_module(f"stages.decode.{family}").warmup()
    warm = compiled()
    decode_a_crowd(family)
    after = compiled()
    print(json.dumps({"warmup": sorted(k for k in warm if warm[k] > before[k]),
                      "decode": sorted(k for k in after if after[k] > warm[k])}))


if __name__ == "__main__":
    main(sys.argv[1])

"""Accuracy measured inside one process, for tools that must score many candidate models.

``python -m pipeline.eval`` scores a model the way users run it: the whole pipeline, every stage,
over a folder of annotated images. NNCF's accuracy-controlled quantization
(``python -m pipeline.quantize --accuracy-control``) asks for the metric of dozens of candidate
models, each handed over already compiled, so :mod:`.offline` runs the same steps in one process
instead: each image letterboxed to the sizes a run gives it, the network at every size, the maps
decoded and merged by the decode workers' own decoders (:mod:`stages.decode.registry`), the
keypoints mapped back to the image, and pycocotools' COCOeval.

It sits beside ``stages`` (it uses their decoders) and is loaded by ``pipeline.quantize`` by the
name ``config/defaults.toml`` gives (``[quantize] scorer``), as the controller starts stages.
"""

from .offline import OfflineScorer

__all__ = ["OfflineScorer"]

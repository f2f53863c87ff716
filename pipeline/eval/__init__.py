"""COCO keypoint evaluation of the whole pipeline: ``python -m pipeline.eval`` (``posepipe-eval``).

* :mod:`.coco`: the ground truth (a COCO ``person_keypoints`` file), the pipeline's poses as COCO
  results, and the score (pycocotools' COCOeval, OKS AP).
* :mod:`.run`: runs the real pipeline, every stage, over the annotated images, with a progress bar.
* :mod:`.cli`: the command line.
"""

from .coco import METRICS, Annotations, results_from_poses, score

__all__ = ["METRICS", "Annotations", "results_from_poses", "score"]

"""The product's OpenPose tables against the model's documented order (written out in
:mod:`tests.decode.render` by name, not imported from the product)."""

from __future__ import annotations

from pipeline.models import skeleton
from stages.decode import openpose
from tests.decode import render


def test_limbs_use_the_documented_paf_channels():
    documented = {(a, b, ch) for a, b, ch in render.OP_LIMBS}
    assert len(openpose.LIMBS) == 19 and set(openpose.LIMBS) == documented
    channels = sorted(c for _, _, c in openpose.LIMBS)
    assert channels == list(range(0, 38, 2))  # every x channel once, y is the next


def test_openpose_keypoints_map_to_coco_by_name():
    assert openpose.OP18_TO_COCO17.tolist() == render.COCO_OF_OP.tolist()
    for op_index, name in enumerate(render.OP18_NAMES):
        coco = openpose.OP18_TO_COCO17[op_index]
        if name == "neck":
            assert coco == -1
        else:
            assert render.COCO17_NAMES[coco] == name


def test_the_renderers_coco_order_is_the_products():
    spelled = [n.replace("l_", "left_").replace("r_", "right_") for n in render.COCO17_NAMES]
    assert tuple(spelled) == skeleton.COCO17_NAMES

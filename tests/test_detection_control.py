"""The detection tasks' positive control: the image's own pixels as a stride-8 feature map."""

import numpy as np
import torch

from radiobench.registry import get_registry
from radiobench.run.pair import build_backbone
from radiobench.api import check_backbone


def control():
    return build_backbone(get_registry().backbone("control_image_map"))


def test_the_control_map_holds_every_pixel_of_its_cell_and_nothing_else():
    images = torch.rand(2, 1, 224, 224)
    fmap = control().feature_map(images)
    assert fmap.shape == (2, 64, 28, 28)
    # cell (row 3, column 5) of image 1: its 8x8 block, row-major over the 64 channels
    block = images[1, 0, 24:32, 40:48].reshape(64)
    assert torch.equal(fmap[1, :, 3, 5], block)
    assert torch.equal(torch.sort(fmap.flatten())[0], torch.sort(images.flatten())[0])  # a permutation of the pixels


def test_the_control_passes_the_backbone_conformance_checks_and_claims_only_detection():
    spec = get_registry().backbone("control_image_map").spec
    assert spec.kinds == ("detection",) and spec.input.channels == 1
    check_backbone("control_image_map", n_images=2)  # raises ConformanceError on a broken contract
    assert np.isfinite(control().embed(torch.rand(1, 1, 224, 224)).numpy()).all()

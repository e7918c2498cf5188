"""depth_embedding: a backbone's embedding followed by the mean of every earlier depth, for tasks that read it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from radiobench.errors import BackboneOutputError, RadiobenchError
from radiobench.models.backbone import Backbone
from radiobench.specs import BackboneSpec, InputContract
from radiobench.models.extract import extract
from radiobench.models.preprocess import prepare_batch
from radiobench.registry import get_registry
from radiobench.run import build_backbone, build_task
from radiobench.testing import FAKE_TASK, FakeTask, radio_like_images


def built(name):
    return build_backbone(get_registry().backbone(name))


@pytest.mark.slow
@pytest.mark.parametrize("name, depths", [
    ("random_resnet18", [64, 64, 128, 256]),  # the stages before the last (strides 2-16)
    ("imagenet_efficientnet_lite0", [16, 24, 40, 112]),  # the deepest block at each resolution before the head's
    ("random_vit_tiny16_64px", [192] * 4),  # a ViT: patch grids after 1/4, 1/2, 3/4 and all of its 12 blocks
])
def test_the_embedding_comes_first_then_each_earlier_depths_channel_means(name, depths):
    backbone = built(name)
    images = prepare_batch(torch.from_numpy(radio_like_images(2)), backbone.spec.input)
    with torch.inference_mode():
        got, embedded, maps = backbone.depth_embedding(images), backbone.embed(images), backbone.depth_maps(images)
    assert [m.shape[1] for m in maps] == depths
    assert got.shape == (2, backbone.spec.embed_dim + sum(depths))
    assert torch.equal(got[:, : backbone.spec.embed_dim], embedded)
    assert torch.allclose(got[:, -depths[-1]:], maps[-1].mean(dim=(2, 3)))
    # the earlier depths carry information the embedding does not: they are not constant across images
    assert (got[0, backbone.spec.embed_dim:] - got[1, backbone.spec.embed_dim:]).abs().max() > 1e-4


def test_a_backbone_without_maps_gives_its_embedding_alone():
    backbone = built("pixels")
    images = prepare_batch(torch.from_numpy(radio_like_images(2)), backbone.spec.input)
    assert torch.equal(backbone.depth_embedding(images), backbone.embed(images))


@pytest.mark.slow
def test_extraction_reads_depth_embedding_when_the_task_asks_and_embed_otherwise():
    backbone = built("random_resnet18")
    task = FakeTask(FAKE_TASK)
    task.prepare(".")
    split = task.load_split("train")
    plain = extract(backbone, task, split, owner="test", batch_size=4).features
    task.every_depth = True
    deep = extract(backbone, task, split, owner="test", batch_size=4).features
    assert plain.shape == (len(split), 512) and deep.shape == (len(split), 512 + 512)
    np.testing.assert_allclose(deep[:, :512], plain, rtol=1e-5, atol=1e-6)  # batching differs, the maths does not


def test_a_bad_every_depth_option_is_refused_in_one_line():
    with pytest.raises(RadiobenchError, match="every_depth is 'all'; give true or false"):
        build_task(get_registry().task("sim_counts"), {"every_depth": "all"})


class FlatDepths(Backbone):
    """A plugin whose depth_maps returns token lists (B, N, D) instead of maps."""

    def embed(self, images):
        return images.mean(dim=(2, 3))

    def depth_maps(self, images):
        return [torch.zeros(len(images), 16, 8)]


def test_a_plugins_malformed_depth_maps_are_refused_by_name():
    spec = BackboneSpec(name="flat", factory="x:FlatDepths", embed_dim=1,
                        input=InputContract(channels=1, size=8, mean=(0.0,), std=(1.0,)))
    with pytest.raises(BackboneOutputError, match=r"backbone 'flat': depth_maps must return \(B, D, h, w\) tensors for "
                                                   r"2 images, got \(2, 16, 8\)"):
        FlatDepths(spec).depth_embedding(torch.zeros(2, 1, 8, 8))

"""Implementations of the baseline backbones (imported only when one is built)."""

from __future__ import annotations

import torch

from radiobench.backbone import Backbone, ModuleBackbone
from radiobench.specs import BackboneSpec


class Pixels(Backbone):
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


class RandomResNet(ModuleBackbone):
    def __init__(self, spec: BackboneSpec, weights: None = None, arch: str = "resnet18"):
        import timm

        # fork_rng keeps the caller's global RNG untouched; the seed makes the weights reproducible.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.weights.seed or 0)
            model = timm.create_model(arch, pretrained=False, num_classes=0, in_chans=spec.input.channels)
        super().__init__(spec, model)

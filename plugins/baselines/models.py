"""Implementations of the baseline backbones (imported only when one is built)."""

from __future__ import annotations

from pathlib import Path

import torch

from radiobench.backbone import Backbone
from radiobench.specs import BackboneSpec
from radiobench.timm_backbone import TimmBackbone


class Pixels(Backbone):
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1)


class RandomInit(TimmBackbone):
    """A timm architecture with its default initialisation under the spec's seed."""

    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = ""):
        super().__init__(spec, weights, arch=arch)

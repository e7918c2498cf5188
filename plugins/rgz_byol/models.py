"""Mapping the BYOL Lightning checkpoint onto a ResNet-18 the harness builds.

In inigoval/byol the encoder is ``nn.ModuleList`` ``layers``: 0 = (conv1 3x3/1, bn1,
relu, maxpool), 1-8 = the eight BasicBlocks (two per stage), 9 = average pool. Its
``state_dict`` (under Lightning's ``state_dict`` key) also holds the momentum encoder,
projection/prediction heads and a duplicate ``encoder.finetuning_layers.*``; only
``encoder.layers.*`` is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from radiobench.api import BackboneSpec, ModuleBackbone, load_into, read_checkpoint, seeded
from radiobench.models.checkpoints import select
from radiobench.models.timm_backbone import create

STEM = {"encoder.layers.0.0.": "conv1.", "encoder.layers.0.1.": "bn1."}
BLOCKS = {f"encoder.layers.{1 + i}.": f"layer{1 + i // 2}.{i % 2}." for i in range(8)}


def build_resnet18(channels: int, seed: int | None) -> torch.nn.Module:
    model = create("resnet18", channels, seed=seed)
    with seeded(seed):
        model.conv1 = torch.nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    return model


def encoder_state_dict(checkpoint: Any, path: Path) -> Mapping[str, torch.Tensor]:
    state = select(checkpoint, path, "state_dict")
    out = {}
    for key, value in state.items():
        for old, new in {**STEM, **BLOCKS}.items():
            if key.startswith(old):
                out[new + key[len(old):]] = value
                break
    return out


class ByolResNet18(ModuleBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None):
        model = build_resnet18(spec.input.channels, spec.weights.seed)
        if weights is not None:
            load_into(model, encoder_state_dict(read_checkpoint(weights), weights), weights, spec.name)
        super().__init__(spec, model, weights)

"""open_clip checkpoints hold both towers; only ``visual.*`` is loaded, into the image tower."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from radiobench.api import BackboneSpec, ModuleBackbone, load_into, plain_state_dict, read_checkpoint, seeded


def visual_state_dict(checkpoint: Any, path: Path) -> Mapping[str, torch.Tensor]:
    state = plain_state_dict(checkpoint, path)
    return {k[len("visual."):]: v for k, v in state.items() if k.startswith("visual.")}


class OpenClipImageTower(ModuleBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, model: str = "ViT-B-32"):
        import open_clip

        with seeded(spec.weights.seed):
            visual = open_clip.create_model(model, pretrained=None).visual
        if weights is not None:
            load_into(visual, visual_state_dict(read_checkpoint(weights), weights), weights, spec.name)
        super().__init__(spec, visual, weights)

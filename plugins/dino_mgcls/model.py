"""Loading DINO v1 checkpoints (facebookresearch/dino layout) into timm architectures.

A DINO training checkpoint is a dict with ``student``, ``teacher``, ``optimizer``,
``epoch``, ``args`` (an argparse.Namespace) and ``dino_loss``; a model's keys carry
``backbone.`` (ViT teacher) or ``module.backbone.`` (DDP-wrapped: every student, and
the batch-norm ResNet teacher) prefixes, and the projection head lives under
``head.``. Released ``*_teacher.pth``/``*_pretrain.pth`` files may hold the teacher
dict alone. DINO's ViT and ResNet key names equal timm's once the prefixes go.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from radiobench.api import BackboneSpec, CheckpointError, TimmBackbone
from radiobench.models.checkpoints import select, strip_prefixes

PREFIXES = ("module.", "backbone.")


def teacher_state_dict(checkpoint: Any, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(checkpoint, Mapping) and "teacher" in checkpoint:
        state = select(checkpoint, path, "teacher")
    elif isinstance(checkpoint, Mapping) and checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        state = checkpoint  # a bare teacher/backbone state dict
    else:
        keys = list(checkpoint)[:8] if isinstance(checkpoint, Mapping) else type(checkpoint).__name__
        raise CheckpointError(f"{path}: not a DINO checkpoint (no 'teacher' entry; found {keys})")
    return {k: v for k, v in strip_prefixes(state, PREFIXES).items() if not k.startswith("head.")}


class DinoTeacher(TimmBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = ""):
        super().__init__(spec, weights, arch=arch, converter=teacher_state_dict)

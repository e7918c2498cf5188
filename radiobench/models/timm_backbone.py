"""Backbones built from a timm architecture: the shape most built-in plugins share.

The network is created with ``num_classes=0`` so its output is the pooled feature a
linear probe reads: the CLS token after the final norm for ViTs (as DINO evaluates),
global average pooling for CNNs. Weights come from the resolved file, converted from
the upstream layout by the plugin's ``to_state_dict``; random-init twins use a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from radiobench.models.backbone import ModuleBackbone, seeded
from radiobench.models.checkpoints import CheckpointError, load_into, read_checkpoint
from radiobench.errors import RadiobenchError
from radiobench.specs import BackboneSpec

StateDictConverter = Callable[[Any, Path], Mapping[str, torch.Tensor]]


def create(arch: str, in_chans: int, seed: int | None = None, **kwargs: Any) -> torch.nn.Module:
    import timm

    with seeded(seed):
        return timm.create_model(arch, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)


def plain_state_dict(checkpoint: Any, path: Path) -> Mapping[str, torch.Tensor]:
    """A checkpoint that is already the model's state dict (timm hub files, torchvision-style .pth)."""
    if not isinstance(checkpoint, Mapping) or not all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors; is this the right file for this backbone?")
    return checkpoint


class TimmBackbone(ModuleBackbone):
    def __init__(
        self,
        spec: BackboneSpec,
        weights: Path | None = None,
        arch: str = "",
        converter: StateDictConverter = plain_state_dict,
        drop: tuple[str, ...] = (),
        model_kwargs: Mapping[str, Any] | None = None,
    ):
        model = create(arch, spec.input.channels, seed=spec.weights.seed, **dict(model_kwargs or {}))
        if weights is not None:
            state = converter(read_checkpoint(weights), weights)
            load_into(model, state, weights, spec.name, drop=drop)
        super().__init__(spec, model, weights)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """A CNN's last feature map as is; a ViT's patch tokens (prefix tokens dropped) back on their grid (ViTDet)."""
        return self._as_map(self.module.forward_features(images))

    def _as_map(self, out: torch.Tensor) -> torch.Tensor:
        """``forward_features``' output as a (B, D, h, w) map."""
        if out.ndim == 4:
            return out
        grid = getattr(getattr(self.module, "patch_embed", None), "grid_size", None)
        if out.ndim == 3 and grid is not None:
            tokens = out[:, getattr(self.module, "num_prefix_tokens", 0) :, :]
            if tokens.shape[1] != grid[0] * grid[1]:
                raise RadiobenchError(f"backbone {self.spec.name!r}: {tokens.shape[1]} patch tokens do not fill its "
                                      f"{grid[0]}x{grid[1]} grid")
            return tokens.transpose(1, 2).reshape(len(out), -1, grid[0], grid[1])
        raise RadiobenchError(f"backbone {self.spec.name!r}: forward_features gave shape {tuple(out.shape)}, "
                              "neither a feature map nor ViT tokens on a grid")

    def depth_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """A CNN's stages before the last; a ViT's patch grids after a quarter, half and three quarters
        of its blocks and after the last (before the final norm), as ViTDet and DPT read four depths."""
        blocks = getattr(self.module, "blocks", None)
        if blocks is None or not hasattr(self.module, "forward_intermediates"):
            return super().depth_maps(images)
        n = len(blocks)
        indices = sorted({max(0, n * k // 4 - 1) for k in (1, 2, 3, 4)})
        return list(self.module.forward_intermediates(images, indices=indices, output_fmt="NCHW",
                                                      intermediates_only=True))

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """A CNN's stage outputs finer than its last map, then the last map, from one pass of timm's
        ``forward_intermediates`` (whose final output is ``forward_features``')."""
        if not hasattr(self.module, "forward_intermediates"):
            return [self.feature_map(images)]
        final, stages = self.module.forward_intermediates(images)
        last = self._as_map(final)
        if final.ndim != 4:
            return [last]  # a ViT: one grid of patch tokens at every depth
        return [m for m in stages if m.shape[-1] > last.shape[-1]] + [last]

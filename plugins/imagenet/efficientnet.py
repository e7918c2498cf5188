"""EfficientNet-Lite through ``efficientnet-lite-pytorch``, the loader the weight wheels ship for.

The state dict is read by radiobench (``weights_only``), not by the package's
``from_pretrained``, so the same safety and key checks apply as everywhere else.
"""

from __future__ import annotations

from pathlib import Path

import torch

from radiobench.api import (BackboneSpec, ModuleBackbone, RadiobenchError, load_into, plain_state_dict,
                            read_checkpoint, seeded)


class EfficientNetLite(ModuleBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, variant: str = "efficientnet-lite0"):
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise RadiobenchError(
                f"backbone {spec.name!r} needs efficientnet-lite-pytorch: pip install 'radiobench[efficientnet]'"
            ) from None
        with seeded(spec.weights.seed):
            model = EfficientNet.from_name(variant, in_channels=spec.input.channels, num_classes=1000)
        if weights is not None:
            load_into(model, plain_state_dict(read_checkpoint(weights), weights), weights, spec.name)
        super().__init__(spec, model, weights)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        features = self.module.extract_features(images)
        return torch.nn.functional.adaptive_avg_pool2d(features, 1).flatten(1)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        return self.module.extract_features(images)

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The last block's output at each resolution finer than the head's map, then the head's map (1280 channels)."""
        seen: list[torch.Tensor] = []
        hooks = [block.register_forward_hook(lambda _m, _i, out: seen.append(out)) for block in self.module._blocks]
        try:
            last = self.module.extract_features(images)
        finally:
            for hook in hooks:
                hook.remove()
        by_width: dict[int, torch.Tensor] = {}
        for out in seen:  # blocks run shallow to deep: the last one seen at a width is that resolution's deepest
            by_width[out.shape[-1]] = out
        return [m for w, m in sorted(by_width.items(), reverse=True) if w > last.shape[-1]] + [last]

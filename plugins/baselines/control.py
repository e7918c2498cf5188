"""``control_peaks``: the counting control as a backbone; its features are in ``control_features``."""

from __future__ import annotations

import numpy as np
import torch

from radiobench.api import Backbone
from radiobench_plugins.baselines.control_features import peak_features


class ControlPeaks(Backbone):
    """Counts blobs and peaks in each (B, 1, H, W) crop; needs no weights and never trains."""

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images[:, 0].detach().to("cpu", torch.float64).numpy()
        return torch.from_numpy(np.stack([peak_features(p) for p in pixels])).to(torch.float32)


class ControlImageMap(Backbone):
    """The detection tasks' positive control: the image itself as a stride-8 feature map.

    Each 8x8 block of the (B, 1, H, W) image becomes 64 channels of one cell (space-to-depth),
    so the map holds every pixel and nothing learned. A detection probe that cannot find
    sources in it is not measuring features; one that can sets the bar for feature maps
    that keep where the sources are.
    """

    STRIDE = 8

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pixel_unshuffle(images[:, :1], self.STRIDE)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.feature_map(images).mean(dim=(2, 3))

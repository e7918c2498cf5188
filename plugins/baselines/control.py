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

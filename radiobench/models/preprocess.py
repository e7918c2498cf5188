"""The core's half of preprocessing: a task's [0, 1] pixels to a backbone's input contract.

Order: centre crop (only when the contract asks), resize with the contract's
interpolation on the single-channel image, repeat to 3 channels if the backbone wants
3, normalise with the contract's mean and std. Resizing before the repeat does a third
of the work for the same result.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from radiobench.specs import InputContract


def channel_adapt(contract: InputContract, image_channels: int) -> str:
    if image_channels == contract.channels:
        return "none"
    if image_channels == 1 and contract.channels == 3:
        return "repeat 1->3"
    if image_channels == 3 and contract.channels == 1:
        return "mean 3->1"
    raise ValueError(f"cannot adapt {image_channels}-channel images to a {contract.channels}-channel backbone")


def describe(contract: InputContract, image_channels: int) -> dict[str, Any]:
    """What results record about this half of preprocessing."""
    return {
        **contract.to_dict(),
        "channel_adapt": channel_adapt(contract, image_channels),
        "order": "centre crop, resize, channel adapt, normalise",
    }


def prepare_batch(images: torch.Tensor, contract: InputContract) -> torch.Tensor:
    """(B, H, W) or (B, C, H, W) float in [0, 1] -> (B, contract.channels, size, size) normalised."""
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if contract.crop_fraction < 1:
        h, w = images.shape[-2:]
        ch, cw = max(1, round(h * contract.crop_fraction)), max(1, round(w * contract.crop_fraction))
        top, left = (h - ch) // 2, (w - cw) // 2
        images = images[..., top : top + ch, left : left + cw]
    size = contract.size
    if images.shape[-2:] != (size, size):
        kwargs: dict[str, Any] = {"size": (size, size), "mode": contract.interpolation}
        if contract.interpolation in ("bilinear", "bicubic"):
            kwargs.update(align_corners=False, antialias=contract.antialias)
        images = F.interpolate(images, **kwargs)
    adapt = channel_adapt(contract, images.shape[1])
    if adapt == "repeat 1->3":
        images = images.expand(-1, 3, -1, -1)
    elif adapt == "mean 3->1":
        images = images.mean(dim=1, keepdim=True)
    mean, std = normalisation(contract, images.dtype, images.device)
    return (images - mean) / std


@functools.lru_cache(maxsize=64)
def normalisation(contract: InputContract, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """The contract's mean and std as (1, C, 1, 1) tensors on ``device``, made once.

    Made per batch, they were a copy from pageable host memory each time, and on CUDA such a
    copy waits for the stream: the host stalled until the previous batch's forward pass ended
    instead of queueing the next one behind it.
    """
    def column(values: tuple[float, ...]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype).view(1, -1, 1, 1).to(device)

    return column(contract.mean), column(contract.std)

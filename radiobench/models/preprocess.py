"""The core's half of preprocessing: a task's [0, 1] pixels to a backbone's input contract.

Order: the contract's declared transforms (``InputContract.transforms``: percentile clip,
centre crop in sky units, zoom; on the task's own pixels, at the pixel scale it declares),
centre crop by ``crop_fraction`` (only when the contract asks), resize with the contract's
interpolation on the single-channel image, repeat to 3 channels if the backbone wants
3, normalise with the contract's mean and std. Resizing before the repeat does a third
of the work for the same result.

Dense tasks (detection) see the whole image: there the crops and zooms (geometric
transforms) and ``crop_fraction`` are left out (``dense=True``), and the record says so.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from radiobench.models import transforms as declared
from radiobench.specs import InputContract

ORDER = "centre crop, resize, channel adapt, normalise"
ORDER_WITH_TRANSFORMS = "declared transforms, centre crop, resize, channel adapt, normalise"


def channel_adapt(contract: InputContract, image_channels: int) -> str:
    if image_channels == contract.channels:
        return "none"
    if image_channels == 1 and contract.channels == 3:
        return "repeat 1->3"
    if image_channels == 3 and contract.channels == 1:
        return "mean 3->1"
    raise ValueError(f"cannot adapt {image_channels}-channel images to a {contract.channels}-channel backbone")


def describe(contract: InputContract, image_channels: int, pixel_scale_arcsec: float | None = None,
             dense: bool = False) -> dict[str, Any]:
    """What results record about this half of preprocessing (and what feature-cache keys hash).

    A contract without declared transforms records exactly what it always did. With them, each is
    recorded as run on this task (a crop in arcseconds with its size in the task's pixels), and
    on a dense task the geometric ones left out are listed apart. Raises ``TransformError`` (one
    line) when a transform cannot run here, e.g. a crop in arcseconds on a task with no pixel scale.
    """
    out = {
        **contract.to_dict(),
        "channel_adapt": channel_adapt(contract, image_channels),
        "order": ORDER,
    }
    if contract.transforms:
        declared.check_all(contract.transforms, pixel_scale_arcsec, dense)
        run = declared.applied(contract.transforms, dense)
        out["transforms"] = [t.describe(pixel_scale_arcsec) for t in run]
        left_out = [t.describe(pixel_scale_arcsec) for t in contract.transforms if t not in run]
        if left_out:
            out["transforms_left_out"] = left_out
            out["transforms_left_out_because"] = "a dense task's boxes are in the whole image's frame"
        out["order"] = ORDER_WITH_TRANSFORMS
    return out


def prepare_batch(images: torch.Tensor, contract: InputContract, pixel_scale_arcsec: float | None = None,
                  dense: bool = False) -> torch.Tensor:
    """(B, H, W) or (B, C, H, W) float in [0, 1] -> (B, contract.channels, size, size) normalised.

    ``pixel_scale_arcsec`` is the task's (``TaskSpec.pixel_scale_arcsec``), needed by transforms stated
    in sky units; ``dense`` leaves out the geometric transforms and ``crop_fraction`` (a detector sees the
    whole image). Every forward path (embed, feature_map, feature_maps, depth_maps) gets its batch here.
    """
    if images.ndim == 3:
        images = images.unsqueeze(1)
    for transform in declared.applied(contract.transforms, dense):
        images = transform.apply(images, pixel_scale_arcsec)
    if contract.crop_fraction < 1 and not dense:
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

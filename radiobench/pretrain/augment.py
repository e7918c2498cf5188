"""Multi-crop for radio images: geometry only, drawn and resampled for a whole batch at once.

Chosen for radio images (and stated in every card): random resized crops (2 global crops,
scale 0.4-1, and ``local_crops`` local crops, scale 0.05-0.4, aspect 3/4-4/3, bilinear with
antialiasing), random horizontal and vertical flips, and a random multiple of 90 degrees of
rotation (the sky has no up; 90-degree turns need no interpolation, so no invented pixels).
No colour jitter, grayscale, solarisation or blur: the pixels are single-channel intensities
whose brightness and resolution (the beam) carry the physics, as in Lastufka et al. (2024).

Why batched: a per-image Python loop (one ``F.interpolate`` per crop, 6 crops x 64 images = 384
calls a step) starved a GPU (issue 31: the harness must reach 0.8 of the raw model's throughput).
Here every crop of a batch comes from one ``grid_sample``: the boxes are drawn as torchvision's
``RandomResizedCrop.get_params`` draws them (10 tries of scale and log-aspect, the first that fits,
else the central square), the sampling points are those of ``F.interpolate(align_corners=False)``
on the box, and where a box is larger than the output it is sampled at an integer multiple of the
output size and averaged back (the antialiasing; within a few 1e-2 of torch's antialiased filter,
exact where the crop is enlarged). Flips and rotations are applied by index groups of the batch.

Every random draw comes from one ``torch.Generator`` seeded by (seed, epoch), so an epoch's
crops are the same whether or not the run was interrupted before it (exact ``--resume``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

TRIES = 10  # as torchvision's RandomResizedCrop


@dataclass(frozen=True)
class MultiCrop:
    global_size: int
    local_size: int
    local_crops: int = 4
    global_scale: tuple[float, float] = (0.4, 1.0)
    local_scale: tuple[float, float] = (0.05, 0.4)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def describe(self) -> dict:
        return {**asdict(self), "flips": "horizontal and vertical, p=0.5 each", "rotation": "k*90 deg, k uniform in 0-3",
                "interpolation": "bilinear, antialiased (box-filtered supersampling where the crop is reduced)",
                "colour_jitter": None, "blur": None, "solarisation": None}

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        """(B, H, W) in [0, 1] -> [global, global, local x n], each (B, 1, size, size), on ``images``' device."""
        plan = [(self.global_size, self.global_scale)] * 2 + [(self.local_size, self.local_scale)] * self.local_crops
        return [self.crops(images, size, scale, generator) for size, scale in plan]

    def crops(self, images: torch.Tensor, size: int, scale: tuple[float, float], g: torch.Generator) -> torch.Tensor:
        """One random resized crop of every image, flipped and turned: (B, 1, size, size)."""
        boxes = crop_boxes(len(images), images.shape[-2], images.shape[-1], scale, self.ratio, g)
        flips, turns = draw_flips_and_turns(len(images), g)
        out = resample(images, boxes.to(images.device), size)
        return flip_and_turn(out, flips.to(images.device), turns.to(images.device)).clamp_(0, 1)


def crop_boxes(n: int, height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float],
               g: torch.Generator) -> torch.Tensor:
    """(n, 4) integer boxes (top, left, h, w): torchvision's RandomResizedCrop.get_params, for n images at once
    (each image's first of 10 tries that fits, else its central square)."""
    u = torch.rand(n, TRIES, 2, generator=g, dtype=torch.float64)
    where = torch.rand(n, 2, generator=g, dtype=torch.float64)
    area = height * width
    target = area * (scale[0] + u[..., 0] * (scale[1] - scale[0]))
    log_lo, log_hi = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_lo + u[..., 1] * (log_hi - log_lo))
    w = torch.round(torch.sqrt(target * aspect)).long()
    h = torch.round(torch.sqrt(target / aspect)).long()
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = fits.int().argmax(dim=1)  # the first try that fits (0 when none does: replaced below)
    rows = torch.arange(n)
    h, w, any_fits = h[rows, first], w[rows, first], fits.any(dim=1)
    side = min(height, width)
    h = torch.where(any_fits, h, torch.full_like(h, side))
    w = torch.where(any_fits, w, torch.full_like(w, side))
    top = torch.floor(where[:, 0] * (height - h + 1)).long().clamp_(max=height - h)
    left = torch.floor(where[:, 1] * (width - w + 1)).long().clamp_(max=width - w)
    top = torch.where(any_fits, top, torch.full_like(top, (height - side) // 2))
    left = torch.where(any_fits, left, torch.full_like(left, (width - side) // 2))
    return torch.stack([top, left, h, w], dim=1)


def draw_flips_and_turns(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 2) booleans (horizontal, vertical flip; p = 0.5 each) and (n,) quarter turns, uniform in 0-3."""
    flips = torch.rand(n, 2, generator=g) < 0.5
    turns = torch.randint(0, 4, (n,), generator=g)
    return flips, turns


def resample(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Each image's box resized to (size, size), bilinear at F.interpolate(align_corners=False)'s sampling points;
    a box larger than ``size`` is sampled at k x size (k = ceil(box / size)) and averaged over k x k (antialiasing)."""
    n, height, width = images.shape
    out = images.new_empty(n, 1, size, size)
    factor = torch.clamp(torch.ceil(boxes[:, 2:].max(dim=1).values / size), min=1).long()
    for k in torch.unique(factor).tolist():
        rows = (factor == k).nonzero().flatten()
        grid = _grid(boxes[rows].to(images.dtype), size * k, height, width)
        sampled = F.grid_sample(images[rows, None], grid, mode="bilinear", padding_mode="border", align_corners=False)
        out[rows] = F.avg_pool2d(sampled, k) if k > 1 else sampled
    return out


def _grid(boxes: torch.Tensor, points: int, height: int, width: int) -> torch.Tensor:
    """grid_sample coordinates (n, points, points, 2) of ``points`` x ``points`` samples over each box."""
    steps = (torch.arange(points, dtype=boxes.dtype, device=boxes.device) + 0.5) / points  # (points,)
    top, left, h, w = boxes.unbind(1)
    # pixel coordinates by F.interpolate's half-pixel rule, kept inside the box as it keeps them inside the crop
    y = torch.maximum(torch.minimum(steps[None] * h[:, None] - 0.5, h[:, None] - 1), torch.zeros(())) + top[:, None]
    x = torch.maximum(torch.minimum(steps[None] * w[:, None] - 0.5, w[:, None] - 1), torch.zeros(())) + left[:, None]
    gy, gx = (2 * y + 1) / height - 1, (2 * x + 1) / width - 1
    return torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)


def flip_and_turn(crops: torch.Tensor, flips: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Flips (horizontal, then vertical) and quarter turns applied by index groups: a few batched ops, no loop
    over images."""
    crops = torch.where(flips[:, 0, None, None, None], crops.flip(-1), crops)
    crops = torch.where(flips[:, 1, None, None, None], crops.flip(-2), crops)
    out = crops.clone()
    for k in range(1, 4):
        rows = (turns == k).nonzero().flatten()
        if len(rows):
            out[rows] = torch.rot90(crops[rows], k, dims=(-2, -1))
    return out

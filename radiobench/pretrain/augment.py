"""Multi-crop for radio images: geometry only.

Chosen for radio images (and stated in every card): random resized crops (2 global crops,
scale 0.4-1, and ``local_crops`` local crops, scale 0.05-0.4, aspect 3/4-4/3, bilinear with
antialiasing), random horizontal and vertical flips, and a random multiple of 90 degrees of
rotation (the sky has no up; 90-degree turns need no interpolation, so no invented pixels).
No colour jitter, grayscale, solarisation or blur: the pixels are single-channel intensities
whose brightness and resolution (the beam) carry the physics, as in Lastufka et al. (2024).

Every random draw comes from one ``torch.Generator`` seeded by (seed, epoch), so an epoch's
crops are the same whether or not the run was interrupted before it (exact ``--resume``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


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
                "interpolation": "bilinear, antialiased", "colour_jitter": None, "blur": None, "solarisation": None}

    def __call__(self, images: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        """(B, H, W) in [0, 1] -> [global, global, local x n], each (B, 1, size, size)."""
        plan = [(self.global_size, self.global_scale)] * 2 + [(self.local_size, self.local_scale)] * self.local_crops
        return [torch.stack([self._one(img, size, scale, generator) for img in images]) for size, scale in plan]

    def _one(self, image: torch.Tensor, size: int, scale: tuple[float, float], g: torch.Generator) -> torch.Tensor:
        top, left, h, w = _crop_box(image.shape[-2], image.shape[-1], scale, self.ratio, g)
        crop = image[top : top + h, left : left + w][None, None]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
        draws = torch.rand(2, generator=g)
        if draws[0] < 0.5:
            crop = crop.flip(-1)
        if draws[1] < 0.5:
            crop = crop.flip(-2)
        k = int(torch.randint(0, 4, (1,), generator=g))
        return torch.rot90(crop, k, dims=(-2, -1)).clamp_(0, 1)


def _crop_box(height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float],
              g: torch.Generator) -> tuple[int, int, int, int]:
    """torchvision's RandomResizedCrop.get_params with an explicit generator."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        u = torch.rand(3, generator=g).tolist()
        target = area * (scale[0] + u[0] * (scale[1] - scale[0]))
        aspect = math.exp(log_ratio[0] + u[1] * (log_ratio[1] - log_ratio[0]))
        w, h = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=g))
            left = int(torch.randint(0, width - w + 1, (1,), generator=g))
            return top, left, h, w
    side = min(height, width)  # fallback: the central square
    return (height - side) // 2, (width - side) // 2, side, side

"""Named, parameterised transforms a backbone declares in its input contract (``InputContract.transforms``).

A backbone trained on a particular view of the sky (a centre crop of so many FIRST pixels, a
zoomed view, percentile-clipped pixels) states that view here instead of hiding it inside its
module: the core applies the declared transforms, in order, to every batch before every
forward pass (``embed``, ``feature_map``, ``feature_maps``, ``depth_maps``), and results record
them (``describe``), resolved for the task they ran on.

They act on the task's scaled pixels ([0, 1], (B, C, H, W), at the task's own resolution)
before the contract's resize, channel adapt and normalisation:

- ``percentile_clip(low, high)``: each image clipped to its own ``low``-th and ``high``-th
  percentiles (over all its pixels, numpy's linear interpolation) and rescaled to [0, 1].
- ``centre_crop(arcsec=...)``: a square of that many arcseconds of sky, in the task's pixels
  through the pixel scale it declares (``TaskSpec.pixel_scale_arcsec``), so a backbone sees the
  same sky on every task; ``centre_crop(pixels=N, native_scale_arcsec=s)`` says the same as N
  pixels of s arcsec each (the pixels the backbone was trained on, e.g. 70 FIRST pixels of 1.8");
  ``centre_crop(pixels=N)`` is N of the task's own pixels, ``centre_crop(fraction=f)`` a fraction
  of each side of the cutout.
- ``zoom(factor)``: a centre zoom by ``factor``: the middle 1/factor of each side fills the view
  (galaxy-datasets' test view, ``RandomAffine(scale=(1.2, 1.2))``, is ``zoom(1.2)``).

Crops and zooms are geometric: dense tasks (detection), whose boxes live in the whole image's
frame, leave them out and say so in the record; intensity transforms apply there too.

This module imports neither torch nor numpy until a transform is applied, so a plugin's
registration module can declare them (``from radiobench.api import centre_crop``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from radiobench.errors import RadiobenchError

if TYPE_CHECKING:
    import torch


class TransformError(RadiobenchError):
    """A declared transform cannot be applied as stated (no pixel scale, a crop larger than the image)."""


@dataclass(frozen=True)
class Transform:
    """One declared step. Subclasses are frozen dataclasses (hashable: contracts key caches)."""

    name: ClassVar[str] = ""
    geometric: ClassVar[bool] = False  # changes which pixels are seen (crop, zoom): left out on dense tasks
    needs_pixel_scale: ClassVar[bool] = False  # meaningful only on a task that declares its pixel scale

    def describe(self, pixel_scale_arcsec: float | None = None) -> dict[str, Any]:
        """JSON-able: the name and parameters, plus what they resolve to at the task's pixel scale."""
        raise NotImplementedError

    def apply(self, images: torch.Tensor, pixel_scale_arcsec: float | None = None) -> torch.Tensor:
        """(B, C, H, W) float in [0, 1] -> the transformed batch (float, [0, 1])."""
        raise NotImplementedError

    def check(self, pixel_scale_arcsec: float | None) -> None:
        """Raise ``TransformError`` (one line) if this transform cannot run at ``pixel_scale_arcsec``."""
        if self.needs_pixel_scale and pixel_scale_arcsec is None:
            raise TransformError(f"{self.label()} is stated in sky units, and the task declares no pixel scale "
                                 "(TaskSpec.pixel_scale_arcsec)")

    def label(self) -> str:
        params = {k: v for k, v in self.describe().items() if k != "name" and v is not None}
        return f"{self.name}({', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in params.items())})"


@dataclass(frozen=True)
class PercentileClip(Transform):
    low: float = 0.0
    high: float = 99.5

    name: ClassVar[str] = "percentile_clip"

    def __post_init__(self) -> None:
        if not (0 <= self.low < self.high <= 100):
            raise ValueError(f"percentile_clip needs 0 <= low < high <= 100, got low={self.low}, high={self.high}")

    def describe(self, pixel_scale_arcsec: float | None = None) -> dict[str, Any]:
        return {"name": self.name, "low": float(self.low), "high": float(self.high),
                "per": "image, over all its channels and pixels", "then": "rescaled to [0, 1]"}

    def apply(self, images: torch.Tensor, pixel_scale_arcsec: float | None = None) -> torch.Tensor:
        import torch

        flat = images.reshape(len(images), -1).float()
        lo, hi = quantiles(flat, self.low / 100), quantiles(flat, self.high / 100)
        span = (hi - lo).view(-1, *[1] * (images.ndim - 1))
        lo = lo.view_as(span)
        clipped = torch.minimum(torch.maximum(images.float(), lo), lo + span)
        # an image whose two percentiles coincide (flat) has nothing to stretch: it becomes 0
        return torch.where(span > 0, (clipped - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                           torch.zeros_like(clipped)).to(images.dtype)


def quantiles(flat: torch.Tensor, q: float) -> torch.Tensor:
    """Per row of (B, N), the q-quantile with numpy's default linear interpolation.

    Sorted rows rather than ``torch.quantile``, which refuses inputs of more than 16M elements (a
    batch of 64 three-channel 450x450 cutouts has 39M).
    """
    values = flat.sort(dim=1).values
    position = q * (flat.shape[1] - 1)
    below = math.floor(position)
    above = min(below + 1, flat.shape[1] - 1)
    weight = position - below
    return values[:, below] * (1 - weight) + values[:, above] * weight


@dataclass(frozen=True)
class CentreCrop(Transform):
    """Exactly one of ``arcsec``, ``pixels`` or ``fraction`` (see the module docstring)."""

    pixels: int | None = None
    arcsec: float | None = None
    fraction: float | None = None
    native_scale_arcsec: float | None = None  # with ``pixels``: they are pixels of this many arcsec

    name: ClassVar[str] = "centre_crop"
    geometric: ClassVar[bool] = True

    def __post_init__(self) -> None:
        given = [k for k in ("pixels", "arcsec", "fraction") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"centre_crop takes exactly one of pixels=, arcsec=, fraction=; got {given or 'none'}")
        if self.native_scale_arcsec is not None and self.pixels is None:
            raise ValueError("centre_crop: native_scale_arcsec goes with pixels= (N pixels of that scale)")
        if self.pixels is not None and (isinstance(self.pixels, bool) or not isinstance(self.pixels, int) or self.pixels < 1):
            raise ValueError(f"centre_crop: pixels must be a positive integer, got {self.pixels!r}")
        for attr in ("arcsec", "native_scale_arcsec"):
            value = getattr(self, attr)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ValueError(f"centre_crop: {attr} must be positive, got {value!r}")
        if self.fraction is not None and not 0 < self.fraction <= 1:
            raise ValueError(f"centre_crop: fraction must be in (0, 1], got {self.fraction!r}")

    @property
    def needs_pixel_scale(self) -> bool:  # type: ignore[override]
        return self.arcsec is not None or self.native_scale_arcsec is not None

    @property
    def sky_arcsec(self) -> float | None:
        """The side in arcseconds, when the crop is stated in sky units."""
        if self.arcsec is not None:
            return float(self.arcsec)
        if self.native_scale_arcsec is not None:
            assert self.pixels is not None
            return self.pixels * float(self.native_scale_arcsec)
        return None

    def task_pixels(self, pixel_scale_arcsec: float | None) -> int | None:
        """The side in the task's pixels (None for a fraction: it depends on each image's size)."""
        self.check(pixel_scale_arcsec)
        sky = self.sky_arcsec
        if sky is None:
            return self.pixels
        assert pixel_scale_arcsec is not None
        side = round(sky / pixel_scale_arcsec)
        if side < 1:
            raise TransformError(f"{self.label()} is {sky:g}\", under one pixel at the task's {pixel_scale_arcsec:g}\"/px")
        return side

    def describe(self, pixel_scale_arcsec: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.fraction is not None:
            out["fraction"] = float(self.fraction)
            return out
        if self.pixels is not None:
            out["pixels"] = self.pixels
        if self.native_scale_arcsec is not None:
            out["native_scale_arcsec"] = float(self.native_scale_arcsec)
        sky = self.sky_arcsec
        if sky is not None:
            out["arcsec"] = sky
        if pixel_scale_arcsec is not None and sky is not None:
            out["task_pixel_scale_arcsec"] = float(pixel_scale_arcsec)
            out["task_pixels"] = self.task_pixels(pixel_scale_arcsec)
        return out

    def apply(self, images: torch.Tensor, pixel_scale_arcsec: float | None = None) -> torch.Tensor:
        h, w = images.shape[-2:]
        if self.fraction is not None:
            ch, cw = max(1, round(h * self.fraction)), max(1, round(w * self.fraction))
        else:
            side = self.task_pixels(pixel_scale_arcsec)
            assert side is not None
            ch = cw = side
        if ch > h or cw > w:
            scale = f" at {pixel_scale_arcsec:g}\"/px" if self.sky_arcsec is not None else ""
            raise TransformError(f"{self.label()} needs {ch}x{cw} pixels{scale}, more than the task's {h}x{w} images")
        return centre(images, ch, cw)


def centre(images: torch.Tensor, ch: int, cw: int) -> torch.Tensor:
    """The centre ch x cw pixels (an odd remainder goes below and right, as torchvision's CenterCrop)."""
    h, w = images.shape[-2:]
    top, left = (h - ch) // 2, (w - cw) // 2
    return images[..., top : top + ch, left : left + cw]


@dataclass(frozen=True)
class Zoom(Transform):
    """A centre zoom by ``factor`` >= 1: the middle round(side / factor) pixels of each side are kept."""

    factor: float = 1.0

    name: ClassVar[str] = "zoom"
    geometric: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor >= 1):
            raise ValueError(f"zoom: factor must be at least 1 (a zoom in), got {self.factor!r}")

    def describe(self, pixel_scale_arcsec: float | None = None) -> dict[str, Any]:
        return {"name": self.name, "factor": float(self.factor), "as": "centre crop of 1/factor of each side"}

    def apply(self, images: torch.Tensor, pixel_scale_arcsec: float | None = None) -> torch.Tensor:
        h, w = images.shape[-2:]
        return centre(images, max(1, round(h / self.factor)), max(1, round(w / self.factor)))


def percentile_clip(low: float = 0.0, high: float = 99.5) -> PercentileClip:
    """Clip each image to its ``low``-th and ``high``-th percentiles, then rescale it to [0, 1]."""
    return PercentileClip(float(low), float(high))


def centre_crop(*, pixels: int | None = None, arcsec: float | None = None, fraction: float | None = None,
                native_scale_arcsec: float | None = None) -> CentreCrop:
    """A centred square: ``arcsec`` of sky, ``pixels`` (of ``native_scale_arcsec`` each, or the task's own), or a ``fraction`` of each side."""
    return CentreCrop(pixels=pixels, arcsec=None if arcsec is None else float(arcsec),
                      fraction=None if fraction is None else float(fraction),
                      native_scale_arcsec=None if native_scale_arcsec is None else float(native_scale_arcsec))


def zoom(factor: float) -> Zoom:
    """A centre zoom: the middle 1/``factor`` of each side fills the view."""
    return Zoom(float(factor))


def applied(transforms: tuple[Transform, ...], dense: bool = False) -> tuple[Transform, ...]:
    """The transforms run on a batch: all of them, or on a dense task the non-geometric ones."""
    return tuple(t for t in transforms if not (dense and t.geometric))


def check_all(transforms: tuple[Transform, ...], pixel_scale_arcsec: float | None, dense: bool = False) -> None:
    """Raise ``TransformError`` for the first transform that cannot run at this pixel scale."""
    for t in applied(transforms, dense):
        t.check(pixel_scale_arcsec)
        if isinstance(t, CentreCrop):
            t.task_pixels(pixel_scale_arcsec)


def needs_pixel_scale(transforms: tuple[Transform, ...], dense: bool = False) -> list[Transform]:
    """Those of ``transforms`` (as applied) stated in sky units."""
    return [t for t in applied(transforms, dense) if t.needs_pixel_scale]

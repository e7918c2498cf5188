"""Cutting a survey field into fixed-size crops, the way the MGCLS DINO work did.

Crops tile each axis with the fewest crops that cover it (minimal overlap: the spare
pixels are spread evenly between neighbours rather than dropped at one edge); any crop
touching a NaN/inf pixel (blanked outside the primary beam) is rejected, not patched,
so no backbone sees invented pixels. Fields are scaled to their own 2nd-98th percentile
range of finite pixels, the study's choice, because MGCLS fields differ in depth by an
order of magnitude: a global scale would make crop brightness a proxy for the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from radiobench.errors import RadiobenchError

PERCENTILES = (2.0, 98.0)


def origins(length: int, size: int) -> list[int]:
    """Start offsets of the fewest ``size``-long windows covering ``length``, evenly overlapped."""
    if size > length:
        raise RadiobenchError(f"crop size {size} is larger than the field ({length} pixels); use a smaller crop size")
    count = math.ceil(length / size)
    if count == 1:
        return [0]
    return [round(i * (length - size) / (count - 1)) for i in range(count)]


@dataclass(frozen=True)
class Tiling:
    corners: list[tuple[int, int]]  # (row, col) of each kept crop's first pixel
    rejected: int  # crops dropped for touching a non-finite pixel
    size: int


def tile(image: np.ndarray, size: int) -> Tiling:
    """The finite ``size`` x ``size`` crops of a 2-D image (see the module docstring)."""
    if image.ndim != 2:
        raise RadiobenchError(f"expected a 2-D image, got shape {image.shape}")
    rows, cols = origins(image.shape[0], size), origins(image.shape[1], size)
    finite = np.isfinite(image)
    kept, rejected = [], 0
    for r in rows:
        for c in cols:
            if finite[r : r + size, c : c + size].all():
                kept.append((r, c))
            else:
                rejected += 1
    return Tiling(kept, rejected, size)


def cut(image: np.ndarray, tiling: Tiling) -> np.ndarray:
    s = tiling.size
    if not tiling.corners:
        return np.empty((0, s, s), dtype=image.dtype)
    return np.stack([image[r : r + s, c : c + s] for r, c in tiling.corners])


def percentile_range(image: np.ndarray, percentiles: tuple[float, float] = PERCENTILES) -> tuple[float, float]:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        raise RadiobenchError("image has no finite pixel to scale")
    lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    if not hi > lo:
        raise RadiobenchError(f"image is flat between the {percentiles[0]:g}th and {percentiles[1]:g}th percentiles ({lo}); nothing to scale")
    return lo, hi


def scale(pixels: np.ndarray, lo: float, hi: float, saturate: float | None = None) -> np.ndarray:
    """[lo, hi] to [0, 1] (float32): linear and clipped at hi, or with ``saturate``, an asinh stretch.

    The linear clip is the MGCLS study's; on a noise-dominated field [p2, p98] is about +-2 sigma, so
    every source brighter than ~2 sigma above the noise is one flat blob and its peak is lost. The
    asinh stretch (as in astronomical display, Lupton et al. 1999) maps u = (pixel - lo) / (hi - lo)
    to asinh(u) / asinh(saturate): linear over the noise, logarithmic over sources, so peaks stay
    ordered up to ``saturate`` times the range (clipped beyond). Depending on lo and hi only, it keeps
    the per-field noise normalisation that makes fields of different depth look alike.
    """
    u = (pixels.astype(np.float32) - np.float32(lo)) / np.float32(hi - lo)
    if saturate is None:
        return np.clip(u, 0.0, 1.0)
    if not saturate > 1:
        raise RadiobenchError(f"saturate is {saturate}; give a number above 1 (the multiple of the range that maps to 1)")
    return np.clip(np.arcsinh(np.maximum(u, 0.0)) / np.float32(np.arcsinh(saturate)), 0.0, 1.0)


def count_in_crops(x: np.ndarray, y: np.ndarray, tiling: Tiling) -> np.ndarray:
    """Number of positions (0-based pixel coordinates, pixel centres on integers) inside each crop.

    A position belongs to the pixel it rounds to; sources in an overlap count in every crop
    that contains them.
    """
    col, row = np.floor(np.asarray(x) + 0.5), np.floor(np.asarray(y) + 0.5)
    s = tiling.size
    return np.array(
        [int(((row >= r) & (row < r + s) & (col >= c) & (col < c + s)).sum()) for r, c in tiling.corners],
        dtype=np.int64,
    )

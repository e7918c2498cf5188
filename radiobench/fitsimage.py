"""Reading one 2-D radio image out of a survey FITS file, or saying exactly why not.

Survey products differ: MGCLS enhanced products are ``*_5pln_cor.FITS`` cubes whose
plane 0 is the continuum image; SkyView cutouts (FIRST) carry no beam keywords;
GPS/MAGPIS images use Galactic coordinates and a spare third WCS axis. Data are
big-endian on disk and NaN-blanked outside the primary beam. This module returns the
chosen plane as native-endian float32 with its celestial WCS and restoring beam, and
refuses files that are truncated, all-NaN, without a celestial WCS, without a beam (unless
one is given), or with extra axes it cannot interpret.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import RadiobenchError


class FitsImageError(RadiobenchError):
    """A FITS file that cannot be used as a 2-D radio image (the message says why and what to do)."""


@dataclass(frozen=True)
class RadioImage:
    data: np.ndarray  # (ny, nx) float32, native byte order, NaN where blanked
    wcs: Any  # astropy.wcs.WCS, celestial (2 axes)
    beam_deg: tuple[float, float, float]  # BMAJ, BMIN (FWHM, deg), BPA (deg)
    pixel_deg: float  # mean pixel side
    path: Path
    plane: int
    frequency_hz: float | None = None  # from RESTFRQ/RESTFREQ or the plane axis, when the header says

    @property
    def finite_fraction(self) -> float:
        return float(np.isfinite(self.data).mean())

    @property
    def beam_pixels(self) -> float:
        return self.beam_deg[0] / self.pixel_deg


def read_radio_image(path: str | Path, beam_deg: tuple[float, float, float] | None = None, plane: int = 0) -> RadioImage:
    """Plane ``plane`` of the first image HDU of ``path``; ``beam_deg`` replaces missing beam keywords."""
    from astropy.io.fits.verify import VerifyWarning
    from astropy.wcs import FITSFixedWarning

    with warnings.catch_warnings():
        # card-style complaints (SkyView's tabs in COMMENT cards, WCS keyword fix-ups) are about the
        # survey's header conventions, not about whether the image is usable
        warnings.simplefilter("ignore", VerifyWarning)
        warnings.simplefilter("ignore", FITSFixedWarning)
        return _read(Path(path), beam_deg, plane)


def _read(path: Path, beam_deg: tuple[float, float, float] | None, plane: int) -> RadioImage:
    from astropy.io import fits
    from astropy.wcs import WCS

    try:
        with fits.open(path, memmap=False) as hdus:
            hdu = next((h for h in hdus if h.data is not None and h.data.ndim >= 2), None)
            if hdu is None:
                raise FitsImageError(f"{path}: no image HDU with 2 or more axes")
            header, data = hdu.header.copy(), np.asarray(hdu.data)
    except FitsImageError:
        raise
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise FitsImageError(f"{path}: not a readable FITS image ({exc}); truncated or corrupt? fetch it again") from None
    data = _select_plane(data, header, plane, path)
    wcs = WCS(header).celestial
    if not wcs.has_celestial or wcs.naxis != 2:
        raise FitsImageError(f"{path}: no celestial WCS (RA/DEC or GLON/GLAT axes) in the header; cannot place sources")
    image = np.asarray(data, dtype=np.float32)  # native byte order, whatever the file had
    if not np.isfinite(image).any():
        raise FitsImageError(f"{path}: plane {plane} holds no finite pixel (all NaN/inf); wrong plane or empty image")
    if "BMAJ" in header and "BMIN" in header:
        beam = (float(header["BMAJ"]), float(header["BMIN"]), float(header.get("BPA", 0.0)))
    elif beam_deg is not None:
        beam = tuple(float(b) for b in beam_deg)  # type: ignore[assignment]
    else:
        raise FitsImageError(
            f"{path}: no BMAJ/BMIN beam keywords; give the restoring beam as --beam BMAJ,BMIN,BPA in degrees "
            "(FIRST: 0.0015,0.0015,0)"
        )
    from astropy.wcs.utils import proj_plane_pixel_scales

    pixel = float(np.mean(np.abs(proj_plane_pixel_scales(wcs))))  # in the WCS unit, degrees for sky axes
    return RadioImage(image, wcs, beam, pixel, path, plane, _frequency(header, plane))  # type: ignore[arg-type]


def _frequency(header: Any, plane: int) -> float | None:
    for key in ("RESTFRQ", "RESTFREQ"):
        if key in header:
            return float(header[key])
    for axis in range(3, int(header.get("NAXIS", 0)) + 1):
        if str(header.get(f"CTYPE{axis}", "")).upper().startswith("FREQ") and f"CRVAL{axis}" in header:
            offset = (plane + 1 - float(header.get(f"CRPIX{axis}", 1.0))) * float(header.get(f"CDELT{axis}", 0.0))
            return float(header[f"CRVAL{axis}"]) + offset
    return None


def _select_plane(data: np.ndarray, header: Any, plane: int, path: Path) -> np.ndarray:
    """Drop length-1 axes; allow one extra axis of planes (CTYPE FREQ, as MGCLS cubes) and take ``plane``."""
    extra = []  # (numpy axis, FITS axis number, length, ctype)
    for axis in range(data.ndim - 2):
        fits_axis = data.ndim - axis  # numpy axis 0 is the last FITS axis
        extra.append((axis, fits_axis, data.shape[axis], str(header.get(f"CTYPE{fits_axis}", "")).strip()))
    long_axes = [e for e in extra if e[2] > 1]
    if len(long_axes) > 1 or (long_axes and not long_axes[0][3].upper().startswith("FREQ")):
        described = ", ".join(f"axis {e[1]} {e[3] or '(no CTYPE)'} of length {e[2]}" for e in long_axes)
        raise FitsImageError(f"{path}: unexpected extra axes ({described}); expected a 2-D image or one plane axis")
    index: list[Any] = [0] * (data.ndim - 2) + [slice(None), slice(None)]
    if long_axes:
        axis, _, length, _ = long_axes[0]
        if not 0 <= plane < length:
            raise FitsImageError(f"{path}: plane {plane} requested but the plane axis has {length} planes")
        index[axis] = plane
    elif plane != 0:
        raise FitsImageError(f"{path}: plane {plane} requested but the image has a single plane")
    return data[tuple(index)]

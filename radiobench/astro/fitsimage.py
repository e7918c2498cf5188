"""Reading one 2-D radio image out of a survey FITS file, or saying exactly why not.

Survey products differ: MGCLS enhanced products are ``*_5pln_cor.FITS`` cubes whose
plane 0 is the continuum image; SkyView cutouts (FIRST) carry no beam keywords;
GPS/MAGPIS images use Galactic coordinates and a spare third WCS axis. Data are
big-endian on disk and NaN-blanked outside the primary beam. This module returns the
chosen plane as native-endian float32 with its celestial WCS and restoring beam, and
refuses files that are truncated, all-NaN, without a celestial WCS, without a usable pixel
scale, without a beam (unless one is given), or whose sky axes are not FITS axes 1 and 2.
Extra axes, whatever their CTYPE, give their plane 0. What the header alone can refute
(a declared size the file cannot hold, a zero CDELT) is refuted before any data are read.
"""

from __future__ import annotations

import math
import os
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
        # a declared size beyond the file's end is refused below with the file's name; astropy's warning would be a 2nd line
        warnings.filterwarnings("ignore", message="File may have been truncated")
        return _read(Path(path), beam_deg, plane)


def _read(path: Path, beam_deg: tuple[float, float, float] | None, plane: int) -> RadioImage:
    from astropy.io import fits

    try:
        with _opened(path) as handle, fits.open(handle, memmap=False, lazy_load_hdus=True) as hdus:
            index = next((i for i, h in enumerate(hdus) if h.is_image and int(h.header.get("NAXIS", 0)) >= 2), None)
            if index is None:
                raise FitsImageError(f"{path}: no image HDU with 2 or more axes")
            hdu = hdus[index]
            header = hdu.header.copy()
            # everything the header alone can refute is refuted before the data are read
            shape = _check_shape(header, path)
            _check_data_size(hdus, index, shape, handle, path)
            wcs, pixel = _celestial_wcs(header, path)
            chosen = _choose_planes(shape, header, plane, path)
            data = np.asarray(hdu.data)
    except FitsImageError:
        raise
    except (OSError, ValueError, TypeError, IndexError) as exc:
        raise FitsImageError(f"{path}: not a readable FITS image ({exc}); truncated or corrupt? fetch it again") from None
    if data.ndim != len(shape):  # astropy and the header disagree: not a file to guess about
        raise FitsImageError(f"{path}: not a readable FITS image (header declares {len(shape)} axes, data has "
                             f"{data.ndim}); truncated or corrupt? fetch it again")
    data = data[tuple(chosen.get(len(shape) - axis, slice(None)) for axis in range(len(shape)))]
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
    return RadioImage(image, wcs, beam, pixel, path, plane, _frequency(header, chosen))  # type: ignore[arg-type]


# The data of one HDU is read whole (all planes) before a plane is taken; more than this is not a
# survey image but a header typo or a file this reader is not for (MGCLS cubes are ~0.3 GiB).
MAX_DATA_BYTES = 16 * 2**30
# A gzip-wrapped FITS is expanded in memory before astropy reads it, so its expansion is capped: a 1 MB
# file can expand to gigabytes. MGCLS enhanced cubes (5 planes of ~3600^2 float32) expand to ~0.3 GiB.
MAX_GZIP_EXPANDED = 4 * 2**30
MAX_GZIP_BYTES = 2 * 2**30


def _opened(path: Path) -> Any:
    """The file as astropy should read it: the regular file itself, or a gzip-wrapped one expanded (capped).

    Other wrappers astropy would open (bzip2, zip, xz) expand where no cap reaches, so they are refused.
    """
    import io

    from radiobench.io.reader import UnreadableFileError, gunzip, open_regular, read_bytes

    handle = open_regular(path)
    start = handle.read(6)
    handle.seek(0)
    if start == b"SIMPLE":
        return handle
    handle.close()
    if start[:2] != b"\x1f\x8b":
        raise FitsImageError(f"{path}: not a FITS file (it starts with {start!r}, not SIMPLE), nor a gzip-compressed "
                             "one; give a plain or gzip-compressed FITS image")
    try:
        return io.BytesIO(gunzip(read_bytes(path, limit=MAX_GZIP_BYTES, what="compressed FITS file"),
                                 limit=MAX_GZIP_EXPANDED, source=path, what="gzip-compressed FITS file"))
    except UnreadableFileError as exc:
        raise FitsImageError(str(exc)) from None


def _check_shape(header: Any, path: Path) -> tuple[int, ...]:
    """The FITS axis lengths (NAXIS1 first); refuses empty axes and 1-pixel-wide images."""
    shape = tuple(int(header.get(f"NAXIS{i}", 0)) for i in range(1, int(header["NAXIS"]) + 1))
    empty = [f"NAXIS{i + 1} = {n}" for i, n in enumerate(shape) if n < 1]
    if empty or min(shape[:2]) < 2:
        described = ", ".join(empty) or f"{shape[0]}x{shape[1]} pixels"
        raise FitsImageError(f"{path}: the header declares no usable image area ({described}); not a 2-D image")
    return shape


def _check_data_size(hdus: Any, index: int, shape: tuple[int, ...], handle: Any, path: Path) -> None:
    """Compare the data size the header declares with the file and with what can be read at all.

    A header can claim 200000x200000 pixels in a 6 kB file; astropy would then try to allocate
    149 GiB (a MemoryError that names no file) or read past the end.
    """
    from astropy.io import fits

    hdu = hdus[index]
    bitpix = int(hdu.header.get("BITPIX", 0))
    declared = abs(bitpix) // 8 * math.prod(shape)
    described = f"{'x'.join(str(n) for n in shape)} pixels of BITPIX {bitpix} ({_size(declared)})"
    if declared > MAX_DATA_BYTES:
        raise FitsImageError(f"{path}: the header declares {described}, more than the {_size(MAX_DATA_BYTES)} "
                             "radiobench reads from one image; a header error, or cut the field into smaller images")
    if isinstance(hdu, fits.CompImageHDU):  # tile-compressed: the size on disk says nothing then
        return
    info = hdus.fileinfo(index)
    position = handle.tell()
    size = handle.seek(0, os.SEEK_END)
    handle.seek(position)  # astropy reads the data from where it left off
    available = size - info["datLoc"] if info else declared
    if declared > available:
        raise FitsImageError(f"{path}: not a readable FITS image (the header declares {described} but the file holds "
                             f"{_size(max(available, 0))} after the header); truncated or corrupt? fetch it again")


def _size(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB" if n >= 2**20 else f"{n:,} bytes"


def _celestial_wcs(header: Any, path: Path) -> tuple[Any, float]:
    """The 2-axis celestial WCS and its mean pixel side (degrees), from FITS axes 1 and 2.

    A zero, missing or non-finite pixel scale would make every beam and crop size meaningless;
    astropy would not say so (wcslib calls a zero CDELT a singular matrix, turns an all-zero
    CD matrix into unity, and a missing CDELT defaults to 1 deg), so the cards are checked first.
    """
    from astropy.wcs import WCS, WcsError
    from astropy.wcs.utils import proj_plane_pixel_scales

    try:
        full = WCS(header)
    except (WcsError, ValueError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in lines if not line.startswith("ERROR ")), " ".join(lines))  # wcslib's own words
        problem = _pixel_scale_problem(header)
        if problem:
            raise _no_pixel_scale(path, problem) from None
        raise FitsImageError(f"{path}: unusable WCS in the header ({reason}); check its CDELT/CD/PC and CTYPE "
                             "keywords") from None
    if not full.has_celestial:
        raise FitsImageError(f"{path}: no celestial WCS (RA/DEC or GLON/GLAT axes) in the header; cannot place sources")
    axes = sorted((full.wcs.lng + 1, full.wcs.lat + 1))
    if axes != [1, 2]:
        raise FitsImageError(f"{path}: the celestial axes are FITS axes {axes[0]} and {axes[1]}; radiobench reads "
                             "images whose axes 1 and 2 are the sky (reorder the cube, e.g. with a FITS tool)")
    wcs = full.celestial
    problem = _pixel_scale_problem(header)
    scales = proj_plane_pixel_scales(wcs)
    if problem is None and not (np.all(np.isfinite(scales)) and np.all(scales > 0)):
        problem = f"pixel scales {scales.tolist()}"
    if problem:
        raise _no_pixel_scale(path, problem)
    return wcs, float(np.mean(np.abs(scales)))  # in the WCS unit, degrees for sky axes


def _no_pixel_scale(path: Path, problem: str) -> FitsImageError:
    return FitsImageError(f"{path}: no usable pixel scale ({problem}); the header needs nonzero, finite CDELT1 and "
                          "CDELT2 (or a CD matrix) in degrees per pixel")


def _pixel_scale_problem(header: Any) -> str | None:
    """What is wrong with the pixel-scale cards of axes 1 and 2 (a CD matrix, else CDELT1/CDELT2), or None."""
    cd_keys = [f"CD{i}_{j}" for i in (1, 2) for j in (1, 2)]
    try:
        if any(key in header for key in cd_keys):
            a, b, c, d = (float(header.get(key, 0.0)) for key in cd_keys)
            if not (math.isfinite(a * d - b * c) and a * d - b * c != 0):
                return "singular CD matrix: " + ", ".join(f"{key} = {header.get(key, 0.0)}" for key in cd_keys)
            return None
        missing = [f"CDELT{i}" for i in (1, 2) if f"CDELT{i}" not in header]
        if missing:
            return f"no {' or '.join(missing)} and no CD matrix"
        bad = [f"CDELT{i} = {header[f'CDELT{i}']}" for i in (1, 2)
               if not (math.isfinite(float(header[f"CDELT{i}"])) and float(header[f"CDELT{i}"]) != 0)]
    except (TypeError, ValueError):
        return "non-numeric CDELT/CD cards"
    return ", ".join(bad) or None


def _frequency(header: Any, chosen: dict[int, int]) -> float | None:
    """RESTFRQ/RESTFREQ, else the frequency of the chosen plane on a FREQ axis, else None."""
    for key in ("RESTFRQ", "RESTFREQ"):
        if key in header:
            return float(header[key])
    for axis in range(3, int(header.get("NAXIS", 0)) + 1):
        if str(header.get(f"CTYPE{axis}", "")).upper().startswith("FREQ") and f"CRVAL{axis}" in header:
            offset = (chosen.get(axis, 0) + 1 - float(header.get(f"CRPIX{axis}", 1.0))) * float(header.get(f"CDELT{axis}", 0.0))
            return float(header[f"CRVAL{axis}"]) + offset
    return None


def _choose_planes(shape: tuple[int, ...], header: Any, plane: int, path: Path) -> dict[int, int]:
    """The index taken on every axis after the first two: FITS axis number -> index.

    Survey cubes put planes on axes whose CTYPE varies (FREQ on MGCLS ``*_5pln_cor.FITS``,
    STOKES, a spare VRAD or none at all), so any extra axis is accepted and plane 0 of each
    is taken; ``plane`` picks along the first extra axis with more than one plane.
    """
    chosen = {axis: 0 for axis in range(3, len(shape) + 1)}
    long_axes = [axis for axis in chosen if shape[axis - 1] > 1]
    if long_axes:
        axis = long_axes[0]
        if not 0 <= plane < shape[axis - 1]:
            ctype = str(header.get(f"CTYPE{axis}", "")).strip() or "no CTYPE"
            raise FitsImageError(f"{path}: plane {plane} requested but the plane axis has {shape[axis - 1]} planes "
                                 f"(FITS axis {axis}, {ctype})")
        chosen[axis] = plane
    elif plane != 0:
        raise FitsImageError(f"{path}: plane {plane} requested but the image has a single plane")
    return chosen

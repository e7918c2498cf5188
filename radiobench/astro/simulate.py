"""Simulated MeerKAT-like continuum fields with a truth catalogue.

MGCLS images cannot be downloaded on every machine, so the compact-source pipeline and
its tests run on fields made here. The physics, with MGCLS-like defaults:

- Sources are uniform on the sky inside the primary-beam radius. Integrated fluxes follow
  a power law dN/dS ∝ S^-alpha (alpha = 1.7, the sub-mJy 1.4 GHz slope) between
  ``flux_min`` and ``flux_max``, drawn by inverting its CDF. A fraction are extended:
  elliptical Gaussians with FWHM major axis log-uniform in 10-60 arcsec, axis ratio
  0.3-1, random position angle; the rest are points.
- Every source is convolved with the restoring beam, a circular Gaussian of FWHM
  ``beam_arcsec``; Gaussians convolve analytically (widths add in quadrature), and the
  peak brightness in Jy/beam is S * Omega_beam / Omega_convolved (S for a point source).
- Thermal noise is white Gaussian noise smoothed by the beam and rescaled to ``rms``
  Jy/beam, so it is correlated on the beam scale as in a restored image. The image is
  primary-beam corrected, as MGCLS enhanced products are: the noise grows as 1/PB(r)
  for a Gaussian primary beam of FWHM 1.1 deg x (1.28 GHz / frequency); pixels beyond
  ``pb_radius`` (a fraction of the half-width) are NaN.
- The FITS header carries a SIN-projection WCS, BMAJ/BMIN/BPA, BUNIT, the frequency and
  the simulation parameters, so pyBDSF and radiobench read it like a survey image.
"""

from __future__ import annotations

import math
from typing import Any
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiobench.io.atomic import open_atomic

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
# FITS keywords (8 characters at most) recording every simulation parameter
HEADER_KEYS = {
    "seed": "SIMSEED", "n_sources": "SIMNSRC", "alpha": "SIMALPHA", "flux_min": "SIMSMIN", "flux_max": "SIMSMAX",
    "extended_fraction": "SIMFEXT", "rms": "SIMRMS", "pb_radius": "SIMPBRAD", "pixel_arcsec": "SIMPIX",
}


# Largest side: a 1 GiB float32 image. simulate_field holds about a dozen image-sized float64/float32
# arrays at once (pixel grids, radii, image, noise, its filtered copy), ~13 GiB at this size; MGCLS
# fields are ~3600 pixels a side.
MAX_SIZE = 16384
WORKING_ARRAYS = 12  # simulate_field's peak memory, in float32 images


def _check_size(size: int) -> None:
    """Say how large an image would be, so a typo (200000) fails at once instead of after minutes of swapping."""
    if size < 32:
        raise ValueError(f"size is {size}; it must be at least 32 pixels per side")
    if size > MAX_SIZE:
        image_gib = size * size * 4 / 2**30
        raise ValueError(
            f"size {size} would be a {image_gib:,.1f} GiB float32 image (and ~{WORKING_ARRAYS}x that in memory while "
            f"simulating); the limit is {MAX_SIZE} pixels per side (a 1 GiB image), MGCLS fields are ~3600"
        )


@dataclass(frozen=True)
class FieldParams:
    size: int = 1024  # pixels per side
    pixel_arcsec: float = 1.5
    beam_arcsec: float = 7.5  # restoring beam FWHM (MGCLS: ~7.5-8 arcsec)
    frequency_hz: float = 1.28e9  # MeerKAT L-band centre
    rms: float = 5e-6  # Jy/beam at the pointing centre (MGCLS: ~3-5 uJy/beam)
    n_sources: int = 400
    alpha: float = 1.7
    flux_min: float = 2e-5  # Jy
    flux_max: float = 5e-2  # Jy
    extended_fraction: float = 0.2
    pb_radius: float = 0.9  # NaN beyond this fraction of the half-width
    ra_deg: float = 0.0
    dec_deg: float = -30.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse parameters that would crash, hang or fill memory later, naming the value (one line each)."""
        for name in ("pixel_arcsec", "beam_arcsec", "frequency_hz", "rms", "alpha", "flux_min", "flux_max",
                     "extended_fraction", "pb_radius", "ra_deg", "dec_deg"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} is {getattr(self, name)}; give a finite number")
        for name in ("pixel_arcsec", "beam_arcsec", "frequency_hz", "rms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} is {getattr(self, name)}; it must be positive")
        if self.n_sources < 0:
            raise ValueError(f"n_sources is {self.n_sources}; it must be 0 or more")
        _check_size(self.size)
        if not 0 < self.flux_min < self.flux_max or not 0 < self.pb_radius <= 1:
            raise ValueError("need 0 < flux_min < flux_max and 0 < pb_radius <= 1")
        if self.alpha == 1 or not 0 <= self.extended_fraction <= 1:
            raise ValueError("need alpha != 1 (the flux CDF divides by 1 - alpha) and 0 <= extended_fraction <= 1")

    @property
    def primary_beam_sigma_pixels(self) -> float:
        """Gaussian sigma of the primary beam (FWHM 1.1 deg x 1.28 GHz / frequency), in pixels."""
        return 1.1 * (1.28e9 / self.frequency_hz) * 3600.0 / self.pixel_arcsec * FWHM_TO_SIGMA

    def primary_beam(self, distance_pixels: Any) -> Any:
        """Primary-beam response at a distance from the pointing centre: the noise there is rms / response."""
        return np.exp(-0.5 * (np.asarray(distance_pixels) / self.primary_beam_sigma_pixels) ** 2)


@dataclass(frozen=True)
class Field:
    image: np.ndarray  # (size, size) float32, Jy/beam, NaN outside the primary-beam radius
    header: dict
    truth: list[dict]  # one row per source


def power_law_fluxes(rng: np.random.Generator, n: int, alpha: float, lo: float, hi: float) -> np.ndarray:
    """Inverse-CDF draws from dN/dS ∝ S^-alpha on [lo, hi] (alpha != 1)."""
    u = rng.uniform(size=n)
    a = 1.0 - alpha
    return (lo**a + u * (hi**a - lo**a)) ** (1.0 / a)


def simulate_field(p: FieldParams) -> Field:
    from astropy.wcs import WCS
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(p.seed)
    half = p.size / 2.0
    yy, xx = np.mgrid[0 : p.size, 0 : p.size].astype(np.float64)
    centre = (p.size - 1) / 2.0
    r_pix = np.hypot(xx - centre, yy - centre)
    inside = r_pix <= p.pb_radius * half

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [p.ra_deg, p.dec_deg]
    wcs.wcs.crpix = [centre + 1, centre + 1]  # FITS pixels are 1-based
    wcs.wcs.cdelt = [-p.pixel_arcsec / 3600.0, p.pixel_arcsec / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]

    beam_sigma_pix = p.beam_arcsec * FWHM_TO_SIGMA / p.pixel_arcsec
    image = np.zeros((p.size, p.size), dtype=np.float64)
    fluxes = power_law_fluxes(rng, p.n_sources, p.alpha, p.flux_min, p.flux_max)
    truth = []
    for i, flux in enumerate(fluxes):
        radius = p.pb_radius * half * math.sqrt(rng.uniform())  # uniform over the disc
        angle = rng.uniform(0, 2 * math.pi)
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        extended = rng.uniform() < p.extended_fraction
        if extended:
            maj = math.exp(rng.uniform(math.log(10.0), math.log(60.0)))
            mnr = maj * rng.uniform(0.3, 1.0)
            pa = rng.uniform(0, 180.0)
        else:
            maj = mnr = pa = 0.0
        # convolved Gaussian widths (arcsec FWHM), peak brightness in Jy/beam
        cmaj, cmin = math.hypot(maj, p.beam_arcsec), math.hypot(mnr, p.beam_arcsec)
        peak = flux * p.beam_arcsec**2 / (cmaj * cmin)
        _add_gaussian(image, x, y, cmaj / p.pixel_arcsec * FWHM_TO_SIGMA, cmin / p.pixel_arcsec * FWHM_TO_SIGMA,
                      math.radians(pa), peak)
        ra, dec = wcs.wcs_pix2world([[x, y]], 0)[0]
        truth.append({
            "id": i, "ra": float(ra), "dec": float(dec), "x": x, "y": y, "flux_jy": float(flux),
            "peak_jy_beam": peak, "maj_arcsec": maj, "min_arcsec": mnr, "pa_deg": pa,
            "kind": "extended" if extended else "point",
        })

    noise = gaussian_filter(rng.normal(size=image.shape), beam_sigma_pix)
    noise *= p.rms / noise.std()
    image = image + noise / p.primary_beam(r_pix)
    image[~inside] = np.nan

    header = dict(wcs.to_header())
    header.update({
        "BUNIT": "JY/BEAM",
        "BMAJ": p.beam_arcsec / 3600.0,
        "BMIN": p.beam_arcsec / 3600.0,
        "BPA": 0.0,
        "RESTFRQ": p.frequency_hz,
        "TELESCOP": "MeerKAT (simulated)",
        "ORIGIN": "radiobench simulate field",
    })
    header.update({key: getattr(p, name) for name, key in HEADER_KEYS.items()})
    return Field(image.astype(np.float32), header, truth)


def _add_gaussian(image: np.ndarray, x: float, y: float, s_maj: float, s_min: float, pa: float, peak: float) -> None:
    """Add an elliptical Gaussian (sigmas in pixels; PA from north through east) on a local stamp."""
    reach = int(math.ceil(5 * s_maj)) + 1
    x0, x1 = max(0, int(x) - reach), min(image.shape[1], int(x) + reach + 1)
    y0, y1 = max(0, int(y) - reach), min(image.shape[0], int(y) + reach + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    dx, dy = xx - x, yy - y
    # north is +y, east is -x (RA grows to the left): rotate into the source frame
    u = -dx * math.sin(pa) + dy * math.cos(pa)  # along the major axis
    v = dx * math.cos(pa) + dy * math.sin(pa)
    image[y0:y1, x0:x1] += peak * np.exp(-0.5 * ((u / s_maj) ** 2 + (v / s_min) ** 2))


def write_field(field: Field, path: Path) -> Path:
    """Write the FITS image and ``<stem>.truth.csv`` beside it, each atomically."""
    import csv

    from astropy.io import fits

    path = Path(path)
    header = fits.Header()
    for key, value in field.header.items():
        header[key] = value
    with open_atomic(path, "wb") as handle:
        fits.PrimaryHDU(field.image, header=header).writeto(handle)
    truth_path = path.with_name(path.stem + ".truth.csv")
    with open_atomic(truth_path) as handle:
        writer = csv.DictWriter(handle, fieldnames=list(field.truth[0]) if field.truth else ["id"])
        writer.writeheader()
        writer.writerows(field.truth)
    return truth_path

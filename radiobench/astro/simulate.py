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

MGCLS pointings are galaxy-cluster fields, so a field can carry a cluster (all off by default;
``mgcls_pointing(seed)`` draws one field's values over MGCLS-like ranges):

- Cluster members: ``cluster_members`` extra compact sources (same flux law, 10 % extended)
  whose projected density follows a beta model, Sigma(R) ∝ (1 + (R/r_c)^2)^(-3 beta + 1/2)
  with beta = 2/3, i.e. (1 + x^2)^-1.5, around a centre offset from the pointing by
  ``cluster_offset_arcsec``; radii are drawn by inverting its enclosed-number CDF
  N(<x) ∝ 1 - (1 + x^2)^-1/2, truncated at the primary-beam radius. Richness and the core
  radius ``cluster_core_arcsec`` vary per field, so crop counts range from the empty
  outskirts of a shallow poor field to hundreds of sources in a rich cluster's core.
- Depth: ``rms`` is set per field; ``mgcls_pointing`` draws it log-uniform in 3-20 uJy/beam
  (MGCLS full-resolution images range from ~3 uJy/beam to a few tens near bright sources).
- Diffuse emission (truth kind ``halo``/``relic``, never compact): a radio halo with the
  exponential profile I(r) = I0 exp(-r / r_e) of Murgia et al. (2009), r_e = ``halo_re_arcsec``,
  integrated flux ``halo_flux``, at the cluster centre; a relic as an arc of overlapping
  elongated Gaussians (20" thick, 60 deg of a circle at 2-3 core radii), flux ``relic_flux``.
- Bright extended sources (kind ``bright_extended``): ``n_bright`` FR-II-like doubles, a core
  and two lobes (Gaussians of 15-40" FWHM) 30-150" apart, total flux log-uniform 10-300 mJy.
- Artefacts: around every source whose peak exceeds ``artefact_above`` Jy/beam, a residual
  of calibration errors: concentric ripples with an azimuthal six-fold (MeerKAT's
  sidelobe-like) modulation, amplitude ``artefact_level`` x peak, decaying over 40 beams.
  They are not in the truth catalogue: a finder that catalogues them loses purity.

The truth catalogue lists every compact and extended source with its position, flux, peak
and kind (``point``, ``extended``, ``member``, ``member_extended``, ``bright_extended``,
``halo``, ``relic``); ``local_rms`` is the noise at its position (rms / PB), so label quality
can be measured by signal-to-noise (``radiobench.astro.label_quality``).
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
    "cluster_members": "SIMCLNUM", "cluster_core_arcsec": "SIMCLRC", "halo_flux": "SIMHALO",
    "relic_flux": "SIMRELIC", "n_bright": "SIMNBRT", "artefact_level": "SIMARTL",
}
COMPACT_KINDS = ("point", "member")  # truth kinds a compact-source catalogue should hold
DIFFUSE_KINDS = ("halo", "relic")  # truth kinds that draw no artefacts


# Largest side: a 1 GiB float32 image. simulate_field holds about a dozen image-sized float64/float32
# arrays at once (pixel grids, radii, image, noise, its filtered copy), ~13 GiB at this size; MGCLS
# fields are ~3600 pixels a side.
MAX_SIZE = 16384
WORKING_ARRAYS = 12  # simulate_field's peak memory, in float32 images
# Most sources a field may hold: each is drawn in Python (~0.1 ms measured on this project's 2-core CPU,
# 40000 in 4 s) and kept as a truth row. A dense MGCLS field holds a few thousand; 10^8 would run for hours.
MAX_SOURCES = 100_000


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
    # MGCLS-pointing structure (module docstring); zero leaves a blank field
    cluster_members: int = 0
    cluster_core_arcsec: float = 90.0
    cluster_offset_arcsec: tuple[float, float] = (0.0, 0.0)
    halo_flux: float = 0.0  # Jy
    halo_re_arcsec: float = 60.0
    relic_flux: float = 0.0  # Jy
    n_bright: int = 0
    artefact_level: float = 0.0  # fraction of the peak
    artefact_above: float = 1e-3  # Jy/beam

    def __post_init__(self) -> None:
        """Refuse parameters that would crash, hang or fill memory later, naming the value (one line each)."""
        for name in ("pixel_arcsec", "beam_arcsec", "frequency_hz", "rms", "alpha", "flux_min", "flux_max",
                     "extended_fraction", "pb_radius", "ra_deg", "dec_deg"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} is {getattr(self, name)}; give a finite number")
        for name in ("pixel_arcsec", "beam_arcsec", "frequency_hz", "rms"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} is {getattr(self, name)}; it must be positive")
        for name in ("n_sources", "cluster_members", "n_bright"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is {getattr(self, name)}; it must be 0 or more")
        for name in ("halo_flux", "relic_flux", "artefact_level"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} is {getattr(self, name)}; give a finite number, 0 or more")
        for name in ("cluster_core_arcsec", "halo_re_arcsec", "artefact_above"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} is {getattr(self, name)}; give a finite positive number")
        _check_size(self.size)
        total = self.n_sources + self.cluster_members + self.n_bright
        if total > MAX_SOURCES:
            raise ValueError(f"n_sources {self.n_sources} (with cluster_members and n_bright: {total}) is more than the "
                             f"{MAX_SOURCES:,} sources a field may hold; a dense MGCLS field holds a few thousand")
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
    """One field: background sources, the cluster (if any), noise, PB correction and blanking."""
    from astropy.wcs import WCS
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(p.seed)
    half = p.size / 2.0
    yy, xx = np.mgrid[0 : p.size, 0 : p.size].astype(np.float64)
    centre = (p.size - 1) / 2.0
    r_pix = np.hypot(xx - centre, yy - centre)
    inside = r_pix <= p.pb_radius * half
    del xx, yy

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [p.ra_deg, p.dec_deg]
    wcs.wcs.crpix = [centre + 1, centre + 1]  # FITS pixels are 1-based
    wcs.wcs.cdelt = [-p.pixel_arcsec / 3600.0, p.pixel_arcsec / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]

    beam_sigma_pix = p.beam_arcsec * FWHM_TO_SIGMA / p.pixel_arcsec
    image = np.zeros((p.size, p.size), dtype=np.float64)
    truth: list[dict] = []

    def add(x: float, y: float, flux: float, maj: float, mnr: float, pa: float, kind: str) -> float:
        """Add one Gaussian component (intrinsic FWHM in arcsec), record it, return its peak in Jy/beam."""
        cmaj, cmin = math.hypot(maj, p.beam_arcsec), math.hypot(mnr, p.beam_arcsec)
        peak = flux * p.beam_arcsec**2 / (cmaj * cmin)
        _add_gaussian(image, x, y, cmaj / p.pixel_arcsec * FWHM_TO_SIGMA, cmin / p.pixel_arcsec * FWHM_TO_SIGMA,
                      math.radians(pa), peak)
        ra, dec = wcs.wcs_pix2world([[x, y]], 0)[0]
        truth.append({
            "id": len(truth), "ra": float(ra), "dec": float(dec), "x": x, "y": y, "flux_jy": float(flux),
            "peak_jy_beam": peak, "maj_arcsec": maj, "min_arcsec": mnr, "pa_deg": pa, "kind": kind,
            "local_rms": p.rms / float(p.primary_beam(math.hypot(x - centre, y - centre))),
        })
        return peak

    def shape(extended_fraction: float) -> tuple[float, float, float, bool]:
        if rng.uniform() < extended_fraction:
            maj = math.exp(rng.uniform(math.log(10.0), math.log(60.0)))
            return maj, maj * rng.uniform(0.3, 1.0), rng.uniform(0, 180.0), True
        return 0.0, 0.0, 0.0, False

    disc = p.pb_radius * half
    for flux in power_law_fluxes(rng, p.n_sources, p.alpha, p.flux_min, p.flux_max):
        radius = disc * math.sqrt(rng.uniform())  # uniform over the disc
        angle = rng.uniform(0, 2 * math.pi)
        maj, mnr, pa, extended = shape(p.extended_fraction)
        add(centre + radius * math.cos(angle), centre + radius * math.sin(angle), flux, maj, mnr, pa,
            "extended" if extended else "point")

    cx = centre - p.cluster_offset_arcsec[0] / p.pixel_arcsec  # RA offset: east is -x
    cy = centre + p.cluster_offset_arcsec[1] / p.pixel_arcsec
    core = p.cluster_core_arcsec / p.pixel_arcsec
    members = _cluster_positions(rng, p.cluster_members, cx, cy, core, centre, disc)
    for (x, y), flux in zip(members, power_law_fluxes(rng, len(members), p.alpha, p.flux_min, p.flux_max)):
        maj, mnr, pa, extended = shape(0.1)
        add(x, y, flux, maj, mnr, pa, "member_extended" if extended else "member")

    if p.halo_flux > 0:
        _add_halo(image, cx, cy, p.halo_re_arcsec / p.pixel_arcsec, p.halo_flux, p.beam_arcsec / p.pixel_arcsec)
        truth_row(truth, wcs, cx, cy, p.halo_flux, "halo", p.halo_re_arcsec)
    if p.relic_flux > 0:
        rx, ry = _add_relic(image, rng, cx, cy, core, p)
        truth_row(truth, wcs, rx, ry, p.relic_flux, "relic", 20.0)
    bright = []
    for _ in range(p.n_bright):
        radius, angle = disc * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
        x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
        total = math.exp(rng.uniform(math.log(1e-2), math.log(3e-1)))
        sep, pa = rng.uniform(30.0, 150.0) / p.pixel_arcsec, rng.uniform(0, math.pi)
        lobe = rng.uniform(15.0, 40.0)
        bright.append(add(x, y, 0.1 * total, 0.0, 0.0, 0.0, "bright_extended"))
        for sign in (-1, 1):
            lx, ly = x - sign * 0.5 * sep * math.sin(pa), y + sign * 0.5 * sep * math.cos(pa)
            bright.append(add(lx, ly, 0.45 * total, lobe, lobe * rng.uniform(0.4, 0.8), math.degrees(pa),
                              "bright_extended"))
    if p.artefact_level > 0:
        for row in truth:
            if row["peak_jy_beam"] > p.artefact_above and row["kind"] not in DIFFUSE_KINDS:
                _add_artefact(image, rng, row["x"], row["y"], p.artefact_level * row["peak_jy_beam"],
                              p.beam_arcsec / p.pixel_arcsec)

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


def truth_row(truth: list[dict], wcs: Any, x: float, y: float, flux: float, kind: str, size_arcsec: float) -> None:
    """Record a diffuse component (no single peak: peak and local_rms are NaN)."""
    ra, dec = wcs.wcs_pix2world([[x, y]], 0)[0]
    truth.append({"id": len(truth), "ra": float(ra), "dec": float(dec), "x": x, "y": y, "flux_jy": flux,
                  "peak_jy_beam": float("nan"), "maj_arcsec": size_arcsec, "min_arcsec": size_arcsec,
                  "pa_deg": 0.0, "kind": kind, "local_rms": float("nan")})


def _cluster_positions(rng: np.random.Generator, n: int, cx: float, cy: float, core: float, centre: float,
                       disc: float) -> list[tuple[float, float]]:
    """Beta-model (beta = 2/3) positions around (cx, cy), kept inside the disc: N(<x) ∝ 1 - (1 + x^2)^-1/2."""
    out: list[tuple[float, float]] = []
    x_max = 2 * disc / core
    u_max = 1.0 - (1.0 + x_max**2) ** -0.5
    while len(out) < n:
        u = rng.uniform(0, u_max, size=n)
        x = np.sqrt((1.0 - u) ** -2 - 1.0) * core
        angle = rng.uniform(0, 2 * math.pi, size=n)
        px, py = cx + x * np.cos(angle), cy + x * np.sin(angle)
        keep = np.hypot(px - centre, py - centre) <= disc
        out += list(zip(px[keep].tolist(), py[keep].tolist()))
    return out[:n]


def _add_halo(image: np.ndarray, cx: float, cy: float, re: float, flux: float, beam_fwhm: float) -> None:
    """Exponential halo I0 exp(-r/re) (Murgia et al. 2009) in Jy/beam: I0 = flux * beam area / (2 pi re^2)."""
    reach = int(8 * re) + 1
    y0, y1 = max(0, int(cy) - reach), min(image.shape[0], int(cy) + reach + 1)
    x0, x1 = max(0, int(cx) - reach), min(image.shape[1], int(cx) + reach + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    beam_area = math.pi * beam_fwhm**2 / (4 * math.log(2))  # pixels per beam
    image[y0:y1, x0:x1] += flux * beam_area / (2 * math.pi * re**2) * np.exp(-np.hypot(xx - cx, yy - cy) / re)


def _add_relic(image: np.ndarray, rng: np.random.Generator, cx: float, cy: float, core: float,
               p: FieldParams) -> tuple[float, float]:
    """A 60-degree arc of 20"-thick elongated Gaussians at 2-3 core radii; returns its mid-point."""
    radius, mid = rng.uniform(2.0, 3.0) * max(core, 60.0 / p.pixel_arcsec), rng.uniform(0, 2 * math.pi)
    angles = mid + np.linspace(-math.pi / 6, math.pi / 6, 24)
    step = radius * (math.pi / 3) / 24 * p.pixel_arcsec  # arcsec between segments
    beam = p.beam_arcsec
    for a in angles:
        x, y = cx + radius * math.cos(a), cy + radius * math.sin(a)
        maj, mnr = 2.0 * step, 20.0
        cmaj, cmin = math.hypot(maj, beam), math.hypot(mnr, beam)
        peak = p.relic_flux / len(angles) * beam**2 / (cmaj * cmin)
        # the segment runs along the tangent (-sin a, cos a), which is _add_gaussian's major axis for PA = a
        _add_gaussian(image, x, y, cmaj / p.pixel_arcsec * FWHM_TO_SIGMA, cmin / p.pixel_arcsec * FWHM_TO_SIGMA,
                      float(a), peak)
    return cx + radius * math.cos(mid), cy + radius * math.sin(mid)


def _add_artefact(image: np.ndarray, rng: np.random.Generator, x: float, y: float, amplitude: float,
                  beam_fwhm: float) -> None:
    """Calibration-error residual: rings of ~2 beams' period with a six-fold azimuthal pattern, decaying over 40 beams."""
    reach = int(40 * beam_fwhm)
    y0, y1 = max(0, int(y) - reach), min(image.shape[0], int(y) + reach + 1)
    x0, x1 = max(0, int(x) - reach), min(image.shape[1], int(x) + reach + 1)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    r, theta = np.hypot(xx - x, yy - y), np.arctan2(yy - y, xx - x)
    ripple = np.cos(2 * math.pi * r / (2 * beam_fwhm) + rng.uniform(0, 2 * math.pi))
    spokes = 0.5 + 0.5 * np.cos(6 * theta + rng.uniform(0, 2 * math.pi))
    pattern = amplitude * ripple * spokes * np.exp(-r / (10 * beam_fwhm)) * (r > 2 * beam_fwhm)
    image[y0:y1, x0:x1] += pattern


def mgcls_pointing(seed: int, **fixed: Any) -> FieldParams:
    """Draw one MGCLS-like cluster pointing's structure from ``seed`` (the module docstring's ranges).

    ``fixed`` sets any FieldParams value instead (size, n_sources, ...). The draws use their own
    generator, so the field's pixels still come from ``seed`` through ``simulate_field``.
    """
    rng = np.random.default_rng([seed, 17])

    def log_uniform(lo: float, hi: float) -> float:
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    drawn: dict[str, Any] = {
        "rms": log_uniform(3e-6, 20e-6),
        "cluster_members": int(round(log_uniform(20, 600))),
        "cluster_core_arcsec": log_uniform(45.0, 150.0),
        "cluster_offset_arcsec": tuple(float(v) for v in rng.uniform(-120.0, 120.0, size=2)),
        "halo_flux": log_uniform(2e-3, 5e-2) if rng.uniform() < 0.5 else 0.0,
        "halo_re_arcsec": log_uniform(40.0, 120.0),
        "relic_flux": log_uniform(5e-3, 5e-2) if rng.uniform() < 0.3 else 0.0,
        "n_bright": int(rng.poisson(4)),
        "artefact_level": log_uniform(3e-3, 2e-2),
    }
    drawn.update(fixed)
    if "cluster_offset_arcsec" in drawn:
        drawn["cluster_offset_arcsec"] = tuple(float(v) for v in drawn["cluster_offset_arcsec"])
    return FieldParams(seed=seed, **drawn)


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

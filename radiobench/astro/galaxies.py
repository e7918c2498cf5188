"""Simulated extended radio galaxies in RadioGalaxyNET-like cutouts, with one box per galaxy (recipe 1.0).

RadioGalaxyNET (Gupta et al. 2024) boxes whole extended radio galaxies in 450x450 EMU cutouts, one
box per galaxy over all its components, with four categories: FR-II, FR-I, FR-X (hybrid or
uncertain) and R (resolved, single peak). This module draws such cutouts from a seed, with the truth
known exactly, and writes them in RadioGalaxyNET's own on-disk layout (``write_dataset``) so that
the real loader (``radiobench_plugins.radiogalaxynet.data``) reads them unchanged. numpy and scipy only.

The physics and the choices, recipe version 1.0 (every number is a field of :class:`GalaxyParams`):

- **Image.** 450 x 450 pixels of 2", Jy/beam, a circular restoring beam of 15" FWHM (7.5 pixels),
  between the EMU pilot survey's 11-18" resolution; white Gaussian noise smoothed by the beam and
  scaled to ``rms`` = 30 uJy/beam (EMU-PS: 25-30 uJy/beam), so it is correlated on the beam scale.
- **Components** are elliptical Gaussians convolved analytically with the beam (covariances add),
  peak in Jy/beam = flux x beam area / convolved area; unresolved parts (cores, hotspots) are
  Gaussians much narrower than the beam.
- **FR-I** (edge-darkened): a bright core (10-30 % of the flux) and two jets, chains of Gaussians
  along a path of 3-15 beams a side whose flux per step falls as (1 + l / 1 beam)^-gamma
  (gamma 1.2-2.0) while the jet widens (opening 8-25 deg), ending in a diffuse plume (FWHM 1-2.5
  beams) whose peak is 10-40 % of the jet's brightest. Variants (labelled FR-I, as bent and tailed FR-I sources are):
  ``fr1`` straight (50 %), ``fr1_bent`` (30 %; both jets curve 40-100 deg towards the same side, a
  wide- or narrow-angle tail) and ``head_tail`` (20 %; both jets leave within 0-40 deg of one
  direction and merge into one tail).
- **FR-II** (edge-brightened): no core (40 %) or a faint one (0.2-3 %); two lobes whose compact
  hotspots (FWHM 0.1-0.35 beam, 15-45 % of the side's flux) are 5-40 beams apart (log-uniform), arm
  lengths within 10 % of each other, the second arm within 15 deg of opposite; each lobe an
  elongated Gaussian from the hotspot back towards the core (30-80 % of the arm, 0.6-2 beams wide).
- **FR-X** (hybrid): one FR-I side (jet and plume) and one FR-II side (lobe with a hotspot), a core
  of 3-15 %; the FR-II arm is 0.7-1.5 x the jet's length.
- **R** (resolved, single peak): one elliptical Gaussian of 1.5-4 beams FWHM (axis ratio 0.5-1),
  with a core of 0-30 %.
- **Mix and number.** Classes FR-II 35 %, FR-I 25 %, FR-X 15 %, R 25 % (RG-CAT's extended sources
  are 54 % FR-II, 6 % FR-I, 14 % FR-x, 23 % R; FR-I and FR-X are raised so that every class has a
  test AP). 1, 2 or 3 galaxies a cutout with probabilities 0.6 / 0.3 / 0.1 (mean 1.5; RadioGalaxyNET
  has 4,155 galaxies in 2,800 images, 1.48).
- **Brightness.** A galaxy's peak S/N is log-uniform in 5-1000 (the dynamic range of EMU cutouts),
  then raised where needed so that each side (jet, lobe or blob) reaches 5 sigma on its own: a
  galaxy is never half below the noise. Side fluxes differ by a factor 1-2.
- **Compact distractors** (not boxed, as RadioGalaxyNET boxes only extended galaxies): Poisson(75)
  point sources a cutout with peak S/N from dN/dP ~ P^-1.7 in 2-1000, about 40 above 5 sigma,
  the EMU-PS density (RG-CAT: ~211,000 sources in 270 deg^2, ~50 in a 15' cutout).
- **Placement.** Hosts are placed so that each galaxy's box lies inside the cutout and boxes
  padded by one beam do not touch (RadioGalaxyNET cutouts are centred on their galaxies); compact
  sources fall anywhere, also on galaxies.
- **Boxes.** One box per galaxy: the bounding box of the pixels where the galaxy's own noiseless
  emission is at least ``box_level`` = 3 sigma (the outermost contour an astronomer draws), so it
  covers every component that rises above that level; pixel (0, 0) spans [0, 1] x [0, 1].
- **PNG.** The radio channel (green and blue) is asinh(max(I / sigma, 0) / 3) / asinh(1000 / 3),
  clipped to [0, 1], in 8 bits: noise visible (1 sigma ~ 13 levels), 1000 sigma at full scale.
  The infrared channel (red) holds a host (Gaussian, FWHM 2.8 px) at every galaxy's core, one at
  half of the compact sources, 40 unrelated infrared sources and noise, so it does not give the
  galaxies away. Each annotation's keypoint is the host.

A **field** is one seed: ``images_per_field`` cutouts, each drawn from ``(seed, k)``. The same seed
gives the same pixels, boxes and truth on every machine (numpy's PCG64 streams).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

VERSION = "1.0"
CLASSES = ("FR-II", "FR-I", "FR-X", "R")  # RadioGalaxyNET's category ids 1-4, in its order
FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class GalaxyParams:
    """Recipe 1.0 (see the module docstring); every value is recorded with the data set."""

    size: int = 450
    pixel_arcsec: float = 2.0
    beam_arcsec: float = 15.0
    rms: float = 30e-6  # Jy/beam
    images_per_field: int = 8
    galaxies_per_image: tuple[float, ...] = (0.6, 0.3, 0.1)  # P(1), P(2), P(3)
    class_mix: tuple[float, ...] = (0.35, 0.25, 0.15, 0.25)  # FR-II, FR-I, FR-X, R
    fr1_variants: tuple[float, ...] = (0.5, 0.3, 0.2)  # straight, bent, head-tail
    snr_min: float = 5.0
    snr_max: float = 1000.0
    side_snr_min: float = 5.0
    fr2_separation_beams: tuple[float, float] = (5.0, 40.0)
    fr1_jet_beams: tuple[float, float] = (3.0, 15.0)
    r_fwhm_beams: tuple[float, float] = (1.5, 4.0)
    compact_mean: float = 75.0
    compact_snr: tuple[float, float] = (2.0, 1000.0)
    compact_slope: float = 1.7
    box_level: float = 3.0  # sigma
    gap_beams: float = 1.0
    stretch_a: float = 3.0  # PNG asinh softening, sigma
    stretch_max: float = 1000.0  # sigma at full scale
    infrared_sources: int = 40

    @property
    def beam_px(self) -> float:
        return self.beam_arcsec / self.pixel_arcsec

    @property
    def beam_sigma_px(self) -> float:
        return self.beam_px * FWHM_TO_SIGMA


@dataclass(frozen=True)
class Component:
    """An elliptical Gaussian before the beam: position relative to the host (pixels), flux (Jy)."""

    part: str  # core, jet, plume, lobe, hotspot, blob
    side: int  # 0: core or blob; 1 and 2: the two sides
    x: float
    y: float
    flux: float
    sig_major: float  # pixels, before the beam
    sig_minor: float
    angle: float  # radians, major axis from +x towards +y


@dataclass
class Galaxy:
    category: str  # one of CLASSES
    morphology: str  # fr2, fr1, fr1_bent, head_tail, frx, r
    host: tuple[float, float]  # x, y in image pixels (pixel centres at integers)
    box: tuple[float, float, float, float]  # x_min, y_min, x_max, y_max
    components: list[Component]  # positions relative to the host
    peak_snr: float
    side_peak_snr: tuple[float, ...]
    fr_ratio: float | None  # distance between the two sides' brightest points / largest extent

    def as_json(self) -> dict[str, Any]:
        return {"category": self.category, "morphology": self.morphology, "host": list(self.host),
                "box": list(self.box), "peak_snr": self.peak_snr, "side_peak_snr": list(self.side_peak_snr),
                "fr_ratio": self.fr_ratio, "components": [asdict(c) for c in self.components]}


@dataclass
class Cutout:
    seed: int
    index: int
    image: np.ndarray  # (size, size) float32, Jy/beam
    model: np.ndarray  # noiseless, galaxies and compact sources
    infrared: np.ndarray  # (size, size) float32 in [0, 1]
    galaxies: list[Galaxy]
    compact: list[dict[str, float]]  # x, y, peak_snr

    @property
    def name(self) -> str:
        return f"sim{self.seed:05d}_{self.index:02d}"


# --- drawing ------------------------------------------------------------------------------------------


def render(components: Iterable[Component], shape: tuple[int, int], x0: float, y0: float, beam_sigma: float) -> np.ndarray:
    """Components convolved with a circular beam (sigma ``beam_sigma`` px), in Jy/beam, with the host at (x0, y0)."""
    out = np.zeros(shape, dtype=np.float64)
    s2 = beam_sigma ** 2
    for c in components:
        ca, sa = math.cos(c.angle), math.sin(c.angle)
        a2, b2 = c.sig_major ** 2, c.sig_minor ** 2
        sxx = a2 * ca * ca + b2 * sa * sa + s2
        syy = a2 * sa * sa + b2 * ca * ca + s2
        sxy = (a2 - b2) * ca * sa
        det = sxx * syy - sxy * sxy
        peak = c.flux * s2 / math.sqrt(det)  # flux x beam area / convolved area
        reach = 5.0 * math.sqrt(max(sxx, syy))
        cx, cy = x0 + c.x, y0 + c.y
        xa, xb = max(int(cx - reach), 0), min(int(cx + reach) + 2, shape[1])
        ya, yb = max(int(cy - reach), 0), min(int(cy + reach) + 2, shape[0])
        if xa >= xb or ya >= yb:
            continue
        dx = np.arange(xa, xb) - cx
        dy = (np.arange(ya, yb) - cy)[:, None]
        q = (syy * dx * dx - 2 * sxy * dx * dy + sxx * dy * dy) / det
        out[ya:yb, xa:xb] += peak * np.exp(-0.5 * q)
    return out


def _unit(angle: float) -> tuple[float, float]:
    return math.cos(angle), math.sin(angle)


def _jet(rng: np.random.Generator, p: GalaxyParams, side: int, start_angle: float, length: float, bend: float,
         flux: float) -> list[Component]:
    """A jet of ``length`` px leaving the core at ``start_angle``, turning by ``bend`` rad, ending in a plume."""
    b = p.beam_px
    step = p.beam_sigma_px / 2.0
    n = max(int(length / step), 2)
    gamma = rng.uniform(1.2, 2.0)
    opening = math.radians(rng.uniform(8.0, 25.0))
    x = y = 0.0
    pts = []
    for i in range(n):
        t = (i + 0.5) / n
        angle = start_angle + bend * t * t
        ux, uy = _unit(angle)
        x, y = x + ux * step, y + uy * step
        along = (i + 1) * step
        width = 0.15 * b * FWHM_TO_SIGMA + along * math.tan(opening / 2) * FWHM_TO_SIGMA * 2
        pts.append((x, y, angle, (1 + along / b) ** -gamma, width))
    weights = np.array([w for *_, w, _ in pts])
    weights = weights / weights.sum() * flux
    comps = [Component("jet", side, px, py, float(w), step, wd, ang) for (px, py, ang, _, wd), w in zip(pts, weights)]
    # the plume is diffuse: its peak is 10-40 % of the jet's brightest (edge-darkened, FR-I)
    window = int(6 * p.beam_sigma_px)
    base = render(comps[: max(1, int(2 * b / step))], (2 * window + 1, 2 * window + 1), window, window,
                  p.beam_sigma_px).max()
    ux, uy = _unit(start_angle + bend)
    plume_fwhm = rng.uniform(1.0, 2.5) * b
    major, minor = plume_fwhm * FWHM_TO_SIGMA, plume_fwhm * FWHM_TO_SIGMA * rng.uniform(0.6, 1.0)
    s2 = p.beam_sigma_px ** 2
    per_flux = s2 / math.sqrt((major ** 2 + s2) * (minor ** 2 + s2))  # peak Jy/beam per Jy
    plume = rng.uniform(0.1, 0.4) * base / per_flux
    comps.append(Component("plume", side, x + ux * 0.3 * plume_fwhm, y + uy * 0.3 * plume_fwhm, float(plume),
                           major, minor, start_angle + bend))
    return comps


def _lobe(rng: np.random.Generator, p: GalaxyParams, side: int, angle: float, arm: float, flux: float) -> list[Component]:
    """An FR-II lobe: a compact hotspot at ``arm`` px along ``angle`` and a lobe reaching back towards the core."""
    b = p.beam_px
    ux, uy = _unit(angle)
    hot_frac = rng.uniform(0.15, 0.45)
    hot_fwhm = rng.uniform(0.1, 0.35) * b
    length = rng.uniform(0.3, 0.8) * arm
    width = min(rng.uniform(0.6, 2.0) * b, length)
    centre = arm - 0.45 * length
    return [Component("hotspot", side, ux * arm, uy * arm, hot_frac * flux, hot_fwhm * FWHM_TO_SIGMA,
                      hot_fwhm * FWHM_TO_SIGMA, angle),
            Component("lobe", side, ux * centre, uy * centre, (1 - hot_frac) * flux, length * FWHM_TO_SIGMA,
                      width * FWHM_TO_SIGMA, angle)]


def _core(p: GalaxyParams, flux: float) -> list[Component]:
    if flux <= 0:
        return []
    s = 0.05 * p.beam_px * FWHM_TO_SIGMA
    return [Component("core", 0, 0.0, 0.0, flux, s, s, 0.0)]


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def draw_galaxy(rng: np.random.Generator, p: GalaxyParams, category: str) -> tuple[str, list[Component]]:
    """(morphology, components) of one galaxy of ``category`` with unit total flux, host at (0, 0)."""
    b = p.beam_px
    theta = rng.uniform(0, 2 * math.pi)
    split = rng.uniform(1.0, 2.0)  # side flux ratio
    first, second = split / (1 + split), 1 / (1 + split)
    if rng.random() < 0.5:
        first, second = second, first
    if category == "FR-II":
        core = 0.0 if rng.random() < 0.4 else rng.uniform(0.002, 0.03)
        half = _log_uniform(rng, *p.fr2_separation_beams) * b / 2
        arms = half * (1 + rng.uniform(-0.1, 0.1)), half * (1 + rng.uniform(-0.1, 0.1))
        other = theta + math.pi + math.radians(rng.uniform(-15, 15))
        rest = 1 - core
        return "fr2", (_core(p, core) + _lobe(rng, p, 1, theta, arms[0], rest * first)
                       + _lobe(rng, p, 2, other, arms[1], rest * second))
    if category == "FR-I":
        morphology = ("fr1", "fr1_bent", "head_tail")[int(rng.choice(3, p=p.fr1_variants))]
        core = rng.uniform(0.1, 0.3)
        length = _log_uniform(rng, *p.fr1_jet_beams) * b
        lengths = length * rng.uniform(0.8, 1.2), length * rng.uniform(0.8, 1.2)
        rest = 1 - core
        if morphology == "head_tail":
            opening = math.radians(rng.uniform(0, 40))
            bend = math.radians(rng.uniform(-30, 30))
            starts, bends = (theta + opening / 2, theta - opening / 2), (bend, bend)
        else:
            turn = math.radians(rng.uniform(40, 100)) * (1 if rng.random() < 0.5 else -1) if morphology == "fr1_bent" else 0.0
            starts, bends = (theta, theta + math.pi), (-turn, turn)
        return morphology, (_core(p, core) + _jet(rng, p, 1, starts[0], lengths[0], bends[0], rest * first)
                            + _jet(rng, p, 2, starts[1], lengths[1], bends[1], rest * second))
    if category == "FR-X":
        core = rng.uniform(0.03, 0.15)
        length = _log_uniform(rng, *p.fr1_jet_beams) * b
        rest = 1 - core
        return "frx", (_core(p, core) + _jet(rng, p, 1, theta, length, 0.0, rest * first)
                       + _lobe(rng, p, 2, theta + math.pi + math.radians(rng.uniform(-15, 15)),
                               length * rng.uniform(0.7, 1.5), rest * second))
    if category == "R":
        core = rng.uniform(0.0, 0.3)
        fwhm = rng.uniform(*p.r_fwhm_beams) * b
        ratio = rng.uniform(0.5, 1.0)
        return "r", _core(p, core) + [Component("blob", 0, 0.0, 0.0, 1 - core, fwhm * FWHM_TO_SIGMA,
                                                  fwhm * ratio * FWHM_TO_SIGMA, theta)]
    raise ValueError(f"unknown category {category!r}; expected one of {CLASSES}")


def _stamp(p: GalaxyParams, comps: Sequence[Component], fx: float, fy: float) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """The galaxy (and each side) rendered on a square stamp whose pixel (r + fx, r + fy) is the host."""
    reach = max(max(abs(c.x), abs(c.y)) + 4 * math.hypot(c.sig_major, p.beam_sigma_px) for c in comps)
    r = int(math.ceil(reach)) + 2
    shape = (2 * r + 1, 2 * r + 1)
    sides = sorted({c.side for c in comps})
    parts = [render([c for c in comps if c.side == s], shape, r + fx, r + fy, p.beam_sigma_px) for s in sides]
    return sum(parts), r, parts


def _fr_ratio(total: np.ndarray, parts: list[np.ndarray], comps: Sequence[Component], level: float) -> float | None:
    """Fanaroff-Riley ratio: distance between the brightest points of the two sides' own emission / the largest
    extent above ``level`` (None for one-sided or single sources)."""
    order = sorted({c.side for c in comps})
    if [s for s in order if s] != [1, 2]:
        return None
    peaks = [np.unravel_index(np.argmax(parts[order.index(s)]), total.shape) for s in (1, 2)]
    ys, xs = np.nonzero(total >= level)
    if len(xs) < 2:
        return None
    points = np.stack([xs, ys], 1).astype(float)
    # largest extent: the farthest pair among the hull-ish extreme points along 16 directions
    angles = np.linspace(0, math.pi, 16, endpoint=False)
    proj = points @ np.stack([np.cos(angles), np.sin(angles)])
    extremes = points[np.unique(np.concatenate([proj.argmin(0), proj.argmax(0)]))]
    las = max(float(np.hypot(*(a - c))) for a in extremes for c in extremes) + 1.0
    (ya, xa), (yb, xb) = peaks
    return float(math.hypot(xa - xb, ya - yb)) / las


def simulate_cutout(p: GalaxyParams, seed: int, index: int) -> Cutout:
    """One cutout of field ``seed``: galaxies, compact sources, noise and the infrared channel."""
    rng = np.random.default_rng([seed, index, 1])  # 1: the recipe's stream; a new recipe version may move it
    n, sigma = p.size, p.rms
    model = np.zeros((n, n), dtype=np.float64)
    level = p.box_level * sigma
    pad = p.gap_beams * p.beam_px
    galaxies: list[Galaxy] = []
    wanted = 1 + int(rng.choice(len(p.galaxies_per_image), p=p.galaxies_per_image))
    attempts = 0
    while len(galaxies) < wanted and attempts < 20:
        attempts += 1
        category = CLASSES[int(rng.choice(len(CLASSES), p=p.class_mix))]
        morphology, comps = draw_galaxy(rng, p, category)
        fx, fy = rng.uniform(0, 1, 2)
        stamp, r, parts = _stamp(p, comps, fx, fy)
        target = _log_uniform(rng, p.snr_min, p.snr_max) * sigma
        scale = target / stamp.max()
        side_peaks = [float(part.max()) for part in parts]
        scale = max(scale, max(p.side_snr_min * sigma / sp for sp in side_peaks if sp > 0))
        stamp, parts = stamp * scale, [part * scale for part in parts]
        comps = [Component(c.part, c.side, c.x, c.y, c.flux * scale, c.sig_major, c.sig_minor, c.angle) for c in comps]
        ys, xs = np.nonzero(stamp >= level)
        bx0, bx1, by0, by1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1  # stamp pixels
        if bx1 - bx0 > n or by1 - by0 > n:
            continue
        for _ in range(50):
            ox = int(rng.integers(-bx0, n - bx1 + 1))  # stamp origin in the image
            oy = int(rng.integers(-by0, n - by1 + 1))
            box = (float(ox + bx0), float(oy + by0), float(ox + bx1), float(oy + by1))
            if all(box[0] - pad >= g.box[2] + pad or g.box[0] - pad >= box[2] + pad
                   or box[1] - pad >= g.box[3] + pad or g.box[1] - pad >= box[3] + pad for g in galaxies):
                break
        else:
            continue
        _add(model, stamp, ox, oy)
        sides = [c for c in sorted({c.side for c in comps}) if c != 0] or [0]
        order = sorted({c.side for c in comps})
        galaxies.append(Galaxy(
            category, morphology, (ox + r + float(fx), oy + r + float(fy)), box, comps,
            float(stamp.max() / sigma), tuple(float(parts[order.index(s)].max() / sigma) for s in sides),
            _fr_ratio(stamp, parts, comps, level)))
    compact = []
    for _ in range(int(rng.poisson(p.compact_mean))):
        lo, hi, a = p.compact_snr[0], p.compact_snr[1], 1 - p.compact_slope
        snr = (lo ** a + rng.random() * (hi ** a - lo ** a)) ** (1 / a)  # dN/dP ~ P^-slope
        x, y = rng.uniform(-0.5, n - 0.5, 2)
        compact.append({"x": float(x), "y": float(y), "peak_snr": float(snr)})
    point = 0.05 * p.beam_px * FWHM_TO_SIGMA
    model += render([Component("point", 0, c["x"], c["y"], c["peak_snr"] * sigma * (1 + (point / p.beam_sigma_px) ** 2),
                               point, point, 0.0) for c in compact], (n, n), 0.0, 0.0, p.beam_sigma_px)
    image = model + beam_noise(rng, (n, n), p.beam_sigma_px, sigma)
    infrared = _infrared(rng, p, [g.host for g in galaxies], [(c["x"], c["y"]) for c in compact])
    return Cutout(seed, index, image.astype(np.float32), model.astype(np.float32), infrared, galaxies, compact)


def _add(image: np.ndarray, stamp: np.ndarray, ox: int, oy: int) -> None:
    n0, n1 = image.shape
    ya, xa = max(oy, 0), max(ox, 0)
    yb, xb = min(oy + stamp.shape[0], n0), min(ox + stamp.shape[1], n1)
    image[ya:yb, xa:xb] += stamp[ya - oy : yb - oy, xa - ox : xb - ox]


def beam_noise(rng: np.random.Generator, shape: tuple[int, int], beam_sigma: float, rms: float) -> np.ndarray:
    """White noise smoothed by the beam, scaled to ``rms`` exactly in expectation (1 / (2 sqrt(pi) sigma))."""
    from scipy.ndimage import gaussian_filter

    white = rng.standard_normal(shape)
    return gaussian_filter(white, beam_sigma, mode="wrap") * (2 * math.sqrt(math.pi) * beam_sigma) * rms


def _infrared(rng: np.random.Generator, p: GalaxyParams, hosts: list[tuple[float, float]],
              compact: list[tuple[float, float]]) -> np.ndarray:
    n = p.size
    sig = 1.2
    points = [(x, y, rng.uniform(0.3, 1.0)) for x, y in hosts]
    points += [(x, y, rng.uniform(0.1, 0.8)) for x, y in compact if rng.random() < 0.5]
    points += [(float(x), float(y), _log_uniform(rng, 0.05, 1.0)) for x, y in rng.uniform(0, n, (p.infrared_sources, 2))]
    # render() convolves with its "beam", here the infrared PSF (sigma 1.2 px): a point of flux a peaks at a
    ir = render([Component("ir", 0, x, y, a, 0.0, 0.0, 0.0) for x, y, a in points], (n, n), 0.0, 0.0, sig)
    ir += 0.02 * rng.standard_normal((n, n)) + 0.05
    return np.clip(ir, 0, 1).astype(np.float32)


def radio_png(image: np.ndarray, p: GalaxyParams) -> np.ndarray:
    """The radio channel as uint8: asinh(max(I/sigma, 0) / a) / asinh(max / a), clipped to [0, 1]."""
    x = np.maximum(image / p.rms, 0.0) / p.stretch_a
    v = np.arcsinh(x) / math.asinh(p.stretch_max / p.stretch_a)
    return np.round(np.clip(v, 0, 1) * 255).astype(np.uint8)


# --- the data set in RadioGalaxyNET's layout ---------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """Which fields go where. Seeds by value; train, val and test (and the design seeds) are disjoint."""

    train_seeds: tuple[int, ...]
    val_seeds: tuple[int, ...]
    test_seeds: tuple[int, ...]
    params: GalaxyParams = field(default_factory=GalaxyParams)

    def __post_init__(self) -> None:
        seen: set[int] = set()
        for name in ("train_seeds", "val_seeds", "test_seeds"):
            seeds = set(getattr(self, name))
            if seen & seeds:
                raise ValueError(f"{name} overlap other splits' seeds: {sorted(seen & seeds)}")
            seen |= seeds

    def seeds(self, split: str) -> tuple[int, ...]:
        return getattr(self, f"{split}_seeds")

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Recipe:
        params = GalaxyParams(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.get("params", {}).items()})
        return cls(tuple(options["train_seeds"]), tuple(options["val_seeds"]), tuple(options["test_seeds"]), params)


def image_id(seed: int, index: int) -> int:
    return seed * 100 + index + 1


def write_dataset(root: Path, recipe: Recipe, *, fits_dir: Path | None = None, truth_dir: Path | None = None,
                  on_field: Any = None) -> None:
    """Write ``root/radiogalaxynet/{annotations/{split}.json, {split}/*.png}`` as RadioGalaxyNET is laid out.

    Beside it (not part of the layout): the survey pixels as FITS in ``fits_dir/{split}/<name>.fits`` (Jy/beam,
    for source finders) and every galaxy's and compact source's truth in ``truth_dir/{split}.json``. The
    annotation files are written last, so their presence means the set is complete.
    """
    from PIL import Image

    from radiobench.io.atomic import open_atomic
    from radiobench.tasks.coco import CocoImage, write_coco

    p = recipe.params
    base = Path(root) / "radiogalaxynet"
    written: dict[str, tuple[list[CocoImage], dict, dict, dict]] = {}
    for split in SPLITS:
        images: list[CocoImage] = []
        boxes: dict[int, np.ndarray] = {}
        labels: dict[int, np.ndarray] = {}
        extra: dict[int, list[dict[str, Any]]] = {}
        truth: list[dict[str, Any]] = []
        for seed in recipe.seeds(split):
            for k in range(p.images_per_field):
                cut = simulate_cutout(p, seed, k)
                iid = image_id(seed, k)
                name = f"{cut.name}.png"
                radio = radio_png(cut.image, p)
                ir = np.round(cut.infrared * 255).astype(np.uint8)
                rgb = np.stack([ir, radio, radio], axis=-1)
                with open_atomic(base / split / name, "wb") as handle:
                    Image.fromarray(rgb, mode="RGB").save(handle, format="PNG")
                if fits_dir is not None:
                    write_fits(Path(fits_dir) / split / f"{cut.name}.fits", cut.image, p)
                images.append(CocoImage(iid, name, p.size, p.size))
                boxes[iid] = np.array([g.box for g in cut.galaxies], dtype=np.float64).reshape(-1, 4)
                labels[iid] = np.array([CLASSES.index(g.category) for g in cut.galaxies], dtype=np.int64)
                extra[iid] = [_annotation_extras(g) for g in cut.galaxies]
                truth.append({"image_id": iid, "file_name": name, "seed": seed, "index": k,
                              "galaxies": [g.as_json() for g in cut.galaxies], "compact": cut.compact})
            if on_field:
                on_field()
        written[split] = (images, boxes, labels, extra)
        if truth_dir is not None:
            with open_atomic(Path(truth_dir) / f"{split}.json") as handle:
                json.dump({"version": VERSION, "params": asdict(p), "images": truth}, handle)
    for split, (images, boxes, labels, extra) in written.items():
        write_coco(base / "annotations" / f"{split}.json", images, boxes, labels, CLASSES,
                   extra_annotation_fields=extra)


def _annotation_extras(g: Galaxy) -> dict[str, Any]:
    """RadioGalaxyNET's other annotation keys: the host as its one keypoint, the box as the polygon."""
    x0, y0, x1, y1 = g.box
    return {"segmentation": [[x0, y0, x1, y0, x1, y1, x0, y1]], "keypoints": [g.host[0] + 0.5, g.host[1] + 0.5, 2],
            "num_keypoints": 1, "morphology": g.morphology, "peak_snr": round(g.peak_snr, 2)}


def write_fits(path: Path, image: np.ndarray, p: GalaxyParams) -> None:
    """A cutout's Jy/beam pixels with a SIN WCS, the beam and the recipe, as a survey cutout comes."""
    from astropy.io import fits

    from radiobench.io.atomic import open_atomic

    deg = p.pixel_arcsec / 3600.0
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---SIN", "DEC--SIN"
    h["CRVAL1"], h["CRVAL2"] = 0.0, -30.0
    h["CRPIX1"], h["CRPIX2"] = (image.shape[1] + 1) / 2.0, (image.shape[0] + 1) / 2.0
    h["CDELT1"], h["CDELT2"] = -deg, deg
    h["CUNIT1"], h["CUNIT2"] = "deg", "deg"
    h["BMAJ"], h["BMIN"], h["BPA"] = p.beam_arcsec / 3600.0, p.beam_arcsec / 3600.0, 0.0
    h["BUNIT"] = "JY/BEAM"
    h["RESTFRQ"] = 943.5e6  # EMU-PS centre frequency
    h["SIMRMS"] = p.rms
    h["SIMVER"] = VERSION
    with open_atomic(path, "wb") as handle:
        fits.PrimaryHDU(image.astype(np.float32), h).writeto(handle)

"""Flagging crops that lie within reach of a bright source's calibration artefacts.

Survey catalogues flag the regions around bright sources: there a source finder catalogues ripple
peaks as sources and, under the noise the ripples add to its rms map, misses real ones, so its counts
stop following the sky's. sim_counts 3.0's counting control reached R² 0.91 against pyBDSF's counts on
fields simulated without artefacts and 0.39 with them (``benchmarks/count_artefacts.py``). On the 48
design fields pyBDSF's per-crop counts correlate with the injected sources' at r = 0.90 on the crops clear
of artefacts and 0.64 on the others (mean |pyBDSF - truth| 2.6 and 6.0 sources), and keeping only the
clear crops lifted the control from 0.70 to 0.85. So a counting task scores only those crops.

The reach is where the simulator's ripple envelope (``simulate._add_artefact``: amplitude
``level`` x peak, decaying as exp(-r / 10 beams), drawn out to 40 beams) still exceeds ``sigma``
local noise: r = 10 beams x ln(level x peak / (sigma x local rms)), at most 40 beams. It needs each
bright source's true peak and local noise, so it is made from a simulator's truth catalogue; real
fields have neither an artefact level nor per-source noise in a pyBDSF catalogue.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

DECAY_BEAMS = 10.0  # the envelope's e-folding length (simulate._add_artefact)
MAX_BEAMS = 40.0  # how far the simulator draws ripples
SIGMA = 5.0  # ripples weaker than this many local sigma are not flagged (pyBDSF's thresh_pix)


def reaches(x: np.ndarray, y: np.ndarray, peak: np.ndarray, local_rms: np.ndarray, level: float, above: float,
            beam_pixels: float, sigma: float = SIGMA) -> np.ndarray:
    """(x, y, radius in pixels) of each source whose artefacts exceed ``sigma`` local noise somewhere.

    Sources draw artefacts when their peak exceeds ``above`` Jy/beam (the simulator's rule); ``x``,
    ``y``, ``peak`` and ``local_rms`` are the truth rows that can (compact and extended, not diffuse).
    """
    x, y, peak, rms = (np.asarray(a, dtype=np.float64) for a in (x, y, peak, local_rms))
    with np.errstate(invalid="ignore", divide="ignore"):
        amplitude = np.where(np.isfinite(rms) & (rms > 0), level * peak / (sigma * rms), 0.0)
    bright = (peak > above) & (amplitude > 1.0)
    radius = np.minimum(MAX_BEAMS, DECAY_BEAMS * np.log(amplitude[bright])) * beam_pixels
    return np.column_stack([x[bright], y[bright], radius])


def clear(corners: Sequence[tuple[int, int]], size: int, reach: np.ndarray) -> np.ndarray:
    """Which crops (``(row, col)`` first pixels, ``size`` a side) no artefact reach touches."""
    keep = np.ones(len(corners), dtype=bool)
    if not len(reach) or not len(corners):
        return keep
    rc = np.asarray(corners, dtype=np.float64)
    # a crop covers pixel centres col .. col + size - 1, so its edges are half a pixel further out
    x0, y0 = rc[:, 1:2] - 0.5, rc[:, 0:1] - 0.5
    x1, y1 = x0 + size, y0 + size
    sx, sy, radius = reach[None, :, 0], reach[None, :, 1], reach[None, :, 2]
    dx = np.maximum(np.maximum(x0 - sx, sx - x1), 0.0)
    dy = np.maximum(np.maximum(y0 - sy, sy - y1), 0.0)
    return ~(np.hypot(dx, dy) < radius).any(axis=1)


def describe(sigma: float = SIGMA) -> str:
    return (f"crops within reach of a bright source's simulated artefacts are dropped: reach = {DECAY_BEAMS:g} beams x "
            f"ln(level x peak / ({sigma:g} x local rms)), at most {MAX_BEAMS:g} beams, around every truth source "
            "that draws artefacts (radiobench.astro.artefacts)")


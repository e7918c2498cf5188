"""How good are finder-made labels? Completeness and purity of a catalogue against a simulation's truth.

A counting score is bounded by its labels: if pyBDSF misses faint sources or catalogues
artefacts, a backbone is scored against that noise. On simulated fields the injected sources
are known, so the finder's catalogue is matched to them and the result says, per signal-to-noise
bin, which fraction of true compact sources it found (completeness) and which fraction of its
compact detections are real compact sources (purity).

Matching is positional: a true source is found if a detection lies within ``radius`` pixels
(one beam FWHM by default), and a detection is real if a true compact source lies within the
same radius (nearest neighbour, not one-to-one: blends count as found, which is what a count
per crop sees). S/N is a source's peak over the local noise (rms / primary-beam response):
true peak for completeness, measured peak for purity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from radiobench.io.reader import MiB, read_text

SNR_EDGES = (0.0, 3.0, 5.0, 10.0, 20.0, 50.0, math.inf)


def _bins(snr: np.ndarray, hit: np.ndarray, edges: Sequence[float]) -> list[dict[str, Any]]:
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (snr >= lo) & (snr < hi)
        n = int(inside.sum())
        out.append({"snr_low": lo, "snr_high": None if math.isinf(hi) else hi, "n": n,
                    "fraction": float(hit[inside].mean()) if n else None})
    return out


def match_quality(true_xy: np.ndarray, true_snr: np.ndarray, found_xy: np.ndarray, found_snr: np.ndarray,
                  radius: float, edges: Sequence[float] = SNR_EDGES, min_snr: float = 5.0) -> dict[str, Any]:
    """Completeness and purity of ``found`` against ``true`` (both (N, 2) pixel positions), overall and per S/N bin.

    Overall completeness counts true sources with S/N >= ``min_snr`` (those a 5-sigma finder
    should catch); overall purity counts every detection.
    """
    from scipy.spatial import cKDTree

    true_xy = np.asarray(true_xy, dtype=np.float64).reshape(-1, 2)
    found_xy = np.asarray(found_xy, dtype=np.float64).reshape(-1, 2)
    true_snr, found_snr = np.asarray(true_snr, dtype=np.float64), np.asarray(found_snr, dtype=np.float64)
    if len(true_snr) != len(true_xy) or len(found_snr) != len(found_xy):
        raise ValueError("give one S/N per position (true_snr for true_xy, found_snr for found_xy)")
    found_hit = np.zeros(len(true_xy), dtype=bool)
    real = np.zeros(len(found_xy), dtype=bool)
    if len(true_xy) and len(found_xy):
        found_hit = cKDTree(found_xy).query(true_xy, distance_upper_bound=radius)[0] <= radius
        real = cKDTree(true_xy).query(found_xy, distance_upper_bound=radius)[0] <= radius
    bright = true_snr >= min_snr
    return {
        "match_radius_pixels": radius,
        "true_sources": int(len(true_xy)),
        "true_above_min_snr": int(bright.sum()),
        "found": int(len(found_xy)),
        "min_snr": min_snr,
        "completeness": float(found_hit[bright].mean()) if bright.any() else None,
        "purity": float(real.mean()) if len(real) else None,
        "completeness_by_snr": _bins(true_snr, found_hit, edges),
        "purity_by_snr": _bins(found_snr, real, edges),
    }


def pooled(per_field: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sum fields' bin counts into one table (fractions weighted by sources, not by field)."""
    if not per_field:
        return {}
    out: dict[str, Any] = {"fields": len(per_field)}
    for key in ("completeness_by_snr", "purity_by_snr"):
        rows = []
        for i, first in enumerate(per_field[0][key]):
            n = sum(f[key][i]["n"] for f in per_field)
            hits = sum(f[key][i]["n"] * (f[key][i]["fraction"] or 0.0) for f in per_field)
            rows.append({"snr_low": first["snr_low"], "snr_high": first["snr_high"], "n": n,
                         "fraction": hits / n if n else None})
        out[key] = rows
    bright = sum(f["true_above_min_snr"] for f in per_field)
    found = sum(f["found"] for f in per_field)
    out["completeness"] = (sum(f["true_above_min_snr"] * (f["completeness"] or 0.0) for f in per_field) / bright
                           if bright else None)
    out["purity"] = sum(f["found"] * (f["purity"] or 0.0) for f in per_field) / found if found else None
    out["min_snr"] = per_field[0]["min_snr"]
    return out


# The simulator writes at most 100,000 sources a field, ~220 bytes a row: 22 MiB.
TRUTH_LIMIT = 64 * MiB
TRUTH_MIN_SNR = 5.0  # truth labels: compact sources whose true peak is at least this many local sigma
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def read_truth(path: Any) -> dict[str, np.ndarray]:
    """A simulator's ``<stem>.truth.csv`` as arrays: x, y (0-based pixels), peak, local_rms, S/N, compact and diffuse masks."""
    import csv
    import io

    from radiobench.astro.simulate import COMPACT_KINDS, DIFFUSE_KINDS

    text = read_text(path, limit=TRUTH_LIMIT, what="truth catalogue")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    missing = {"x", "y", "peak_jy_beam", "local_rms", "kind"} - set(rows[0] if rows else {"x", "y", "peak_jy_beam",
                                                                                         "local_rms", "kind"})
    if missing:
        raise ValueError(f"{path}: truth catalogue lacks {', '.join(sorted(missing))}; re-simulate the field "
                         "(delete it and run again)")
    x = np.array([float(r["x"]) for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    peak = np.array([float(r["peak_jy_beam"]) for r in rows])
    rms = np.array([float(r["local_rms"]) for r in rows])
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = np.where(np.isfinite(rms) & (rms > 0), peak / rms, np.nan)
    compact = np.array([r["kind"] in COMPACT_KINDS for r in rows], dtype=bool)
    diffuse = np.array([r["kind"] in DIFFUSE_KINDS for r in rows], dtype=bool)
    return {"x": x, "y": y, "peak": peak, "local_rms": rms, "snr": snr, "compact": compact, "diffuse": diffuse}


def truth_label_mask(truth: dict[str, np.ndarray], min_snr: float = TRUTH_MIN_SNR) -> np.ndarray:
    """Which truth rows a truth count counts: compact kinds with true peak S/N >= ``min_snr``."""
    return truth["compact"] & (np.nan_to_num(truth["snr"], nan=-1.0) >= min_snr)


def count_distribution(per_field: Sequence[np.ndarray]) -> dict[str, Any]:
    """Per-crop count statistics pooled over fields, and how much the field means spread.

    Recorded so a reader can see whether counts span a range (a task) or scatter around one
    mean (Poisson noise a probe cannot predict).
    """
    counts = np.concatenate([np.asarray(c, dtype=np.float64) for c in per_field]) if per_field else np.empty(0)
    if not len(counts):
        return {"crops": 0}
    means = np.array([np.mean(c) for c in per_field if len(c)])
    return {
        "crops": int(len(counts)),
        "mean": float(counts.mean()),
        "std": float(counts.std()),
        "min": float(counts.min()),
        "max": float(counts.max()),
        "quantiles": {str(q): float(np.quantile(counts, q)) for q in QUANTILES},
        "fraction_empty": float(np.mean(counts == 0)),
        "between_fields": {
            "field_means_std": float(means.std()),
            "field_mean_min": float(means.min()),
            "field_mean_max": float(means.max()),
            "within_field_std_mean": float(np.mean([np.std(c) for c in per_field if len(c)])),
            # share of the crop-count variance explained by which field a crop is in
            "variance_between_fields": float(np.sum([len(c) * (np.mean(c) - counts.mean()) ** 2
                                                     for c in per_field if len(c)]) / len(counts)
                                             / counts.var()) if counts.var() > 0 else 0.0,
        },
        "per_field": [{"mean": float(np.mean(c)), "std": float(np.std(c))} for c in per_field if len(c)],
    }

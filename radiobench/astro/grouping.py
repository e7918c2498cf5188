"""From source-finder islands to radio galaxies, and galaxies matched by position.

**The grouping rule** (version 1; defaults gap 1 beam, factor 3, keep ``extended``), what an astronomer does by eye without learning anything: the
two lobes of a double are separate islands of similar brightness near each other, and an
unresolved island on its own is a compact source, not an extended galaxy.

1. Islands come from pyBDSF (``thresh_isl`` 3, ``thresh_pix`` 5, hard thresholds), each with its
   box and peak S/N.
2. An island is *compact* when its box's longer side is at most ``compact_factor`` x the size of
   the 3-sigma island of a point source of the same peak S/N (a Gaussian beam of FWHM ``beam``
   has a ``level``-sigma island 2 sigma_beam sqrt(2 ln(S/N / level)) across) plus 2 pixels;
   otherwise *extended*.
3. Two islands are linked when the gap between their boxes (edge to edge) is at most
   ``gap_beams`` beams and their peak S/N differ by at most a factor ``flux_ratio``; groups are
   the connected sets (single linkage).
4. A group is kept as a galaxy when it holds an extended island, or (``keep="extended_or_pair"``)
   two islands or more; a lone compact island is a compact source and is dropped.
5. Its box is the union of its islands' boxes and its score the highest peak S/N among them.
6. Its class: two islands or more, FR-II (a double); one island, FR-I when the island's pixels
   above ``level`` sigma span at least ``fr1_length_beams`` beams (length sqrt(12) x the standard
   deviation of their positions along the major axis) with an axis ratio of 2 or more, else R.
   FR-X, which takes judgement, is never predicted.

**Matching by position** (completeness and purity of galaxies): a predicted box with score at
least ``score_min`` finds a true galaxy when the prediction's centre lies inside the true box.
Predictions are taken from the highest score down; each takes the unmatched true box that
contains its centre and whose centre is nearest to it, so a galaxy is found once and a
prediction finds at most one galaxy. Completeness = galaxies found / true galaxies; purity =
predictions that found one / predictions kept. Class-agnostic, pooled over all images.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

FWHM_TO_SIGMA = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
CLASSES = ("FR-II", "FR-I", "FR-X", "R")  # RadioGalaxyNET's order


@dataclass(frozen=True)
class GroupingRule:
    # chosen on the design fields (benchmarks/sim_galaxies_design.py) from gap 1/3/6/10 beams, ratio 3/10 and
    # both keep options, by class-agnostic mAP@0.5: 0.309 here against 0.290 at 3 beams, ratio 3
    gap_beams: float = 1.0
    flux_ratio: float = 3.0
    keep: str = "extended"  # or "extended_or_pair"
    compact_factor: float = 1.5
    level: float = 3.0  # sigma: pyBDSF's island threshold
    fr1_length_beams: float = 4.0
    version: str = "1"

    def __post_init__(self) -> None:
        if self.keep not in ("extended", "extended_or_pair"):
            raise ValueError(f"keep must be 'extended' or 'extended_or_pair', got {self.keep!r}")


def box_gap(a: Sequence[float], b: Sequence[float]) -> float:
    """Edge-to-edge distance between boxes (x_min, y_min, x_max, y_max); 0 when they touch or overlap."""
    dx = max(a[0] - b[2], b[0] - a[2], 0.0)
    dy = max(a[1] - b[3], b[1] - a[3], 0.0)
    return math.hypot(dx, dy)


def point_island_size(snr: float, beam_px: float, level: float = 3.0) -> float:
    """Diameter (pixels) of the ``level``-sigma island of a point source of peak ``snr`` under the beam."""
    if snr <= level:
        return 1.0
    return 2.0 * beam_px * FWHM_TO_SIGMA * math.sqrt(2.0 * math.log(snr / level)) + 1.0


def is_compact(box: Sequence[float], snr: float, beam_px: float, rule: GroupingRule) -> bool:
    side = max(box[2] - box[0], box[3] - box[1])
    return side <= rule.compact_factor * point_island_size(snr, beam_px, rule.level) + 2.0


def group_islands(boxes: np.ndarray, snrs: np.ndarray, beam_px: float, rule: GroupingRule) -> list[list[int]]:
    """Islands linked by the rule (steps 2-4): the kept groups, each a sorted list of island indices."""
    n = len(boxes)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            lo, hi = sorted((float(snrs[i]), float(snrs[j])))
            if box_gap(boxes[i], boxes[j]) <= rule.gap_beams * beam_px and hi <= rule.flux_ratio * max(lo, 1e-9):
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    kept = []
    for members in groups.values():
        extended = any(not is_compact(boxes[i], float(snrs[i]), beam_px, rule) for i in members)
        if extended or (rule.keep == "extended_or_pair" and len(members) >= 2):
            kept.append(sorted(members))
    return sorted(kept)


def island_shape(image: np.ndarray, box: Sequence[float], rms: float, level: float) -> tuple[float, float]:
    """(length, axis ratio) of the pixels above ``level`` x ``rms`` inside ``box``: sqrt(12) x the positional
    standard deviation along the major axis, and major / minor."""
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    patch = np.asarray(image[y0:y1, x0:x1], dtype=float)
    ys, xs = np.nonzero(np.nan_to_num(patch, nan=-np.inf) >= level * rms)
    if len(xs) < 3:
        return 0.0, 1.0
    cov = np.cov(np.stack([xs, ys]).astype(float))
    lam = np.sort(np.linalg.eigvalsh(cov))[::-1]
    major, minor = math.sqrt(max(lam[0], 0.0)), math.sqrt(max(lam[1], 1e-12))
    return math.sqrt(12.0) * major, major / max(minor, 1e-6)


def robust_rms(image: np.ndarray) -> float:
    """1.4826 x the median absolute deviation of the finite pixels (the background noise, sources aside)."""
    values = np.asarray(image, dtype=float)
    values = values[np.isfinite(values)]
    if not values.size:
        return float("nan")
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def galaxies_from_islands(image: np.ndarray, boxes: np.ndarray, snrs: np.ndarray, beam_px: float,
                          rule: GroupingRule) -> dict[str, np.ndarray]:
    """The rule's galaxies in one image: ``{"boxes", "scores", "labels"}`` (labels index :data:`CLASSES`)."""
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    snrs = np.asarray(snrs, dtype=float).reshape(-1)
    rms = robust_rms(image)
    out_boxes, scores, labels = [], [], []
    for members in group_islands(boxes, snrs, beam_px, rule):
        b = boxes[members]
        out_boxes.append((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
        scores.append(float(snrs[members].max()))
        if len(members) >= 2:
            labels.append(CLASSES.index("FR-II"))
        else:
            length, ratio = island_shape(image, boxes[members[0]], rms, rule.level)
            elongated = length >= rule.fr1_length_beams * beam_px and ratio >= 2.0
            labels.append(CLASSES.index("FR-I" if elongated else "R"))
    return {"boxes": np.asarray(out_boxes, dtype=np.float32).reshape(-1, 4),
            "scores": np.asarray(scores, dtype=np.float32), "labels": np.asarray(labels, dtype=np.int64)}


# --- completeness and purity of galaxies matched by position -----------------------------------------------


def match_by_position(true_boxes: np.ndarray, pred_boxes: np.ndarray, pred_scores: np.ndarray,
                      score_min: float) -> tuple[int, int, int]:
    """(true galaxies, predictions kept, matches) in one image, by the rule in the module docstring."""
    true_boxes = np.asarray(true_boxes, dtype=float).reshape(-1, 4)
    pred_boxes = np.asarray(pred_boxes, dtype=float).reshape(-1, 4)
    pred_scores = np.asarray(pred_scores, dtype=float).reshape(-1)
    keep = np.flatnonzero(pred_scores >= score_min)
    keep = keep[np.argsort(-pred_scores[keep], kind="stable")]
    taken = np.zeros(len(true_boxes), dtype=bool)
    true_centres = np.stack([(true_boxes[:, 0] + true_boxes[:, 2]) / 2, (true_boxes[:, 1] + true_boxes[:, 3]) / 2], 1)
    matched = 0
    for k in keep:
        cx, cy = (pred_boxes[k, 0] + pred_boxes[k, 2]) / 2, (pred_boxes[k, 1] + pred_boxes[k, 3]) / 2
        inside = (~taken & (true_boxes[:, 0] <= cx) & (cx <= true_boxes[:, 2])
                  & (true_boxes[:, 1] <= cy) & (cy <= true_boxes[:, 3]))
        if inside.any():
            candidates = np.flatnonzero(inside)
            d = np.hypot(true_centres[candidates, 0] - cx, true_centres[candidates, 1] - cy)
            taken[candidates[int(np.argmin(d))]] = True
            matched += 1
    return len(true_boxes), len(keep), matched


def completeness_purity(targets: Sequence[dict[str, Any]], predictions: Sequence[dict[str, Any]],
                        score_min: float, match: Callable[..., tuple[int, int, int]] | None = None) -> dict[str, float]:
    """Pooled over images: ``completeness`` (found / true; 0 with no true galaxy) and ``purity``
    (matched / kept predictions; 0 when nothing is predicted), with the counts behind them.

    ``match(target, prediction, score_min)`` gives one image's counts (default: :func:`match_by_position`
    on its boxes); a caller scoring many resamples of the same images passes one that remembers them.
    """
    match = match or (lambda t, p, s: match_by_position(t["boxes"], p["boxes"], p["scores"], s))
    n_true = n_pred = n_matched = 0
    for t, p in zip(targets, predictions, strict=True):
        a, b, c = match(t, p, score_min)
        n_true, n_pred, n_matched = n_true + a, n_pred + b, n_matched + c
    return {"completeness": n_matched / n_true if n_true else 0.0, "purity": n_matched / n_pred if n_pred else 0.0,
            "galaxies": float(n_true), "predicted": float(n_pred), "matched": float(n_matched)}

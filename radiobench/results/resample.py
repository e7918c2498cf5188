"""Which test items a bootstrap draws together: the resampling unit, its strata, and the weights of a draw.

The bootstrap must resample what is independent. Classification items are independent
sources, drawn within their true class so every resample keeps the class counts; ranked
items are drawn within "interesting or not" so AP always has positives. Counting crops are
not independent: crops of one field share its depth, its confusion and its artefacts, and
58 % of the count variance is between fields. Resampling crops within fields treats 692 crops
as 692 independent facts and gives intervals too narrow; the **cluster bootstrap** (Davison
& Hinkley 1997, sec. 3.8; Field & Welsh 2007) draws whole fields, all their crops together.
Detection images carry their field in ``groups`` too, and are drawn by field the same way.
Classification items that carry groups with more than one item (a cross-validated task's sky
groups: sources within 90" of each other) are drawn as whole groups within their true class.

A draw is returned as integer weights per item (how often it was drawn), one row per
resample, for :mod:`radiobench.results.weighted`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radiobench.kinds import INTERESTING
from radiobench.results.predictions import ItemPredictions


@dataclass(frozen=True)
class Design:
    """Items (n) -> units (clusters, or the items themselves) -> strata over units."""

    unit_of_item: np.ndarray  # (n,) index of each item's unit
    stratum_of_unit: np.ndarray  # (units,) index of each unit's stratum
    description: str

    @property
    def n_units(self) -> int:
        return len(self.stratum_of_unit)

    def weights(self, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
        """(n_resamples, n) item weights: units drawn with replacement within each stratum, items following their unit."""
        unit_weights = np.zeros((n_resamples, self.n_units))
        for stratum in np.unique(self.stratum_of_unit):
            units = np.flatnonzero(self.stratum_of_unit == stratum)
            unit_weights[:, units] = rng.multinomial(len(units), np.full(len(units), 1 / len(units)), size=n_resamples)
        return unit_weights[:, self.unit_of_item]


def design_for(items: ItemPredictions, target: str) -> Design:
    """The resampling design of one seed's test items (module docstring)."""
    n = len(items)
    if target in ("value", "boxes") and items.groups is not None and len(np.unique(items.groups)) >= 2:
        _, unit = np.unique(items.groups, return_inverse=True)
        units = int(unit.max()) + 1
        return Design(unit, np.zeros(units, dtype=np.int64), "whole fields (cluster bootstrap)")
    if target == "class" and items.truth is not None and items.groups is not None:
        clustered = _class_clusters(np.asarray(items.groups), np.asarray(items.truth))
        if clustered is not None:
            return clustered
    unit = np.arange(n)
    if target == "class" and items.truth is not None:
        _, stratum = np.unique(np.asarray(items.truth), return_inverse=True)
        return Design(unit, _merge_singletons(stratum), "items within their true class")
    if target == "graded" and items.truth is not None:
        stratum = (np.asarray(items.truth) >= INTERESTING).astype(np.int64)
        return Design(unit, _merge_singletons(stratum), f"items within interesting (human score >= {INTERESTING:g}) "
                                                        "or not")
    what = "whole images" if target == "boxes" else "items"
    return Design(unit, np.zeros(n, dtype=np.int64), what)


def _class_clusters(groups: np.ndarray, truth: np.ndarray) -> Design | None:
    """Whole groups (e.g. sources within 90" on the sky) within their true class, or None where every group is one
    item (then the plain design is the same draw). A group whose items differ in class is drawn in a stratum of
    such groups, so every resample keeps the class counts of the single-class groups."""
    _, unit, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if (sizes < 2).all():
        return None
    _, label = np.unique(truth, return_inverse=True)
    low = np.full(len(sizes), label.max() + 1)
    high = np.full(len(sizes), -1)
    np.minimum.at(low, unit, label)
    np.maximum.at(high, unit, label)
    stratum = np.where(low == high, low, label.max() + 1)
    return Design(unit, _merge_singletons(stratum),
                  "whole groups (the task's groups) within their true class (cluster bootstrap)")


def _merge_singletons(stratum: np.ndarray) -> np.ndarray:
    """A stratum of one unit cannot vary: it joins the largest stratum (as a draw of one from one is fixed)."""
    values, counts = np.unique(stratum, return_counts=True)
    if (counts >= 2).all() or len(values) == 1:
        return stratum
    largest = values[np.argmax(counts)]
    out = stratum.copy()
    for v in values[counts < 2]:
        out[stratum == v] = largest
    return out


def seed_weights(n_seeds: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """(n_resamples, n_seeds) how often each seed is drawn, as fractions of the draw (rows sum to 1)."""
    if n_seeds == 1:
        return np.ones((n_resamples, 1))
    return rng.multinomial(n_seeds, np.full(n_seeds, 1 / n_seeds), size=n_resamples) / n_seeds

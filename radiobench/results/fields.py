"""Counting within fields: how much of a score is counting sources, and how much is recognising the field.

A counting task's crops come from a few fields that differ in depth and richness. A probe that
only recognises which field a crop is from, and predicts that field's mean count, already
reaches a high R²: on ``sim_counts`` 5.0 that oracle scored 0.47 (issue 32). So beside the overall
R², a counting board shows the **within-field R²**: both the counts and the predictions have their
field's mean taken off, and R² is computed on what is left,

    R²_within = 1 - Σ ((y - ȳ_f) - (ŷ - ŷ̄_f))² / Σ (y - ȳ_f)²,

the fixed-effects ("within") R² of econometrics. The field-mean oracle scores exactly 0 on it, and
only a prediction that moves with the counts inside a field scores above 0. The oracle's overall
R² (:func:`field_mean_oracle_r2`) is shown beside, as the bar a field recogniser reaches.

Intervals come from the board's bootstrap for grouped items, which resamples whole fields
(:mod:`radiobench.results.resample`): each drawn field keeps its crops and its means, so the
within-field residuals are fixed and a resample's R²_within is a ratio of two weighted sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``values`` with each group's mean taken off."""
    _, index = np.unique(groups, return_inverse=True)
    means = np.bincount(index, weights=values) / np.bincount(index)
    return values - means[index]


def within_field_r2(truth: Any, predicted: Any, groups: Any) -> float:
    """R² of the predictions against the counts after each field's means are taken off both (NaN: no spread)."""
    return float(weighted_within_field_r2(truth, predicted, groups, np.ones((1, len(np.asarray(truth)))))[0])


def weighted_within_field_r2(truth: Any, predicted: Any, groups: Any, weights: np.ndarray) -> np.ndarray:
    """(B,) :func:`within_field_r2` of each resample of whole fields (``weights`` constant within every field)."""
    t, p, g = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float), np.asarray(groups)
    _, first, index = np.unique(g, return_index=True, return_inverse=True)
    if not np.array_equal(weights, weights[:, first[index]]):
        raise ValueError("within-field R² needs whole fields resampled: item weights differ inside a field")
    c = _within(t, g)
    d = c - _within(p, g)
    ss_tot, ss_res = weights @ (c * c), weights @ (d * d)
    spread = weights @ ((t - t.mean()) ** 2)  # rounding in the field means is far below this
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 1e-12 * spread, 1.0 - ss_res / ss_tot, np.nan)


def field_mean_oracle_r2(truth: Any, groups: Any) -> float:
    """Overall R² of predicting each item as its field's true mean: the share of the variance between fields."""
    t = np.asarray(truth, dtype=float)
    c = t - t.mean()
    ss_tot = float(c @ c)
    if ss_tot == 0:
        return float("nan")
    w = _within(t, np.asarray(groups))
    return 1.0 - float(w @ w) / ss_tot


@dataclass(frozen=True)
class FieldScores:
    """One row's overall and within-field R², each the mean over seeds with its 95 % interval."""

    r2: tuple[float, float, float]
    r2_within: tuple[float, float, float]


def field_scores(per_seed: list[Any], n_resamples: int | None = None) -> FieldScores:
    """Overall and within-field R² of one result's seeds (``ItemPredictions`` with groups), with the intervals of
    the board's two-stage bootstrap (seeds, then whole fields)."""
    from radiobench.results.paired import N_RESAMPLES, draws, inverted_interval
    from radiobench.results.weighted import regression

    seeds, items, _ = draws(per_seed, "value", n_resamples or N_RESAMPLES)

    def summary(matrix: Any) -> tuple[float, float, float]:
        full = float(np.mean([matrix(x, np.ones((1, len(x))))[0] for x in per_seed]))
        mixed = sum(seeds[:, s] * matrix(x, items[s]) for s, x in enumerate(per_seed))
        low, high, _ = inverted_interval(mixed)
        return full, low, high

    return FieldScores(
        r2=summary(lambda x, w: regression(x.truth, x.predicted, w)["r2"]),
        r2_within=summary(lambda x, w: weighted_within_field_r2(x.truth, x.predicted, x.groups, w)),
    )

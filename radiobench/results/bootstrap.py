"""Confidence intervals over test items, with the seeds' spread, from a result's per-item predictions.

A leaderboard cell is the mean over seeds of a score on one finite test set. On a fixed
split the seeds only move the probe's CV folds, so their spread says nothing about the
test set: 16 errors in 104 MiraBest images read "0.1538 ± 0.0000", while the test set
alone leaves [0.097, 0.235] (Wilson). The interval recorded here is a **two-stage
bootstrap** of that mean:

1. **Seeds** are drawn with replacement (when a result has several), so the seeds' spread
   widens the interval in proportion to how much they disagree.
2. **Test items** are drawn with replacement within strata: by true class for
   classification (every resample keeps the class counts); by "interesting" (human score
   >= 4) for ranking, so AP always has positives; by field (the task's groups) for the
   counting tasks; by image (all of an image's boxes together) for detection. When every
   seed tested the same items (a fixed split, a ranking pool, detection), one draw of items
   serves every seed of a resample, since the test set is one sample that all seeds share;
   when seeds tested different items (a grouped partition redrawn per seed), each seed's
   items are drawn from its own test part.

A resample's value is the mean over its drawn seeds of the metric on its drawn items. The
interval is ``scipy.stats.bootstrap``'s BCa (bias-corrected and accelerated; its
jackknife runs over seeds and items alike), 95 %, 2000 resamples from a fixed random seed,
so the same sidecar always gives the same interval. Where BCa is undefined for a metric
(all jackknife values equal) the percentile interval of the same resamples is used; a
metric every resample scores the same (e.g. the AP chance level under stratification) has
that value at both ends.

Paired comparisons (:mod:`radiobench.board.stats`) use the same resampling plan, with the
difference of two results as the statistic.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from radiobench.errors import ResultsError
from radiobench.kinds import INTERESTING
from radiobench.results.predictions import ItemPredictions

CONFIDENCE = 0.95
N_RESAMPLES = 2000
RANDOM_SEED = 0
METHOD = "BCa bootstrap (scipy.stats.bootstrap), two-stage: seeds, then test items within strata"
SEEDS_NOTE = ("seeds drawn with replacement, then items; a resample's value is the mean over its drawn seeds "
              "(one draw of items serves all seeds that tested the same items)")
STRATA = {"class": "true class", "graded": f"interesting (human score >= {INTERESTING:g}) or not",
          "value": "field (the task's groups)", "boxes": "none: whole images resampled"}

Evaluate = Callable[[int, np.ndarray], np.ndarray]  # (seed position, item rows) -> one value per metric


@dataclass
class Plan:
    """How one result's (or a pair of results') items are resampled: scipy's samples and who owns them.

    ``samples`` are index arrays: the seed positions first (when there are several seeds),
    then one array of item rows per stratum. ``owners[k]`` is the seed position a stratum's
    rows belong to, or None when every seed tested the same items (the rows serve them all).
    """

    n_seeds: int
    samples: list[np.ndarray]
    owners: list[int | None]
    strata: str

    @property
    def seeded(self) -> bool:
        return self.n_seeds > 1

    def statistic(self, evaluate: Evaluate) -> Callable[..., np.ndarray]:
        """scipy's statistic: the mean over the drawn seeds of ``evaluate`` on each seed's drawn rows."""

        def statistic(*drawn: np.ndarray) -> np.ndarray:
            seeds = drawn[0].astype(np.int64) if self.seeded else np.zeros(1, dtype=np.int64)
            strata = drawn[1:] if self.seeded else drawn
            shared = [d for d, owner in zip(strata, self.owners) if owner is None]
            rows = {s: np.concatenate([d for d, owner in zip(strata, self.owners) if owner == s] + shared).astype(np.int64)
                    for s in set(seeds.tolist())}
            total = None
            for s, count in Counter(seeds.tolist()).items():
                value = count * np.asarray(evaluate(s, rows[s]), dtype=float)
                total = value if total is None else total + value
            assert total is not None
            return total / len(seeds)

        return statistic


def _strata(labels: np.ndarray) -> list[np.ndarray]:
    """Rows per stratum; a stratum of one row joins the largest (scipy needs two rows to resample a sample)."""
    values, inverse = np.unique(labels, return_inverse=True)
    groups = [np.flatnonzero(inverse == i) for i in range(len(values))]
    small = [g for g in groups if len(g) < 2]
    groups = [g for g in groups if len(g) >= 2]
    if small:
        rest = np.concatenate(small)
        if groups and len(rest) < 2:
            largest = int(np.argmax([len(g) for g in groups]))
            groups[largest] = np.sort(np.concatenate([groups[largest], rest]))
        else:
            groups.append(rest)
    return groups


def stratum_labels(items: ItemPredictions, target: str) -> np.ndarray:
    """What each item is stratified by (see the module docstring); one label for all where nothing is."""
    if target == "class" and items.truth is not None:
        return np.asarray(items.truth)
    if target == "graded" and items.truth is not None:
        return np.asarray(items.truth) >= INTERESTING
    if target == "value" and items.groups is not None:
        return np.asarray(items.groups)
    return np.zeros(len(items), dtype=np.int64)


def strata_text(target: str, items: ItemPredictions) -> str:
    if target == "value" and items.groups is None:
        return "none: items resampled"
    return STRATA.get(target, "none: items resampled")


def shared_items(per_seed: Sequence[ItemPredictions]) -> bool:
    """Whether every seed tested the same items in the same order (so one draw of rows serves them all)."""
    return all(np.array_equal(per_seed[0].ids, it.ids) for it in per_seed[1:])


def plan(per_seed: Sequence[ItemPredictions], target: str) -> Plan:
    """The resampling plan of one result's seeds (in seed order)."""
    if not per_seed or any(len(it) < 2 for it in per_seed):
        raise ResultsError("a bootstrap needs at least two test items in every seed")
    seeds = [np.arange(len(per_seed))] if len(per_seed) > 1 else []
    if shared_items(per_seed):
        strata = _strata(stratum_labels(per_seed[0], target))
        owners: list[int | None] = [None] * len(strata)
    else:
        strata, owners = [], []
        for s, items in enumerate(per_seed):
            mine = _strata(stratum_labels(items, target))
            strata += mine
            owners += [s] * len(mine)
    return Plan(len(per_seed), seeds + strata, owners, strata_text(target, per_seed[0]))


def run(plan_: Plan, evaluate: Evaluate, n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
        random_seed: int = RANDOM_SEED, method: str = "BCa") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(point, low, high, distribution)`` of every output of ``evaluate`` (see the module docstring for the rules)."""
    from scipy import stats

    statistic = plan_.statistic(evaluate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics on a resample, degenerate BCa: handled below
        point = np.atleast_1d(statistic(*plan_.samples))
        result = stats.bootstrap(tuple(plan_.samples), statistic, n_resamples=n_resamples, confidence_level=confidence,
                                 method=method, vectorized=False, **_rng(random_seed))
    distribution = np.atleast_2d(result.bootstrap_distribution)
    low = np.atleast_1d(np.asarray(result.confidence_interval.low, dtype=float)).copy()
    high = np.atleast_1d(np.asarray(result.confidence_interval.high, dtype=float)).copy()
    tail = (1 - confidence) / 2 * 100
    for j in range(len(point)):
        values = distribution[j]
        if not np.isfinite(values).all():
            low[j] = high[j] = np.nan  # some resample could not be scored: no interval
        elif np.ptp(values) == 0:
            low[j] = high[j] = values[0]
        elif not (np.isfinite(low[j]) and np.isfinite(high[j])):
            low[j], high[j] = np.percentile(values, [tail, 100 - tail])
    return point, low, high, distribution


def _rng(seed: int) -> dict[str, Any]:
    """scipy >= 1.15 takes ``rng``; older releases ``random_state``."""
    import inspect

    from scipy import stats

    name = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"
    return {name: np.random.default_rng(seed)}


def intervals(per_seed: Sequence[ItemPredictions], score: Callable[[Any, Any], dict[str, float]], target: str,
              metrics: Sequence[str], n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
              random_seed: int = RANDOM_SEED) -> dict[str, Any]:
    """The ``intervals`` block of a result: how, and ``[low, high]`` per metric in ``metrics`` that could be scored."""
    names = list(metrics)

    def evaluate(s: int, rows: np.ndarray) -> np.ndarray:
        try:
            scored = score(*per_seed[s].score_args(rows))
        except Exception:  # noqa: BLE001 - a resample a metric is undefined on: no interval for it
            return np.full(len(names), np.nan)
        return np.array([scored.get(m, np.nan) for m in names], dtype=float)

    plan_ = plan(per_seed, target)
    _, low, high, _ = run(plan_, evaluate, n_resamples, confidence, random_seed)
    return {
        "method": METHOD,
        "confidence": confidence,
        "n_resamples": n_resamples,
        "random_seed": random_seed,
        "strata": plan_.strata,
        "seeds": SEEDS_NOTE if plan_.seeded else "one seed: test items only",
        "metrics": {m: [float(lo), float(hi)] for m, lo, hi in zip(names, low, high) if np.isfinite(lo) and np.isfinite(hi)},
    }

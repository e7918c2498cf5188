"""One rule for a board column's bold, ``≈`` and ranks: all-pairs paired tests, Holm-corrected.

A board asks, for every pair of rows in a column, "is one significantly better?", and
then reads everything from the answers: a row's **rank** is 1 + the number of rows
significantly better than it, and ``≈`` marks the rows of rank 1 that are not the best mean
(so a row tied with the best on every task, and only such a row, has mean rank 1).

- **The tests** are those of :mod:`radiobench.results.paired`: McNemar's exact test for
  error/accuracy (Dietterich 1998), the paired bootstrap with the task's resampling design
  for every other main score.
- **Multiplicity**: a column of n rows makes n(n-1)/2 comparisons; at 5 % each, some would
  come out "significant" by chance alone. Holm's step-down procedure (Holm 1979) keeps the
  family-wise error of the column at 5 % without assuming the tests independent, and is
  the correction Demšar (2006, *Statistical comparisons of classifiers over multiple data
  sets*, JMLR 7) and García & Herrera (2008) recommend over Bonferroni for all-pairs
  comparisons.
- **Speed**: every row of a column is scored on the same test items, so every row's
  bootstrap distribution is computed once with common draws (the same seeds and items for
  all rows) and a pair's distribution of differences is one subtraction; a column of 14
  rows costs 14 scorings, not 91 comparisons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.results.paired import (
    ALPHA,
    MCNEMAR_METRICS,
    N_RESAMPLES,
    compare_items,
    draws,
    inverted_interval,
    mcnemar,
    pair_items,
    seed_mixed,
)
from radiobench.results.predictions import ItemPredictions
from radiobench.results.resample import design_for


@dataclass
class Row:
    """One backbone's result in a column, read for testing."""

    name: str
    path: Path
    record: Any
    items: dict[int, ItemPredictions]
    mean: float


@dataclass
class ColumnTests:
    """What the board reads off one column's tests."""

    test: str  # the primary test's name
    resampled: str  # what the bootstrap draws
    p: dict[tuple[str, str], float] = field(default_factory=dict)  # raw, per pair (a, b) with a before b by name
    adjusted: dict[tuple[str, str], float] = field(default_factory=dict)  # Holm
    better: set[tuple[str, str]] = field(default_factory=set)  # (winner, loser), significant after Holm
    ranks: dict[str, int] = field(default_factory=dict)
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # each row's 95 % percentile interval

    @property
    def family(self) -> int:
        return len(self.p)

    def p_against(self, name: str, other: str) -> float | None:
        """The Holm-adjusted p-value of the pair, either order."""
        key = (name, other) if name < other else (other, name)
        return self.adjusted.get(key)


def holm(p_values: dict[Any, float]) -> dict[Any, float]:
    """Holm's step-down adjusted p-values: reject a hypothesis when its adjusted p < alpha."""
    order = sorted(p_values, key=lambda k: p_values[k])
    m = len(order)
    adjusted, running = {}, 0.0
    for i, key in enumerate(order):
        running = max(running, min(1.0, (m - i) * p_values[key]))
        adjusted[key] = running
    return adjusted


def _own_distribution(row: Row, target: str, metric: str, score: Any, n_resamples: int) -> np.ndarray:
    """One row's bootstrap distribution alone (its own draws), for its interval when rows cannot share draws."""
    per_seed = [row.items[s] for s in row.record.seeds]
    seeds, items, _ = draws(per_seed, target, n_resamples)
    return seed_mixed(per_seed, target, metric, score, seeds, items)


def percentile_interval(distribution: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """The order-statistic interval of :func:`~radiobench.results.paired.inverted_interval`, of a score itself."""
    low, high, _ = inverted_interval(distribution, alpha)
    return low, high


def _distributions(rows: list[Row], target: str, metric: str, score: Any, n_resamples: int) -> dict[str, np.ndarray] | None:
    """Each row's bootstrap distribution of its seed-averaged metric under common draws, or None when the rows
    did not all test the same items with the same seeds (then pairs are tested one by one)."""
    seeded = [r for r in rows if r.record.seeded]
    seeds = list(seeded[0].record.seeds) if seeded else [0]
    if any(list(r.record.seeds) != seeds for r in seeded):
        return None
    first = next(iter(rows[0].items.values()))
    ids = first.ids
    aligned: dict[str, list[ItemPredictions]] = {}
    for r in rows:
        per_seed = [r.items[s] for s in (seeds if r.record.seeded else r.record.seeds * len(seeds))]
        out = []
        for items in per_seed:
            if len(items) != len(ids) or set(items.ids.tolist()) != set(ids.tolist()):
                return None
            where = {item: i for i, item in enumerate(items.ids.tolist())}
            out.append(items.subset(np.array([where[i] for i in ids.tolist()], dtype=np.int64)))
        aligned[r.name] = out
    draw, items, _ = draws(aligned[rows[0].name], target, n_resamples)  # common draws: one for every row
    return {name: seed_mixed(per_seed, target, metric, score, draw, items) for name, per_seed in aligned.items()}


def column_tests(rows: list[Row], target: str, metric: str, higher_is_better: bool, score: Any,
                 n_resamples: int = N_RESAMPLES) -> ColumnTests:
    """All-pairs tests of one column (rows whose items could be read), Holm-corrected, and the ranks they give."""
    uses_mcnemar = target == "class" and metric in MCNEMAR_METRICS
    design = design_for(next(iter(rows[0].items.values())), target).description if rows else ""
    out = ColumnTests("McNemar exact" if uses_mcnemar else "paired bootstrap", design)
    dist = _distributions(rows, target, metric, score, n_resamples)
    for r in rows:
        own = dist[r.name] if dist is not None else _own_distribution(r, target, metric, score, n_resamples)
        out.intervals[r.name] = percentile_interval(own)
    sign = 1.0 if higher_is_better else -1.0
    direction: dict[tuple[str, str], float] = {}
    for a, b in combinations(sorted(rows, key=lambda r: r.name), 2):
        key = (a.name, b.name)
        if dist is not None and not uses_mcnemar:
            _, _, p = inverted_interval(dist[a.name] - dist[b.name])
            direction[key] = sign * (a.mean - b.mean)
        else:
            pairs, left, right = pair_items(a.record, b.record, a.items, b.items, key)
            if uses_mcnemar:
                p = mcnemar(left, right).p_value
                direction[key] = sign * (a.mean - b.mean)
            else:
                c = compare_items(left, right, task=a.record.task.name, target=target, metric=metric,
                                  higher_is_better=higher_is_better, score=score, names=key, seed_pairs=pairs,
                                  n_resamples=n_resamples)
                p, direction[key] = c.p_value, sign * c.difference
        out.p[key] = 1.0 if not np.isfinite(p) else float(p)
    out.adjusted = holm(out.p)
    for (a, b), p in out.adjusted.items():
        if p < ALPHA and direction[(a, b)] != 0:
            out.better.add((a, b) if direction[(a, b)] > 0 else (b, a))
    out.ranks = {r.name: 1 + sum(1 for w, loser in out.better if loser == r.name) for r in rows}
    return out


def read_rows(entries: dict[str, tuple[Path, Any, float]], target: str, score: Any) -> tuple[list[Row], dict[str, str]]:
    """The rows whose per-item predictions can be read and give back their recorded scores
    (:func:`~radiobench.results.agreement.check_agreement`), and why each other row is refused."""
    from radiobench.results.agreement import check_agreement
    from radiobench.results.predictions import read_predictions

    rows, refused = [], {}
    for name, (path, record, mean) in sorted(entries.items()):
        try:
            items = read_predictions(path, record)
            check_agreement(path, record, items, target, score)
        except RadiobenchError as exc:
            refused[name] = str(exc)
            continue
        rows.append(Row(name, path, record, items, mean))
    return rows, refused

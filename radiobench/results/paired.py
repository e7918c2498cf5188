"""Paired tests of two results on the test items both scored: one declared primary test, and its interval.

Two backbones scored on one test set are not independent samples: most items are easy or
hard for both. Which test fits follows the literature on comparing classifiers on one test
set (Dietterich 1998, *Approximate statistical tests for comparing supervised classification
learning algorithms*):

- **error / accuracy** of a classifier: **McNemar's exact test** on the items one result gets
  right and the other wrong (a binomial test of the discordant pairs). Dietterich found it
  the one test of those he studied with an acceptable type I error on a single test set. With several
  seeds it is run per seed pair and the least significant pair is reported: seeds move the
  probe, not the test set, so their discordant counts are not pooled.
- **every other main score** (macro-F1, R², MSE, AP, mAP): a **paired bootstrap** of the
  difference A - B. Seeds are drawn, then test units with the design of
  :mod:`radiobench.results.resample` (items within class, or whole fields), the same draw for
  A and B. The two-sided p-value and the interval are read from the same resamples with
  the same rule for resamples whose difference is exactly 0: ``p = 2 min(#{d* <= 0},
  #{d* >= 0}) / B`` and the interval's ends are the order statistics ``j = ceil(alpha B / 2) - 1``
  from each side, so "p < 0.05" holds exactly when the 95 % interval excludes 0 (test inversion).
  Identical predictions give p = 1.

For error the bootstrap is also computed and printed as the secondary test; when the two
disagree, the verdict says so. Multiplicity across a board column is the board's business
(:mod:`radiobench.board.ranks`, Holm).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import ResultsError
from radiobench.results.predictions import ItemPredictions
from radiobench.results.resample import design_for, seed_weights
from radiobench.results.weighted import metric_matrix

ALPHA = 0.05
N_RESAMPLES = 2000
RANDOM_SEED = 0
MCNEMAR_METRICS = ("error", "accuracy")


@dataclass
class McNemar:
    """Exact McNemar test of the seed pair with the largest p-value."""

    a_only: int  # items A gets right and B wrong
    b_only: int  # items B gets right and A wrong
    p_value: float
    seed_pairs: int


@dataclass
class Comparison:
    task: str
    metric: str
    higher_is_better: bool
    a: str
    b: str
    seed_pairs: list[tuple[int, int]]
    items: int  # shared test items per seed pair (the smallest)
    a_score: float  # mean over seed pairs of the metric on the shared items
    b_score: float
    difference: float  # a_score - b_score
    low: float  # the paired bootstrap's interval of the difference
    high: float
    p_bootstrap: float
    n_resamples: int
    resampled: str  # what the bootstrap draws
    primary: str  # "McNemar exact" or "paired bootstrap"
    mcnemar: McNemar | None = None

    @property
    def p_value(self) -> float:
        """The primary test's p-value."""
        return self.mcnemar.p_value if self.primary == "McNemar exact" and self.mcnemar else self.p_bootstrap

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def a_better(self) -> bool:
        return (self.difference > 0) == self.higher_is_better and self.difference != 0

    def disagreement(self) -> str | None:
        """The secondary test's p-value when it decides otherwise at 5 % than the primary, else None."""
        if self.primary != "McNemar exact" or self.mcnemar is None:
            return None
        if (self.p_bootstrap < ALPHA) != self.significant:
            return f"the paired bootstrap disagrees ({self.p_text(self.p_bootstrap)})"
        return None

    def p_text(self, p: float) -> str:
        """``p = 0.012``; a bootstrap p of 0 is only known to be below one resample in B: ``p < 0.0005``."""
        return f"p < {1 / self.n_resamples:.2g}" if p == 0 else f"p = {p:.3g}"

    def verdict(self) -> str:
        how = f"{self.primary}, {self.p_text(self.p_value)}"
        text = (f"{self.a if self.a_better else self.b} is better ({how})" if self.significant
                else f"no significant difference at {ALPHA:.0%} ({how})")
        other = self.disagreement()
        return f"{text}; {other}" if other else text

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(p_value=self.p_value, significant=self.significant, verdict=self.verdict())
        return out


def mcnemar(left: list[ItemPredictions], right: list[ItemPredictions]) -> McNemar:
    """Exact McNemar per seed pair (binomial test of the discordant items); the least significant pair."""
    from scipy.stats import binomtest

    worst = None
    for x, y in zip(left, right):
        right_a, right_b = x.predicted == x.truth, y.predicted == y.truth
        a_only, b_only = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
        p = float(binomtest(a_only, a_only + b_only, 0.5).pvalue) if a_only + b_only else 1.0
        if worst is None or p > worst.p_value:
            worst = McNemar(a_only, b_only, p, len(left))
    assert worst is not None
    return worst


def draws(per_seed: list[ItemPredictions], target: str, n_resamples: int = N_RESAMPLES,
          random_seed: int = RANDOM_SEED) -> tuple[np.ndarray, list[np.ndarray], str]:
    """One bootstrap's draws for these seeds' items: seed weights (B, seeds), item weights per seed (one matrix
    shared by all seeds when they tested the same items), and what was resampled. A fixed random seed, so the
    same items always give the same draws, and two results of one test set are drawn alike (paired)."""
    rng = np.random.default_rng(random_seed)
    seeds = seed_weights(len(per_seed), n_resamples, rng)
    shared = all(np.array_equal(per_seed[0].ids, x.ids) for x in per_seed[1:])
    designs = [design_for(per_seed[0], target)] if shared else [design_for(x, target) for x in per_seed]
    items = [d.weights(n_resamples, rng) for d in designs]
    return seeds, items * len(per_seed) if shared else items, designs[0].description


def seed_mixed(per_seed: list[ItemPredictions], target: str, metric: str, score: Any, seeds: np.ndarray,
               items: list[np.ndarray]) -> np.ndarray:
    """(B,) the metric of each resample: its drawn seeds' scores on their drawn items, averaged."""
    return sum(seeds[:, s] * metric_matrix(x, target, metric, items[s], score) for s, x in enumerate(per_seed))


def bootstrap_difference(left: list[ItemPredictions], right: list[ItemPredictions], target: str, metric: str,
                         score: Any, n_resamples: int = N_RESAMPLES,
                         random_seed: int = RANDOM_SEED) -> tuple[float, float, float, float, float, float, str]:
    """``(a, b, difference, low, high, p)`` of the paired bootstrap and what it resampled (module docstring)."""
    seeds, items, resampled = draws(left, target, n_resamples, random_seed)
    a_full = np.mean([metric_matrix(x, target, metric, np.ones((1, len(x))), score)[0] for x in left])
    b_full = np.mean([metric_matrix(y, target, metric, np.ones((1, len(y))), score)[0] for y in right])
    deltas = (seed_mixed(left, target, metric, score, seeds, items)
              - seed_mixed(right, target, metric, score, seeds, items))
    low, high, p = inverted_interval(deltas)
    return float(a_full), float(b_full), float(a_full - b_full), low, high, p, resampled


def inverted_interval(deltas: np.ndarray, alpha: float = ALPHA) -> tuple[float, float, float]:
    """``(low, high, p)`` from one bootstrap distribution, so that ``p < alpha`` iff the interval excludes 0."""
    d = np.sort(deltas[np.isfinite(deltas)])
    if len(d) == 0:
        return float("nan"), float("nan"), float("nan")
    if not d.any():
        return 0.0, 0.0, 1.0
    j = max(math.ceil(alpha * len(d) / 2) - 1, 0)
    p = min(1.0, 2 * min(int((d <= 0).sum()), int((d >= 0).sum())) / len(d))
    return float(d[j]), float(d[len(d) - 1 - j]), p


def compare_items(left: list[ItemPredictions], right: list[ItemPredictions], *, task: str, target: str, metric: str,
                  higher_is_better: bool, score: Any, names: tuple[str, str], seed_pairs: list[tuple[int, int]],
                  n_resamples: int = N_RESAMPLES, random_seed: int = RANDOM_SEED) -> Comparison:
    """The paired comparison of aligned per-seed-pair items (every row of ``left[s]`` is the item of ``right[s]``)."""
    a, b, diff, low, high, p, resampled = bootstrap_difference(left, right, target, metric, score, n_resamples,
                                                               random_seed)
    primary = "McNemar exact" if target == "class" and metric in MCNEMAR_METRICS else "paired bootstrap"
    return Comparison(task, metric, higher_is_better, names[0], names[1], seed_pairs, min(len(x) for x in left),
                      a, b, diff, low, high, p, n_resamples, resampled, primary,
                      mcnemar(left, right) if target == "class" else None)


# ---------------------------------------------------------------------------------------------- two result files


def seed_pairs(a: Any, b: Any) -> list[tuple[int, int]]:
    """Which seed of A meets which seed of B: the shared seeds, or every seed with a single deterministic run."""
    if not a.seeded or not b.seeded:
        return [(sa, sb) for sa in a.seeds for sb in b.seeds]
    shared = [s for s in a.seeds if s in b.seeds]
    if not shared:
        raise ResultsError(f"{a.backbone.name} (seeds {a.seeds}) and {b.backbone.name} (seeds {b.seeds}) share no "
                           "seed; re-run one with --seeds covering the other's")
    return [(s, s) for s in shared]


def aligned(a: ItemPredictions, b: ItemPredictions, names: tuple[str, str]) -> tuple[ItemPredictions, ItemPredictions]:
    """Both results' rows of the items both tested, in A's order."""
    for items, name in zip((a, b), names):
        if len(np.unique(items.ids)) != len(items.ids):
            raise ResultsError(f"{name}: its test item ids repeat, so items cannot be paired; the task must give unique ids")
    where = {item: i for i, item in enumerate(b.ids.tolist())}
    rows_a = np.array([i for i, item in enumerate(a.ids.tolist()) if item in where], dtype=np.int64)
    rows_b = np.array([where[item] for item in a.ids[rows_a].tolist()], dtype=np.int64)
    return a.subset(rows_a), b.subset(rows_b)


def check_same_task(a: Any, b: Any, a_name: str, b_name: str) -> None:
    for what, x, y in (("task", a.task.name, b.task.name), ("task version", a.task.version, b.task.version),
                       ("data sha256", a.task.data_sha256, b.task.data_sha256)):
        if x != y:
            raise ResultsError(f"{a_name} and {b_name} differ in {what} ({x} vs {y}); compare results of the same task and data")


def pair_items(a_rec: Any, b_rec: Any, a_items: dict[int, ItemPredictions], b_items: dict[int, ItemPredictions],
               names: tuple[str, str]) -> tuple[list[tuple[int, int]], list[ItemPredictions], list[ItemPredictions]]:
    """The seed pairs and, per pair, both results' rows of the items both tested."""
    pairs = seed_pairs(a_rec, b_rec)
    left, right = [], []
    for sa, sb in pairs:
        x, y = aligned(a_items[sa], b_items[sb], names)
        if len(x) < 2:
            raise ResultsError(f"{names[0]} and {names[1]} share {len(x)} test item(s) (seed {sa} vs {sb}); they must "
                               "have tested the same items: same task split and --limit")
        if x.truth is not None and y.truth is not None and not np.array_equal(x.truth, y.truth):
            raise ResultsError(f"{names[0]} and {names[1]} record different labels for the same items; compare results "
                               "of the same data")
        left.append(x)
        right.append(y)
    return pairs, left, right


def describe(c: Comparison) -> list[str]:
    """The lines ``radiobench compare`` prints: both scores, the bootstrap's interval, each test, one verdict."""
    arrow = "↑" if c.higher_is_better else "↓"
    seeds = sorted({s for pair in c.seed_pairs for s in pair})
    lines = [
        f"{c.task}: {c.metric} {arrow} on {c.items} shared test items, {len(c.seed_pairs)} seed pair(s) (seeds {seeds})",
        f"  A {c.a}: {c.a_score:.4f}",
        f"  B {c.b}: {c.b_score:.4f}",
        f"  A - B = {c.difference:+.4f}, 95% CI [{c.low:+.4f}, {c.high:+.4f}]; paired bootstrap {c.p_text(c.p_bootstrap)} "
        f"({c.n_resamples} resamples of {c.resampled})",
    ]
    if c.mcnemar is not None:
        m = c.mcnemar
        lines.append(f"  McNemar exact p = {m.p_value:.3g} (A right and B wrong on {m.a_only} items, B right and A wrong "
                     f"on {m.b_only}; the least significant of {m.seed_pairs} seed pair(s))")
    lines.append(f"  verdict ({c.primary} is this metric's primary test): {c.verdict()}")
    return lines


def compare_files(a_path: Path, b_path: Path, a_rec: Any, b_rec: Any, a_items: dict[int, ItemPredictions],
                  b_items: dict[int, ItemPredictions], target: str, score: Any, metric: str | None = None,
                  higher_is_better: bool | None = None, n_resamples: int = N_RESAMPLES) -> Comparison:
    """Paired comparison of two read results (their records and per-item predictions)."""
    a_name, b_name = a_rec.backbone.name, b_rec.backbone.name
    if a_name == b_name and a_rec.protocol.id == b_rec.protocol.id:
        a_name, b_name = str(a_path), str(b_path)
    check_same_task(a_rec, b_rec, a_name, b_name)
    metric = metric or a_rec.main_score.name
    if metric not in a_rec.metrics:
        raise ResultsError(f"metric {metric!r} is not one of {a_rec.task.name}'s metrics ({', '.join(a_rec.metrics)})")
    higher = a_rec.main_score.higher_is_better if higher_is_better is None else higher_is_better
    pairs, left, right = pair_items(a_rec, b_rec, a_items, b_items, (a_name, b_name))
    return compare_items(left, right, task=a_rec.task.name, target=target, metric=metric, higher_is_better=higher,
                         score=score, names=(a_name, b_name), seed_pairs=pairs, n_resamples=n_resamples)

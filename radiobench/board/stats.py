"""Paired comparisons of two results on the test items both scored.

Two backbones' scores on the same test set are not independent: most items are easy or
hard for both. A paired test uses that, so it can tell apart models whose separate intervals
overlap. For two results of one task it takes the items both tested (by item id, per seed
both ran; a single deterministic run pairs with every seed of the other) and reports:

- the **paired bootstrap** of the main-metric difference A - B: the resampling plan of
  :mod:`radiobench.results.bootstrap` (seeds, then items within strata, the same draw for A
  and B), its 95 % percentile interval and the two-sided p-value read from the same
  resamples, ``p = min(1, 2 min(#{d* <= 0} + 1, #{d* >= 0} + 1) / (B + 1))``, so "the
  interval excludes 0" and "p < 0.05" agree; identical predictions give p = 1.
- for classification, **McNemar's exact test** on the items one result gets right and the
  other wrong (``scipy.stats.binomtest`` on the discordant pairs), per seed pair; the
  largest p-value over seed pairs is reported (seeds are not independent samples, so
  their discordant counts are not pooled).

The leaderboard's "not significantly worse than the best" marks come from the paired
bootstrap against each task's best row (:func:`tied_with_best`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import ResultsError
from radiobench.kinds import get_kind
from radiobench.results import ResultRecord, bootstrap
from radiobench.results.predictions import ItemPredictions, read_predictions
from radiobench.results.scoring import Scorer, scorer_for_record

ALPHA = 0.05


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
    low: float
    high: float
    p_value: float
    n_resamples: int
    strata: str
    mcnemar: McNemar | None = None

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA

    @property
    def a_better(self) -> bool:
        return (self.difference > 0) == self.higher_is_better and self.difference != 0

    def verdict(self) -> str:
        if not self.significant:
            return f"no significant difference at {ALPHA:.0%} (p = {self.p_value:.3g})"
        winner = self.a if self.a_better else self.b
        return f"{winner} is better (p = {self.p_value:.3g})"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["significant"] = self.significant
        out["verdict"] = self.verdict()
        return out


def _pairs(a: ResultRecord, b: ResultRecord) -> list[tuple[int, int]]:
    """Which seed of A meets which seed of B: the shared seeds, or every seed with a single deterministic run."""
    if not a.seeded or not b.seeded:
        return [(sa, sb) for sa in a.seeds for sb in b.seeds]
    shared = [s for s in a.seeds if s in b.seeds]
    if not shared:
        raise ResultsError(f"{a.backbone.name} (seeds {a.seeds}) and {b.backbone.name} (seeds {b.seeds}) share no "
                           "seed; re-run one with --seeds covering the other's")
    return [(s, s) for s in shared]


def _aligned(a: ItemPredictions, b: ItemPredictions, names: tuple[str, str]) -> tuple[ItemPredictions, ItemPredictions]:
    """Both results' rows of the items both tested, in A's order."""
    for items, name in zip((a, b), names):
        if len(np.unique(items.ids)) != len(items.ids):
            raise ResultsError(f"{name}: its test item ids repeat, so items cannot be paired; the task must give unique ids")
    where = {item: i for i, item in enumerate(b.ids.tolist())}
    rows_a = np.array([i for i, item in enumerate(a.ids.tolist()) if item in where], dtype=np.int64)
    rows_b = np.array([where[item] for item in a.ids[rows_a].tolist()], dtype=np.int64)
    return a.subset(rows_a), b.subset(rows_b)


def _check_same_task(a: ResultRecord, b: ResultRecord, a_name: str, b_name: str) -> None:
    for what, x, y in (("task", a.task.name, b.task.name), ("task version", a.task.version, b.task.version),
                       ("data sha256", a.task.data_sha256, b.task.data_sha256)):
        if x != y:
            raise ResultsError(f"{a_name} and {b_name} differ in {what} ({x} vs {y}); compare results of the same task and data")


def compare(a_path: Path, b_path: Path, metric: str | None = None, n_resamples: int = bootstrap.N_RESAMPLES,
            random_seed: int = bootstrap.RANDOM_SEED, scorer: Scorer | None = None,
            records: tuple[ResultRecord, ResultRecord] | None = None) -> Comparison:
    """Paired test of result A against result B (files with their sidecars); see the module docstring."""
    a_rec, b_rec = records or (ResultRecord.read(a_path), ResultRecord.read(b_path))
    a_name, b_name = a_rec.backbone.name, b_rec.backbone.name
    if a_name == b_name and a_rec.protocol.id == b_rec.protocol.id:
        a_name, b_name = str(a_path), str(b_path)
    _check_same_task(a_rec, b_rec, a_name, b_name)
    metric = metric or a_rec.main_score.name
    kind = get_kind(a_rec.task.kind)
    higher = kind.metrics[metric].higher_is_better if metric in kind.metrics else a_rec.main_score.higher_is_better
    a_items, b_items = read_predictions(a_path, a_rec), read_predictions(b_path, b_rec)
    pairs = _pairs(a_rec, b_rec)
    left, right = [], []
    for sa, sb in pairs:
        x, y = _aligned(a_items[sa], b_items[sb], (a_name, b_name))
        if len(x) < 2:
            raise ResultsError(f"{a_name} and {b_name} share {len(x)} test item(s) (seed {sa} vs {sb}); they must "
                               "have tested the same items: same task split and --limit")
        if x.truth is not None and y.truth is not None and not np.array_equal(x.truth, y.truth):
            raise ResultsError(f"{a_name} and {b_name} record different labels for the same items; compare results "
                               "of the same data")
        left.append(x)
        right.append(y)
    score = scorer or scorer_for_record(a_rec)

    def value(items: ItemPredictions, rows: np.ndarray | None) -> float:
        return float(score(*items.score_args(rows))[metric])

    def evaluate(s: int, rows: np.ndarray) -> np.ndarray:
        try:
            va, vb = value(left[s], rows), value(right[s], rows)
        except Exception:  # noqa: BLE001 - a resample the metric is undefined on
            return np.full(3, np.nan)
        return np.array([va - vb, va, vb])

    if metric not in score(*left[0].score_args()):
        raise ResultsError(f"metric {metric!r} is not one of {a_rec.task.name}'s metrics ({', '.join(a_rec.metrics)})")
    plan = bootstrap.plan(left, kind.target)
    point, low, high, distribution = bootstrap.run(plan, evaluate, n_resamples, random_seed=random_seed,
                                                   method="percentile")
    deltas = distribution[0]
    deltas = deltas[np.isfinite(deltas)]
    below, above = int((deltas <= 0).sum()), int((deltas >= 0).sum())
    p_value = min(1.0, 2 * min(below + 1, above + 1) / (len(deltas) + 1))
    return Comparison(
        task=a_rec.task.name, metric=metric, higher_is_better=higher, a=a_name, b=b_name, seed_pairs=pairs,
        items=min(len(x) for x in left), a_score=float(point[1]), b_score=float(point[2]), difference=float(point[0]),
        low=float(low[0]), high=float(high[0]), p_value=p_value, n_resamples=n_resamples, strata=plan.strata,
        mcnemar=mcnemar(left, right) if kind.target == "class" else None,
    )


CACHE_FORMAT = 1  # bump when a comparison's computation changes


def cached_compare(a_path: Path, b_path: Path, records: tuple[ResultRecord, ResultRecord],
                   n_resamples: int = bootstrap.N_RESAMPLES, scorer: Scorer | None = None) -> Comparison:
    """:func:`compare`, remembered on disk by what decides its answer.

    A leaderboard page runs a paired bootstrap of every row against its task's best (a few
    seconds each: 2000 resamples of up to five seeds), and every page and format asks again.
    The answer depends only on both sidecars (their sha256, checked again), the main metric, the
    resampling settings, the task's version (its scorer) and this code, so those are the key;
    a record without a sidecar is computed (and refused) as before. Entries are written
    atomically under ``$RADIOBENCH_CACHE/comparisons``; an unreadable one is recomputed.
    """
    import hashlib
    import json

    from radiobench import __version__
    from radiobench.io.atomic import write_text_atomic
    from radiobench.io.datafiles import cache_root

    from radiobench.io.download import sha256_file

    a, b = records
    sidecars = [(path.with_name(r.predictions.file), r.predictions.sha256) for path, r in zip((a_path, b_path), records)
                if r.predictions is not None]
    if len(sidecars) < 2 or not all(f.is_file() and sha256_file(f) == sha for f, sha in sidecars):
        return compare(a_path, b_path, n_resamples=n_resamples, scorer=scorer, records=records)  # it says what is wrong
    fields = {"format": CACHE_FORMAT, "radiobench": __version__, "a": a.predictions.sha256, "b": b.predictions.sha256,
              "a_name": a.backbone.name, "b_name": b.backbone.name, "metric": a.main_score.name,
              "task": [a.task.name, a.task.version, b.task.version], "seeds": [a.seeds, b.seeds],
              "n_resamples": n_resamples, "random_seed": bootstrap.RANDOM_SEED}
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    path = cache_root() / "comparisons" / f"{key[:32]}.json"
    try:
        stored = json.loads(path.read_text())
        if stored.get("key") == key:
            found = stored["comparison"]
            found["seed_pairs"] = [tuple(pair) for pair in found["seed_pairs"]]
            found["mcnemar"] = McNemar(**found["mcnemar"]) if found["mcnemar"] else None
            return Comparison(**found)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    result = compare(a_path, b_path, n_resamples=n_resamples, scorer=scorer, records=records)
    plain = asdict(result)
    write_text_atomic(path, json.dumps({"key": key, "fields": fields, "comparison": plain}))
    return result


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


def describe(c: Comparison) -> list[str]:
    """The lines ``radiobench compare`` prints."""
    arrow = "↑" if c.higher_is_better else "↓"
    seeds = sorted({s for pair in c.seed_pairs for s in pair})
    lines = [
        f"{c.task}: {c.metric} {arrow} on {c.items} shared test items, {len(c.seed_pairs)} seed pair(s) (seeds {seeds})",
        f"  A {c.a}: {c.a_score:.4f}",
        f"  B {c.b}: {c.b_score:.4f}",
        f"  A - B = {c.difference:+.4f}, 95% CI [{c.low:+.4f}, {c.high:+.4f}], p = {c.p_value:.3g} "
        f"(paired bootstrap, {c.n_resamples} resamples, strata: {c.strata})",
    ]
    if c.mcnemar is not None:
        m = c.mcnemar
        lines.append(f"  McNemar exact p = {m.p_value:.3g} (A right and B wrong on {m.a_only} items, B right and A wrong "
                     f"on {m.b_only}; the least significant of {m.seed_pairs} seed pair(s))")
    lines.append(f"  {c.verdict()}")
    return lines


def tied_with_best(paths: dict[str, Path], records: dict[str, ResultRecord], best: str,
                   n_resamples: int = bootstrap.N_RESAMPLES) -> dict[str, tuple[bool | None, float | None, str]]:
    """Per backbone of one task: (not significantly worse than ``best``?, p-value, how decided).

    A paired bootstrap where both results have their sidecars; otherwise overlapping 95 %
    intervals (a looser rule: overlapping intervals do not prove a tie); otherwise None.
    """
    out: dict[str, tuple[bool | None, float | None, str]] = {best: (True, None, "best")}
    for name, record in records.items():
        if name == best:
            continue
        try:
            c = cached_compare(paths[best], paths[name], (records[best], record), n_resamples)
            out[name] = (not (c.significant and c.a_better), c.p_value, "paired")
            continue
        except ResultsError:
            pass
        mine, top = record.interval(), records[best].interval()
        if mine is not None and top is not None:
            out[name] = (mine[0] <= top[1] and top[0] <= mine[1], None, "overlap")
        else:
            out[name] = (None, None, "unknown")
    return out

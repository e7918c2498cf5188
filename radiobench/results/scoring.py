"""Scoring thousands of resamples: numpy versions of the kinds' default metrics, and which scorer a task gets.

A bootstrap scores every metric a few thousand times per seed. scikit-learn's metrics
check and convert their inputs on every call (6 ms for a MiraBest test set, 30 ms for the
1031 ranked Protege items), which made an interval cost minutes; these compute the same
definitions directly (to float rounding; ``tests/test_stats.py`` compares them with
scikit-learn's). A run scores resamples with its task's own ``score`` where the task overrides it
(:func:`radiobench.run.installed.scorer_for`); a board, which reads files alone, with its kind's. Detection
resamples go through :mod:`radiobench.results.coco`, which matches boxes once per image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from radiobench.kinds import INTERESTING

Scorer = Callable[[Any, Any], dict[str, float]]


def classification(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """accuracy, error, f1_macro, balanced_accuracy over the labels either array holds (scikit-learn's rules)."""
    t, p = np.asarray(y_true).astype(np.int64), np.asarray(y_pred).astype(np.int64)
    labels, index = np.unique(np.concatenate([t, p]), return_inverse=True)
    k = len(labels)
    counts = np.bincount(index[: len(t)] * k + index[len(t):], minlength=k * k).reshape(k, k)
    hits = np.diag(counts).astype(float)
    truth_total, predicted_total = counts.sum(axis=1), counts.sum(axis=0)
    accuracy = float(hits.sum() / len(t))
    denominator = truth_total + predicted_total  # 2 tp + fp + fn
    f1 = np.divide(2 * hits, denominator, out=np.zeros(k), where=denominator > 0)
    present = truth_total > 0  # balanced accuracy: recall of the classes the truth has
    return {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "f1_macro": float(f1.mean()),
        "balanced_accuracy": float((hits[present] / truth_total[present]).mean()),
    }


def regression(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """mse, mae and R^2 (a constant truth scores 1 if matched exactly, else 0, as scikit-learn's ``force_finite``)."""
    t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    residual = t - p
    ss_res = float(residual @ residual)
    centred = t - t.mean()
    ss_tot = float(centred @ centred)
    r2 = (1.0 if ss_res == 0 else 0.0) if ss_tot == 0 else 1.0 - ss_res / ss_tot
    return {"mse": ss_res / len(t), "mae": float(np.abs(residual).mean()), "r2": r2}


def average_precision(positive: np.ndarray, score: np.ndarray) -> float:
    """Step-wise AP over the distinct score thresholds (tied scores enter together), as scikit-learn's."""
    order = np.argsort(-score, kind="mergesort")
    s, hit = score[order], positive[order].astype(float)
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last row of each run of tied scores
    tps = np.cumsum(hit)[last]
    precision = tps / (last + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _discount(n: int, k: int | None) -> np.ndarray:
    discount = 1 / np.log2(np.arange(n) + 2)
    if k is not None:
        discount[k:] = 0
    return discount


def ndcg(y_true: np.ndarray, y_score: np.ndarray, k: int | None = None) -> float:
    """Normalised DCG with tied scores sharing their gains (scikit-learn's ``ndcg_score`` for one ranking)."""
    discount = _discount(len(y_true), k)
    cumulative = np.cumsum(discount)
    _, inverse, counts = np.unique(-y_score, return_inverse=True, return_counts=True)
    ranked = np.zeros(len(counts))
    np.add.at(ranked, inverse, y_true)
    ranked /= counts
    ends = np.cumsum(counts) - 1
    sums = np.empty(len(counts))
    sums[0] = cumulative[ends[0]]
    sums[1:] = np.diff(cumulative[ends])
    gain = float((ranked * sums).sum())
    ideal = float(np.sort(y_true)[::-1] @ discount)
    return gain / ideal if ideal > 0 else 0.0


def ranking(y_true: np.ndarray, y_score: np.ndarray, interesting: float = INTERESTING) -> dict[str, float]:
    """The ranking kind's metrics (:func:`radiobench.kinds.ranking_scores`)."""
    from scipy.stats import rankdata

    t, s = np.asarray(y_true, dtype=float), np.asarray(y_score, dtype=float)
    positive = t >= interesting
    if np.ptp(t) == 0 or np.ptp(s) == 0:
        spearman = 0.0
    else:
        spearman = float(np.corrcoef(rankdata(t), rankdata(s))[0, 1])
    return {
        "average_precision": average_precision(positive, s) if positive.any() else float("nan"),
        "ap_chance": float(positive.mean()),
        "ndcg": ndcg(t, s),
        "ndcg_at_50": ndcg(t, s, 50),
        "spearman": spearman,
    }


FAST = {"class": classification, "value": regression, "graded": ranking}


def default_scorer(record: Any) -> Scorer:
    """The scorer of a result's kind, from the record alone: what the board and ``compare`` test with.

    A task that overrides ``score`` for one of its kind's metrics is caught by the agreement check
    (:mod:`radiobench.results.agreement`), not trusted; one that only adds metrics scores the same.
    """
    from radiobench.kinds import get_kind

    target = get_kind(record.task.kind).target
    if target == "boxes":
        from radiobench.results.coco import DetectionScorer

        return DetectionScorer(tuple(record.task.classes))
    return FAST[target]

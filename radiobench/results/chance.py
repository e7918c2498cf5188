"""Chance levels: the best main score a predictor without skill reaches on a test set's own labels.

"Above chance" only means something against the strongest predictor that learns nothing
from the images. For classification there are three standard ones (scikit-learn's
``DummyClassifier`` strategies): always the majority class, a guess drawn from the class
frequencies ("stratified"), and a uniform guess. Which is strongest depends on the metric:
the majority wins on error, but scores only 1/k of one class's F1 on macro-F1, where a
uniform guess does better. Each is computed exactly (its expectation for the random ones)
from the test labels, and the best is named with its strategy.
"""

from __future__ import annotations

import numpy as np

from radiobench.kinds import INTERESTING


def no_skill(truth: np.ndarray, target: str, metric: str) -> tuple[float, str] | None:
    """``(score, which predictor)`` of the best no-skill predictor, or None when none is defined here."""
    truth = np.asarray(truth)
    if target == "class":
        return _classification(truth, metric)
    if target == "value" and metric in ("r2", "mse", "mae"):
        t = truth.astype(float)
        values = {"r2": (0.0, "the mean of the test targets (R² 0)"),
                  "mse": (float(t.var()), "the mean of the test targets: its MSE is their variance"),
                  "mae": (float(np.abs(t - np.median(t)).mean()), "the median of the test targets")}
        return values[metric]
    if target == "graded" and metric == "average_precision":
        return float((truth >= INTERESTING).mean()), "a random ranking (expected AP: the share of interesting items)"
    if target == "boxes" and metric.startswith("map"):
        return 0.0, "no detections"
    return None


def _classification(truth: np.ndarray, metric: str) -> tuple[float, str] | None:
    _, counts = np.unique(truth, return_counts=True)
    prior = counts / counts.sum()
    k = len(prior)
    majority = float(prior.max())
    if metric in ("error", "accuracy"):
        scores = {"always the majority class": majority, "a guess from the class frequencies": float(prior @ prior),
                  "a uniform guess": 1.0 / k}
    elif metric == "f1_macro":
        # majority: F1 2p/(1+p) on its class, 0 on the others; stratified: per class precision = recall = p;
        # uniform: precision p, recall 1/k (expectations of the confusion counts)
        scores = {"always the majority class": 2 * majority / (1 + majority) / k,
                  "a guess from the class frequencies": float(prior.mean()),
                  "a uniform guess": float(np.mean(2 * prior / k / (prior + 1 / k)))}
    elif metric == "balanced_accuracy":
        scores = {"any guess (recall 1/k per class on average)": 1.0 / k}
    else:
        return None
    best = max(scores, key=scores.get)
    if metric == "error":
        return 1.0 - scores[best], best
    return scores[best], best

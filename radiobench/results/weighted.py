"""Main scores of every bootstrap resample at once: a resample is a row of item weights, not a list of rows.

Drawing test items with replacement gives each item a count (0, 1, 2, ...). Every metric a
board ranks by is a function of those counts: error and macro-F1 of the weighted confusion
matrix, R² and MSE of weighted sums, AP of a weighted cumulative sum over the score order
(which is the same for every resample), COCO mAP of weighted cumulative true and false
positives over the detections' score order. So 2000 resamples are one matrix product or
one cumulative sum over a ``(resamples, items)`` array instead of 2000 calls of a scorer,
which is what makes a board of all-pairs paired tests render in seconds. Each function
equals :mod:`radiobench.results.scoring`'s (or :class:`~radiobench.results.coco.DetectionScorer`'s)
value on the resampled list of rows to float rounding; ``tests/test_weighted.py`` checks it.

A metric without a weighted form here is scored resample by resample (:func:`by_rows`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

WeightedMetric = Callable[[Any, np.ndarray], np.ndarray]  # (items, weights (B, n)) -> (B,)


def _confusion(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(B, k, k) weighted confusion counts over the labels either array holds (rows: truth)."""
    t, p = np.asarray(truth).astype(np.int64), np.asarray(predicted).astype(np.int64)
    _, index = np.unique(np.concatenate([t, p]), return_inverse=True)
    k = int(index.max()) + 1
    code = index[: len(t)] * k + index[len(t):]
    onehot = np.zeros((len(t), k * k))
    onehot[np.arange(len(t)), code] = 1.0
    return (weights @ onehot).reshape(-1, k, k)


def classification(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """error, accuracy, f1_macro and balanced_accuracy per resample; a class absent from a resample's truth and
    predictions leaves its macro averages, as scikit-learn's label set does."""
    counts = _confusion(truth, predicted, weights)
    hits = np.einsum("bkk->bk", counts)
    truth_total, predicted_total = counts.sum(axis=2), counts.sum(axis=1)
    accuracy = hits.sum(axis=1) / counts.sum(axis=(1, 2))
    denominator = truth_total + predicted_total
    present = denominator > 0
    f1 = np.divide(2 * hits, denominator, out=np.zeros_like(hits), where=present)
    has_truth = truth_total > 0
    recall = np.divide(hits, truth_total, out=np.zeros_like(hits), where=has_truth)
    return {
        "accuracy": accuracy,
        "error": 1.0 - accuracy,
        "f1_macro": f1.sum(axis=1) / present.sum(axis=1),
        "balanced_accuracy": recall.sum(axis=1) / has_truth.sum(axis=1),
    }


def regression(truth: np.ndarray, predicted: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    """mse, mae and R² per resample (a constant resampled truth scores R² 1 if matched exactly, else 0)."""
    t, p = np.asarray(truth, dtype=float), np.asarray(predicted, dtype=float)
    n = weights.sum(axis=1)
    residual = t - p
    ss_res = weights @ (residual * residual)
    centre = t.mean()  # centring first keeps the weighted variance exact in floating point
    c = t - centre
    mean_c = (weights @ c) / n
    ss_tot = weights @ (c * c) - n * mean_c * mean_c
    ss_tot = np.where(np.abs(ss_tot) <= 1e-12 * np.maximum(weights @ (c * c), 1e-300), 0.0, ss_tot)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return {"mse": ss_res / n, "mae": (weights @ np.abs(residual)) / n, "r2": r2}


def average_precision(positive: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Step-wise AP with tied scores entering together, per resample; NaN where a resample holds no positive."""
    order = np.argsort(-np.asarray(score, dtype=float), kind="mergesort")
    s, hit = np.asarray(score, dtype=float)[order], np.asarray(positive, dtype=float)[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the last row of each run of tied scores
    w = weights[:, order]
    tps = np.cumsum(w * hit, axis=1)[:, last]
    seen = np.cumsum(w, axis=1)[:, last]
    precision = np.divide(tps, seen, out=np.zeros_like(tps), where=seen > 0)
    total = tps[:, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tps / total
        ap = np.sum(np.diff(np.concatenate([np.zeros((len(w), 1)), recall], axis=1), axis=1) * precision, axis=1)
    return np.where(total[:, 0] > 0, ap, np.nan)


def detection_map(scorer: Any, targets: list[dict[str, Any]], detections: list[dict[str, Any]],
                  weights: np.ndarray) -> dict[str, np.ndarray]:
    """COCO ``map`` and ``map_50`` per resample of images, from the scorer's per-image matches.

    pycocotools accumulates a class's detections over the images sorted by score; with image
    weights that order is fixed and each detection counts as often as its image was drawn.
    """
    from radiobench.results.coco import _grid

    thresholds, points = _grid()
    images = [scorer._image(t, d)[False] for t, d in zip(targets, detections)]
    classes = sorted({c for im in images for c in im})
    n_b = len(weights)
    total = np.zeros((n_b, 2))  # sums of the per-class means over IoU thresholds, and at IoU .5
    valid = np.zeros(n_b)
    for c in classes:
        parts = [(i, im[c]) for i, im in enumerate(images) if c in im]
        owner = np.concatenate([np.full(len(s), i) for i, (s, _, _) in parts]).astype(np.int64)
        scores = np.concatenate([s for _, (s, _, _) in parts])
        state = np.concatenate([m for _, (_, m, _) in parts], axis=1)
        truths = np.zeros(len(targets))
        for i, (_, _, n) in parts:
            truths[i] = n
        order = np.argsort(-scores, kind="mergesort")
        n_true = weights @ truths  # (B,)
        has = n_true > 0
        curve = _interpolated(weights, owner[order], state[:, order], np.where(has, n_true, 1.0), points)
        total[has, 0] += curve[has].mean(axis=(1, 2))
        total[has, 1] += curve[has, 0].mean(axis=1)
        valid += has
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / valid[:, None]
    mean = np.where(valid[:, None] > 0, np.maximum(mean, 0.0), 0.0)  # no true box anywhere: -1, shown as 0
    return {"map": mean[:, 0], "map_50": mean[:, 1]}


def _interpolated(weights: np.ndarray, owner: np.ndarray, state: np.ndarray, n_true: np.ndarray,
                  points: np.ndarray) -> np.ndarray:
    """(B, thresholds, points) interpolated precision of weighted detections in score order (``accumulate``).

    Recall rises only at true positives, so the first position reaching a recall point is a
    true positive, and the precision envelope (the maximum to the right) there is a maximum
    over true positives only. So per threshold only the true positives' cumulative counts are
    needed: per image, then weighted by a matrix product, never a (B, detections) array.
    """
    n_images = weights.shape[1]
    out = np.zeros((len(weights), len(state), len(points)))
    onehot = np.zeros((n_images, state.shape[1]))
    onehot[owner, np.arange(state.shape[1])] = 1.0
    rows = np.arange(len(weights))[:, None]
    for t, row in enumerate(state):
        hits = np.flatnonzero(row == 1)
        if not len(hits):
            continue
        tp = weights @ np.cumsum(onehot * (row == 1), axis=1)[:, hits]
        fp = weights @ np.cumsum(onehot * (row == 0), axis=1)[:, hits]
        recall = tp / n_true[:, None]
        precision = tp / (fp + tp + np.spacing(1))
        precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        # searchsorted of every resample's row at once: rows offset by 2 so the flat array stays sorted
        flat = (recall + 2.0 * rows).ravel()
        at = np.searchsorted(flat, (points[None, :] + 2.0 * rows).ravel(), side="left").reshape(len(weights), -1)
        at -= rows * len(hits)
        inside = at < len(hits)
        out[:, t] = np.where(inside, np.take_along_axis(precision, np.minimum(at, len(hits) - 1), axis=1), 0.0)
    return out


def by_rows(score: Callable[[Any, Any], dict[str, float]], items: Any, metric: str, weights: np.ndarray) -> np.ndarray:
    """Any scorer, one resample at a time (the rows each drawn as often as its weight says)."""
    out = np.empty(len(weights))
    index = np.arange(weights.shape[1])
    for b, row in enumerate(weights):
        try:
            out[b] = score(*items.score_args(np.repeat(index, row.astype(np.int64))))[metric]
        except Exception:  # noqa: BLE001 - a resample the metric is undefined on
            out[b] = np.nan
    return out


FAST_METRICS = {"class": ("accuracy", "error", "f1_macro", "balanced_accuracy"), "value": ("mse", "mae", "r2"),
                "graded": ("average_precision",), "boxes": ("map", "map_50")}


def metric_matrix(items: Any, target: str, metric: str, weights: np.ndarray, score: Any) -> np.ndarray:
    """``metric`` of ``items`` under every row of ``weights``: the weighted form where there is one."""
    from radiobench.results.scoring import FAST

    default = target in FAST and score is FAST[target]  # another scorer is called as it is
    if metric in FAST_METRICS.get(target, ()) and (default or target == "boxes"):
        if target == "class":
            return classification(items.truth, items.predicted, weights)[metric]
        if target == "value":
            return regression(items.truth, items.predicted, weights)[metric]
        if target == "graded":
            from radiobench.kinds import INTERESTING

            return average_precision(np.asarray(items.truth) >= INTERESTING, np.asarray(items.predicted), weights)
        from radiobench.results.coco import DetectionScorer

        if isinstance(score, DetectionScorer):
            return detection_map(score, items.targets, items.detections, weights)[metric]
    return by_rows(score, items, metric, weights)

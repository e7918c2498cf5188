"""COCO mAP of resampled images without re-running the COCO evaluation for every resample.

Resampling test images (the detection bootstrap) calls :func:`radiobench.tasks.detection.detection_scores`
thousands of times; through torchmetrics and pycocotools that is about half a second each.
Yet COCO's evaluation matches detections to true boxes image by image (``evaluateImg``);
only the accumulation (``accumulate``: all images' detections sorted by score, precision
interpolated at 101 recall points) depends on which images are in a resample. So each
image is matched once, here, exactly as pycocotools does (area "all", at most 100
detections per image, IoU thresholds .50:.05:.95, no crowd boxes), and each resample only
accumulates. ``tests/test_stats.py`` checks the result against ``detection_scores``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_DETECTIONS = 100


@functools.cache
def _grid() -> tuple[np.ndarray, np.ndarray]:
    """torchmetrics' IoU thresholds and recall points: float32 ``torch.linspace`` values, as it hands them to pycocotools."""
    import torch

    return np.array(torch.linspace(0.5, 0.95, 10).tolist()), np.array(torch.linspace(0.0, 1.0, 101).tolist())


def _xywh(boxes: Any) -> np.ndarray:
    """xyxy float32 -> xywh float64, via float32 differences as torchmetrics' box_convert makes them."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1).astype(np.float64)


def _iou(d: np.ndarray, g: np.ndarray) -> np.ndarray:
    """pycocotools' ``bbIou`` (xywh, no crowd boxes): (len(d), len(g))."""
    w = np.minimum(d[:, None, 0] + d[:, None, 2], g[None, :, 0] + g[None, :, 2]) - np.maximum(d[:, None, 0], g[None, :, 0])
    h = np.minimum(d[:, None, 1] + d[:, None, 3], g[None, :, 1] + g[None, :, 3]) - np.maximum(d[:, None, 1], g[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = (d[:, 2] * d[:, 3])[:, None] + (g[:, 2] * g[:, 3])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=inter > 0)


AREA_RANGE = (0.0, 1e10)  # COCO's area "all" (1e5 ** 2); a box of negative width has negative area and is outside


def _outside(boxes: np.ndarray) -> np.ndarray:
    area = boxes[:, 2] * boxes[:, 3]
    return (area < AREA_RANGE[0]) | (area > AREA_RANGE[1])


def _match(dt: np.ndarray, scores: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """One image and class, as ``evaluateImg``: the top-100 detections' scores, their state per IoU threshold
    (1: true positive, 0: false positive, -1: ignored) and the number of true boxes that count.

    A true box outside the area range is ignored (sorted last, matched only when nothing else is);
    so is an unmatched detection outside it, or one matched to an ignored true box.
    """
    thresholds, _ = _grid()
    gt_ignored = _outside(gt)
    gt = gt[np.argsort(gt_ignored, kind="mergesort")]
    gt_ignored = np.sort(gt_ignored, kind="mergesort")
    order = np.argsort(-scores, kind="mergesort")[:MAX_DETECTIONS]
    dt, scores = dt[order], scores[order]
    state = np.zeros((len(thresholds), len(dt)), dtype=np.int8)
    if len(gt) and len(dt):
        ious = _iou(dt, gt)
        floor = np.minimum(thresholds, 1 - 1e-10)[:, None]  # (T, 1)
        taken = np.zeros((len(thresholds), len(gt)), dtype=bool)
        last = len(gt) - 1 - np.arange(len(gt))  # argmax over reversed columns finds the last maximum
        for d in np.flatnonzero(ious.max(axis=1) >= floor.min()):  # below every threshold: a false positive
            # for every threshold at once: the last free box of the highest IoU >= threshold, preferring boxes
            # that count (pycocotools stops at the ignored ones, sorted last, once it holds one that counts)
            candidate = ~taken & (ious[d][None, :] >= floor)
            counted = candidate & ~gt_ignored[None, :]
            pool = np.where(counted.any(axis=1, keepdims=True), counted, candidate)
            score = np.where(pool, ious[d][None, :], -np.inf)
            top = score.max(axis=1, keepdims=True)
            m = last[np.argmax((score == top)[:, ::-1], axis=1)]
            hit = np.flatnonzero(pool.any(axis=1))
            taken[hit, m[hit]] = True
            state[hit, d] = np.where(gt_ignored[m[hit]], -1, 1)
    state[(state == 0) & _outside(dt)[None, :]] = -1
    return scores, state, int((~gt_ignored).sum())


class DetectionScorer:
    """``detection_scores`` for resamples of the same images: matching cached per (truth, detections) pair.

    Called with lists of the per-image dicts of an ``ItemPredictions`` (repeats allowed); the
    cache is keyed by those dicts' identity and holds them, so a key is never reused.
    """

    def __init__(self, classes: Sequence[str]):
        self.classes = tuple(classes)
        self._cache: dict[tuple[int, int], tuple[Any, Any, dict[bool, dict[int, tuple[np.ndarray, np.ndarray, int]]]]] = {}

    def _image(self, target: dict[str, Any], found: dict[str, Any]) -> dict[bool, dict[int, tuple[np.ndarray, np.ndarray, int]]]:
        key = (id(target), id(found))
        hit = self._cache.get(key)
        if hit is not None:
            return hit[2]
        gt, gt_labels = _xywh(target["boxes"]), np.asarray(target["labels"], dtype=np.int64).reshape(-1)
        dt, dt_labels = _xywh(found["boxes"]), np.asarray(found["labels"], dtype=np.int64).reshape(-1)
        scores = np.asarray(found["scores"], dtype=np.float32).astype(np.float64).reshape(-1)
        out: dict[bool, dict[int, tuple[np.ndarray, np.ndarray, int]]] = {}
        for agnostic in (False, True):
            g_lab = np.zeros_like(gt_labels) if agnostic else gt_labels
            d_lab = np.zeros_like(dt_labels) if agnostic else dt_labels
            out[agnostic] = {int(c): _match(dt[d_lab == c], scores[d_lab == c], gt[g_lab == c])
                             for c in np.union1d(g_lab, d_lab).tolist()}
        self._cache[key] = (target, found, out)
        return out

    def __call__(self, targets: list[dict[str, Any]], detections: list[dict[str, Any]]) -> dict[str, float]:
        images = [self._image(t, d) for t, d in zip(targets, detections)]
        multi = len(self.classes) > 1
        scores = _summary([im[False] for im in images])
        out = {"map": scores["map"], "map_50": scores["map_50"], "map_75": scores["map_75"]}
        if multi:
            for c, ap in sorted(scores["per_class"].items()):
                if ap >= 0 and c < len(self.classes):
                    out[f"ap_{self.classes[c]}"] = ap
            agnostic = _summary([im[True] for im in images])
        else:
            agnostic = scores
        out["map_agnostic"], out["map_50_agnostic"] = agnostic["map"], agnostic["map_50"]
        return {k: max(v, 0.0) if k.startswith("map") else v for k, v in out.items()}


def _precision(per_image: list[tuple[np.ndarray, np.ndarray, int]]) -> np.ndarray | None:
    """``accumulate`` for one class: (thresholds, 101) interpolated precision, None when it has no true box."""
    thresholds, points = _grid()
    truths = sum(n for _, _, n in per_image)
    if truths == 0:
        return None
    scores = np.concatenate([s for s, _, _ in per_image])
    state = np.concatenate([m for _, m, _ in per_image], axis=1)
    state = state[:, np.argsort(-scores, kind="mergesort")]
    tp = np.cumsum(state == 1, axis=1, dtype=float)
    fp = np.cumsum(state == 0, axis=1, dtype=float)
    out = np.zeros((len(thresholds), len(points)))
    if state.shape[1] == 0:
        return out
    recall = tp / truths
    precision = tp / (fp + tp + np.spacing(1))
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]  # the envelope from the right
    for t in range(len(thresholds)):
        at = np.searchsorted(recall[t], points, side="left")
        inside = at < state.shape[1]
        out[t, inside] = precision[t, at[inside]]
    return out


def _summary(images: list[dict[int, tuple[np.ndarray, np.ndarray, int]]]) -> dict[str, Any]:
    classes = sorted({c for im in images for c in im})
    curves = {c: _precision([im[c] for im in images if c in im]) for c in classes}
    valid = [p for p in curves.values() if p is not None]

    def mean(rows: slice | int) -> float:
        return float(np.mean([p[rows] for p in valid])) if valid else -1.0

    return {"map": mean(slice(None)), "map_50": mean(0), "map_75": mean(5),
            "per_class": {c: (float(p.mean()) if p is not None else -1.0) for c, p in curves.items()}}

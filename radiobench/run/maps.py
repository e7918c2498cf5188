"""Spatial feature maps for detection: maps cached per split, a head trained per seed, COCO scores.

Feature maps are computed once per image with the backbone frozen and cached like
embeddings (the same key, plus the map's role), so seeds and label budgets only retrain the
head. A backbone without a spatial map is not applicable; a source finder (``embed_dim`` 0,
a ``detect`` method instead of ``feature_map``) is run as is, once, with no training, and
scored class-agnostically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from radiobench.run.cache import CacheEntry
from radiobench.tasks.detection import DetectionSplit
from radiobench.errors import RadiobenchError
from radiobench.protocols.base import MapProtocol, SeedResult
from radiobench.results.predictions import ItemPredictions
from radiobench.run.pair import Pair
from radiobench.run.progress import Progress
from radiobench.run.strategy import Fit, NotApplicable, Strategy
from radiobench.results.provenance import portable_path


def feature_maps(backbone: Any, split: DetectionSplit, batch_size: int, precision: str,
                 on_batch: Callable[[int], None] | None = None, pixel_scale_arcsec: float | None = None) -> np.ndarray:
    """(N, D, h, w) float32 last maps of every image, resized to the backbone's input (without its centre crop)."""
    out = [_checked(backbone, maps, rows)
           for rows, maps in _batches(backbone, split, batch_size, precision, backbone.feature_map, on_batch,
                                      pixel_scale_arcsec)]
    # C order whatever layout the backbone's map had (a ViT's regridded tokens are strided): the head's
    # convolutions pick kernels by layout, and a cached map (always C order) must train identically
    return np.ascontiguousarray(np.concatenate(out))


def _batches(backbone: Any, split: DetectionSplit, batch_size: int, precision: str, method: Callable[[Any], Any],
             on_batch: Callable[[int], None] | None, pixel_scale_arcsec: float | None = None) -> Any:
    """(rows, ``method``'s output) for each batch of prepared images, in order.

    A detector must see the whole image: the contract's crops and zooms are left out (``dense``), its
    other declared transforms (a percentile clip) run as on every other task."""
    import torch

    from radiobench.models.preprocess import prepare_batch

    contract = backbone.spec.input
    device = backbone.device
    for first in range(0, len(split), batch_size):
        images = split.images[first : first + batch_size]
        if len({im.shape for im in images}) != 1:
            raise RadiobenchError("images of one batch differ in size; detection tasks must serve equal-sized images")
        batch = prepare_batch(torch.from_numpy(np.stack(images)).to(device), contract, pixel_scale_arcsec, dense=True)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            yield len(images), method(batch)
        if on_batch is not None:
            on_batch(len(images))


def _checked(backbone: Any, maps: Any, rows: int) -> np.ndarray:
    """One batch's maps as a float32 array, refused in one line if not (rows, D, h, w) and finite."""
    import torch

    if not isinstance(maps, torch.Tensor) or maps.ndim != 4 or len(maps) != rows:
        raise RadiobenchError(f"backbone {backbone.spec.name!r}: feature maps must be (B, D, h, w), "
                              f"got {getattr(maps, 'shape', type(maps).__name__)}")
    out = maps.float().cpu().numpy()
    if not np.isfinite(out).all():
        raise RadiobenchError(f"backbone {backbone.spec.name!r}: a feature map holds NaN or infinite values")
    return out


FINE_STRIDE = 8  # input pixels per cell of the earlier map a dense head reads beside the last one: the head's own stride


def map_levels(backbone: Any, split: DetectionSplit, batch_size: int, precision: str,
               on_batch: Callable[[int], None] | None = None, pixel_scale_arcsec: float | None = None) -> list[np.ndarray]:
    """The maps a dense head reads, as (N, D, h, w) float32 arrays: the last map, and before it the
    deepest earlier one at stride ``FINE_STRIDE`` or finer where the backbone has one (CNNs; not ViTs,
    whose every depth is one patch grid, nor a map already that fine)."""
    levels: list[list[np.ndarray]] = []
    for rows, maps in _batches(backbone, split, batch_size, precision, backbone.feature_maps, on_batch,
                               pixel_scale_arcsec):
        if not isinstance(maps, (list, tuple)) or not maps:
            raise RadiobenchError(f"backbone {backbone.spec.name!r}: feature_maps must return a non-empty list of maps")
        chosen = pyramid(list(maps), backbone.spec.input.size)
        levels = levels or [[] for _ in chosen]
        for out, m in zip(levels, chosen):
            out.append(_checked(backbone, m, rows))
    return [np.ascontiguousarray(np.concatenate(level)) for level in levels]  # C order: see feature_maps


def pyramid(maps: list[Any], input_size: int) -> list[Any]:
    """Of a backbone's maps (shallow to deep), the last and, first, the deepest earlier one at stride <= FINE_STRIDE."""
    last = maps[-1]
    if input_size / last.shape[-1] <= FINE_STRIDE + 1e-9:
        return [last]
    fine = [m for m in maps[:-1] if input_size / m.shape[-1] <= FINE_STRIDE + 1e-9]
    return fine[-1:] + [last]


def input_frame_targets(split: DetectionSplit, size: int) -> list[dict[str, Any]]:
    """Boxes rescaled from image pixels to the backbone's input pixels (what the head sees)."""
    import torch

    targets = []
    for image, boxes, labels in zip(split.images, split.boxes, split.labels):
        h, w = image.shape
        factor = np.array([size / w, size / h, size / w, size / h], dtype=np.float32)
        targets.append({"boxes": torch.from_numpy(boxes * factor), "labels": torch.from_numpy(labels.astype(np.int64))})
    return targets


def to_image_frame(predictions: list[dict[str, np.ndarray]], split: DetectionSplit, size: int) -> list[dict[str, np.ndarray]]:
    out = []
    for p, image in zip(predictions, split.images):
        h, w = image.shape
        factor = np.array([w / size, h / size, w / size, h / size], dtype=np.float32)
        out.append({**p, "boxes": p["boxes"] * factor})
    return out


def truth(split: DetectionSplit) -> list[dict[str, np.ndarray]]:
    return [{"boxes": b, "labels": lab} for b, lab in zip(split.boxes, split.labels)]


def detected_items(split: DetectionSplit, found: list[dict[str, Any]]) -> ItemPredictions:
    """Per test image: its id, true boxes and the detections scored (image pixels), for the result's sidecar."""
    detections = [{k: np.asarray(d[k]) for k in ("boxes", "scores", "labels")} for d in found]
    return ItemPredictions(np.asarray(split.ids, dtype=str), targets=truth(split), detections=detections)


class MapStrategy(Strategy):
    def __init__(self, source_finder: bool):
        self.source_finder = source_finder
        self.maps: dict[str, np.ndarray] = {}

    @property
    def seeded(self) -> bool:
        return not self.source_finder

    def features(self, pair: Pair, progress: Progress) -> None:
        from radiobench.run import distributed

        if distributed.current().size > 1:  # the same answer on every rank, so no rank waits on another
            raise RadiobenchError(f"task {pair.task_name!r}: detection runs in one process; run it without torchrun")
        pair.load_splits()
        if not all(len(pair.splits[s]) for s in ("train", "test")):
            raise RadiobenchError(f"task {pair.task_name!r}: the train and test splits both need images")
        if self.source_finder:
            return  # it reads the images itself, once, in fit()
        for name, split in pair.splits.items():
            # the last map keeps the key it always had (detect v1-v3 read only it); the finer map has its own
            # entry, stored empty (D = 0) for a backbone without one, so a hit needs no backbone to know that
            last = CacheEntry.for_fields(pair.cache_fields(name, output="feature_map"), pair.opts.cache_dir)
            fine = CacheEntry.for_fields(pair.cache_fields(name, output=f"feature_map@{FINE_STRIDE}"), pair.opts.cache_dir)
            with last.claimed(), fine.claimed():  # another process making the same maps finishes first; this one reads them
                hits = [None if pair.opts.refresh_features else e.load(len(split)) for e in (fine, last)]
                if any(hit is None for hit in hits):
                    backbone = pair.backbone()
                    if not backbone.has_feature_map:
                        raise NotApplicable(f"backbone {pair.name!r} has no spatial feature map "
                                            "(Backbone.feature_map); detection does not apply to it")
                    began = time.perf_counter()
                    tick = progress.extraction(f"{pair.name} maps on {pair.task_name}/{name}", len(split))
                    levels = map_levels(backbone, split, pair.opts.batch_size, pair.opts.precision, tick,
                                        pair.task_reg.spec.pixel_scale_arcsec)
                    pair.extraction_seconds[name] = time.perf_counter() - began
                    finer = levels[0] if len(levels) > 1 else np.zeros((len(split), 0, 1, 1), dtype=np.float32)
                    fine.save(finer, np.zeros(len(split), dtype=np.int64))
                    last.save(levels[-1], np.zeros(len(split), dtype=np.int64))
                else:
                    levels = [h[0] for h in hits if h[0].shape[1] > 0]
                self.maps[name] = levels
            pair.cache_info[name] = {"key": last.key, "hit": all(hit is not None for hit in hits), "path": portable_path(last.path),
                                     "levels": [{"key": e.key, "path": portable_path(e.path)} for e in (fine, last)]}
        progress.done()

    def fit(self, pair: Pair, protocol: Any, seeds: list[int], progress: Progress) -> Fit:
        test = pair.splits["test"]
        if self.source_finder:
            start = time.perf_counter()
            found = pair.backbone().detect(test.raw if test.raw is not None else test.images, test.beams)
            seconds = time.perf_counter() - start
            metrics = pair.task.score(truth(test), found)
            params = {"training": "none (classical source finder, class-agnostic)", "seconds": seconds}
            items = detected_items(test, found)
            return Fit([SeedResult(0, metrics, params, seconds, 0, {"train": 0, "test": len(test)}, items)],
                       "pyBDSF on each test image; islands as boxes, class-agnostic, peak S/N as score", seeded=False)
        import torch

        assert isinstance(protocol, MapProtocol)
        size = pair.backbone_reg.spec.input.size
        train = pair.splits["train"]
        train_targets = input_frame_targets(train, size)
        train_maps = [torch.from_numpy(m) for m in self.maps["train"]]
        test_maps = [torch.from_numpy(m) for m in self.maps["test"]]
        test_truth = truth(test)
        tick = progress.fitting(f"{protocol.name} head, {len(seeds)} seeds", len(seeds))
        per_seed = []
        for seed in seeds:
            rows = pair.opts.budget.select(np.zeros(len(train_targets)), seed, stratify=False)
            began = time.perf_counter()
            predicted, params = protocol.fit_predict(
                [m[rows] for m in train_maps], [train_targets[i] for i in rows], test_maps, len(pair.task_reg.spec.classes), size,
                seed, device=pair.torch_device())
            seconds = time.perf_counter() - began
            found = to_image_frame(predicted, test, size)
            metrics = pair.task.score(test_truth, found)
            per_seed.append(SeedResult(seed, metrics, params, seconds, len(rows), {"train": len(rows), "test": len(test)},
                                       detected_items(test, found)))
            tick()
        progress.done()
        shapes = " + ".join(str(tuple(m.shape[1:])) for m in self.maps["train"])
        description = (f"frozen {pair.name} feature maps {shapes}, FCOS head trained on "
                       f"train ({len(train)} images), scored on test ({len(test)})")
        return Fit(per_seed, description)

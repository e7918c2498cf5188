"""Running one backbone on one detection task: feature maps (cached), a head per seed, COCO scores.

The feature-vector path (``runner.run_pair``) hands over here when the task's kind is
``detection``. Feature maps are computed once per image with the backbone frozen and
cached like embeddings (keyed the same way, plus the map's role), so the seeds and label
budgets only retrain the head. A backbone without a spatial map is reported as not
applicable; a source finder (``detect`` instead of ``feature_map``) is run as is, with
no training, and scored class-agnostically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from radiobench import provenance, results, weights
from radiobench.cache import CacheEntry
from radiobench.detection import DetectionSplit
from radiobench.errors import RadiobenchError
from radiobench.protocols.base import SeedResult
from radiobench.protocols.detect import Detect


@dataclass(frozen=True)
class DetectionEvaluation:
    description: str


def feature_maps(backbone: Any, split: DetectionSplit, batch_size: int, precision: str) -> np.ndarray:
    """(N, D, h, w) float32 maps of every image, resized to the backbone's input (without its centre crop)."""
    from radiobench.preprocess import prepare_batch

    contract = replace(backbone.spec.input, crop_fraction=1.0)  # a detector must see the whole image
    out = []
    device = backbone.device
    for first in range(0, len(split), batch_size):
        images = split.images[first : first + batch_size]
        if len({im.shape for im in images}) != 1:
            raise RadiobenchError("images of one batch differ in size; detection tasks must serve equal-sized images")
        batch = prepare_batch(torch.from_numpy(np.stack(images)).to(device), contract)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            maps = backbone.feature_map(batch)
        if not isinstance(maps, torch.Tensor) or maps.ndim != 4 or len(maps) != len(batch):
            raise RadiobenchError(f"backbone {backbone.spec.name!r}: feature_map must return (B, D, h, w), "
                                  f"got {getattr(maps, 'shape', type(maps).__name__)}")
        maps = maps.float().cpu().numpy()
        if not np.isfinite(maps).all():
            raise RadiobenchError(f"backbone {backbone.spec.name!r}: feature_map returned NaN or infinite values")
        out.append(maps)
    # C order whatever layout the backbone's map had (a ViT's regridded tokens are strided): the head's
    # convolutions pick kernels by layout, and a cached map (always C order) must train identically
    return np.ascontiguousarray(np.concatenate(out))


def input_frame_targets(split: DetectionSplit, size: int) -> list[dict[str, torch.Tensor]]:
    """Boxes rescaled from image pixels to the backbone's input pixels (what the head sees)."""
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


def run_detection(b_reg: Any, t_reg: Any, opts: Any, hooks: Any, protocol_id: str, path: Any,
                  earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fit and score ``opts.seeds`` heads (or run the source finder once); returns the result payload.

    ``earlier``: a finished result of this measurement with other seeds, whose shared seeds are kept
    when nothing else differs (``runner.kept_seeds``).
    """
    from radiobench.extract import resolve_device
    from radiobench.runner import (build_backbone, build_result, build_task, cache_fields, kept_seeds, limited,
                                   weights_identity)

    device = resolve_device(opts.device)
    explicit = opts.weights.get(b_reg.spec.name)
    resolved = weights.resolve(b_reg.spec, explicit, offline=opts.offline)
    weights_id = weights_identity(b_reg.spec, resolved)
    task = build_task(t_reg, opts.task_options.get(t_reg.spec.name))
    task.prepare(opts.data_root, download=opts.download)
    splits = {name: limited(task.load_split(name), opts.limit) for name in ("train", "test")}
    if not len(splits["train"]) or not len(splits["test"]):
        raise RadiobenchError(f"task {t_reg.spec.name!r}: the train and test splits both need images")
    backbone = build_backbone(b_reg, resolved).to(device)
    source_finder = hasattr(backbone, "detect")
    if not source_finder and not backbone.has_feature_map:
        raise NotApplicable(f"backbone {b_reg.spec.name!r} has no spatial feature map (Backbone.feature_map); "
                            "detection does not apply to it")
    protocol = Detect()
    size = b_reg.spec.input.size
    test_truth = truth(splits["test"])
    per_seed: list[SeedResult] = []
    kept: dict[int, SeedResult] = {}
    extraction_seconds: dict[str, float] = {}
    cache_info: dict[str, Any] = {}
    start = time.perf_counter()
    if source_finder:
        test = splits["test"]
        found = backbone.detect(test.raw if test.raw is not None else test.images, test.beams)
        seconds = time.perf_counter() - start
        metrics = task.score(test_truth, found)
        params = {"training": "none (classical source finder, class-agnostic)", "seconds": seconds}
        per_seed = [SeedResult(0, metrics, params, seconds, 0, {"train": 0, "test": len(splits["test"])})]
        description = "pyBDSF on each test image; islands as boxes, class-agnostic, peak S/N as score"
    else:
        maps = {}
        for name, split in splits.items():
            entry = CacheEntry.for_fields({**cache_fields(b_reg.spec, task, name, 1, opts, weights_id),
                                           "output": "feature_map"}, opts.cache_dir)
            hit = entry.load(len(split))
            if hit is None:
                began = time.perf_counter()
                maps[name] = feature_maps(backbone, split, opts.batch_size, opts.precision)
                extraction_seconds[name] = time.perf_counter() - began
                entry.save(maps[name], np.zeros(len(split), dtype=np.int64))
            else:
                maps[name] = hit[0]
            cache_info[name] = {"key": entry.key, "hit": hit is not None, "path": str(entry.path)}
        train_targets = input_frame_targets(splits["train"], size)
        train_maps, test_maps = torch.from_numpy(maps["train"]), torch.from_numpy(maps["test"])
        kept = kept_seeds(earlier, list(range(opts.seeds)), provenance.environment(device), cache_info)
        per_seed = list(kept.values())
        todo = [seed for seed in range(opts.seeds) if seed not in kept]
        if kept:
            hooks.note(f"{protocol_id}: seeds {sorted(kept)} kept from the earlier result, fitting {todo}")
        tick = hooks.fitting(f"{protocol_id} head, {len(todo)} seeds", len(todo))
        for seed in todo:
            rows = opts.budget.select(np.zeros(len(train_targets)), seed, stratify=False)
            began = time.perf_counter()
            predicted, params = protocol.fit_predict(
                train_maps[rows], [train_targets[i] for i in rows], test_maps, len(t_reg.spec.classes), size, seed,
                device=device)
            seconds = time.perf_counter() - began
            metrics = task.score(test_truth, to_image_frame(predicted, splits["test"], size))
            per_seed.append(SeedResult(seed, metrics, params, seconds, len(rows),
                                       {"train": len(rows), "test": len(splits["test"])}))
            tick()
        hooks.done()
        description = (f"frozen {b_reg.spec.name} feature maps {tuple(maps['train'].shape[1:])}, FCOS head trained on "
                       f"train ({len(splits['train'])} images), scored on test ({len(splits['test'])})")
    fit_seconds = time.perf_counter() - start
    per_seed.sort(key=lambda r: r.seed)
    payload = build_result(b_reg, t_reg, task, protocol, protocol_id, per_seed, splits, DetectionEvaluation(description),
                           opts, provenance.environment(device), cache_info, extraction_seconds, fit_seconds, 1,
                           resolved, weights_id, seeded=not source_finder, kept=sorted(kept))
    results.write_json_atomic(path, payload)
    return payload


class NotApplicable(RadiobenchError):
    """The pair cannot be run by design (e.g. a backbone without a spatial map on a detection task)."""

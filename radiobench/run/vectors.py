"""Feature vectors: one embedding per image, cached per split, fitted by a ``Protocol`` per seed."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

import numpy as np

from radiobench.run import distributed
from radiobench.run.cache import CacheEntry
from radiobench.errors import PluginError
from radiobench.protocols.base import Evaluation, Protocol, run_seeds
from radiobench.run.pair import Pair
from radiobench.run.progress import Progress
from radiobench.run.strategy import Fit, Strategy
from radiobench.specs import TaskSpec
from radiobench.tasks.base import Split
from radiobench.results.provenance import portable_path


def evaluation_for(spec: TaskSpec, features: dict[str, np.ndarray], splits: dict[str, Split]) -> Evaluation:
    """The pooled features and the fold rule the task's spec asks for."""
    from radiobench.kinds import get_kind

    if get_kind(spec.kind).pooled:
        return _with_items(Evaluation.ranking(features["all"], splits["all"].labels), [splits["all"]])
    if spec.partition is not None:
        split = splits["all"]
        if split.groups is None:
            raise PluginError(f"task {spec.name!r} declares a grouped partition but its split has no groups")
        return _with_items(Evaluation.partitioned(features["all"], split.labels, split.groups, spec.partition), [split])
    if spec.cv_folds is not None:
        split = splits["all"]
        if split.groups is None:
            raise PluginError(f"task {spec.name!r} declares grouped cross-validation but its split has no groups")
        return _with_items(Evaluation.kfold(features["all"], split.labels, split.groups, spec.cv_folds, spec.cv_of),
                           [split])
    fixed = Evaluation.fixed((features["train"], splits["train"].labels), (features["test"], splits["test"].labels))
    return _with_items(fixed, [splits["train"], splits["test"]])


def _with_items(evaluation: Evaluation, parts: list[Split]) -> Evaluation:
    """The pooled rows' item ids and groups (in pooling order), for per-item predictions and their strata."""
    ids = np.asarray([i for part in parts for i in part.ids], dtype=str)
    groups = None if any(p.groups is None for p in parts) else np.concatenate([np.asarray(p.groups) for p in parts])
    return replace(evaluation, ids=ids, groups=groups)


def cached_or_extracted(pair: Pair, entry: CacheEntry, name: str, split: Split,
                        progress: Progress) -> tuple[np.ndarray | None, bool]:
    """A split's features from the cache, or extracted (once, whoever else needs them) and cached; and
    whether they were a hit. Under torchrun every rank extracts its shard and rank 0 gets them all
    (the other ranks get None).

    The entry's lock is held from the look-up to the write: a second process that needs the same
    entry waits, then finds it complete, instead of extracting it again.
    """
    from radiobench.models.extract import extract

    world = distributed.current()
    with entry.claimed() if world.leader else nullcontext():
        found = entry.load(len(split)) if world.leader and not pair.opts.refresh_features else None
        if world.agree(found is not None):
            return (found[0] if found is not None else None), True
        shard = world.shard(split)
        start = time.perf_counter()
        block, seconds = None, 0.0
        if len(shard) or world.size == 1:  # a rank with no rows (fewer images than ranks) only takes part in the gather
            done = extract(
                pair.backbone(),
                pair.task,
                shard,
                owner=pair.backbone_reg.plugin.label,
                batch_size=pair.opts.batch_size,
                precision=pair.opts.precision,
                on_batch=progress.extraction(f"{pair.name} on {pair.task_name}/{name}", len(shard)),
            )
            block, seconds = done.features, done.seconds
        made = world.gather_rows(block)
        pair.extraction_seconds[name] = seconds if world.size == 1 else time.perf_counter() - start
        if made is not None:
            entry.save(made, split.labels)
    return made, False


class VectorStrategy(Strategy):
    def __init__(self) -> None:
        self.evaluation: Evaluation | None = None

    def features(self, pair: Pair, progress: Progress) -> None:
        pair.load_splits()
        features: dict[str, np.ndarray] = {}
        for name, split in pair.splits.items():
            entry = CacheEntry.for_fields(pair.cache_fields(name), pair.opts.cache_dir)
            made, hit = cached_or_extracted(pair, entry, name, split, progress)
            if made is not None:
                features[name] = made
            pair.cache_info[name] = {"key": entry.key, "hit": hit, "path": portable_path(entry.path)}
        progress.done()
        if distributed.current().leader:
            self.evaluation = evaluation_for(pair.task_reg.spec, features, pair.splits)

    def fit(self, pair: Pair, protocol: Any, seeds: list[int], progress: Progress) -> Fit:
        assert isinstance(protocol, Protocol) and self.evaluation is not None
        per_seed = run_seeds(protocol, pair.task_reg.spec, pair.task.score, self.evaluation, seeds, pair.opts.budget,
                             on_seed=progress.fitting(f"{protocol.name} probe, {len(seeds)} seeds", len(seeds)))
        progress.done()
        return Fit(per_seed, self.evaluation.description)

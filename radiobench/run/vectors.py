"""Feature vectors: one embedding per image, cached per split, fitted by a ``Protocol`` per seed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from radiobench.run.cache import CacheEntry
from radiobench.errors import PluginError
from radiobench.protocols.base import Evaluation, Protocol, run_seeds
from radiobench.run.pair import Pair
from radiobench.run.progress import Progress
from radiobench.run.strategy import Fit, Strategy
from radiobench.specs import TaskSpec
from radiobench.tasks.base import Split


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
    fixed = Evaluation.fixed((features["train"], splits["train"].labels), (features["test"], splits["test"].labels))
    return _with_items(fixed, [splits["train"], splits["test"]])


def _with_items(evaluation: Evaluation, parts: list[Split]) -> Evaluation:
    """The pooled rows' item ids and groups (in pooling order), for per-item predictions and their strata."""
    ids = np.asarray([i for part in parts for i in part.ids], dtype=str)
    groups = None if any(p.groups is None for p in parts) else np.concatenate([np.asarray(p.groups) for p in parts])
    return replace(evaluation, ids=ids, groups=groups)


class VectorStrategy(Strategy):
    def __init__(self) -> None:
        self.evaluation: Evaluation | None = None

    def features(self, pair: Pair, progress: Progress) -> None:
        from radiobench.models.extract import extract

        pair.load_splits()
        features: dict[str, np.ndarray] = {}
        for name, split in pair.splits.items():
            entry = CacheEntry.for_fields(pair.cache_fields(name), pair.opts.cache_dir)
            hit = None if pair.opts.refresh_features else entry.load(len(split))
            if hit is not None:
                features[name] = hit[0]
            else:
                done = extract(
                    pair.backbone(),
                    pair.task,
                    split,
                    owner=pair.backbone_reg.plugin.label,
                    batch_size=pair.opts.batch_size,
                    precision=pair.opts.precision,
                    on_batch=progress.extraction(f"{pair.name} on {pair.task_name}/{name}", len(split)),
                )
                features[name] = done.features
                pair.extraction_seconds[name] = done.seconds
                entry.save(done.features, split.labels)
            pair.cache_info[name] = {"key": entry.key, "hit": hit is not None, "path": str(entry.path)}
        progress.done()
        self.evaluation = evaluation_for(pair.task_reg.spec, features, pair.splits)

    def fit(self, pair: Pair, protocol: Any, seeds: list[int], progress: Progress) -> Fit:
        assert isinstance(protocol, Protocol) and self.evaluation is not None
        per_seed = run_seeds(protocol, pair.task_reg.spec, pair.task.score, self.evaluation, seeds, pair.opts.budget,
                             on_seed=progress.fitting(f"{protocol.name} probe, {len(seeds)} seeds", len(seeds)))
        progress.done()
        return Fit(per_seed, self.evaluation.description)

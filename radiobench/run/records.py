"""How a fitted pair becomes a :class:`~radiobench.results.ResultRecord` (with its per-item sidecar and
intervals), and which earlier seeds it may keep."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

import radiobench
from radiobench.results import provenance
from radiobench.errors import PluginError, ResultsError
from radiobench.protocols.base import SeedResult
from radiobench.results import Request, ResultRecord, Summary
from radiobench.results import bootstrap, predictions
from radiobench.run.installed import scorer_for
from radiobench.run.pair import Pair
from radiobench.run.strategy import Fit
from radiobench.specs import ProtocolSpec


def request_for(pair: Pair, spec: ProtocolSpec, protocol: Any, protocol_id: str) -> Request:
    """What this run would measure for one protocol: the identity a finished result must match (its parameters,
    options included, as the result records them)."""
    return Request(
        backbone=pair.name, backbone_code=pair.code, weights_identity=pair.weights_id, task=pair.task_name,
        task_version=pair.task_reg.spec.version, data_sha256=pair.task.data_sha256, task_options=pair.task.options,
        protocol_id=protocol_id, protocol_version=spec.version_for(pair.task_reg.spec.kind),
        protocol_params=protocol.describe(),
        precision=pair.opts.precision,
        limit=pair.opts.limit, seeds=list(range(pair.opts.seeds)),
    )


def seed_results(record: ResultRecord, items: dict[int, Any] | None = None) -> list[SeedResult]:
    """The per-seed records of a result, as the protocols returned them (with ``items``: its sidecar's seeds)."""
    p = record.protocol
    items = items or {}
    return [SeedResult(seed, {m: s.per_seed[i] for m, s in record.metrics.items()}, p.chosen_per_seed[i],
                       record.timings.fit_seconds_per_seed[i], p.train_size_per_seed[i], p.sizes_per_seed[i],
                       items.get(seed))
            for i, seed in enumerate(record.seeds)]


def kept_seeds(earlier: ResultRecord | None, request: Request, env: dict[str, Any],
               cache_info: dict[str, Any], path: Path | None = None) -> dict[int, SeedResult]:
    """The seeds this run asks for that an earlier run of the very same measurement already fitted.

    The earlier file must match the whole request but its seeds (data, task options, backbone
    code, weights, protocol version, precision), come from the same features (cache keys),
    environment and radiobench code (a release, or a clean checkout of the same commit), and
    have passed the record's validation: refitting would reproduce its seeds, so they are kept;
    e.g. ``--seeds 10`` after ``--seeds 5`` fits seeds 5-9 only. The kept seeds' per-item
    predictions come from the earlier result's sidecar at ``path``'s side; one that is missing
    or changed keeps nothing. Anything else: none kept.
    """
    if earlier is None or not earlier.seeded or earlier.mismatch(request, seeds=False) is not None or path is None:
        return {}
    code = {"version": radiobench.__version__, **provenance.git_state()}
    same = (
        earlier.environment == env
        and earlier.radiobench.model_dump() == code
        and code.get("git_dirty") is False
        and {k: v.key for k, v in earlier.cache.items()} == {k: v["key"] for k, v in cache_info.items()}
    )
    if not same:
        return {}
    try:
        items = predictions.read_predictions(path, earlier)
    except ResultsError:
        return {}
    return {r.seed: r for r in seed_results(earlier, items) if r.seed in request.seeds and r.items is not None}


def make_record(pair: Pair, spec: ProtocolSpec, protocol: Any, protocol_id: str, fit: Fit, kept: list[int], env: dict[str, Any],
                fit_seconds: float) -> tuple[ResultRecord, bytes | None]:
    """The result of one protocol on the pair, and its per-item sidecar (None when a strategy kept no items).

    Refuses a task score that is not finite or lacks the main score. The sidecar's name and
    sha256 go into the record with the bootstrap intervals resampled from it (see
    :mod:`radiobench.results.bootstrap`); :func:`~radiobench.results.write_result` writes both.
    """
    b, t, task = pair.backbone_reg.spec, pair.task_reg.spec, pair.task
    per_seed = sorted(fit.per_seed, key=lambda r: r.seed)
    owner = pair.task_reg.plugin.label
    undefined = sorted({m for r in per_seed for m, v in r.metrics.items() if not np.isfinite(v)})
    if undefined:
        raise PluginError(f"task {t.name!r} (from {owner}) scored {', '.join(undefined)} as NaN or infinite "
                          f"for {b.name!r} ({protocol_id}); its score() must return finite numbers")
    metrics = {m: Summary.of([float(r.metrics[m]) for r in per_seed]) for m in per_seed[0].metrics}
    if t.main_score not in metrics:
        raise PluginError(f"task {t.name!r} (from {owner}) declares main score {t.main_score!r} but score() "
                          f"returned {sorted(metrics)}")
    extracted = sum(len(pair.splits[s]) for s in pair.extraction_seconds)
    seconds = sum(pair.extraction_seconds.values())
    w = b.weights
    main = metrics[t.main_score]
    sidecar, ref, intervals = None, None, None
    if all(r.items is not None for r in per_seed):
        items = {r.seed: r.items for r in per_seed}
        sidecar = predictions.to_bytes(items)
        ref = {"file": predictions.sidecar_name(pair.results_path(protocol_id).name), "sha256": predictions.sha256(sidecar),
               "format": predictions.FORMAT, "rows": sum(len(i) for i in items.values())}
        intervals = bootstrap.intervals([items[r.seed] for r in per_seed], scorer_for(task), pair.kind.target, list(metrics))
    record = ResultRecord.model_validate({
        "radiobench": {"version": radiobench.__version__, **provenance.git_state()},
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "backbone": {
            "name": b.name, "provided_by": pair.backbone_reg.provenance(), "family": b.family, "embed_dim": b.embed_dim,
            "weights": {"kind": w.kind, "seed": w.seed, "source": w.download_source or None, "published_sha256": w.sha256,
                        "description": w.description, "identity": pair.weights_id,
                        "file": pair.resolved.to_dict() if pair.resolved else None},
            "input": pair.input_description(), "options": b.options, "training_data": list(b.training_data),
            "license": b.license, "citation": b.citation, "code": pair.code,
        },
        "task": {
            "name": t.name, "version": t.version, "kind": t.kind, "provided_by": pair.task_reg.provenance(),
            "data_sha256": task.data_sha256, "scaling": t.scaling, "options": task.options, "classes": list(t.classes),
            "source_datasets": list(t.source_datasets), "simulated": t.simulated,
            "train_count": per_seed[0].sizes["train"], "test_count": per_seed[0].sizes["test"],
            "evaluation": fit.evaluation, "metadata": task.metadata(), "citation": t.citation,
        },
        "protocol": {
            "name": spec.name, "version": spec.version_for(t.kind), "id": protocol_id, "params": protocol.describe(),
            "label_budget": pair.opts.budget.to_dict(),
            "train_size_per_seed": [r.train_size for r in per_seed],
            "sizes_per_seed": [r.sizes for r in per_seed],
            "chosen_per_seed": [r.params for r in per_seed],
        },
        "seeds": [r.seed for r in per_seed],
        "seeded": fit.seeded,
        "seeds_kept": kept,
        "metrics": metrics,
        "main_score": {"name": t.main_score, "mean": main.mean, "std": main.std, "higher_is_better": t.higher_is_better},
        "limit": pair.opts.limit,
        "precision": pair.opts.precision,
        "batch_size": pair.opts.batch_size,
        "timings": {
            "extraction_seconds": pair.extraction_seconds,
            "images_per_second": extracted / seconds if seconds > 0 else None,
            "fit_seconds": fit_seconds,
            "fit_seconds_per_seed": [r.fit_seconds for r in per_seed],
        },
        "environment": env,
        "cache": pair.cache_info,
        "predictions": ref,
        "intervals": intervals,
    })
    return record, sidecar

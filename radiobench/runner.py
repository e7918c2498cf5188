"""Running backbones over tasks: data, cached features, protocols, result files.

One (backbone, task) pair is the unit of failure: an error in it is recorded and the
remaining pairs still run. Features are extracted at most once per (backbone, task,
split) and shared by every protocol and seed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

import radiobench
from radiobench import provenance, results, weights
from radiobench.cache import CacheEntry
from radiobench.errors import PluginError, RadiobenchError, ResultsError
from radiobench.protocols import MAIN, Evaluation, LabelBudget, SeedResult, get_protocol, run_seeds
from radiobench.registry import Registered, Registry
from radiobench.specs import BackboneSpec, TaskSpec, resolve_factory
from radiobench.task import Split, Task
from radiobench.weights import ResolvedWeights

if TYPE_CHECKING:
    from radiobench.detection import DetectionSplit

S = TypeVar("S", Split, "DetectionSplit")
LIMIT_SEED = 0  # --limit keeps the same random subset every time, so its cache entries are reusable


@dataclass
class RunOptions:
    protocols: list[str] = field(default_factory=lambda: ["main"])  # "main": the task kind's headline protocol
    every_protocol: bool = False  # `--protocol all`: protocols that do not fit a task's kind are left out quietly
    seeds: int = 5
    data_root: Path = Path(".")
    results_dir: Path = Path("results")
    cache_dir: Path | None = None
    device: str = "auto"
    batch_size: int = 64
    precision: str = "fp32"
    limit: int | None = None
    weights: dict[str, str] = field(default_factory=dict)  # backbone name -> explicit weights file
    offline: bool = False
    overwrite: bool = False
    download: bool = False
    budget: LabelBudget = field(default_factory=LabelBudget)
    # per-task option overrides from the command line (e.g. --beam for FITS fields without beam keywords)
    task_options: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Outcome:
    backbone: str
    task: str
    protocol: str
    status: str  # "done", "skipped" (already finished), "failed"
    main_score: str = ""
    path: Path | None = None
    error: str = ""


class Hooks:
    """Progress callbacks; the CLI draws bars with them, tests pass nothing."""

    def extraction(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def fitting(self, label: str, total: int) -> Callable[[], None]:
        return lambda: None

    def done(self) -> None:
        pass

    def note(self, text: str) -> None:
        """A line the user should read (e.g. why a finished result is being replaced)."""


def build_backbone(registered: Registered[BackboneSpec], resolved: ResolvedWeights | None = None) -> Any:
    """Build the backbone with its weights file, found here unless the caller already resolved it."""
    spec = registered.spec
    if resolved is None and spec.weights.learned:
        resolved = weights.resolve(spec)
    path = resolved.path if resolved is not None else None
    try:
        backbone = resolve_factory(spec.factory)(spec, weights=path, **spec.options)
    except RadiobenchError:
        raise
    except Exception as exc:
        raise PluginError(
            f"backbone {spec.name!r} (from {registered.plugin.label}) failed to build: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(getattr(backbone, "embed", None)):
        raise PluginError(f"backbone {spec.name!r} (from {registered.plugin.label}): factory returned an object without embed()")
    return backbone


def build_task(registered: Registered[TaskSpec], overrides: dict[str, Any] | None = None) -> Task:
    spec = registered.spec
    try:
        return resolve_factory(spec.factory)(spec, **{**spec.options, **(overrides or {})})
    except Exception as exc:
        raise PluginError(
            f"task {spec.name!r} (from {registered.plugin.label}) failed to build: {type(exc).__name__}: {exc}"
        ) from exc


def limited(split: S, limit: int | None) -> S:
    """The same random ``limit`` rows every time (any split with ``len`` and ``subset``, detection ones too)."""
    if not limit or limit >= len(split):
        return split
    rows = np.sort(np.random.default_rng(LIMIT_SEED).permutation(len(split))[:limit])
    return split.subset(rows)


def evaluation_for(spec: TaskSpec, features: dict[str, np.ndarray], splits: dict[str, Split]) -> Evaluation:
    """The pooled features and the fold rule the task's spec asks for."""
    if spec.kind == "ranking":
        return Evaluation.ranking(features["all"], splits["all"].labels)
    if spec.partition is not None:
        split = splits["all"]
        if split.groups is None:
            raise PluginError(f"task {spec.name!r} declares a grouped partition but its split has no groups")
        return Evaluation.partitioned(features["all"], split.labels, split.groups, spec.partition)
    return Evaluation.fixed((features["train"], splits["train"].labels), (features["test"], splits["test"].labels))


def weights_identity(spec: BackboneSpec, resolved: ResolvedWeights | None) -> str:
    if resolved is not None:
        return resolved.identity
    identity = spec.weights.static_identity
    assert identity is not None, "learned weights are always resolved to a file"
    return identity


def cache_fields(
    backbone: BackboneSpec, task: Task, split: str, image_channels: int, opts: RunOptions, weights_id: str
) -> dict[str, Any]:
    from radiobench.preprocess import describe

    return {
        "backbone": backbone.name,
        "weights": weights_id,
        "backbone_options": backbone.options,
        "input": describe(backbone.input, image_channels),
        "task": task.spec.name,
        "task_version": task.spec.version,
        "task_options": task.options,
        "data_sha256": task.data_sha256,
        "scaling": task.spec.scaling,
        "split": split,
        "limit": opts.limit,
        "precision": opts.precision,
        "software": provenance.package_versions("torch", "timm"),
    }


def run_pair(
    registry: Registry, backbone_name: str, task_name: str, opts: RunOptions, hooks: Hooks | None = None
) -> list[Outcome]:
    hooks = hooks or Hooks()
    b_reg, t_reg = registry.backbone(backbone_name), registry.task(task_name)
    explicit = opts.weights.get(backbone_name) or opts.weights.get(b_reg.spec.name)
    backbone_name = b_reg.spec.name  # an alias runs, and is filed, as its backbone
    kind = t_reg.spec.kind
    asked = list(dict.fromkeys(MAIN[kind] if p == "main" else p for p in opts.protocols))
    if b_reg.spec.kinds and kind not in b_reg.spec.kinds:
        return [Outcome(backbone_name, task_name, p, "skipped",
                        error=f"not applicable: {backbone_name} runs on {', '.join(b_reg.spec.kinds)} tasks only")
                for p in asked if kind in get_protocol(p).kinds]
    applicable = [p for p in asked if kind in get_protocol(p).kinds]
    outcomes = [
        Outcome(backbone_name, task_name, p, "skipped", error=f"protocol {p} does not apply to {kind} tasks")
        for p in asked if p not in applicable and not opts.every_protocol
    ]
    protocol_ids = {p: p + opts.budget.suffix for p in applicable}
    paths = {
        p: results.result_path(opts.results_dir, backbone_name, task_name, pid, opts.limit)
        for p, pid in protocol_ids.items()
    }
    finished = not opts.overwrite and any(paths[p].exists() for p in applicable)
    asked = _asked(b_reg, t_reg, explicit, opts) if finished else {}
    checked = {p: (True, None) if opts.overwrite else _check_finished(paths[p], p, asked, opts, hooks) for p in applicable}
    pending = [p for p in applicable if checked[p][0]]
    earlier = {p: checked[p][1] for p in pending}
    outcomes += [
        Outcome(backbone_name, task_name, protocol_ids[p], "skipped", _score_text(paths[p]), paths[p])
        for p in applicable
        if p not in pending
    ]
    if not pending:
        return outcomes
    if kind == "detection":
        return outcomes + _run_detection(b_reg, t_reg, opts, hooks, pending, protocol_ids, paths, earlier)

    from radiobench.extract import extract, resolve_device

    device = resolve_device(opts.device)
    if explicit and not b_reg.spec.weights.learned:
        raise RadiobenchError(f"backbone {backbone_name!r} has no learned weights; --weights does not apply to it")
    resolved = weights.resolve(b_reg.spec, explicit, offline=opts.offline)
    weights_id = weights_identity(b_reg.spec, resolved)
    task = build_task(t_reg, opts.task_options.get(task_name))
    task.prepare(opts.data_root, download=opts.download)
    split_names = ("all",) if kind == "ranking" or t_reg.spec.partition else ("train", "test")
    splits = {name: limited(task.load_split(name), opts.limit) for name in split_names}
    first = splits[split_names[0]]
    channels = 1 if first.images.ndim == 3 else first.images.shape[1]

    backbone = None
    features: dict[str, np.ndarray] = {}
    cache_info: dict[str, Any] = {}
    extraction_seconds: dict[str, float] = {}
    for name, split in splits.items():
        entry = CacheEntry.for_fields(cache_fields(b_reg.spec, task, name, channels, opts, weights_id), opts.cache_dir)
        hit = entry.load(len(split))
        if hit is not None:
            features[name] = hit[0]
        else:
            if backbone is None:
                backbone = build_backbone(b_reg, resolved).to(device)
            done = extract(
                backbone,
                task,
                split,
                owner=b_reg.plugin.label,
                batch_size=opts.batch_size,
                precision=opts.precision,
                on_batch=hooks.extraction(f"{backbone_name} on {task_name}/{name}", len(split)),
            )
            features[name] = done.features
            extraction_seconds[name] = done.seconds
            entry.save(done.features, split.labels)
        cache_info[name] = {"key": entry.key, "hit": hit is not None, "path": str(entry.path)}
    hooks.done()

    env = provenance.environment(device)
    evaluation = evaluation_for(t_reg.spec, features, splits)
    for protocol_name in pending:
        try:
            protocol = get_protocol(protocol_name)()
            kept = kept_seeds(earlier[protocol_name], list(range(opts.seeds)), env, cache_info)
            todo = [seed for seed in range(opts.seeds) if seed not in kept]
            if kept:
                hooks.note(f"{protocol_ids[protocol_name]}: seeds {sorted(kept)} kept from the earlier result, fitting {todo}")
            start = time.perf_counter()
            per_seed = run_seeds(
                protocol,
                t_reg.spec,
                task.score,
                evaluation,
                todo,
                opts.budget,
                on_seed=hooks.fitting(f"{protocol_ids[protocol_name]} probe, {len(todo)} seeds", len(todo)),
            )
            fit_seconds = time.perf_counter() - start
            hooks.done()
            payload = build_result(
                b_reg, t_reg, task, protocol, protocol_ids[protocol_name], sorted([*kept.values(), *per_seed], key=lambda r: r.seed),
                splits, evaluation, opts, env, cache_info, extraction_seconds, fit_seconds, channels, resolved, weights_id,
                kept=sorted(kept),
            )
            results.write_json_atomic(paths[protocol_name], payload)
            outcomes.append(
                Outcome(backbone_name, task_name, protocol_ids[protocol_name], "done", _score_text(paths[protocol_name]), paths[protocol_name])
            )
        except RadiobenchError as exc:  # one protocol's refusal (e.g. too few labels to fit a probe) spares the rest
            hooks.done()
            hooks.note(f"{protocol_ids[protocol_name]} failed: {exc}")
            outcomes.append(Outcome(backbone_name, task_name, protocol_ids[protocol_name], "failed", error=str(exc)))
    return outcomes


def _asked(b_reg: Registered[BackboneSpec], t_reg: Registered[TaskSpec], explicit: str | None,
           opts: RunOptions) -> dict[str, Any]:
    """What a finished result must have recorded to answer this request, protocol and seeds aside."""
    asked: dict[str, Any] = {"task.version": t_reg.spec.version, "precision": opts.precision}
    try:  # other weights (--weights, a new download) are another measurement; unresolvable: keep the result
        resolved = weights.resolve(b_reg.spec, explicit, offline=True)
        asked["backbone.weights.identity"] = weights_identity(b_reg.spec, resolved)
    except RadiobenchError:
        pass
    return asked


def _check_finished(path: Path, protocol: str, asked: dict[str, Any], opts: RunOptions,
                    hooks: Hooks) -> tuple[bool, dict[str, Any] | None]:
    """(whether to run, the finished result when it differs from this request in its seeds alone).

    A finished result of exactly this request is skipped; one of other settings is replaced and
    the reason said. One that differs only in its seeds may lend the seeds it shares (see
    :func:`kept_seeds`).
    """
    try:
        done = results.read_result(path)
    except ResultsError:
        return True, None
    asked = {"protocol.version": get_protocol(protocol).version, **asked}
    seeded = done.get("seeded", True)  # a classical source finder runs once, whatever --seeds says
    why = results.mismatch(done, {**asked, **({"seeds": list(range(opts.seeds))} if seeded else {})})
    if why is None:
        return False, None
    hooks.note(f"replacing {path.name}: it does not answer this run ({why})")
    return True, (done if seeded and results.mismatch(done, asked) is None else None)


def seed_results(result: dict[str, Any]) -> list[SeedResult]:
    """The per-seed records of a result file, as ``run_seeds`` returned them."""
    protocol, metrics = result["protocol"], result["metrics"]
    return [
        SeedResult(seed, {m: metrics[m]["per_seed"][i] for m in metrics}, protocol["chosen_per_seed"][i],
                   result["timings"]["fit_seconds_per_seed"][i], protocol["train_size_per_seed"][i],
                   protocol["sizes_per_seed"][i])
        for i, seed in enumerate(result["seeds"])
    ]


def kept_seeds(earlier: dict[str, Any] | None, seeds: list[int], env: dict[str, Any],
               cache_info: dict[str, Any]) -> dict[int, SeedResult]:
    """The seeds this run asks for that an earlier run of the very same measurement already fitted.

    Same features (cache keys), environment and code (radiobench version and a clean checkout of
    the same commit): refitting would reproduce them, so they are kept, not recomputed; e.g.
    ``--seeds 10`` after ``--seeds 5`` fits seeds 5-9 only. Anything else differing: none kept.
    """
    if earlier is None:
        return {}
    code = {"version": radiobench.__version__, **provenance.git_state()}
    same = (
        earlier.get("environment") == env
        and earlier.get("radiobench") == code
        and code.get("git_dirty") is not True
        and {k: v.get("key") for k, v in earlier.get("cache", {}).items()} == {k: v["key"] for k, v in cache_info.items()}
    )
    return {r.seed: r for r in seed_results(earlier) if r.seed in seeds} if same else {}


def _run_detection(b_reg: Registered[BackboneSpec], t_reg: Registered[TaskSpec], opts: RunOptions, hooks: Hooks,
                   pending: list[str], protocol_ids: dict[str, str], paths: dict[str, Path],
                   earlier: dict[str, dict[str, Any] | None]) -> list[Outcome]:
    from radiobench.detect_runner import NotApplicable, run_detection

    outcomes = []
    for p in pending:
        try:
            run_detection(b_reg, t_reg, opts, hooks, protocol_ids[p], paths[p], earlier.get(p))
        except NotApplicable as exc:
            outcomes.append(Outcome(b_reg.spec.name, t_reg.spec.name, protocol_ids[p], "skipped", error=f"not applicable: {exc}"))
            continue
        outcomes.append(Outcome(b_reg.spec.name, t_reg.spec.name, protocol_ids[p], "done", _score_text(paths[p]), paths[p]))
    return outcomes


def build_result(
    b_reg: Registered[BackboneSpec],
    t_reg: Registered[TaskSpec],
    task: Task,
    protocol: Any,
    protocol_id: str,
    per_seed: list[Any],
    splits: dict[str, Split],
    evaluation: Evaluation,
    opts: RunOptions,
    env: dict[str, Any],
    cache_info: dict[str, Any],
    extraction_seconds: dict[str, float],
    fit_seconds: float,
    channels: int,
    resolved: ResolvedWeights | None,
    weights_id: str,
    seeded: bool = True,
    kept: list[int] | None = None,
) -> dict[str, Any]:
    from radiobench.preprocess import describe

    b, t = b_reg.spec, t_reg.spec
    metric_names = per_seed[0].metrics.keys()
    undefined = sorted({m for r in per_seed for m, v in r.metrics.items() if not np.isfinite(v)})
    if undefined:
        raise PluginError(f"task {t.name!r} (from {t_reg.plugin.label}) scored {', '.join(undefined)} as NaN or infinite "
                          f"for {b.name!r} ({protocol_id}); its score() must return finite numbers")
    metrics = {m: results.summarise([r.metrics[m] for r in per_seed]) for m in metric_names}
    if t.main_score not in metrics:
        raise PluginError(f"task {t.name!r} (from {t_reg.plugin.label}) declares main score {t.main_score!r} but score() returned {sorted(metrics)}")
    extracted = sum(len(splits[s]) for s in extraction_seconds)
    seconds = sum(extraction_seconds.values())
    return {
        "schema_version": results.SCHEMA_VERSION,
        "radiobench": {"version": radiobench.__version__, **provenance.git_state()},
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "backbone": {
            "name": b.name,
            "provided_by": b_reg.provenance(),
            "family": b.family,
            "embed_dim": b.embed_dim,
            "weights": {
                **_weights(b),
                "identity": weights_id,
                "file": resolved.to_dict() if resolved else None,
            },
            "input": describe(b.input, channels),
            "options": b.options,
            "training_data": list(b.training_data),
            "license": b.license,
            "citation": b.citation,
        },
        "task": {
            "name": t.name,
            "version": t.version,
            "kind": t.kind,
            "provided_by": t_reg.provenance(),
            "data_sha256": task.data_sha256,
            "scaling": t.scaling,
            "options": task.options,
            "classes": list(t.classes),
            "source_datasets": list(t.source_datasets),
            "simulated": t.simulated,
            "train_count": per_seed[0].sizes["train"],
            "test_count": per_seed[0].sizes["test"],
            "evaluation": evaluation.description,
            "metadata": task.metadata(),
            "citation": t.citation,
        },
        "protocol": {
            "name": protocol.name,
            "version": protocol.version,
            "id": protocol_id,
            "params": protocol.describe(),
            "label_budget": opts.budget.to_dict(),
            "train_size_per_seed": [r.train_size for r in per_seed],
            "sizes_per_seed": [r.sizes for r in per_seed],
            "chosen_per_seed": [r.params for r in per_seed],
        },
        "seeds": [r.seed for r in per_seed],
        "seeded": seeded,  # False: one deterministic run (a classical source finder), whatever --seeds said
        "seeds_kept": kept or [],  # fitted by an earlier run of the same measurement (kept_seeds), not this one
        "metrics": metrics,
        "main_score": {
            "name": t.main_score,
            "mean": metrics[t.main_score]["mean"],
            "std": metrics[t.main_score]["std"],
            "higher_is_better": t.higher_is_better,
        },
        "limit": opts.limit,
        "precision": opts.precision,
        "batch_size": opts.batch_size,
        "timings": {
            "extraction_seconds": extraction_seconds,
            "images_per_second": extracted / seconds if seconds > 0 else None,
            "fit_seconds": fit_seconds,
            "fit_seconds_per_seed": [r.fit_seconds for r in per_seed],
        },
        "environment": env,
        "cache": cache_info,
    }


def _weights(spec: BackboneSpec) -> dict[str, Any]:
    w = spec.weights
    return {"kind": w.kind, "seed": w.seed, "source": w.download_source or None, "published_sha256": w.sha256,
            "description": w.description}


def _score_text(path: Path) -> str:
    try:
        main = results.read_result(path)["main_score"]
    except RadiobenchError:
        return ""
    return f"{main['name']} {main['mean']:.4f} ± {main['std']:.4f}"

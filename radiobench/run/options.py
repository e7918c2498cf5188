"""What a run was asked to do, validated in one place before any work starts.

Every value a user can get wrong (a device torch does not know, an unwritable results
folder, weights for a backbone that takes none, ten thousand seeds) is refused here with
one line naming the option and the value given, saying what to do (a
:class:`~radiobench.errors.UsageError`, exit code 2), so a mistake never surfaces after an
hour of extraction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radiobench.errors import UsageError
from radiobench.io.folders import check_writable_folder
from radiobench.protocols.base import LabelBudget
from radiobench.registry import Registry

MAX_SEEDS = 100  # a probe per seed; beyond this the spread is known far better than the test set allows
PRECISIONS = ("fp32", "bf16")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass
class RunOptions:
    """One run's settings. Construct through :meth:`validated` (the CLI does) to get every check."""

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
    weights: dict[str, str] = field(default_factory=dict)  # backbone name (canonical) -> explicit weights file
    offline: bool = False
    overwrite: bool = False  # refit results that already exist (features still come from the cache)
    # extract features again even where the cache has them (a cache one no longer trusts; code
    # identity is already in the key, so a changed backbone never needs this)
    refresh_features: bool = False
    download: bool = False
    budget: LabelBudget = field(default_factory=LabelBudget)
    # per-task option overrides from the command line (e.g. --beam for FITS fields without beam keywords)
    task_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    # protocol name -> option values other than the spec's defaults (--protocol-option), checked by validated()
    protocol_options: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.seeds, int) or not 1 <= self.seeds <= MAX_SEEDS:
            raise UsageError(f"--seeds must be between 1 and {MAX_SEEDS}, got {self.seeds}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be at least 1, got {self.batch_size}")
        if self.limit is not None and self.limit < 2:
            raise UsageError(f"--limit must be at least 2 images per split, got {self.limit}")
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if not _DEVICE.match(self.device):
            raise UsageError(f"--device {self.device!r} is not a device radiobench runs on; use auto, cpu, "
                             "cuda, cuda:N or mps")
        if not str(self.results_dir).strip():
            raise UsageError(f"--results-dir {str(self.results_dir)!r} is empty; give a folder, e.g. --results-dir results")
        self.results_dir = Path(self.results_dir)
        self.data_root = Path(self.data_root)
        self.cache_dir = None if self.cache_dir is None else Path(self.cache_dir)

    @classmethod
    def validated(cls, registry: Registry, backbones: list[str], tasks: list[str], **settings: Any) -> RunOptions:
        """Options checked against the registry and the file system: every name, weights and folder.

        Unknown names are all reported at once (not one per attempt); ``weights`` keyed by
        the names the user typed (aliases included) are re-keyed by the backbone they name.
        """
        _check_names(registry, backbones, tasks, settings.get("protocols", ["main"]))
        for name, values in (settings.get("protocol_options") or {}).items():
            registry.protocol(name).spec.values(values)  # an OptionError names the option and the ones there are
        settings["weights"] = _weights_by_backbone(registry, settings.get("weights") or {})
        opts = cls(**settings)
        check_results_dir(opts.results_dir)
        check_cache_dir(opts.cache_dir)
        return opts


def _check_names(registry: Registry, backbones: list[str], tasks: list[str], protocols: list[str]) -> None:
    from radiobench.errors import UnknownNameError

    errors = []
    for kind, names, lookup in (("backbone", backbones, registry.backbone), ("task", tasks, registry.task),
                                ("protocol", [p for p in protocols if p != "main"], registry.protocol)):
        for name in names:
            try:
                lookup(name)
            except UnknownNameError as exc:
                errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise UnknownNameError.many(errors)


def _weights_by_backbone(registry: Registry, by_typed_name: dict[str, str]) -> dict[str, str]:
    """``--weights`` re-keyed by canonical backbone name; refused for backbones that take no weights file."""
    out: dict[str, str] = {}
    for typed, path in by_typed_name.items():
        spec = registry.backbone(typed).spec
        if not spec.weights.learned:
            raise UsageError(f"--weights {path}: backbone {spec.name!r} has no learned weights "
                             f"({spec.weights.kind}); --weights does not apply to it")
        if not Path(path).expanduser().is_file():
            raise UsageError(f"--weights for {typed!r}: {path} is not a file")
        out[spec.name] = path
    return out


def check_results_dir(folder: Path) -> None:
    """Prove a result can be written under ``folder`` before any work, without creating anything."""
    check_writable_folder(folder, "--results-dir")


def check_cache_dir(folder: Path | None) -> None:
    """The feature cache, simulated fields and weights go under the cache root: checked like ``--results-dir``."""
    import os

    from radiobench.io.datafiles import cache_root

    setting = "RADIOBENCH_CACHE" if folder is None and os.environ.get("RADIOBENCH_CACHE") else "the cache folder"
    check_writable_folder(folder or cache_root(), setting)


def weights_argument(value: str | None, backbones: list[str]) -> dict[str, str]:
    """``--weights PATH`` (one backbone) or ``NAME=PATH[,NAME=PATH]``, keyed by the names as typed."""
    if not value:
        return {}
    if "=" not in value:
        if len(backbones) != 1:
            raise UsageError(f"--weights {value!r}: a bare PATH needs exactly one --backbone (got {len(backbones)}); "
                             "use --weights NAME=PATH[,NAME=PATH]")
        return {backbones[0]: value}
    mapping = {}
    for item in (v.strip() for v in value.split(",") if v.strip()):
        name, sep, path = item.partition("=")
        if not sep or not path or name not in backbones:
            raise UsageError(f"--weights item {item!r}: expected NAME=PATH with NAME one of {', '.join(backbones)}")
        mapping[name] = path
    return mapping


def protocol_options_argument(registry: Registry, items: list[str], protocols: list[str],
                              tasks: list[str]) -> dict[str, dict[str, Any]]:
    """``--protocol-option`` values, typed and checked against the protocols' specs before any work.

    ``PROTOCOL.NAME=VALUE`` sets one protocol's option; a bare ``NAME=VALUE`` sets it on every protocol of
    the run that has an option of that name (``main`` stands for each task kind's headline protocol). A
    name no protocol of the run has, or a value its type refuses, is one line naming the option and the
    options there are (exit code 2).
    """
    from radiobench.kinds import get_kind
    from radiobench.specs import OptionError

    if not items:
        return {}
    _check_names(registry, [], tasks, [p for p in protocols if p != "all"])  # unknown names first, all at once
    running = list(dict.fromkeys(
        q for p in protocols for q in ([get_kind(registry.task(t).spec.kind).main_protocol for t in tasks]
                                       if p == "main" else [p])))
    known = [f"{p}.{n}" for p in running if p in registry.protocols for n in registry.protocol(p).spec.option_specs]
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(f"--protocol-option {item!r}: expected NAME=VALUE or PROTOCOL.NAME=VALUE "
                              f"(options of this run: {', '.join(known) or 'none'})")
        owner, dot, name = key.rpartition(".")  # option names are identifiers; protocol names may hold dots
        if dot:
            if owner not in running:
                registry.protocol(owner)  # an unknown protocol is named with the nearest ones
                raise OptionError(f"--protocol-option {item!r}: protocol {owner!r} is not run here "
                                  f"(the run's protocols: {', '.join(running)})")
            targets = [owner]
        else:
            targets = [p for p in running if name in registry.protocol(p).spec.option_specs]
            if not targets:
                raise OptionError(f"--protocol-option {item!r}: no protocol of this run ({', '.join(running)}) has an "
                                  f"option {name!r}; the options: {', '.join(known) or 'none'}")
        for p in targets:
            try:
                out.setdefault(p, {})[name] = registry.protocol(p).spec.parse(name, text)
            except OptionError as exc:
                raise OptionError(f"--protocol-option {item!r}: {exc}") from None
    return out

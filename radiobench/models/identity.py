"""Which code a backbone's numbers came from, so cached features and results never outlive it.

A backbone is built by ``spec.factory`` ("module:callable") from a plugin's distribution. A
released wheel is pinned by its version, but the code of an editable or local install (the
built-in plugins during development, a plugin being written) changes under a fixed version;
there the factory module's file is hashed too. ``BackboneSpec.version`` is the plugin's own
promise, bumped when its code changes numbers in ways no hash of one file can see (e.g. a
helper module the factory imports).

Nothing here imports the factory module (or torch): the module file is located through the
import system's finders and read as bytes.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from radiobench.io.reader import MiB, read_bytes
from radiobench.registry.loader import PluginInfo
from radiobench.specs import BackboneSpec

# A factory module is Python source of kilobytes, or a compiled extension of a few MiB; a
# module file of 256 MiB is not code to hash but something in its place (a pipe is refused too).
MODULE_LIMIT = 256 * MiB

#: What ``backbone_code_identity`` records. Keys of ``describe``: those that name the code.
KEY_FIELDS = ("backbone", "version", "factory", "distribution", "distribution_version", "source_module", "source_sha256")


def backbone_code_identity(spec: BackboneSpec, plugin_info: PluginInfo) -> dict[str, Any]:
    """The identity of the code that builds ``spec``: JSON-able, and the same wherever the code is the same.

    ``install`` says how the distribution is installed: "wheel" (its version pins the code),
    "editable" or "local" (PEP 610 ``direct_url.json``), "unrecorded" (installed, but the factory
    module is not among the files the installer recorded, e.g. a source tree shadowing it) or
    "not installed". In every case but "wheel", ``source_sha256`` is the sha256 of the factory
    module's file (for a package, its ``__init__``); machine-specific paths are left out.
    """
    module = spec.factory.partition(":")[0]
    origin = module_file(module)
    install = install_kind(plugin_info.distribution, origin)
    hashed = install != "wheel" and origin is not None
    return {
        "backbone": spec.name,
        "version": spec.version,
        "factory": spec.factory,
        "distribution": plugin_info.distribution,
        "distribution_version": plugin_info.version,
        "install": install,
        "source_module": module,
        "source_sha256": _sha256(origin) if hashed else None,
    }


def _sha256(origin: Path) -> str:
    """The factory module file's sha256, read through :mod:`radiobench.io.reader` (one line naming it if unreadable)."""
    return hashlib.sha256(read_bytes(origin, limit=MODULE_LIMIT, what="backbone factory module")).hexdigest()


def describe(identity: dict[str, Any]) -> dict[str, Any]:
    """The part of an identity that names the code, key-sorted: what a cache key should hash.

    ``install`` is left out: it says how the code was identified, not which code it is.
    """
    return {key: identity[key] for key in sorted(KEY_FIELDS)}


def identity_key(identity: dict[str, Any]) -> str:
    """One string for ``describe(identity)``: "sha256:<hex>" of its canonical JSON."""
    canonical = json.dumps(describe(identity), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def module_file(module: str) -> Path | None:
    """The file ``module`` would load from, found without importing it (or its parents).

    A module already imported answers from its own spec. Otherwise each dotted level is looked
    up with the finders, through the parent's search locations, so a package whose
    ``__init__`` imports torch is not executed just to be identified. None: no such module, or
    one without a file (built-in, frozen, namespace package).
    """
    spec = None
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        parent_locations = spec.submodule_search_locations if spec is not None else None
        spec = _find_spec(name, parent_locations, top=depth == 1)
        if spec is None:
            return None
    origin = spec.origin if spec is not None and spec.has_location else None
    return Path(origin) if origin and Path(origin).is_file() else None


def _find_spec(name: str, parent_locations: Any, top: bool) -> importlib.machinery.ModuleSpec | None:
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__spec__", None) is not None:
        return loaded.__spec__
    try:
        if top:
            return importlib.util.find_spec(name)  # top level: never imports anything
        if parent_locations is None:
            return None  # the parent is a plain module: it has no submodules
        for finder in sys.meta_path:  # as the import system would, but without importing the parent
            find = getattr(finder, "find_spec", None)
            found = find(name, list(parent_locations)) if find else None
            if found is not None:
                return found
    except (ImportError, ValueError, AttributeError, TypeError):
        return None
    return None


def install_kind(distribution: str, origin: Path | None) -> str:
    """How ``distribution`` is installed, as far as it decides whether its version pins ``origin``."""
    dists = _distributions(distribution)
    if not dists:
        return "not installed"
    for dist in dists:  # a source tree's *.egg-info can sit beside the real install on sys.path
        kind = _direct_url_kind(dist)
        if kind is not None:
            return kind
    if origin is not None and not any(_recorded(dist, origin) for dist in dists):
        return "unrecorded"
    return "wheel"


def _distributions(name: str) -> list[metadata.Distribution]:
    try:
        return list(metadata.distributions(name=name))
    except (ValueError, metadata.PackageNotFoundError):
        return []


def _direct_url_kind(dist: metadata.Distribution) -> str | None:
    """"editable" or "local" from PEP 610's direct_url.json; None for an index or VCS install."""
    try:
        info = json.loads(dist.read_text("direct_url.json") or "null")
    except (ValueError, OSError):
        return None
    if not isinstance(info, dict):
        return None
    if (info.get("dir_info") or {}).get("editable"):
        return "editable"
    if str(info.get("url", "")).startswith("file://"):
        return "local"
    return None


def _recorded(dist: metadata.Distribution, origin: Path) -> bool:
    """Whether the installer's RECORD lists ``origin`` (an egg-info's SOURCES.txt does not count)."""
    if not dist.read_text("RECORD"):
        return False
    target = origin.resolve()
    return any(Path(str(f.locate())).resolve() == target for f in dist.files or [])

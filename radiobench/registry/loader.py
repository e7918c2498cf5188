"""Discovering and validating plugins through the ``radiobench`` entry-point group.

Built-in plugins are entry points of the ``radiobench`` distribution itself and go
through exactly the same path as third-party ones (the datasette model). A plugin that
fails to import, implements an unknown hook, or raises while registering is reported by
distribution name and version and skipped, unless ``RADIOBENCH_STRICT_PLUGINS=1``.
``RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD=1`` keeps only the built-ins, as pytest's
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` does, and ``RADIOBENCH_DISABLE_PLUGINS=a,b`` turns off the plugins
named (by entry-point or distribution name, built-in or not), as pytest's ``-p no:NAME`` does: they
are listed by ``radiobench plugins`` as disabled and never imported.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from radiobench import hookspecs
from radiobench.errors import PluginError

GROUP = "radiobench"
CORE_DISTRIBUTION = "radiobench"


HOOK_NAMES = tuple(sorted(n for n in vars(hookspecs) if n.startswith(hookspecs.PROJECT + "_")))


class PluginWarning(UserWarning):
    """A plugin, or a name it registers, was skipped; the message says which and why."""


class PluginDeprecationWarning(PluginWarning, DeprecationWarning):
    """A plugin uses a way of registering that goes away in a later release (shown, unlike most deprecations,
    because the user who sees it can tell the plugin's author)."""


@dataclass
class PluginInfo:
    name: str  # entry-point name
    distribution: str
    version: str
    module: str  # what the entry point points at
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    disabled: bool = False  # named in RADIOBENCH_DISABLE_PLUGINS: listed, never imported
    notes: list[str] = field(default_factory=list)  # what went wrong with part of it (a name another plugin holds)

    @property
    def label(self) -> str:
        return f"{self.distribution} {self.version} (entry point {self.name!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "builtin": self.builtin,
            "hooks": self.hooks,
            "error": self.error,
            "disabled": self.disabled,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class PluginEntry:
    """One entry point with the distribution that ships it (what ``importlib.metadata`` gives)."""

    entry_point: metadata.EntryPoint
    distribution: str
    version: str


class _PluginManager(pluggy.PluginManager):
    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        # As pytest does: any routine named radiobench_* is a hook implementation even
        # without the marker, so a misspelt hook is rejected instead of silently ignored.
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(hookspecs.PROJECT + "_"):
            if inspect.isroutine(getattr(plugin, name, None)):
                opts = {}
        return opts


DISABLE = "RADIOBENCH_DISABLE_PLUGINS"


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def disabled_names() -> set[str]:
    """The plugins ``RADIOBENCH_DISABLE_PLUGINS`` turns off: entry-point or distribution names, comma-separated."""
    return {n.strip() for n in os.environ.get(DISABLE, "").split(",") if n.strip()}


def discover_entry_points() -> list[PluginEntry]:
    found: list[PluginEntry] = []
    seen: set[tuple[str, str]] = set()
    for dist in metadata.distributions():
        dist_name = dist.metadata["Name"] or "?"
        for ep in dist.entry_points:
            if ep.group != GROUP or (dist_name, ep.name) in seen:
                continue  # the same dist can be visible twice on sys.path
            seen.add((dist_name, ep.name))
            found.append(PluginEntry(ep, dist_name, dist.version))
    # Built-ins first, then alphabetical: registration order never depends on sys.path order.
    found.sort(key=lambda p: (p.distribution != CORE_DISTRIBUTION, p.distribution, p.entry_point.name))
    return found


def new_plugin_manager() -> pluggy.PluginManager:
    pm = _PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def load_plugins(
    entries: Iterable[PluginEntry] | None = None,
    *,
    strict: bool | None = None,
    autoload: bool | None = None,
) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Import and register every plugin; return the manager and one info per plugin.

    Failed plugins appear in the list with ``error`` set (and a ``PluginWarning``).
    """
    strict = env_flag("RADIOBENCH_STRICT_PLUGINS") if strict is None else strict
    if autoload is None:
        autoload = not env_flag("RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD")
    entries = discover_entry_points() if entries is None else list(entries)
    pm = new_plugin_manager()
    infos: list[PluginInfo] = []
    off, matched = disabled_names(), set()
    for entry in entries:
        builtin = entry.distribution == CORE_DISTRIBUTION
        if not builtin and not autoload:
            continue
        info = PluginInfo(
            name=entry.entry_point.name,
            distribution=entry.distribution,
            version=entry.version,
            module=entry.entry_point.value,
            builtin=builtin,
        )
        infos.append(info)
        named = off & {info.name, info.distribution}
        if named:
            matched |= named
            info.disabled = True
            continue
        try:
            plugin = entry.entry_point.load()
        except SystemExit as exc:  # not an Exception: uncaught, it would end every command without a word
            fail(info, f"{info.module} called {exit_call(exc)} at import", strict)
            continue
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's, not ours
            fail(info, f"failed to import {info.module}: {type(exc).__name__}: {exc}", strict)
            continue
        if pm.is_registered(plugin):
            fail(info, f"{info.module} is already registered by another entry point", strict)
            continue
        try:
            pm.register(plugin, name=plugin_key(info))
        except pluggy.PluginValidationError as exc:
            fail(info, "invalid hook implementation: " + "; ".join(str(exc).splitlines()), strict)
            continue
        callers = pm.get_hookcallers(plugin) or []
        unknown = [c.name for c in callers if not c.has_spec()]
        if unknown:
            pm.unregister(plugin)
            fail(info, f"implements unknown hook(s) {', '.join(unknown)}; known hooks: {', '.join(HOOK_NAMES)}", strict)
            continue
        info.hooks = sorted(c.name for c in callers)
    if off - matched:
        known = sorted({i.name for i in infos} | {i.distribution for i in infos})
        warnings.warn(f"{DISABLE} names {', '.join(sorted(off - matched))}, which no plugin here is called; "
                      f"plugins (entry point or distribution): {', '.join(known)}", PluginWarning, stacklevel=2)
    return pm, infos


def exit_call(exc: SystemExit) -> str:
    """``sys.exit(2)``, as the plugin called it."""
    return "sys.exit()" if exc.code is None else f"sys.exit({exc.code!r})"


def failure(exc: BaseException) -> str:
    """How a plugin's hook failed, for its skip message: what it raised, or that it called sys.exit."""
    return f"called {exit_call(exc)}" if isinstance(exc, SystemExit) else f"raised {type(exc).__name__}: {exc}"


def plugin_key(info: PluginInfo) -> str:
    return f"{info.distribution}:{info.name}"


def fail(info: PluginInfo, reason: str, strict: bool) -> None:
    info.error = reason
    message = f"plugin {info.label} skipped: {reason}"
    if strict:
        raise PluginError(message.replace("skipped", "failed") + " (RADIOBENCH_STRICT_PLUGINS is set)")
    warnings.warn(message, PluginWarning, stacklevel=3)


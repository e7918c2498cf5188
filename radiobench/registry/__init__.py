"""The registry of backbones and tasks, filled by the plugins' register hooks.

Names are global across plugins: two plugins providing the same name is an error
naming both distributions, never a silent override. Looking up a name that does not
exist suggests the nearest ones. Nothing here imports torch.
"""

from __future__ import annotations

import fnmatch
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from radiobench.registry import loader as plugins
from radiobench.errors import PluginError, UnknownNameError
from radiobench.specs import BackboneSpec, TaskSpec

S = TypeVar("S", BackboneSpec, TaskSpec, type)


@dataclass(frozen=True)
class Registered(Generic[S]):
    spec: S
    plugin: plugins.PluginInfo

    def provenance(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin.name,
            "distribution": self.plugin.distribution,
            "version": self.plugin.version,
        }


@dataclass
class Registry:
    backbones: dict[str, Registered[BackboneSpec]] = field(default_factory=dict)
    tasks: dict[str, Registered[TaskSpec]] = field(default_factory=dict)
    # protocol name -> its class (a Protocol or MapProtocol subclass), from radiobench_register_protocols
    protocols: dict[str, Registered[type]] = field(default_factory=dict)
    plugins: list[plugins.PluginInfo] = field(default_factory=list)

    aliases: dict[str, str] = field(default_factory=dict)  # alias -> backbone name

    def backbone(self, name: str) -> Registered[BackboneSpec]:
        try:
            return self.backbones[self.aliases.get(name, name)]
        except KeyError:
            raise UnknownNameError("backbone", name, [*self.backbones, *self.aliases]) from None

    def task(self, name: str) -> Registered[TaskSpec]:
        try:
            return self.tasks[name]
        except KeyError:
            raise UnknownNameError("task", name, self.tasks) from None

    def protocol(self, name: str) -> Registered[type]:
        try:
            return self.protocols[name]
        except KeyError:
            raise UnknownNameError("protocol", name, self.protocols) from None

    def protocols_for(self, kind: str) -> list[str]:
        """The protocols that apply to a task kind, in registration order (what ``--protocol all`` runs)."""
        return [name for name, r in self.protocols.items() if kind in r.spec.kinds]

    def list_backbones(self, pattern: str = "*") -> list[str]:
        return sorted(fnmatch.filter(self.backbones, pattern))

    def list_tasks(self, pattern: str = "*") -> list[str]:
        return sorted(fnmatch.filter(self.tasks, pattern))


def build_registry(
    entries: list[plugins.PluginEntry] | None = None,
    *,
    strict: bool | None = None,
    autoload: bool | None = None,
) -> Registry:
    strict = plugins.env_flag("RADIOBENCH_STRICT_PLUGINS") if strict is None else strict
    pm, infos = plugins.load_plugins(entries, strict=strict, autoload=autoload)
    registry = Registry(plugins=infos)
    by_key = {plugins.plugin_key(i): i for i in infos}
    hooks: tuple[tuple[str, Any, dict[str, Any]], ...] = (
        ("radiobench_register_backbones", BackboneSpec, registry.backbones),
        ("radiobench_register_tasks", TaskSpec, registry.tasks),
        ("radiobench_register_protocols", None, registry.protocols),
    )
    for hook_name, spec_type, target in hooks:
        # One call per implementation, so each spec is attributed to its plugin and a
        # plugin that raises loses only its own registrations.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = by_key[impl.plugin_name]
            if info.error:
                continue
            collected: list[Any] = []
            try:
                impl.function(register=collected.append)
                for spec in collected:
                    _check_registered(spec, spec_type)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the plugin's bug (or exit), reported with its name
                plugins.fail(info, f"{hook_name} {plugins.failure(exc)}", strict)
                _forget(registry, info)
                continue
            for spec in collected:
                kind = spec_type.__name__[:-4].lower() if spec_type else "protocol"
                for name in (spec.name, *getattr(spec, "aliases", ())):
                    aliased = registry.aliases.get(name) if target is registry.backbones else None
                    holder = target.get(name) or (target.get(aliased) if aliased else None)
                    if holder is not None:
                        raise PluginError(
                            f"{kind} {name!r} is registered by both {holder.plugin.label} and {info.label}; "
                            "uninstall one of them (or set RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD=1 to load built-ins only)"
                        )
                    if name != spec.name:
                        registry.aliases[name] = spec.name
                target[spec.name] = Registered(spec, info)
    return registry


def _check_registered(item: Any, spec_type: Any) -> None:
    """A spec of the hook's type; for protocols, a Protocol or MapProtocol class with a name and kinds."""
    if spec_type is not None:
        if not isinstance(item, spec_type):
            raise TypeError(f"register() takes a {spec_type.__name__}, got {type(item).__name__}")
        return
    from radiobench.kinds import KINDS
    from radiobench.protocols.base import MapProtocol, Protocol

    if not (isinstance(item, type) and issubclass(item, (Protocol, MapProtocol))):
        raise TypeError(f"register() takes a Protocol or MapProtocol subclass, got {item!r}")
    name, kinds = getattr(item, "name", None), getattr(item, "kinds", ())
    if not isinstance(name, str) or not name or name in ("all", "main"):
        raise TypeError(f"protocol class {item.__qualname__} needs a name other than 'all' and 'main'")
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise TypeError(f"protocol {name!r}: kinds must be among {', '.join(KINDS)}, got {list(kinds)}")
    wanted = "maps" if issubclass(item, MapProtocol) else "vectors"
    if any(KINDS[k].evaluation != wanted for k in kinds):
        raise TypeError(f"protocol {name!r}: a {'MapProtocol' if wanted == 'maps' else 'Protocol'} applies to "
                        f"{', '.join(k for k in KINDS if KINDS[k].evaluation == wanted)} tasks only")


def _forget(registry: Registry, info: plugins.PluginInfo) -> None:
    for table in (registry.backbones, registry.tasks, registry.protocols):
        for name in [n for n, r in table.items() if r.plugin is info]:
            del table[name]
    for alias in [a for a, n in registry.aliases.items() if n not in registry.backbones]:
        del registry.aliases[alias]


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry (plugins load once; warnings shown once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", plugins.PluginWarning)
        return build_registry()

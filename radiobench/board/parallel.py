"""The full page's boards and charts, built on every core.

A page with every protocol holds about ten boards; each board's column tests (thousands of
bootstrap resamples per pair of rows) and each chart (a matplotlib figure saved as PNG and SVG)
is independent of the others. One process did them one after the other: 45 s of tests and
57 s of drawing on 2 cores, most of the page's 105 s. Here they are shared out over worker
processes (:func:`radiobench.processes.in_processes`, ``$RADIOBENCH_PROCESSES`` or one per core);
a board and a chart are the same objects and bytes whichever process made them, so the page
does not change (``tests/test_leaderboard_run.py`` renders the committed pages byte for byte).
Nothing is cached between calls: every page is computed from the result files alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from radiobench.board.collect import Board, collect
from radiobench.processes import in_processes

CHARTS = ("scores", "confusion")


def collect_boards(results_dir: Path, protocols: list[str], specs: dict[str, Any] | None = None,
                   processes: int | None = None) -> Iterator[tuple[str, Board]]:
    """``(protocol, board)`` for each protocol, in the order given, each collected in a worker process."""
    jobs = [(Path(results_dir), protocol, specs) for protocol in protocols]
    yield from zip(protocols, in_processes(_collect, jobs, processes))


def _collect(job: tuple[Path, str, dict[str, Any] | None]) -> Board:
    results_dir, protocol, specs = job
    return collect(results_dir, protocol=protocol, specs=specs)


def draw_charts(boards: dict[str, Board], processes: int | None = None,
                done: Callable[[int, int], None] | None = None) -> None:
    """Draw every chart of every board in worker processes, into each board's ``charts`` (what
    :func:`radiobench.board.plots.render` then reads instead of drawing); ``done(i, n)`` after each chart."""
    jobs = [(board, task, chart) for board in boards.values() for task in board.tasks for chart in CHARTS
            if (task, chart) not in board.charts]
    for i, ((board, task, chart), drawn) in enumerate(zip(jobs, in_processes(_chart, jobs, processes)), start=1):
        board.charts[(task, chart)] = drawn
        if done is not None:
            done(i, len(jobs))


def _chart(job: tuple[Board, str, str]) -> dict[str, bytes] | None:
    from radiobench.board.plots import draw

    board, task, chart = job
    return draw(board, task, chart)

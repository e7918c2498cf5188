"""The full page's boards and charts, built in worker processes, are the ones one process builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from radiobench.board.collect import collect
from radiobench.board.parallel import collect_boards, draw_charts
from radiobench.board.plots import draw
from radiobench.board.render import render

RESULTS = Path(__file__).resolve().parents[1] / "leaderboard" / "results"


@pytest.mark.slow  # ~15 s on 2 cores: two boards tested and six charts drawn in workers, then again in this process
def test_boards_and_charts_from_workers_equal_the_ones_made_here():
    boards = dict(collect_boards(RESULTS, ["knn", "knn-distance"], processes=2))
    assert list(boards) == ["knn", "knn-distance"]
    for protocol, board in boards.items():
        assert render(board, "md") == render(collect(RESULTS, protocol=protocol), "md")
    seen = []
    draw_charts({"knn": boards["knn"]}, processes=2, done=lambda i, n: seen.append((i, n)))
    knn = boards["knn"]
    assert seen == [(i, 2 * len(knn.tasks)) for i in range(1, 2 * len(knn.tasks) + 1)]
    for (task, chart), drawn in knn.charts.items():
        assert drawn == draw(knn, task, chart), (task, chart)  # same bytes, PNG and SVG
    assert knn.charts[("mirabest", "confusion")] is not None and knn.charts[("sim_counts", "confusion")] is None

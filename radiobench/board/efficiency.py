"""Label-efficiency curves: a task's main score against the number of training labels, per backbone.

The radio literature compares backbones at small label budgets (MiraBest's 145-label setting):
a representation that needs fewer labels is worth more where labels are expensive. The points
come from result files alone (protocol ids ``linear-nN`` and the full-budget ``linear``), each
with its recorded 95 % interval where the result has one (± the seed std otherwise, dashed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from radiobench.errors import ResultsError
from radiobench.results import iter_results


@dataclass(frozen=True)
class Point:
    labels: int  # training labels each seed used
    mean: float
    low: float
    high: float
    interval: bool  # True: the recorded 95 % interval; False: mean ± std over seeds


@dataclass
class Curves:
    task: str
    metric: str
    higher_is_better: bool
    points: dict[str, list[Point]]  # backbone -> points, by budget


def collect_curves(results_dir: Path, task: str, protocol: str = "linear") -> Curves:
    """Every finished (not ``--limit``) result of ``protocol`` on ``task``, at any label count."""
    points: dict[str, list[Point]] = {}
    metric, higher = None, True
    for _, record in iter_results(results_dir):
        if record.task.name != task or record.protocol.name != protocol or record.limit:
            continue
        budget = record.protocol.label_budget
        if budget.fraction is not None and budget.fraction < 1:
            continue  # fractions and counts are different axes; counts are what the literature reports
        labels = budget.count if budget.count is not None else record.task.train_count
        main = record.main_score
        metric, higher = main.name, main.higher_is_better
        known = record.interval()
        low, high = known if known else (main.mean - main.std, main.mean + main.std)
        points.setdefault(record.backbone.name, []).append(Point(labels, main.mean, low, high, known is not None))
    if not points or metric is None:
        raise ResultsError(f"no {protocol!r} results for task {task!r} in {results_dir}; run "
                           f"`radiobench run --task {task} --train-labels N` first")
    return Curves(task, metric, higher, {b: sorted(p, key=lambda x: x.labels) for b, p in sorted(points.items())})


def figure(curves: Curves) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    for backbone, points in curves.points.items():
        x = [p.labels for p in points]
        y = [p.mean for p in points]
        line, = ax.plot(x, y, marker="o", markersize=3, linewidth=1.2, label=backbone)
        for p in points:
            ax.plot([p.labels, p.labels], [p.low, p.high], color=line.get_color(), linewidth=1,
                    linestyle="-" if p.interval else "--")
    ax.set_xscale("log")
    ax.set_xlabel("training labels per seed (stratified; log scale)")
    ax.set_ylabel(f"{curves.metric} ({'higher' if curves.higher_is_better else 'lower'} is better)")
    ax.set_title(f"{curves.task}: label efficiency of the linear probe", loc="left", fontweight="bold")
    ax.set_title("bars: 95 % interval (dashed: ± seed std, no interval recorded)", loc="right", fontsize=7)
    ax.grid(color="#e5e5e5")
    ax.legend(fontsize=7, ncols=2)
    return fig


def write_figure(curves: Curves, folder: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """``label-efficiency-<task>.png`` / ``.svg`` in ``folder``, atomically and byte-stable (no dates)."""
    import matplotlib

    from radiobench.io.atomic import open_atomic

    written = []
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "radiobench", "text.parse_math": False}):
        fig = figure(curves)
        for fmt in formats:
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=150, metadata={"Date": None} if fmt == "svg" else {"Software": None})
            path = Path(folder) / f"label-efficiency-{curves.task}.{fmt}"
            with open_atomic(path, "wb") as handle:
                handle.write(buffer.getvalue())
            written.append(path)
    return written

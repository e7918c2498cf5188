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
    """One line per backbone (distinct colours from tab20), bars dodged sideways so intervals stay readable."""
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.subplots()
    colours = matplotlib.colormaps["tab20"]
    n = len(curves.points)
    for i, (backbone, points) in enumerate(curves.points.items()):
        dodge = 1 + 0.025 * (i - (n - 1) / 2)  # multiplicative: the axis is logarithmic
        x = [p.labels * dodge for p in points]
        colour = colours(i % 20)
        ax.plot(x, [p.mean for p in points], marker="o", markersize=3, linewidth=1.2, color=colour, label=backbone)
        for xi, p in zip(x, points):
            ax.plot([xi, xi], [p.low, p.high], color=colour, linewidth=0.9, alpha=0.8,
                    linestyle="-" if p.interval else "--")
    budgets = sorted({p.labels for points in curves.points.values() for p in points})
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.minorticks_off()
    ax.set_xlabel("training labels per seed (stratified; log scale; the last point is the whole training split)")
    ax.set_ylabel(f"{curves.metric} ({'higher' if curves.higher_is_better else 'lower'} is better)")
    ax.set_title(f"{curves.task}: label efficiency of the linear probe\n"
                 "bars: 95 % interval over seeds and test items (dashed: ± seed std, no interval recorded)",
                 loc="left", fontsize=9)
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

"""Label-efficiency curves: a task's main score against the number of training labels, per backbone.

The radio literature compares backbones at small label budgets (MiraBest's 145-label setting):
a representation that needs fewer labels is worth more where labels are expensive. The points
come from result files alone (protocol ids ``linear-nN`` and the full-budget ``linear``), each
with its recorded 95 % interval where the result has one (± the seed std otherwise, dashed);
the HTML page draws the same curves from the boards it already collected (:func:`curves_from_boards`),
with the boards' tested intervals. Each backbone family has one colour and its members differ
by marker and line style, so a reader can tell "the ImageNet models" from "the random ones" at a glance.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radiobench.errors import ResultsError
from radiobench.results import ResultRecord, iter_results

# tab10 without its red (the pages' chance colour) and grey (the charts' "unknown")
FAMILY_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
                  "#393b79", "#637939")
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", ":", "-.")
CHANCE = "#c0392b"


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
    families: dict[str, str] = field(default_factory=dict)  # backbone -> family (colour); unknown: its own name
    chance: float | None = None  # the task's chance level (a dotted red line) where known


def collect_curves(results_dir: Path, task: str, protocol: str = "linear") -> Curves:
    """Every finished (not ``--limit``) result of ``protocol`` on ``task``, at any label count."""
    points: dict[str, list[Point]] = {}
    families: dict[str, str] = {}
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
        families[record.backbone.name] = record.backbone.family
    if not points or metric is None:
        raise ResultsError(f"no {protocol!r} results for task {task!r} in {results_dir}; run "
                           f"`radiobench run --task {task} --train-labels N` first")
    return Curves(task, metric, higher, {b: sorted(p, key=lambda x: x.labels) for b, p in sorted(points.items())},
                  families)


def budget_of(protocol_id: str, protocol: str = "linear") -> int | None:
    """N for ``<protocol>-nN`` (a label-count board), 0 for ``protocol`` itself (the whole training split), else None."""
    if protocol_id == protocol:
        return 0
    found = re.fullmatch(rf"{re.escape(protocol)}-n(\d+)", protocol_id)
    return int(found.group(1)) if found else None


def curves_from_boards(boards: dict[str, Any], task: str, protocol: str = "linear") -> Curves | None:
    """The task's curves from already collected boards (``<protocol>`` and ``<protocol>-nN``), or None when fewer
    than two budgets have it.

    The page draws these rather than re-reading the folder: the points carry the boards' own tested intervals,
    so a curve's bar and its table cell agree. Boards of another task version or data than the first one
    found are left out (their scores do not measure the same thing).
    """
    points: dict[str, list[Point]] = {}
    families: dict[str, str] = {}
    identity, meta, chance = None, None, None
    for protocol_id, board in boards.items():
        budget = budget_of(protocol_id, protocol)
        if budget is None or task not in board.tasks:
            continue
        found = board.tasks[task]
        key = (found.get("version"), found.get("data_sha256"))
        identity = identity or key
        if key != identity:
            continue
        meta = found
        if chance is None:
            chance = board.info.get(task, {}).get("chance")
        cells = {b: c for (b, t), c in board.cells.items() if t == task}
        if budget == 0:  # the whole training split: its size is in the records
            budget = ResultRecord.read(next(iter(cells.values())).path).task.train_count
        for b, c in cells.items():
            known = c.low is not None and c.high is not None
            low, high = (c.low, c.high) if known else (c.mean - c.std, c.mean + c.std)
            points.setdefault(b, []).append(Point(budget, c.mean, low, high, known))
            families[b] = board.backbones[b].get("family") or b
    if meta is None or len({p.labels for found in points.values() for p in found}) < 2:
        return None
    return Curves(task, meta["main_score"], meta["higher_is_better"],
                  {b: sorted(p, key=lambda x: x.labels) for b, p in sorted(points.items())}, families, chance)


def styles(curves: Curves) -> dict[str, dict[str, Any]]:
    """Per backbone: one colour per family (families by name, so two figures colour a family alike), and a marker
    and line style per member of the family."""
    family_of = {b: curves.families.get(b) or b for b in curves.points}
    families = sorted(set(family_of.values()))
    out: dict[str, dict[str, Any]] = {}
    for i, family in enumerate(families):
        members = sorted(b for b in curves.points if family_of[b] == family)
        for j, b in enumerate(members):
            out[b] = {"color": FAMILY_COLOURS[i % len(FAMILY_COLOURS)], "marker": MARKERS[j % len(MARKERS)],
                      "linestyle": LINESTYLES[j % len(LINESTYLES)], "family": family}
    return out


def figure(curves: Curves) -> Any:
    """One line per backbone, coloured by family, bars dodged sideways so intervals stay readable."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 5.2), layout="constrained")
    ax = fig.subplots()
    style = styles(curves)
    order = sorted(curves.points, key=lambda b: (style[b]["family"], b))  # the legend reads family by family
    n = len(order)
    for i, backbone in enumerate(order):
        points, look = curves.points[backbone], style[backbone]
        dodge = 1 + 0.025 * (i - (n - 1) / 2)  # multiplicative: the axis is logarithmic
        x = [p.labels * dodge for p in points]
        ax.plot(x, [p.mean for p in points], marker=look["marker"], markersize=4, linewidth=1.3, color=look["color"],
                linestyle=look["linestyle"], label=f"{backbone} ({look['family']})")
        for xi, p in zip(x, points):
            ax.plot([xi, xi], [p.low, p.high], color=look["color"], linewidth=0.9, alpha=0.7,
                    linestyle="-" if p.interval else "--")
    if curves.chance is not None:
        ax.axhline(curves.chance, color=CHANCE, linestyle=":", linewidth=1.6,
                   label=f"chance level ({curves.chance:.3g})")
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
    fig.legend(loc="outside right upper", fontsize=8, title="backbone (family)", title_fontsize=8)
    return fig


def inline_svg(curves: Curves) -> str:
    """The figure as SVG text for an HTML page (no XML prologue), byte-stable as the files."""
    data = _render(curves, ("svg",))["svg"].decode("utf-8")
    return data[data.index("<svg"):]


def _render(curves: Curves, formats: tuple[str, ...]) -> dict[str, bytes]:
    """The figure drawn once and saved in each format, with text kept as text and no dates."""
    import matplotlib

    out = {}
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "radiobench", "text.parse_math": False}):
        fig = figure(curves)
        for fmt in formats:
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=150, metadata={"Date": None} if fmt == "svg" else {"Software": None})
            out[fmt] = buffer.getvalue()
    return out


def write_figure(curves: Curves, folder: Path, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """``label-efficiency-<task>.png`` / ``.svg`` in ``folder``, atomically and byte-stable (no dates)."""
    from radiobench.io.atomic import open_atomic

    written = []
    for fmt, data in _render(curves, formats).items():
        path = Path(folder) / f"label-efficiency-{curves.task}.{fmt}"
        with open_atomic(path, "wb") as handle:
            handle.write(data)
        written.append(path)
    return written

"""Per-task bar charts of a board with their confidence intervals (matplotlib), for papers and the HTML page.

One horizontal bar per backbone, best first, with the recorded 95 % interval as the error
bar; a result without an interval shows ± its seed std as a grey, dashed bar, as the page's
"‡" cells. The best bar and those not significantly worse than it are dark; the task's chance level
(the score of a no-skill predictor, ``Board.info``) is a dotted red line where it is known. Figures are made
with matplotlib's object API (no pyplot state, the Agg canvas), text stays text in the SVG
(searchable, escaped), ``$`` in a name is not mathtext, and the SVG carries no date and a
fixed id salt, so rendering the same board twice gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from radiobench.board.collect import Board, best_of

FORMATS = ("png", "svg")
_RC = {"svg.fonttype": "none", "svg.hashsalt": "radiobench", "text.parse_math": False, "font.size": 9}
TOP, OTHER, UNKNOWN = "#1f4e8c", "#8fb0d9", "#c8c8c8"
CHANCE = "#c0392b"


def task_figure(board: Board, task: str) -> Any:
    """The task's chart as a matplotlib ``Figure``."""
    from matplotlib.figure import Figure

    meta = board.tasks[task]
    higher = meta["higher_is_better"]
    entries = sorted(((b, c) for (b, t), c in board.cells.items() if t == task),
                     key=lambda e: (-e[1].mean if higher else e[1].mean, e[0]))
    best = best_of(board, task)
    fig = Figure(figsize=(7.5, 1.0 + 0.32 * len(entries)), layout="constrained")
    ax = fig.subplots()
    for y, (b, c) in enumerate(entries):
        known = c.low is not None and c.high is not None
        top = b == best or bool(c.tied)
        colour = TOP if top else (OTHER if known else UNKNOWN)
        ax.barh(y, c.mean, color=colour, edgecolor="#333333" if not known else colour, linestyle="--" if not known else "-")
        low, high = (c.low, c.high) if known else (c.mean - c.std, c.mean + c.std)
        ax.errorbar(c.mean, y, xerr=[[c.mean - low], [high - c.mean]], fmt="none", ecolor="black" if known else "#777777",
                    capsize=3, linewidth=1)
    chance = board.info.get(task, {}).get("chance")
    if chance is not None:
        ax.axvline(chance, color=CHANCE, linestyle=":", linewidth=1.6, zorder=3)
    ax.set_yticks(range(len(entries)), [b for b, _ in entries])
    ax.invert_yaxis()  # best on top
    ax.set_xlabel(f"{meta['main_score']}, {'higher' if higher else 'lower'} is better (mean over seeds)"
                  + (f"; dotted red line: chance level {chance:.3g}" if chance is not None else ""))
    ax.set_title(f"{task}{' [SIMULATED]' if meta.get('simulated') else ''}", loc="left", fontweight="bold")
    ax.set_title("whiskers: 95 % interval; grey, dashed: ± std (no interval)\ndark: best and not significantly worse",
                 loc="right", fontsize=7)
    ax.grid(axis="x", color="#e5e5e5")
    ax.set_axisbelow(True)
    return fig


def render(board: Board, task: str, fmt: str, chart: str = "scores") -> bytes | None:
    """A chart of the task as PNG or SVG bytes: ``scores`` (the bars) or ``confusion`` (None: not a
    classification task, or no result with per-item predictions).

    Each figure is drawn once per board and saved in every format at once (drawing is most of
    the cost, and the page's inline SVG and the files beside it are the same charts).
    """
    key = (task, chart)
    if key not in board.charts:
        board.charts[key] = draw(board, task, chart)
    found = board.charts[key]
    return None if found is None else found[fmt]


def draw(board: Board, task: str, chart: str) -> dict[str, bytes] | None:
    """One chart of the task, saved in every format: ``{fmt: bytes}``, or None where the chart does not apply."""
    import matplotlib

    from radiobench.board import confusion

    with matplotlib.rc_context(_RC):
        fig = task_figure(board, task) if chart == "scores" else confusion.figure(board, task)
        if fig is None:
            return None
        out = {}
        for fmt in FORMATS:
            buffer = io.BytesIO()
            metadata = {"Date": None} if fmt == "svg" else {"Software": None}
            fig.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
            out[fmt] = buffer.getvalue()
    return out


def inline_svg(board: Board, task: str, chart: str = "scores") -> str | None:
    """The chart's SVG without its XML prologue, to sit inside an HTML page."""
    data = render(board, task, "svg", chart)
    if data is None:
        return None
    text = data.decode("utf-8")
    return text[text.index("<svg"):]


def file_name(stem: str, task: str, fmt: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in task)
    return f"{stem}-{safe}.{fmt}"


def write_plots(board: Board, folder: Path, stem: str, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """``<stem>-<task>.png`` and ``.svg`` for every task of the board in ``folder``, and
    ``<stem>-confusion-<task>.*`` for classification tasks with per-item predictions; each written atomically."""
    from radiobench.io.atomic import open_atomic

    written = []
    for task in board.tasks:
        for chart, chart_stem in (("scores", stem), ("confusion", f"{stem}-confusion")):
            for fmt in formats:
                data = render(board, task, fmt, chart)
                if data is None:
                    break
                path = Path(folder) / file_name(chart_stem, task, fmt)
                with open_atomic(path, "wb") as handle:
                    handle.write(data)
                written.append(path)
    return written

"""Confusion matrices of a classification board: which classes each backbone confuses, from the sidecars.

A main score says how often a probe is right; a reviewer also asks where it is wrong (is
"Bent" mistaken for FRII, or is everything called FRII?). Each panel is one result: the test
items' counts pooled over its seeds, each row normalised to the true class's recall, so
panels of different seed counts read alike. Results without per-item predictions (written
before result schema 3) have no panel. Same figure conventions as :mod:`radiobench.board.plots`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from radiobench.board.collect import Board
from radiobench.errors import ResultsError
from radiobench.results import ResultRecord
from radiobench.results.predictions import read_predictions


@dataclass
class Confusion:
    backbone: str
    classes: list[str]
    counts: np.ndarray  # (true class, predicted class), summed over seeds
    seeds: int

    @property
    def recall(self) -> np.ndarray:
        totals = self.counts.sum(axis=1, keepdims=True)
        return np.divide(self.counts, totals, out=np.zeros(self.counts.shape), where=totals > 0)


def confusions(board: Board, task: str) -> list[Confusion]:
    """One matrix per result of ``task`` that has its sidecar, best row of the board first."""
    order = board.ordered_backbones()
    higher = board.tasks[task]["higher_is_better"]
    cells = sorted(((b, c) for (b, t), c in board.cells.items() if t == task),
                   key=lambda e: (-e[1].mean if higher else e[1].mean, order.index(e[0])))
    out = []
    for backbone, cell in cells:
        record = ResultRecord.read(cell.path)
        if record.task.kind != "classification" or record.predictions is None:
            continue
        try:
            per_seed = read_predictions(cell.path, record)
        except ResultsError:
            continue
        n = len(record.task.classes) or 1 + max(int(max(p.truth.max(), p.predicted.max())) for p in per_seed.values())
        counts = np.zeros((n, n), dtype=np.int64)
        for items in per_seed.values():
            np.add.at(counts, (items.truth.astype(int), items.predicted.astype(int)), 1)
        classes = list(record.task.classes) or [str(i) for i in range(n)]
        out.append(Confusion(backbone, classes, counts, len(per_seed)))
    return out


def layout(panels: int, classes: int) -> tuple[int, int, float]:
    """Columns, rows and each panel's side in inches: six two-class panels a row, four of up to four classes,
    three beyond, and a side that grows with the classes, so that across the page (about 90-100 px an inch)
    the 9-10 pt labels and values print at 12-14 px rather than the 5 px of the former 7 pt panels."""
    columns = min(6 if classes <= 2 else 4 if classes <= 4 else 3, panels)
    return columns, math.ceil(panels / columns), 1.3 + 0.5 * classes


VALUE_SIZE, LABEL_SIZE = 10, 9


def figure(board: Board, task: str) -> Any | None:
    """The task's confusion matrices as one matplotlib ``Figure`` (None: no classification result with predictions)."""
    from matplotlib.figure import Figure

    found = confusions(board, task)
    if not found:
        return None
    n = len(found[0].classes)
    columns, rows, side = layout(len(found), n)
    fig = Figure(figsize=(columns * side + 0.9, rows * (side + 0.5) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    image = None
    for ax, c in zip(axes, found):
        recall = c.recall
        image = ax.imshow(recall, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(recall):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=VALUE_SIZE,
                    color="white" if value > 0.6 else "black")
        ax.set_xticks(range(n), c.classes, rotation=30 if n > 2 else 0, ha="right" if n > 2 else "center",
                      fontsize=LABEL_SIZE)
        ax.set_yticks(range(n), c.classes, fontsize=LABEL_SIZE)
        ax.set_title(f"{c.backbone}\n({c.counts.sum()} predictions, {c.seeds} seeds)", fontsize=LABEL_SIZE)
        ax.set_xlabel("predicted", fontsize=LABEL_SIZE)
        ax.set_ylabel("true", fontsize=LABEL_SIZE)
    for ax in axes[len(found):]:
        ax.set_axis_off()
    fig.suptitle(f"{task}: confusion matrices (rows: true class, normalised to its recall; seeds pooled)",
                 fontsize=11, x=0.01, ha="left")
    if image is not None:
        bar = fig.colorbar(image, ax=axes.tolist(), shrink=0.6)
        bar.set_label("share of the true class", fontsize=LABEL_SIZE)
        bar.ax.tick_params(labelsize=LABEL_SIZE)
    return fig

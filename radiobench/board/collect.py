"""Building the comparison table from result files alone.

Results merge only when they measure the same thing: for each task, one task version
and one data sha256; for each backbone, one weights identity; one file per
(backbone, task). Anything else is refused with the files named, never averaged.
``--limit`` smoke runs are left out.

Each cell keeps its recorded confidence interval, and, per task, whether it is not
significantly worse than the task's best (:func:`radiobench.board.stats.tied_with_best`:
a paired test where both results' per-item predictions are beside them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from radiobench.errors import ResultsError, did_you_mean
from radiobench.results import iter_results


@dataclass
class Cell:
    mean: float
    std: float
    n_seeds: int
    in_domain: bool
    path: Path
    low: float | None = None  # the recorded 95 % interval of the mean; None: unknown (schema < 3)
    high: float | None = None
    tied: bool | None = None  # not significantly worse than the task's best; None: unknown
    p_vs_best: float | None = None  # the paired test's p-value against the best
    tie_rule: str = "unknown"  # "best", "paired", "overlap" (intervals only) or "unknown"


@dataclass
class Board:
    protocol: str
    tasks: dict[str, dict[str, Any]]  # name -> {version, data_sha256, main_score, higher_is_better}
    backbones: dict[str, dict[str, Any]]  # name -> {family, training_data, weights}
    cells: dict[tuple[str, str], Cell]
    ranks: dict[str, float] = field(default_factory=dict)
    skipped_limited: int = 0
    environments: list[str] = field(default_factory=list)

    def coverage(self, backbone: str) -> int:
        return sum((backbone, t) in self.cells for t in self.tasks)

    def ordered_backbones(self) -> list[str]:
        """Most tasks covered first (a mean rank over fewer tasks is not comparable), then by mean rank."""
        def rank(b: str) -> float:
            value = self.ranks.get(b, float("nan"))
            return float("inf") if value != value else value

        return sorted(self.backbones, key=lambda b: (-self.coverage(b), rank(b), b))


def collect(results_dir: Path, protocol: str = "linear", ties: bool = True) -> Board:
    """The board of ``protocol``'s results under ``results_dir``; ``ties=False`` skips the paired tests against each best."""
    board = Board(protocol, {}, {}, {})
    records = {}
    first_seen: dict[tuple[str, str], Path] = {}
    task_origin: dict[str, Path] = {}
    backbone_origin: dict[str, Path] = {}
    environments = set()
    protocol_version: tuple[str, Path] | None = None
    present: set[str] = set()  # protocols that have results here, to suggest one when the asked one has none
    for path, res in iter_results(results_dir):
        present.add(res.protocol.id)
        if res.protocol.id != protocol:
            continue
        version = res.protocol.version
        if protocol_version is None:
            protocol_version = (version, path)
        elif protocol_version[0] != version:
            raise ResultsError(
                f"protocol {protocol!r}: {protocol_version[1]} used protocol version {protocol_version[0]} but {path} "
                f"used {version}; results of different protocol versions cannot be merged, re-run the older ones"
            )
        if res.limit:
            board.skipped_limited += 1
            continue
        b, t = res.backbone, res.task
        task_id = {"version": t.version, "data_sha256": t.data_sha256}
        known = board.tasks.setdefault(
            t.name,
            {**task_id, "main_score": res.main_score.name, "higher_is_better": res.main_score.higher_is_better,
             "simulated": t.simulated},
        )
        task_origin.setdefault(t.name, path)
        if {k: known[k] for k in task_id} != task_id:
            raise ResultsError(
                f"task {t.name!r}: {task_origin[t.name]} has version {known['version']} / data sha256 "
                f"{known['data_sha256'][:12]} but {path} has version {t.version} / data sha256 "
                f"{t.data_sha256[:12]}; scores of different task versions or data cannot be merged, "
                "re-run the older ones or render them from separate folders"
            )
        weights = b.weights.identity
        entry = board.backbones.setdefault(b.name, {"family": b.family, "training_data": b.training_data, "weights": weights})
        backbone_origin.setdefault(b.name, path)
        if entry["weights"] != weights:
            raise ResultsError(
                f"backbone {b.name!r}: {backbone_origin[b.name]} used weights {entry['weights']} but {path} "
                f"used {weights}; results from different weights cannot be merged"
            )
        key = (b.name, t.name)
        if key in first_seen:
            raise ResultsError(f"two results for {key[0]} on {key[1]} ({protocol}): {first_seen[key]} and {path}; keep one")
        first_seen[key] = path
        sources = {s.lower() for s in t.source_datasets}
        trained_on = {s.lower() for s in b.training_data}
        main = res.main_score
        interval = res.interval()
        board.cells[key] = Cell(main.mean, main.std, len(res.seeds), bool(sources & trained_on), path,
                                *(interval or (None, None)))
        records[key] = res
        env = res.environment
        environments.add(f"{env.get('device_name', '?')} (python {env.get('python', '?')}, torch {env.get('packages', {}).get('torch', '?')})")
    if not board.cells:
        raise ResultsError(
            f"no finished {protocol!r} results in {results_dir}"
            + (f" ({board.skipped_limited} --limit runs left out)" if board.skipped_limited else "")
            + "; run `radiobench run` first or pick another --protocol"
            + (f" ({did_you_mean(protocol, present)}results here: {', '.join(sorted(present))})" if present else "")
        )
    board.environments = sorted(environments)
    board.ranks = mean_ranks(board)
    if ties:
        mark_ties(board, records)
    return board


def best_of(board: Board, task: str) -> str:
    """The backbone with the task's best mean (the first by name on an exact tie)."""
    sign = -1 if board.tasks[task]["higher_is_better"] else 1
    return min((sign * c.mean, b) for (b, t), c in board.cells.items() if t == task)[1]


def mark_ties(board: Board, records: dict[tuple[str, str], Any]) -> None:
    """Per task, which cells are not significantly worse than the best (nothing to do where no cell has an interval)."""
    from radiobench.board.stats import tied_with_best

    for task in board.tasks:
        cells = {b: c for (b, t), c in board.cells.items() if t == task}
        if not any(c.low is not None for c in cells.values()):
            continue
        decided = tied_with_best({b: c.path for b, c in cells.items()}, {b: records[(b, task)] for b in cells},
                                 best_of(board, task))
        for b, (tied, p_value, rule) in decided.items():
            cells[b].tied, cells[b].p_vs_best, cells[b].tie_rule = tied, p_value, rule


def mean_ranks(board: Board) -> dict[str, float]:
    """Rank backbones within each real-data task (1 = best, ties share the average rank), then average.

    Simulated tasks are shown but left out: a rank earned on simulated sky says how well the
    pipeline works, not how good a backbone is for radio astronomers. A backbone with no
    real-data result gets NaN.
    """
    import pandas as pd

    per_task = []
    for task, meta in board.tasks.items():
        if meta.get("simulated"):
            continue
        scores = pd.Series({b: c.mean for (b, t), c in board.cells.items() if t == task})
        per_task.append(scores.rank(ascending=not meta["higher_is_better"], method="average"))
    ranks = pd.concat(per_task, axis=1).mean(axis=1).to_dict() if per_task else {}
    return {b: float(ranks.get(b, float("nan"))) for b in board.backbones}

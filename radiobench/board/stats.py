"""``radiobench compare``: two result files and their per-item predictions, one paired comparison.

The tests themselves, and why each metric gets the one it gets, are in
:mod:`radiobench.results.paired`; the board runs the same tests for every pair of a column at
once and corrects them together (:mod:`radiobench.board.ranks`). A comparison costs well under a
second for every kind but detection (whose boxes are matched once per image, a few seconds),
so nothing is cached: there is no stored verdict that a shared cache could carry forged.
"""

from __future__ import annotations

from pathlib import Path

from radiobench.kinds import get_kind
from radiobench.results import ResultRecord
from radiobench.results.agreement import check_agreement
from radiobench.results.paired import N_RESAMPLES, Comparison, compare_files, describe
from radiobench.results.predictions import read_predictions
from radiobench.results.scoring import default_scorer

__all__ = ["Comparison", "compare", "describe"]


def compare(a_path: Path, b_path: Path, metric: str | None = None, n_resamples: int = N_RESAMPLES) -> Comparison:
    """Paired comparison of result A against result B, each read with its sidecar."""
    a_rec, b_rec = ResultRecord.read(a_path), ResultRecord.read(b_path)
    kind = get_kind(a_rec.task.kind)
    higher = kind.metrics[metric].higher_is_better if metric in kind.metrics else None
    score = default_scorer(a_rec)
    a_items, b_items = read_predictions(a_path, a_rec), read_predictions(b_path, b_rec)
    for path, record, items in ((a_path, a_rec, a_items), (b_path, b_rec, b_items)):
        check_agreement(path, record, items, kind.target, score)  # a forged sidecar speaks for nothing
    return compare_files(a_path, b_path, a_rec, b_rec, a_items, b_items, kind.target, score, metric, higher,
                         n_resamples)

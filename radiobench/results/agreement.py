"""A result's per-item predictions must give back the scores its JSON records, or neither is used.

The sidecar's sha256 in the JSON only proves the two files were written together, and anyone
who can edit one can edit both: a sidecar rewritten with perfect predictions and its sha256
updated would make ``compare`` and the board's tests speak for predictions the recorded score
never came from. So before a sidecar is tested, each seed's main score is computed again
from its items and compared with the one the JSON records; a disagreement refuses the result
by name, with both values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import ResultsError
from radiobench.results.predictions import ItemPredictions
from radiobench.results.weighted import metric_matrix

# Recorded scores are float64 from the same arithmetic; detection's come from torchmetrics' float32 path
RELATIVE_TOLERANCE = 1e-5
ABSOLUTE_TOLERANCE = 1e-6


def check_agreement(path: Path, record: Any, items: dict[int, ItemPredictions], target: str, score: Any) -> None:
    """Raise a one-line ``ResultsError`` unless every seed's items give the recorded main score."""
    main = record.main_score.name
    summary = record.metrics.get(main)
    if summary is None:
        raise ResultsError(f"{path}: its main score {main!r} is not among its metrics; re-run it with --overwrite")
    for seed, recorded in zip(record.seeds, summary.per_seed):
        if seed not in items:
            raise ResultsError(f"{path}: its predictions hold no items of seed {seed}; re-run it with --overwrite")
        seed_items = items[seed]
        again = float(metric_matrix(seed_items, target, main, np.ones((1, len(seed_items))), score)[0])
        if math.isnan(again) and not math.isnan(recorded):
            raise ResultsError(f"{path}: {main} cannot be computed again from its predictions with the "
                               f"{record.task.kind} kind's scorer, so the result cannot be tested; the board tests "
                               "a kind's own metrics as main scores")
        if not math.isclose(again, recorded, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE):
            raise ResultsError(f"{path}: its predictions give {main} {again:.4f} for seed {seed} but the result "
                               f"records {recorded:.4f}; the predictions file was changed or belongs to another run, "
                               "so neither is used: re-run it with --overwrite")

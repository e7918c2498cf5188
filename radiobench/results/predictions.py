"""Per-item predictions: what each seed predicted for each test item, kept in a sidecar beside the result JSON.

A score alone cannot be compared item by item after the fact: a paired test between two
backbones, or a confidence interval over test items, needs every item's prediction. They
live in ``<result>.predictions.npz`` (numpy's compressed archive, read with
``allow_pickle=False``: strings are fixed-width unicode, nothing executes), written before
the JSON, whose ``predictions`` block names the file and holds its sha256. A reader that
finds another sha256 refuses the sidecar (a re-run that died between the two writes, or a
file copied from elsewhere). The leaderboard renders from the JSON alone; only intervals
and paired tests read the sidecar.

The archive is one long table, a row per (seed, test item), with the columns a kind has:
``seed``, ``id``, ``truth`` (class index, value or graded label), ``predicted`` (class index,
value, or rank/anomaly score), ``proba`` (class probabilities, where the estimator has them),
``group`` (what a partition keeps together, e.g. the field); detection keeps boxes instead,
ragged arrays with a count per row (``target_*``: the truth, ``detection_*``: boxes in image
pixels, scores and labels).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import ResultsError
from radiobench.io.reader import GiB, MiB, UnreadableFileError, load_npz, read_bytes
from radiobench.results.record import results_error

FORMAT = "radiobench-predictions/1"
SUFFIX = ".predictions.npz"
RERUN = "re-run the result with --overwrite"
# A sidecar holds a row per (seed, test item): the committed ones are at most 0.4 MiB on disk and
# 0.7 MiB expanded (detection boxes). 100,000 test items x 5 seeds x 100 class probabilities is
# 400 MB expanded, so 1 GiB expanded leaves room for any real test set while a 3 MB archive that
# claims gigabytes is refused before a byte is expanded; compressed, a sidecar is smaller still.
SIDECAR_LIMIT = 256 * MiB
SIDECAR_EXPANDED_LIMIT = 1 * GiB


@dataclass
class ItemPredictions:
    """One seed's test items, in a stable order (the evaluation's row order), with what was predicted for each."""

    ids: np.ndarray  # (n,) str
    truth: np.ndarray | None = None  # (n,) class index, value, or graded label
    predicted: np.ndarray | None = None  # (n,) class index, value, or rank score
    proba: np.ndarray | None = None  # (n, classes) class probabilities, columns = the task's class indices
    groups: np.ndarray | None = None  # (n,) str: e.g. the field an item comes from
    targets: list[dict[str, np.ndarray]] | None = None  # detection truth per item: boxes (k, 4), labels (k,)
    detections: list[dict[str, np.ndarray]] | None = None  # per item: boxes (k, 4), scores (k,), labels (k,)

    def __post_init__(self) -> None:
        self.ids = np.asarray(self.ids, dtype=str)
        n = len(self.ids)
        for name in ("truth", "predicted", "proba", "groups", "targets", "detections"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"item predictions: {name} has {len(value)} rows for {n} ids")
        if self.groups is not None:
            self.groups = np.asarray(self.groups, dtype=str)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def detection(self) -> bool:
        return self.detections is not None

    def score_args(self, rows: np.ndarray | None = None) -> tuple[Any, Any]:
        """``(y_true, y_pred)`` of these items (or of ``rows`` of them, repeats allowed) as ``Task.score`` takes them."""
        if self.detection:
            assert self.targets is not None and self.detections is not None
            if rows is None:
                return self.targets, self.detections
            return [self.targets[i] for i in rows], [self.detections[i] for i in rows]
        assert self.truth is not None and self.predicted is not None
        if rows is None:
            return self.truth, self.predicted
        return self.truth[rows], self.predicted[rows]

    def subset(self, rows: np.ndarray) -> ItemPredictions:
        rows = np.asarray(rows, dtype=np.int64)

        def take(value: Any) -> Any:
            if value is None:
                return None
            return [value[i] for i in rows] if isinstance(value, list) else value[rows]

        return ItemPredictions(self.ids[rows], take(self.truth), take(self.predicted), take(self.proba),
                               take(self.groups), take(self.targets), take(self.detections))


def sidecar_name(result_name: str) -> str:
    """``a__b__linear.json`` -> ``a__b__linear.predictions.npz``."""
    return result_name.removesuffix(".json") + SUFFIX


def to_bytes(per_seed: dict[int, ItemPredictions]) -> bytes:
    """The sidecar's content: one compressed archive for every seed (sorted), columns as the module says."""
    seeds = sorted(per_seed)
    if not seeds:
        raise ValueError("no seeds to store")
    items = [per_seed[s] for s in seeds]
    columns: dict[str, np.ndarray] = {
        "format": np.asarray(FORMAT),
        "seed": np.concatenate([np.full(len(it), s, dtype=np.int64) for s, it in zip(seeds, items)]),
        "id": np.concatenate([it.ids for it in items]).astype(str),
    }
    for name, column in (("truth", "truth"), ("predicted", "predicted"), ("proba", "proba"), ("groups", "group")):
        present = [getattr(it, name) is not None for it in items]
        if any(present) and not all(present):
            raise ValueError(f"item predictions: some seeds have {name}, others not")
        if all(present):
            columns[column] = np.concatenate([np.asarray(getattr(it, name)) for it in items])
    if any(it.detection for it in items):
        if not all(it.detection and it.targets is not None for it in items):
            raise ValueError("item predictions: detection seeds need targets and detections")
        _ragged(columns, "target", [t for it in items for t in it.targets or []], ("boxes", "labels"))
        _ragged(columns, "detection", [d for it in items for d in it.detections or []], ("boxes", "scores", "labels"))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **columns)
    return buffer.getvalue()


def _ragged(columns: dict[str, np.ndarray], prefix: str, rows: Sequence[dict[str, np.ndarray]], keys: tuple[str, ...]) -> None:
    columns[f"{prefix}_count"] = np.asarray([len(np.asarray(r["labels"]).reshape(-1)) for r in rows], dtype=np.int64)
    shapes = {"boxes": (-1, 4), "scores": (-1,), "labels": (-1,)}
    dtypes = {"boxes": np.float32, "scores": np.float32, "labels": np.int64}
    for key in keys:
        parts = [np.asarray(r[key], dtype=dtypes[key]).reshape(shapes[key]) for r in rows]
        columns[f"{prefix}_{key}"] = np.concatenate(parts) if parts else np.zeros((0, *shapes[key][1:]), dtypes[key])


def _unragged(data: Any, prefix: str, keys: tuple[str, ...], rows: np.ndarray) -> list[dict[str, np.ndarray]]:
    counts = data[f"{prefix}_count"]
    ends = np.cumsum(counts)
    starts = ends - counts
    arrays = {k: data[f"{prefix}_{k}"] for k in keys}
    return [{k: arrays[k][starts[i]:ends[i]] for k in keys} for i in rows]


def from_bytes(content: bytes, source: str | Path = "<predictions>") -> dict[int, ItemPredictions]:
    """Every seed's items from a sidecar's content; anything but a well-formed sidecar is one ``ResultsError``.

    The archive is expanded only when its members' stated sizes fit :data:`SIDECAR_EXPANDED_LIMIT`,
    and every column is checked (:func:`_check_columns`) before it is indexed, so a damaged or
    hand-made sidecar is named, not a ``KeyError`` or an ``IndexError``.
    """
    try:
        data = load_npz(content, limit=SIDECAR_EXPANDED_LIMIT, source=source, what="predictions file")
    except UnreadableFileError as exc:
        raise results_error(exc, RERUN) from None
    if str(data.get("format", "")) != FORMAT:
        raise ResultsError(f"{source}: predictions format {str(data.get('format'))!r}, this radiobench reads {FORMAT}; "
                           f"{RERUN}")
    problem = _check_columns(data)
    if problem:
        raise ResultsError(f"{source}: not a well-formed predictions file ({problem}); {RERUN}")
    seeds = data["seed"]
    out = {}
    for seed in dict.fromkeys(seeds.tolist()):
        rows = np.flatnonzero(seeds == seed)
        out[int(seed)] = ItemPredictions(
            data["id"][rows],
            data["truth"][rows] if "truth" in data else None,
            data["predicted"][rows] if "predicted" in data else None,
            data["proba"][rows] if "proba" in data else None,
            data["group"][rows] if "group" in data else None,
            _unragged(data, "target", ("boxes", "labels"), rows) if "target_count" in data else None,
            _unragged(data, "detection", ("boxes", "scores", "labels"), rows) if "detection_count" in data else None,
        )
    return out


_NUMERIC = "biuf"  # numpy dtype kinds a score can be computed from
_RAGGED = {"target": {"boxes": 2, "labels": 1}, "detection": {"boxes": 2, "scores": 1, "labels": 1}}


def _check_columns(data: dict[str, np.ndarray]) -> str | None:
    """What is wrong with a sidecar's columns (None: nothing), in words: every column a row per item,
    ids as text, scores as numbers, and a ragged column's counts adding up to its boxes."""
    seed, ids = data.get("seed"), data.get("id")
    if seed is None or seed.ndim != 1 or seed.dtype.kind not in "iu":
        return "no 1-D integer column 'seed'"
    n = len(seed)
    if ids is None or ids.shape != (n,) or ids.dtype.kind != "U":
        return f"no text column 'id' of {n} rows"
    for name, ndim in (("truth", 1), ("predicted", 1), ("proba", 2), ("group", 1)):
        column = data.get(name)
        if column is None:
            continue
        kind_ok = column.dtype.kind in ("U" + _NUMERIC if name == "group" else _NUMERIC)
        if column.ndim != ndim or len(column) != n or not kind_ok:
            return f"column {name!r} is {column.dtype} {column.shape}, not {ndim}-D of {n} rows"
    if ("truth" in data) != ("predicted" in data) or ("target_count" in data) != ("detection_count" in data):
        return "'truth' without 'predicted', or target boxes without detections, or the other way round"
    for prefix, parts in _RAGGED.items():
        if f"{prefix}_count" in data:
            problem = _check_ragged(data, prefix, parts, n)
            if problem:
                return problem
    if "truth" not in data and "target_count" not in data:
        return "neither 'truth' nor detection boxes"
    return None


def _check_ragged(data: dict[str, np.ndarray], prefix: str, parts: dict[str, int], n: int) -> str | None:
    counts = data[f"{prefix}_count"]
    if counts.shape != (n,) or counts.dtype.kind not in "iu" or (counts < 0).any():
        return f"column '{prefix}_count' is not {n} counts"
    total = int(counts.sum())
    for key, ndim in parts.items():
        column = data.get(f"{prefix}_{key}")
        shape_ok = column is not None and column.ndim == ndim and len(column) == total
        if not shape_ok or column.dtype.kind not in _NUMERIC or (key == "boxes" and column.shape[1] != 4):
            return f"column '{prefix}_{key}' does not hold the {total} rows its counts add up to"
    return None


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def read_predictions(result_path: Path, record: Any) -> dict[int, ItemPredictions]:
    """The per-item predictions of the result at ``result_path``, after checking the sidecar is the one it names.

    Every refusal is one line that says what to do: a result written before schema 3 has
    none; a missing or changed sidecar means the pair is no longer a consistent result.
    """
    ref = record.predictions
    if ref is None:
        raise ResultsError(f"{result_path}: no per-item predictions (written before result schema 3 or by a run "
                           "that kept none); re-run it with --overwrite to record them")
    if Path(ref.file).name != ref.file:
        raise ResultsError(f"{result_path}: predictions file {ref.file!r} must be a name beside the result; delete it")
    path = Path(result_path).with_name(ref.file)
    if not os.path.lexists(path):
        raise ResultsError(f"{result_path}: its predictions file {path.name} is missing; copy it beside the result "
                           "or re-run with --overwrite")
    try:  # a named pipe, a link to /dev/zero or a huge file is refused here by name, before any read
        content = read_bytes(path, limit=SIDECAR_LIMIT, what="predictions file")
    except UnreadableFileError as exc:
        raise results_error(exc, RERUN) from None
    if sha256(content) != ref.sha256:
        raise ResultsError(f"{path}: sha256 differs from the one {Path(result_path).name} records, so it belongs to "
                           "another run; re-run with --overwrite")
    return from_bytes(content, path)

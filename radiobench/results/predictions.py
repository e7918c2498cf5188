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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from radiobench.errors import ResultsError

FORMAT = "radiobench-predictions/1"
SUFFIX = ".predictions.npz"


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
    """Every seed's items from a sidecar's content; a file of another format is one ``ResultsError``."""
    try:
        with np.load(io.BytesIO(content), allow_pickle=False) as archive:
            data = {k: archive[k] for k in archive.files}
    except Exception as exc:  # noqa: BLE001 - zipfile, numpy and OS errors alike: the file is not ours
        raise ResultsError(f"{source}: not a readable predictions file ({type(exc).__name__}); re-run the result "
                           "with --overwrite") from None
    if str(data.get("format", "")) != FORMAT:
        raise ResultsError(f"{source}: predictions format {str(data.get('format'))!r}, this radiobench reads {FORMAT}; "
                           "re-run the result with --overwrite")
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
    try:
        content = path.read_bytes()
    except OSError:
        raise ResultsError(f"{result_path}: its predictions file {path.name} is missing; copy it beside the result "
                           "or re-run with --overwrite") from None
    if sha256(content) != ref.sha256:
        raise ResultsError(f"{path}: sha256 differs from the one {Path(result_path).name} records, so it belongs to "
                           "another run; re-run with --overwrite")
    return from_bytes(content, path)

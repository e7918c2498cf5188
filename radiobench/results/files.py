"""Result files: one JSON per (backbone, task, protocol), written atomically.

The file name carries the identity (protocol id includes the label budget, a
``--limit`` run gets its own suffix) so that re-running can skip what is done and a
smoke run can never masquerade as, or overwrite, a full one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from radiobench.atomic import write_text_atomic
from radiobench.errors import ResultsError

SCHEMA_VERSION = 1


def result_path(results_dir: Path, backbone: str, task: str, protocol_id: str, limit: int | None) -> Path:
    suffix = f".limit{limit}" if limit else ""
    return Path(results_dir) / f"{backbone}__{task}__{protocol_id}{suffix}.json"


def summarise(values: list[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1; 0 for a single seed) and the values."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "per_seed": values}


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, allow_nan=False) + "\n")


def read_result(path: Path) -> dict[str, Any]:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: not a readable result file ({exc}); delete it or re-run with --overwrite") from None
    if not isinstance(payload, dict) or payload.get("schema_version") != SCHEMA_VERSION:
        found = payload.get("schema_version") if isinstance(payload, dict) else None
        raise ResultsError(
            f"{path}: result schema version {found!r}, this radiobench reads {SCHEMA_VERSION}; "
            "re-run it with this version or render it with the version that wrote it"
        )
    for key in ("backbone", "task", "protocol", "main_score", "metrics"):
        if key not in payload:
            raise ResultsError(f"{path}: result file lacks {key!r}; it is incomplete, re-run with --overwrite")
    return payload


def is_complete(path: Path) -> bool:
    try:
        read_result(path)
    except ResultsError:
        return False
    return True


def mismatch(result: dict[str, Any], asked: dict[str, Any]) -> str | None:
    """The first recorded setting (a dotted key) that differs from what a run asks for, as
    ``"key recorded -> asked"``; None when the result answers the request.

    A finished result is only skipped when it measured what was asked: skipping a 5-seed
    result for a 10-seed request, or one from an older protocol version, would hand back
    numbers the command line does not describe.
    """
    for key, want in asked.items():
        have: Any = result
        for part in key.split("."):
            have = have.get(part) if isinstance(have, dict) else None
        if have != want:
            return f"{key} {have} -> {want}"
    return None


def iter_results(results_dir: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results folder {results_dir} does not exist; run `radiobench run` first or pass --results-dir")
    for path in sorted(results_dir.rglob("*.json")):
        if not path.name.startswith("."):
            yield path, read_result(path)

"""Result files: one JSON per (backbone, task, protocol), written atomically, read as typed records.

The file name carries the identity (protocol id includes the label budget, a
``--limit`` run gets its own suffix) so that re-running can skip what is done and a
smoke run can never masquerade as, or overwrite, a full one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from radiobench.io.atomic import write_text_atomic
from radiobench.errors import ResultsError
from radiobench.results.record import ResultRecord


def result_path(results_dir: Path, backbone: str, task: str, protocol_id: str, limit: int | None) -> Path:
    suffix = f".limit{limit}" if limit else ""
    return Path(results_dir) / f"{backbone}__{task}__{protocol_id}{suffix}.json"


def write_result(path: Path, record: ResultRecord) -> None:
    write_text_atomic(path, record.to_json())


def read_result(path: Path) -> ResultRecord:
    return ResultRecord.read(path)


def iter_results(results_dir: Path) -> Iterator[tuple[Path, ResultRecord]]:
    """Every result under ``results_dir`` (dot-files are temporaries of a write in progress)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results folder {results_dir} does not exist; run `radiobench run` first or pass --results-dir")
    for path in sorted(results_dir.rglob("*.json")):
        if not path.name.startswith(".") and path.is_file():
            yield path, read_result(path)

"""Result files: one JSON per (backbone, task, protocol), written atomically, read as typed records.

The file name carries the identity (protocol id includes the label budget, a
``--limit`` run gets its own suffix) so that re-running can skip what is done and a
smoke run can never masquerade as, or overwrite, a full one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from radiobench.io.atomic import open_atomic, write_text_atomic
from radiobench.errors import ResultsError
from radiobench.results.predictions import sha256, sidecar_name
from radiobench.results.record import ResultRecord


def result_path(results_dir: Path, backbone: str, task: str, protocol_id: str, limit: int | None) -> Path:
    suffix = f".limit{limit}" if limit else ""
    return Path(results_dir) / f"{backbone}__{task}__{protocol_id}{suffix}.json"


def write_result(path: Path, record: ResultRecord, sidecar: bytes | None = None) -> None:
    """The per-item sidecar first, then the JSON that names it, each atomically.

    In that order a reader never meets a JSON whose sidecar is missing: a run killed between
    the two leaves the old JSON, whose recorded sha256 no longer matches the new sidecar, and
    the sidecar is refused as another run's (the re-run rules then replace both).
    """
    ref = record.predictions
    if (ref is None) != (sidecar is None):
        raise ValueError("write_result: a record names a predictions sidecar exactly when one is given")
    if ref is not None and sidecar is not None:
        if ref.file != sidecar_name(Path(path).name) or ref.sha256 != sha256(sidecar):
            raise ValueError(f"write_result: the record names {ref.file} ({ref.sha256[:12]}), not this sidecar of {path}")
        with open_atomic(Path(path).with_name(ref.file), "wb") as handle:
            handle.write(sidecar)
    write_text_atomic(path, record.to_json())


def lock_path(path: Path) -> Path:
    """The lock of the result at ``path``: a dot-file beside it, which no reader takes for a result."""
    return Path(path).with_name(f".{Path(path).name}.lock")


@contextmanager
def result_lock(path: Path, waiting: Callable[[], None] = lambda: None) -> Iterator[None]:
    """Hold the result's lock (``filelock``, released by the OS if the holder is killed) while the block runs.

    Atomic writes keep a result whole, not from being lost: two runs that each decided the
    file was missing both wrote it, the later silently replacing the earlier. Under this lock
    a run looks at the file again before it writes (see :func:`radiobench.run.pipeline.run_pair`).
    ``waiting`` is called once if another process holds the lock, so that a run can say why it stopped.
    """
    from filelock import FileLock, Timeout

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(path)))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        waiting()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def read_result(path: Path) -> ResultRecord:
    return ResultRecord.read(path)


def iter_results(results_dir: Path) -> Iterator[tuple[Path, ResultRecord]]:
    """Every result under ``results_dir`` (dot-files are temporaries of a write in progress, or locks)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ResultsError(f"results folder {results_dir} does not exist; run `radiobench run` first or pass --results-dir")
    for path in sorted(results_dir.rglob("*.json")):
        if path.name.startswith("."):
            continue
        if not path.is_file():  # a pipe or folder planted as a result: named, never silently dropped
            raise ResultsError(f"{path} is not a regular file, so it is no result; delete it")
        yield path, read_result(path)

"""Proving that radiobench can write where it was told to, before any work.

A results folder, a jobs folder, the cache root and a leaderboard's output file all fail
the same ways: a path below a regular file, a folder where a file should go, no write
permission. Each is found out here, in one line naming the setting, rather than as an
"unexpected" error after an hour of extraction. The fix is another path, so each is a
:class:`~radiobench.errors.UsageError` (exit code 2).
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

from radiobench.errors import UsageError


def _nearest_existing(path: Path) -> Path:
    return next(p for p in (path, *path.parents) if p.exists() or p == Path(p.anchor or "."))


def check_writable_folder(folder: str | Path, setting: str) -> None:
    """Prove that files can be created under ``folder`` (made later, when first needed), creating nothing.

    ``setting`` names what the user set (``--results-dir``, ``RADIOBENCH_CACHE``) so the
    message says what to change.
    """
    folder = Path(folder)
    if not str(folder).strip():
        raise UsageError(f"{setting} is empty; give a folder")
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise UsageError(f"{setting} {folder}: {existing} is a file, not a folder; {_other(setting)}")
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".radiobench-write-check-"):
            pass
    except OSError as exc:
        raise UsageError(f"{setting} {folder}: cannot write in {existing} ({exc.strerror or exc}); "
                              f"{_other(setting)} you can write to") from None


def _other(setting: str) -> str:
    return f"pick another {setting}" if setting.startswith("--") else f"set {setting} to another folder"


def check_output_file(path: str | Path, setting: str) -> None:
    """Prove that a file can be written at ``path``: not a folder, its folder creatable and writable."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{setting} {path} is a folder; give a file path such as {path / 'leaderboard.md'}")
    if path.exists() and not path.is_file():
        raise UsageError(f"{setting} {path} exists and is not a regular file; give another path")
    check_writable_folder(path.parent, setting)


def is_disk_full(exc: BaseException) -> bool:
    """Whether an error is the file system being out of space (or quota), which no retry of the step fixes."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)

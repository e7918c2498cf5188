"""Where data lives and how it is checked before anything reads it."""

from __future__ import annotations

import os
from pathlib import Path

from radiobench.download import sha256_file
from radiobench.errors import ChecksumError, DatasetNotFoundError

DEFAULT_HOME = Path("~/.cache/radiobench")


def cache_root() -> Path:
    return Path(os.environ.get("RADIOBENCH_CACHE") or DEFAULT_HOME).expanduser()


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--data-root``, else ``RADIOBENCH_DATA``, else ``~/.cache/radiobench/data``."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("RADIOBENCH_DATA")
    return Path(env).expanduser() if env else DEFAULT_HOME.expanduser() / "data"


def verify_file(path: Path, sha256: str, task: str) -> None:
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumError(
            f"{path}: sha256 {actual[:16]}... does not match the published {sha256[:16]}... "
            f"(corrupt, truncated or tampered); delete it and run `radiobench data download {task}`"
        )


def require_file(path: Path, sha256: str, task: str, url: str) -> Path:
    """Return ``path`` once verified; if it is missing, say where it goes and how to get it."""
    if not path.exists():
        raise DatasetNotFoundError(
            f"{task}: {path.name} not found in {path.parent}; run `radiobench data download {task} "
            f"--data-root {path.parent.parent}` or place the file from {url} there"
        )
    verify_file(path, sha256, task)
    return path

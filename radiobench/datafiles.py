"""Where data lives, how it is checked, and how it is downloaded.

Downloads go through pooch (hash-checked, written to a temporary file and moved into
place only once the hash matches), so an interrupted or tampered download never
leaves a file that looks valid.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

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


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str, task: str) -> None:
    actual = sha256_file(path)
    if actual != sha256:
        raise ChecksumError(
            f"{path}: sha256 {actual[:16]}... does not match the published {sha256[:16]}... "
            f"(corrupt, truncated or tampered); delete it and run `radiobench data download {task}`"
        )


def require_file(path: Path, sha256: str, task: str, url: str, download: bool) -> Path:
    """Return a verified ``path``, downloading it first when allowed."""
    if not path.exists():
        if not download:
            raise DatasetNotFoundError(
                f"{task}: {path.name} not found in {path.parent}; run `radiobench data download {task} "
                f"--data-root {path.parent.parent}` or place the file from {url} there"
            )
        fetch(url, sha256, path)
    verify_file(path, sha256, task)
    return path


def fetch(url: str, sha256: str, path: Path) -> Path:
    import pooch  # only a download needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        got = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=path.name, path=path.parent, progressbar=True)
    except ValueError as exc:  # pooch's hash mismatch; the temp file is already gone
        raise ChecksumError(f"download of {url} failed its checksum ({exc}); nothing was kept") from None
    except OSError as exc:  # requests' connection errors derive from OSError
        raise DatasetNotFoundError(
            f"could not download {url} ({type(exc).__name__}); download it by hand and place it at {path}"
        ) from None
    return Path(got)

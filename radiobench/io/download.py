"""Resumable, hash-checked downloads for data sets and weights.

A download streams into ``<file>.part`` beside its destination; an interrupted one is
resumed with an HTTP Range request, and the file is renamed into place only once its
sha256 matches the published value. When no value is published, the sha256 computed
on first download is stored beside the file (``<file>.sha256``) and recorded in every
result, so two results from different files can never be merged silently.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from radiobench.errors import ChecksumError, DatasetNotFoundError
from radiobench.io.reader import NotRegularFileError, open_regular

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | None = None, *, timeout: float = 60) -> str:
    """Fetch ``url`` to ``dest`` (resuming ``dest.part``); return the file's sha256."""
    import requests
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.exists() and not part.is_file():  # appending to a named pipe would block forever
        raise NotRegularFileError(part, part.stat().st_mode)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as response:
            if response.status_code == 416:  # the .part is already complete (or longer than the file)
                have = -1
            else:
                response.raise_for_status()
                if have and response.status_code != 206:  # server ignored Range: start over
                    have = 0
                total = int(response.headers.get("Content-Length", 0)) + max(have, 0) or None
                with open(part, "ab" if have else "wb") as handle, Progress(
                    *Progress.get_default_columns()[:3], DownloadColumn(), TransferSpeedColumn(), transient=True
                ) as progress:
                    bar = progress.add_task(f"download {dest.name}", total=total, completed=max(have, 0))
                    for block in response.iter_content(CHUNK):
                        handle.write(block)
                        progress.advance(bar, len(block))
    except (requests.RequestException, OSError) as exc:
        kept = f"; {part.name} is kept and the next try resumes it" if part.exists() else ""
        raise DatasetNotFoundError(f"could not download {url} ({_reason(exc)}){kept}; or download it by hand to {dest}") from None
    actual = sha256_file(part)
    if sha256 and actual != sha256:
        part.unlink()
        raise ChecksumError(
            f"download of {url} has sha256 {actual[:16]}..., not the published {sha256[:16]}...; "
            "nothing was kept (a changed or tampered upstream file)"
        )
    os.replace(part, dest)
    if not sha256:
        dest.with_name(dest.name + ".sha256").write_text(f"{actual}  {dest.name}\n")
    return actual


def _reason(exc: Exception) -> str:
    """One short phrase: the HTTP status, or the kind of network failure."""
    import requests

    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, requests.ConnectionError):
        return "no connection to the host"
    return type(exc).__name__

"""Writing files so that a reader sees the old file or the complete new one, never half of it.

Every file radiobench produces (result JSON, cache entry, leaderboard page, simulated
field) goes through ``open_atomic``: a temporary sibling is written, flushed to disk
and renamed over the target; if anything fails or the run is killed, the target is
untouched and the temporary file is removed (or left with a dot-name nothing reads).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def open_atomic(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8", "newline": ""})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: Path, text: str) -> None:
    with open_atomic(path) as handle:
        handle.write(text)

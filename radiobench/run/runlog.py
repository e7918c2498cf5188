"""The run's log file: full tracebacks of unexpected errors, which the terminal shows as one line.

A bug in a plugin or the core must not end a many-pair run, so the CLI reports it in one line
and carries on; the traceback a maintainer needs goes here, in the results folder beside the
results it concerns. The file is made on the first error only, so clean runs leave nothing.
"""

from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from radiobench import __version__


class RunLog:
    """``<results-dir>/radiobench-run-<timestamp>.log``, appended to on each :meth:`exception`."""

    def __init__(self, results_dir: Path, argv: list[str] | None = None):
        self.path = Path(results_dir) / f"radiobench-run-{time.strftime('%Y%m%d-%H%M%S')}.log"
        self.argv = sys.argv[1:] if argv is None else argv
        self.written = False

    def exception(self, where: str, exc: BaseException) -> Path | None:
        """Append ``exc``'s traceback under a heading naming ``where`` it happened; the log's path, or
        None when it cannot be written (the one-line message then says to use --verbose)."""
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as log:
                if not self.written:
                    log.write(f"radiobench {__version__}: radiobench {' '.join(self.argv)}\n")
                log.write(f"\n== {time.strftime('%H:%M:%S')} {where}\n{text}")
        except OSError:
            return None
        self.written = True
        return self.path

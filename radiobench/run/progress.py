"""Progress callbacks of a run (bars, notes). Not pluggy hooks: those are in :mod:`radiobench.hookspecs`."""

from __future__ import annotations

from collections.abc import Callable


class Progress:
    """The CLI draws bars through these; tests and library callers pass nothing and see nothing."""

    def extraction(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def fitting(self, label: str, total: int) -> Callable[[], None]:
        return lambda: None

    def done(self) -> None:
        pass

    def note(self, text: str) -> None:
        """A line the user should read (e.g. why a finished result is being replaced)."""

"""Progress callbacks of a run (bars, notes). Not pluggy hooks: those are in :mod:`radiobench.hookspecs`.

Code deep inside a task or protocol (a simulation, pyBDSF over fields, a detection head's
epochs) has no progress object in its signature; it calls :func:`stage`, which reaches
whatever :func:`reporting` installed for the pair being run (nothing, outside a run).

Below both the runner and the protocols (it imports nothing of radiobench): the runner installs
a :class:`Progress`, and a protocol reports to it without reaching up into :mod:`radiobench.run`.
``radiobench.run.progress`` names the same objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Progress:
    """The CLI draws bars through these; tests and library callers pass nothing and see nothing."""

    def extraction(self, label: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    def fitting(self, label: str, total: int) -> Callable[[], None]:
        return lambda: None

    def stage(self, label: str, total: int, unit: str) -> Callable[[int], None]:
        """Any other long step counted in ``unit`` (fields simulated, fields source-found, head epochs)."""
        return lambda n=1: None

    def done(self) -> None:
        pass

    def note(self, text: str) -> None:
        """A line the user should read (e.g. why a finished result is being replaced)."""


_CURRENT: ContextVar[Progress] = ContextVar("radiobench_progress", default=Progress())


@contextmanager
def reporting(progress: Progress) -> Iterator[Progress]:
    """Send :func:`stage` calls made while the block runs to ``progress``."""
    token = _CURRENT.set(progress)
    try:
        yield progress
    finally:
        _CURRENT.reset(token)


def stage(label: str, total: int, unit: str = "steps") -> Callable[[int], None]:
    """A progress bar for a long step, for code that has no progress object: call the result with steps done.

    Outside a run (a test, ``radiobench data verify``) nothing is drawn and the call costs nothing.
    """
    return _CURRENT.get().stage(label, total, unit)

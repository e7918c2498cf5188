"""The run's progress callbacks: they live in :mod:`radiobench.progress`, below the runner and the protocols.

This name is kept for the runner's modules and for plugins that imported it; the objects are the
same (one ``Progress`` class, one ``stage`` reaching whatever ``reporting`` installed).
"""

from __future__ import annotations

from radiobench.progress import Progress, reporting, stage

__all__ = ["Progress", "reporting", "stage"]

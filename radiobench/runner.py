"""Old import path of the run machinery, kept for one release: use :mod:`radiobench.run` (or ``radiobench.api``)."""

from radiobench.run import Outcome, RunOptions, build_backbone, build_task, limited, run_pair
from radiobench.run.progress import Progress as Hooks

__all__ = ["Hooks", "Outcome", "RunOptions", "build_backbone", "build_task", "limited", "run_pair"]

"""Running backbones over tasks: one pair pipeline, a strategy per kind of evaluation, typed results.

- :mod:`~radiobench.run.options`: what was asked, validated before any work.
- :mod:`~radiobench.run.pair`: a pair's identity (data, weights, code) and its lazily built parts.
- :mod:`~radiobench.run.pipeline`: the chain every pair goes through (plan, skip, features, fit, record).
- :mod:`~radiobench.run.strategy`, :mod:`~radiobench.run.vectors`, :mod:`~radiobench.run.maps`: what
  differs between embedding tasks and detection tasks.
- :mod:`~radiobench.run.records`: the result record of a fit, and the seeds an earlier one may lend.
- :mod:`~radiobench.run.progress`: progress callbacks (not pluggy hooks).
- :mod:`~radiobench.run.session`, :mod:`~radiobench.run.console`, :mod:`~radiobench.run.sweep_session`:
  a run as ``radiobench run`` does and shows it (pre-flight, pairs, summary; with ``--executor``, jobs).
"""

from radiobench.run.options import RunOptions
from radiobench.run.pair import build_backbone, build_task, limited
from radiobench.run.pipeline import Outcome, run_pair
from radiobench.run.progress import Progress

Hooks = Progress  # its name in radiobench 0.1 (runner.Hooks); removed in 0.3

__all__ = ["Hooks", "Outcome", "Progress", "RunOptions", "build_backbone", "build_task", "limited", "run_pair"]

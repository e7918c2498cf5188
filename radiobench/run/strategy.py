"""What differs between kinds of evaluation: how features are made and how a protocol is fitted on them.

The pipeline (:mod:`radiobench.run.pipeline`) is one chain for every task; a kind's
``evaluation`` ("vectors" or "maps") picks the :class:`Strategy` that fills in the two
steps that differ. A new evaluation shape is a new strategy, not a second runner. This base
module knows none of its subclasses (:mod:`~radiobench.run.vectors`, :mod:`~radiobench.run.maps`
import it); the pipeline picks one (``pipeline.strategy_for``).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from radiobench.protocols.base import SeedResult
    from radiobench.run.pair import Pair
    from radiobench.run.progress import Progress


@dataclass
class Fit:
    """A protocol's per-seed results with how they were evaluated (recorded in the result)."""

    per_seed: list[SeedResult]
    evaluation: dict[str, Any] | str
    seeded: bool = True  # False: one deterministic run whatever --seeds said (a classical source finder)


class NotApplicable(Exception):
    """The pair cannot be run by design (e.g. a backbone without a spatial map on a detection task)."""


class Strategy(abc.ABC):
    @abc.abstractmethod
    def features(self, pair: Pair, progress: Progress) -> None:
        """Load the pair's splits and make (or read from the cache) the features every protocol shares."""

    @abc.abstractmethod
    def fit(self, pair: Pair, protocol: Any, seeds: list[int], progress: Progress) -> Fit:
        """Fit and score ``protocol`` once per seed in ``seeds``."""

    @property
    def seeded(self) -> bool:
        return True

"""Evaluation protocols on frozen features.

A protocol fits a light model on cached train features and scores it on the test
split, once per seed. The seed moves everything random in the protocol: the
cross-validation folds and the label-budget subsample.
"""

from __future__ import annotations

from radiobench.errors import UnknownNameError
from radiobench.protocols.anomaly import IsolationForestScore, KNNDistance
from radiobench.protocols.base import (Evaluation, FitJob, Fold, LabelBudget, Protocol, SeedResult, grouped_partition,
                                      run_seeds)
from radiobench.protocols.detect import Detect
from radiobench.protocols.knn import KNN
from radiobench.protocols.linear import Linear

# ``detect`` trains a head on feature maps rather than fitting feature vectors: it shares the
# registry (names, kinds, version) but not the Protocol base
PROTOCOLS: dict[str, type[Protocol] | type[Detect]] = {
    "linear": Linear, "knn": KNN, "knn-distance": KNNDistance, "iforest": IsolationForestScore, "detect": Detect,
}


# the headline protocol of each task kind: what `radiobench run` uses unless told otherwise
MAIN = {"classification": "linear", "regression": "linear", "ranking": "linear", "detection": "detect"}


def get_protocol(name: str) -> type[Protocol] | type[Detect]:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownNameError("protocol", name, PROTOCOLS) from None


def protocols_for(kind: str) -> list[str]:
    """The protocols that apply to a task kind, in registry order (what ``--protocol all`` runs)."""
    return [name for name, cls in PROTOCOLS.items() if kind in cls.kinds]


__all__ = ["MAIN", "PROTOCOLS", "Evaluation", "FitJob", "Fold", "LabelBudget", "Protocol", "SeedResult", "get_protocol",
           "grouped_partition", "protocols_for", "run_seeds"]

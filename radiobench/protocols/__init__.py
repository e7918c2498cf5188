"""Evaluation protocols on frozen features.

A protocol fits a light model on cached train features and scores it on the test
split, once per seed. The seed moves everything random in the protocol: the
cross-validation folds and the label-budget subsample.
"""

from __future__ import annotations

from radiobench.errors import UnknownNameError
from radiobench.protocols.base import LabelBudget, Protocol, SeedResult, run_seeds
from radiobench.protocols.knn import KNN
from radiobench.protocols.linear import Linear

PROTOCOLS: dict[str, type[Protocol]] = {"linear": Linear, "knn": KNN}


def get_protocol(name: str) -> type[Protocol]:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownNameError("protocol", name, PROTOCOLS) from None


__all__ = ["PROTOCOLS", "LabelBudget", "Protocol", "SeedResult", "get_protocol", "run_seeds"]

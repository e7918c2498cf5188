"""Evaluation protocols on frozen features.

A protocol fits a light model on cached train features and scores it on the test
split, once per seed. The seed moves everything random in the protocol: the
cross-validation folds and the label-budget subsample. Runs find protocols in the registry
(``radiobench_register_protocols``); the built-in ones arrive through ``radiobench_plugins.protocols``.
"""

from __future__ import annotations

from radiobench.protocols.anomaly import IsolationForestScore, KNNDistance
from radiobench.protocols.base import (Evaluation, FitJob, Fold, LabelBudget, MapProtocol, Predicted, Protocol,
                                      SeedResult, grouped_kfold, grouped_partition, run_seeds)
from radiobench.protocols.detect import Detect
from radiobench.protocols.knn import KNN
from radiobench.protocols.linear import Linear

__all__ = ["KNN", "Detect", "Evaluation", "FitJob", "Fold", "IsolationForestScore", "KNNDistance", "LabelBudget", "Linear",
           "MapProtocol", "Predicted", "Protocol", "SeedResult", "grouped_kfold", "grouped_partition", "run_seeds"]

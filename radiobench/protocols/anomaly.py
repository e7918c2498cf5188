"""Unsupervised anomaly scores on frozen features: no label is read to make them.

``knn-distance``: an item's anomaly score is its mean cosine distance to its k nearest
other items in the whole pool (k = 10). Isolated points in feature space are what a
human browsing for oddities would be shown first (the Astronomaly idea: Lochner & Bassett
2021 rank by how unlike the rest a source looks). Cosine, like the kNN probe, because
backbone features are compared by direction (DINO's convention); an item that differs only
in feature norm is not an outlier here. ``iforest``: scikit-learn's isolation
forest (200 trees, seeded) on standardised features, score = minus its decision function.
Both are fitted on every item, labelled or not, and evaluated on the labelled ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radiobench.protocols.base import Protocol
from radiobench.specs import TaskSpec


@dataclass
class KNNDistance(Protocol):
    name = "knn-distance"
    kinds = ("ranking",)
    supervised = False
    options: dict[str, Any] = field(default_factory=lambda: {"k": 10, "metric": "cosine", "score": "mean distance"})

    def fit_predict(self, task: TaskSpec, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int,
                    validation: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        from sklearn.neighbors import NearestNeighbors

        k = min(int(self.options["k"]), len(x_train) - 1)
        index = NearestNeighbors(n_neighbors=k + 1, metric=self.options["metric"]).fit(x_train)
        distances, _ = index.kneighbors(x_test)
        # x_test items are in the pool too: drop the nearest hit, which is the item itself
        return distances[:, 1:].mean(axis=1), {"k": k}


@dataclass
class IsolationForestScore(Protocol):
    name = "iforest"
    kinds = ("ranking",)
    supervised = False
    options: dict[str, Any] = field(default_factory=lambda: {"n_estimators": 200, "standardise": True})

    def fit_predict(self, task: TaskSpec, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int,
                    validation: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        from sklearn.ensemble import IsolationForest
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        forest = make_pipeline(StandardScaler(), IsolationForest(n_estimators=self.options["n_estimators"],
                                                                 random_state=seed, n_jobs=-1))
        forest.fit(x_train)
        return -forest.decision_function(x_test), {}

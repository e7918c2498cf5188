"""k-nearest-neighbour probe in cosine distance, the DINO-style check of feature geometry.

k = 20 by default (DINO's choice), capped at the training-set size; classification
is a majority vote, regression the neighbours' mean. Nothing is fitted, so without a
label budget every seed gives the same number (std 0, reported as such).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radiobench.kinds import get_kind
from radiobench.protocols.base import Predicted, Protocol
from radiobench.specs import TaskSpec

DEFAULT_K = 20


@dataclass
class KNN(Protocol):
    name = "knn"
    options: dict[str, Any] = field(default_factory=lambda: {"k": DEFAULT_K, "metric": "cosine", "weights": "uniform"})

    def fit_predict(
        self,
        task: TaskSpec,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        seed: int,
        validation: tuple[np.ndarray, np.ndarray] | None = None,  # k is fixed: nothing to select
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        k = min(int(self.options["k"]), len(y_train))
        cls = KNeighborsClassifier if get_kind(task.kind).target == "class" else KNeighborsRegressor
        model = cls(n_neighbors=k, metric=self.options["metric"], weights=self.options["weights"], n_jobs=-1)
        model.fit(x_train, y_train)
        return Predicted.of(model, x_test), {"k": k}  # a classifier's neighbour vote shares come with its labels

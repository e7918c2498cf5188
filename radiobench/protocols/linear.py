"""Linear probe: logistic regression (classification) or ridge (regression).

Features are standardised inside the pipeline, and the regularisation strength is
chosen by 5-fold cross-validation on the training split alone (folds shuffled by the
seed, stratified for classification), scored by the task's main metric. The test
split is touched once, by the refitted best model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from radiobench.protocols.base import Protocol
from radiobench.specs import TaskSpec

C_GRID = tuple(float(c) for c in np.logspace(-4, 4, 9))
ALPHA_GRID = tuple(float(a) for a in np.logspace(-2, 6, 9))
FOLDS = 5
# sklearn scorer for each main score a task may declare
SCORERS = {
    "error": "accuracy",
    "accuracy": "accuracy",
    "f1_macro": "f1_macro",
    "balanced_accuracy": "balanced_accuracy",
    "mse": "neg_mean_squared_error",
    "mae": "neg_mean_absolute_error",
    "r2": "r2",
}


@dataclass
class Linear(Protocol):
    name = "linear"
    options: dict[str, Any] = field(
        default_factory=lambda: {
            "standardise": True,
            "cv_folds": FOLDS,
            "logistic_C_grid": list(C_GRID),
            "ridge_alpha_grid": list(ALPHA_GRID),
            "max_iter": 2000,
        }
    )

    def fit_predict(
        self, task: TaskSpec, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, seed: int
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        classification = task.kind == "classification"
        if classification:
            smallest = int(np.bincount(y_train).min(initial=0)) if len(y_train) else 0
            folds = StratifiedKFold(min(FOLDS, max(2, smallest)), shuffle=True, random_state=seed)
            model = LogisticRegression(max_iter=self.options["max_iter"])
            grid = {"logisticregression__C": list(C_GRID)}
        else:
            folds = KFold(FOLDS, shuffle=True, random_state=seed)
            model = Ridge()
            grid = {"ridge__alpha": list(ALPHA_GRID)}
        search = GridSearchCV(
            make_pipeline(StandardScaler(), model),
            grid,
            cv=folds,
            scoring=SCORERS.get(task.main_score, "accuracy" if classification else "r2"),
            n_jobs=-1,
        )
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            search.fit(x_train, y_train)
        # Recorded per seed rather than printed: whether the refitted model's solver converged
        # within max_iter (it matters for reading the number, not for running the rest).
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        (param, value), = search.best_params_.items()
        chosen = {param.split("__")[1]: value, "cv_score": float(search.best_score_), "converged": converged}
        return search.predict(x_test), chosen

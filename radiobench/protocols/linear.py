"""Linear probe: logistic regression (classification) or ridge (regression, ranking).

Features are standardised inside the pipeline, and the regularisation strength is
chosen on training data alone, scored by the task's main metric: on the validation part
when the task's split has one (the 70/20/10 counting split: fit on train, pick on valid),
otherwise by 5-fold cross-validation on the training split (folds shuffled by the seed,
stratified for classification). The test split is touched once, by the chosen model.
On a ranking task the ridge regresses the human scores and its prediction is the rank score.
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
    kinds = ("classification", "regression", "ranking")
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
        self,
        task: TaskSpec,
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_test: np.ndarray,
        seed: int,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        classification = task.kind == "classification"
        if classification:
            param, grid = "C", list(C_GRID)

            def make(value: float) -> Any:
                return make_pipeline(StandardScaler(), LogisticRegression(C=value, max_iter=self.options["max_iter"]))
        else:
            param, grid = "alpha", list(ALPHA_GRID)

            def make(value: float) -> Any:
                return make_pipeline(StandardScaler(), Ridge(alpha=value))

        scoring = SCORERS.get(task.main_score, "accuracy" if classification else "r2")
        from scipy.linalg import LinAlgWarning

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", LinAlgWarning)
            if validation is not None:
                model, value, selection = self._select_on_validation(make, grid, scoring, x_train, y_train, validation)
            else:
                model, value, selection = self._select_by_cv(make, grid, scoring, classification, x_train, y_train, seed)
        # Recorded per seed rather than printed: whether the solver converged within max_iter
        # (it matters for reading the number, not for running the rest).
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        ill_conditioned = any(issubclass(w.category, LinAlgWarning) for w in caught)  # weak penalties on collinear features
        return model.predict(x_test), {param: value, **selection, "converged": converged, "ill_conditioned": ill_conditioned}

    @staticmethod
    def _select_on_validation(make: Any, grid: list[float], scoring: str, x: np.ndarray, y: np.ndarray,
                              validation: tuple[np.ndarray, np.ndarray]) -> tuple[Any, float, dict[str, Any]]:
        from sklearn.metrics import get_scorer

        scorer = get_scorer(scoring)
        best = None
        for value in grid:
            model = make(value).fit(x, y)
            score = float(scorer(model, *validation))
            if best is None or score > best[2]:
                best = (model, value, score)
        assert best is not None
        return best[0], best[1], {"valid_score": best[2], "selection": f"validation {scoring}"}

    @staticmethod
    def _select_by_cv(make: Any, grid: list[float], scoring: str, classification: bool, x: np.ndarray, y: np.ndarray,
                      seed: int) -> tuple[Any, float, dict[str, Any]]:
        from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold

        if classification:
            smallest = int(np.bincount(y).min(initial=0)) if len(y) else 0
            folds: Any = StratifiedKFold(min(FOLDS, max(2, smallest)), shuffle=True, random_state=seed)
        else:
            folds = KFold(min(FOLDS, len(y)), shuffle=True, random_state=seed)
        pipeline = make(grid[0])
        step = pipeline.steps[-1][0]
        param = "C" if classification else "alpha"
        # ridge fits are cheap: in-process, so its warnings are caught and recorded rather than printed by workers
        search = GridSearchCV(pipeline, {f"{step}__{param}": grid}, cv=folds, scoring=scoring,
                              n_jobs=-1 if classification else None)
        search.fit(x, y)
        value = search.best_params_[f"{step}__{param}"]
        return search.best_estimator_, value, {"cv_score": float(search.best_score_)}

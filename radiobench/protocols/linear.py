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
    # 2: classification CV really uses 5 stratified folds (version 1 used 2 through a bug); C path warm-started
    # 3: every logistic fit runs on one BLAS thread, so a weakly regularised fit that stops at max_iter lands on
    #    the same weights whatever the machine's core count (and 6x faster: OpenBLAS threads on these small
    #    products cost more than they save); folds run in parallel processes instead. Since 3 was released the
    #    ridge folds do the same (1.9x on mgcls_anomaly). That changed no chosen alpha and moved ridge scores by
    #    float32 rounding, as a machine with another core count already did: <= 3e-5, except where near-tied
    #    predictions swap ranks (random_vits16 anomaly AP, one seed 6e-4, mean 2e-4); so the version stays
    version = "3"
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

        from threadpoolctl import threadpool_limits

        with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):
            warnings.simplefilter("always", ConvergenceWarning)
            warnings.simplefilter("always", LinAlgWarning)
            if not classification:  # every alpha from one Gram matrix per fold: the same ridge fits, faster
                value, selection = select_ridge_alpha(grid, scoring, x_train, y_train, seed, validation)
                model = make(value).fit(x_train, y_train)
            elif validation is not None:
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

    def _select_by_cv(self, make: Any, grid: list[float], scoring: str, classification: bool, x: np.ndarray,
                      y: np.ndarray, seed: int) -> tuple[Any, float, dict[str, Any]]:
        """GridSearchCV's choice (mean fold score, first best on ties), each fold walking C upwards warm-started.

        Every C is still fitted to convergence on the same standardised fold; starting from the
        previous C's solution only saves lbfgs iterations (2.5-3x on MiraBest/rgd features).
        """
        from joblib import Parallel, delayed
        from sklearn.model_selection import StratifiedKFold

        smallest = int(np.bincount(y).min()) if len(y) else 0
        folds = StratifiedKFold(min(FOLDS, max(2, smallest)), shuffle=True, random_state=seed)
        per_fold = Parallel(n_jobs=-1)(
            delayed(_logistic_path_scores)(x[tr], y[tr], x[te], y[te], grid, scoring, self.options["max_iter"])
            for tr, te in folds.split(x, y)
        )
        mean = np.mean(per_fold, axis=0)
        best = int(np.argmax(mean))
        return make(grid[best]).fit(x, y), grid[best], {"cv_score": float(mean[best])}


def _logistic_path_scores(x: np.ndarray, y: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, grid: list[float],
                          scoring: str, max_iter: int) -> list[float]:
    """Validation scores of one fold for every C (in grid order); only the final refit's convergence is recorded."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import get_scorer
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    scaler = StandardScaler().fit(x)
    a, b = scaler.transform(x), scaler.transform(x_te)
    scorer = get_scorer(scoring)
    model = LogisticRegression(max_iter=max_iter, warm_start=True)
    scores = []
    with warnings.catch_warnings(), threadpool_limits(1):  # see Linear.version 3
        warnings.simplefilter("ignore", ConvergenceWarning)
        for value in sorted(grid):
            model.set_params(C=value).fit(a, y)
            scores.append((value, float(scorer(model, b, y_te))))
    by_value = dict(scores)
    return [by_value[v] for v in grid]


def ridge_path(x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, alphas: list[float]) -> np.ndarray:
    """Predictions on ``x_eval`` of standardise + ``Ridge(alpha)`` fitted on the training rows, for every alpha.

    The same estimator as the sklearn pipeline (centred features and target, penalty alpha on
    the weights), with the Gram matrix formed once per fold instead of once per alpha: on the
    smaller side (rows x rows in the dual when features outnumber rows, else features x
    features), then one positive-definite solve per alpha. Returns (len(alphas), len(x_eval)).
    """
    from scipy.linalg import solve

    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0  # constant features stay zero, as StandardScaler leaves them
    a = (x_train - mean) / scale
    b = (x_eval - mean) / scale
    centre = a.mean(axis=0)
    a, b = a - centre, b - centre
    y_mean = y_train.mean()
    yc = y_train - y_mean
    n, p = a.shape
    out = []
    if p > n:  # dual: w = A^T (A A^T + alpha I)^-1 y
        gram, cross = a @ a.T, b @ a.T
        for alpha in alphas:
            out.append(cross @ solve(gram + alpha * np.eye(n), yc, assume_a="pos") + y_mean)
    else:  # primal: w = (A^T A + alpha I)^-1 A^T y
        gram, aty = a.T @ a, a.T @ yc
        for alpha in alphas:
            out.append(b @ solve(gram + alpha * np.eye(p), aty, assume_a="pos") + y_mean)
    return np.stack(out)


def _ridge_path_scores(x: np.ndarray, y: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, grid: list[float],
                       scoring: str) -> list[float]:
    """One fold's score for every alpha, on one BLAS thread (see Linear.version 3) in a worker process."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [REGRESSION_SCORES[scoring](y_te, p) for p in ridge_path(x, y, x_te, grid)]


REGRESSION_SCORES = {
    "neg_mean_squared_error": lambda y, p: -float(np.mean((y - p) ** 2)),
    "neg_mean_absolute_error": lambda y, p: -float(np.mean(np.abs(y - p))),
    "r2": lambda y, p: 1.0 - float(np.sum((y - p) ** 2)) / float(np.sum((y - np.mean(y)) ** 2)),
}


def select_ridge_alpha(grid: list[float], scoring: str, x: np.ndarray, y: np.ndarray, seed: int,
                       validation: tuple[np.ndarray, np.ndarray] | None) -> tuple[float, dict[str, Any]]:
    """Alpha by the validation part, else by seeded 5-fold CV (mean fold score, first best on ties)."""
    from sklearn.model_selection import KFold

    score = REGRESSION_SCORES[scoring]
    if validation is not None:
        x_val, y_val = validation
        scores = np.array([score(y_val, p) for p in ridge_path(x, y, x_val, grid)])
        best = int(np.argmax(scores))
        return grid[best], {"valid_score": float(scores[best]), "selection": f"validation {scoring}"}
    from joblib import Parallel, delayed

    folds = KFold(min(FOLDS, len(y)), shuffle=True, random_state=seed)
    per_fold = Parallel(n_jobs=-1)(
        delayed(_ridge_path_scores)(x[tr], y[tr], x[te], y[te], grid, scoring) for tr, te in folds.split(x)
    )
    mean = np.mean(per_fold, axis=0)
    best = int(np.argmax(mean))
    return grid[best], {"cv_score": float(mean[best])}

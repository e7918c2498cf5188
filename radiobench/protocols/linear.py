"""Linear probe: logistic regression (classification, class-balanced weights) or ridge (regression, ranking).

Features are standardised inside the pipeline, and the regularisation strength is
chosen on training data alone, scored by the task's main metric: on the validation part
when the task's split has one (the 70/20/10 counting split: fit on train, pick on valid),
otherwise by 5-fold cross-validation on the training split (folds shuffled by the seed,
stratified for classification). The test split is touched once, by the chosen model.
On a ranking task the ridge regresses the human scores and its prediction is the rank score.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from radiobench.errors import RadiobenchError
from radiobench.kinds import get_kind
from radiobench.protocols.base import FitJob, Predicted, Protocol
from radiobench.specs import TaskSpec

C_GRID = tuple(float(c) for c in np.logspace(-4, 4, 9))
ALPHA_GRID = tuple(float(a) for a in np.logspace(-2, 6, 9))
FOLDS = 5


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
    #    Later still, a ridge solve that failed on a not-positive-definite float32 Gram matrix falls back to least
    #    squares (_solve_ridge): that only turns a crash into a number, so the version stays.
    #    So does scoring ridge folds with sklearn's metrics (a constant fold's R^2 is 0, no longer a division by
    #    zero): on 10 leaderboard ridge pairs every chosen alpha and every page cell stayed the same.
    # 4: logistic probes weight each class by the inverse of its training frequency (class_weight "balanced"):
    #    the classification test splits here are class-balanced (RGD 50 per class after training on 47 % FRII;
    #    MiraBest 49/55), so a probe fitted to the training prior is tilted towards the majority class that the test
    #    set does not have. Decided before reading test numbers on the rule "fit under the test split's (uniform)
    #    prior unless the cross-validated selection score drops" (benchmarks/class_weights.py, every cached
    #    backbone, seed 0: mean CV change +0.006 accuracy on MiraBest, +0.008 macro-F1 on RGD). Ridge fits
    #    (regression, ranking) are unchanged, so their results keep version 3 (kind_versions) and stay valid.
    # regression 4: ridge predictions are clipped to the range of the training targets (in selection and on test).
    #    A linear map of standardised features extrapolates without bound: on sim_counts 3.0 one crop (a halo
    #    field's centre) lies far outside random ResNet-18's training features along a near-constant channel,
    #    and ridge predicted 773 sources for a crop with 17, taking that seed's R² to -82. A count outside the
    #    counts seen in training is an extrapolation the probe has no evidence for; clipped, the crop still
    #    costs its error up to the largest training count. No parameter to choose. Ranking keeps version 3: a
    #    clip would only tie the top of the ranking.
    version = "4"
    kind_versions = {"regression": "4", "ranking": "3"}
    kinds = ("classification", "regression", "ranking")
    options: dict[str, Any] = field(
        default_factory=lambda: {
            "standardise": True,
            "class_weight": "balanced",
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
        predicted, params, _ = self.fit_predict_all(task, [FitJob.of(x_train, y_train, x_test, seed, validation)])[0]
        return predicted, params

    def fit_predict_all(self, task: TaskSpec, jobs: list[FitJob]) -> list[tuple[np.ndarray, dict[str, Any], float]]:
        """Every fit of a run in two rounds of one process pool: all CV folds of all jobs, then all final fits.

        A seed has 5 folds and one refit, fewer units than a GPU machine's cores, and one
        worker's slowest fold held up the next seed; pooled, the units pack the cores. Each
        unit is the same computation on one BLAS thread as when seeds ran one by one, so the
        numbers are identical. A job's seconds are its units' worker seconds.
        """
        from joblib import delayed

        kind = get_kind(task.kind)
        classification = kind.target == "class"
        grid = list(C_GRID if classification else ALPHA_GRID)
        scoring = kind.selection_scorer(task)
        max_iter = self.options["max_iter"]
        weights = self.options.get("class_weight")
        clip = task.kind == "regression"  # see kind_versions
        path_scores = (partial(_logistic_path_scores, max_iter=max_iter, class_weight=weights) if classification
                       else partial(_ridge_path_scores, clip=clip))
        plans = [(i, _cv_folds(classification, job.y_train, job.seed)) for i, job in enumerate(jobs) if job.valid is None]
        owners = [i for i, folds in plans for _ in folds]
        units = (  # a generator: the pool slices each fold's rows as it dispatches, not all at once
            delayed(_timed)(path_scores, x[tr], y[tr], x[te], y[te], grid, scoring)
            for i, folds in plans
            for x, y in [(jobs[i].x_train, jobs[i].y_train)]
            for tr, te in folds
        )
        per_job: list[list[list[float]]] = [[] for _ in jobs]
        seconds = [0.0] * len(jobs)
        for i, (scores, took) in zip(owners, in_workers(units) if owners else []):
            per_job[i].append(scores)
            seconds[i] += took
        chosen: list[tuple[float, dict[str, Any]] | None] = []
        for job, folds in zip(jobs, per_job):
            if job.valid is not None:
                chosen.append(None)  # chosen inside the final fit's unit, on the validation part
                continue
            mean = np.mean(folds, axis=0)
            best = int(np.argmax(mean))  # GridSearchCV's rule: best mean fold score, the first on ties
            chosen.append((grid[best], {"cv_score": float(mean[best])}))
        finals = in_workers(
            delayed(_timed)(_final_fit, classification, grid, scoring, max_iter, job.x_train, job.y_train, job.x_test,
                            job.validation, pick, weights, clip)
            for job, pick in zip(jobs, chosen)
        )
        return [(predicted, params, seconds[i] + took) for i, ((predicted, params), took) in enumerate(finals)]


def in_workers(units: Iterable[Any]) -> list[Any]:
    """joblib ``delayed`` units run on every core, on loky workers that end when this process ends.

    The same pool as ``Parallel(n_jobs=-1)`` (loky is joblib's default), so every number is the
    same; the initializer only starts a thread that ends a worker once its parent is gone
    (``die_with_parent``): after a ``kill -9`` of a run, idle workers otherwise lingered for 15+ minutes.
    """
    import os

    from joblib import Parallel, parallel_config

    from radiobench.processes import die_with_parent

    with parallel_config(backend="loky", initializer=die_with_parent, initargs=(os.getpid(),)):
        return Parallel(n_jobs=-1)(units)


def _cv_folds(classification: bool, y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The seeded selection folds.

    Stratified for classification, with no more folds than the rarest class has rows; for
    regression no more than keeps two rows in every held-out part, since R^2 of one row is
    undefined (ten rows or more get all 5 folds). A handful of labelled items (a small
    ``--limit`` or label budget) can leave a logistic fit with one class or a ridge with too
    few rows; scikit-learn would then fail in a worker, or score NaN, without saying why, so
    such fits are refused here, with the counts.
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    if not classification:
        if len(y) < 4:
            raise RadiobenchError(f"linear probe, seed {seed}: {len(y)} training items are too few to choose the ridge "
                                  "penalty (it needs at least 4); use more items (a larger --limit)")
        return list(KFold(min(FOLDS, len(y) // 2), shuffle=True, random_state=seed).split(y))
    labels, counts = np.unique(y, return_counts=True)
    folds = []
    if len(labels) >= 2 and counts.max() >= 2:
        # bincount, not counts: a class absent from these rows still caps the folds at 2, as it always did
        splitter = StratifiedKFold(min(FOLDS, max(2, int(np.bincount(y).min()))), shuffle=True, random_state=seed)
        folds = list(splitter.split(y, y))
    if not folds or any(len(np.unique(y[train])) < 2 for train, _ in folds):
        per_class = ", ".join(f"{label}: {n}" for label, n in zip(labels, counts))
        raise RadiobenchError(
            f"linear probe, seed {seed}: {len(y)} training labels ({per_class} per class) leave a fit with a single "
            "class; use more labelled images (a larger --limit, --train-labels or --train-fraction)")
    return folds


def _timed(function: Any, *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    return function(*args), time.perf_counter() - start


def _estimator(classification: bool, value: float, max_iter: int, class_weight: str | None = None) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = (LogisticRegression(C=value, max_iter=max_iter, class_weight=class_weight) if classification
             else Ridge(alpha=value))
    return make_pipeline(StandardScaler(), probe)


def _final_fit(classification: bool, grid: list[float], scoring: str, max_iter: int, x: np.ndarray, y: np.ndarray,
               x_test: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None,
               chosen: tuple[float, dict[str, Any]] | None,
               class_weight: str | None = None, clip: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
    """The test predictions of the chosen model, and whether its solver converged (a worker process's unit).

    ``chosen`` comes from cross-validation; ``None`` means choose here, on the job's validation part.
    Warnings are recorded per process, so each unit sees only its own.
    """
    from scipy.linalg import LinAlgWarning
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    with warnings.catch_warnings(record=True) as caught, threadpool_limits(1):  # see Linear.version 3
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", LinAlgWarning)
        if chosen is not None:
            value, selection = chosen
            model = _estimator(classification, value, max_iter, class_weight).fit(x, y)
        elif classification:
            model, value, selection = _select_on_validation(grid, scoring, max_iter, x, y, validation, class_weight)
        else:
            value, selection = _ridge_on_validation(grid, scoring, x, y, validation, clip)
            model = _estimator(False, value, max_iter).fit(x, y)
    # Recorded per seed rather than printed: whether the solver converged within max_iter
    # (it matters for reading the number, not for running the rest).
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    ill_conditioned = any(issubclass(w.category, LinAlgWarning) for w in caught)  # weak penalties on collinear features
    param = "C" if classification else "alpha"
    predicted = Predicted.of(model, x_test) if classification else _clipped(model.predict(x_test), y, clip)
    return predicted, {param: value, **selection, "converged": converged, "ill_conditioned": ill_conditioned}


def _select_on_validation(grid: list[float], scoring: str, max_iter: int, x: np.ndarray, y: np.ndarray,
                          validation: tuple[np.ndarray, np.ndarray],
                          class_weight: str | None = None) -> tuple[Any, float, dict[str, Any]]:
    from sklearn.metrics import get_scorer

    scorer = get_scorer(scoring)
    best = None
    for value in grid:
        model = _estimator(True, value, max_iter, class_weight).fit(x, y)
        score = float(scorer(model, *validation))
        if best is None or score > best[2]:
            best = (model, value, score)
    assert best is not None
    return best[0], best[1], {"valid_score": best[2], "selection": f"validation {scoring}"}


def _logistic_path_scores(x: np.ndarray, y: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, grid: list[float],
                          scoring: str, max_iter: int, class_weight: str | None = None) -> list[float]:
    """Validation scores of one fold for every C (in grid order), each fit warm-started from the previous C's.

    Every C is still fitted to convergence on the same standardised fold; starting from the
    previous C's solution only saves lbfgs iterations (2.5-3x on MiraBest/rgd features).
    Only the final fit's convergence is recorded.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import get_scorer
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    scaler = StandardScaler().fit(x)
    a, b = scaler.transform(x), scaler.transform(x_te)
    scorer = get_scorer(scoring)
    model = LogisticRegression(max_iter=max_iter, warm_start=True, class_weight=class_weight)
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
            out.append(cross @ _solve_ridge(gram + alpha * np.eye(n), yc) + y_mean)
    else:  # primal: w = (A^T A + alpha I)^-1 A^T y
        gram, aty = a.T @ a, a.T @ yc
        for alpha in alphas:
            out.append(b @ _solve_ridge(gram + alpha * np.eye(p), aty) + y_mean)
    return np.stack(out)


def _solve_ridge(system: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Cholesky solve; least squares where rounding has left the penalised Gram matrix not positive definite.

    Strongly correlated float32 features (e.g. a random-init ResNet-50's 2048 on 825 anomaly
    items) put the Gram matrix's top eigenvalue near 1e6, whose float32 rounding exceeds the
    smallest alpha (0.01). scikit-learn's Ridge falls back the same way in its dual solver.
    """
    from scipy.linalg import LinAlgError, LinAlgWarning, lstsq, solve

    try:
        return solve(system, rhs, assume_a="pos")
    except LinAlgError:
        warnings.warn("ridge: penalised Gram matrix not positive definite in floating point; least squares instead",
                      LinAlgWarning, stacklevel=3)
        return lstsq(system, rhs)[0]


def _clipped(predicted: np.ndarray, y_train: np.ndarray, clip: bool) -> np.ndarray:
    """Regression predictions limited to the training targets' range (Linear.kind_versions, regression 4)."""
    return np.clip(predicted, y_train.min(), y_train.max()) if clip else predicted


def _ridge_path_scores(x: np.ndarray, y: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, grid: list[float],
                       scoring: str, clip: bool = False) -> list[float]:
    """One fold's score for every alpha, on one BLAS thread (see Linear.version 3)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return [_regression_score(scoring, y_te, _clipped(p, y, clip)) for p in ridge_path(x, y, x_te, grid)]


def _regression_score(scoring: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The value of sklearn's scorer ``scoring`` for ridge predictions made outside an estimator.

    scikit-learn's own metrics, so a degenerate fold scores as GridSearchCV would score it: R^2
    of a fold whose targets are all equal (few scored items, e.g. ``--limit``) is 0, not a
    division by zero.
    """
    from sklearn import metrics

    if scoring == "r2":
        return float(metrics.r2_score(y_true, y_pred))
    return -float({"neg_mean_squared_error": metrics.mean_squared_error,
                   "neg_mean_absolute_error": metrics.mean_absolute_error}[scoring](y_true, y_pred))


def _ridge_on_validation(grid: list[float], scoring: str, x: np.ndarray, y: np.ndarray,
                         validation: tuple[np.ndarray, np.ndarray], clip: bool = False) -> tuple[float, dict[str, Any]]:
    x_val, y_val = validation
    scores = np.array([_regression_score(scoring, y_val, _clipped(p, y, clip)) for p in ridge_path(x, y, x_val, grid)])
    best = int(np.argmax(scores))
    return grid[best], {"valid_score": float(scores[best]), "selection": f"validation {scoring}"}

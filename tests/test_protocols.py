import numpy as np
import pytest

from radiobench.errors import RadiobenchError
from radiobench.protocols import KNN, Evaluation, LabelBudget, Linear, run_seeds
from radiobench.testing import FAKE_TASK, FakeTask
from radiobench.specs import TaskSpec

REGRESSION = TaskSpec(name="reg", factory="m:f", version="1", kind="regression", main_score="mse", higher_is_better=False)


def blobs(n=200, dim=20, seed=0, shift=1.5):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.normal(size=(n, dim)) + shift * y[:, None] * (np.arange(dim) < 3)
    return x, y


def score(task=FAKE_TASK):
    return FakeTask(task).score


def test_linear_probe_separates_separable_classes_and_records_choice():
    (xtr, ytr), (xte, yte) = blobs(seed=0), blobs(seed=1)
    out = run_seeds(Linear(), FAKE_TASK, score(), Evaluation.fixed((xtr, ytr), (xte, yte)), [0, 1, 2], LabelBudget())
    assert all(r.metrics["accuracy"] > 0.85 for r in out)
    assert all(set(r.params) == {"C", "cv_score", "converged", "ill_conditioned"} for r in out)
    assert all(r.params["converged"] for r in out)


def test_linear_probe_is_at_chance_on_shuffled_labels():
    (xtr, ytr), (xte, yte) = blobs(seed=0), blobs(seed=1)
    ytr = np.random.default_rng(5).permutation(ytr)
    out = run_seeds(Linear(), FAKE_TASK, score(), Evaluation.fixed((xtr, ytr), (xte, yte)), [0, 1, 2], LabelBudget())
    assert np.mean([r.metrics["accuracy"] for r in out]) < 0.65


def test_ridge_regression_recovers_a_linear_target():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10))
    y = x @ rng.normal(size=10) + 0.1 * rng.normal(size=300)
    out = run_seeds(Linear(), REGRESSION, score(REGRESSION), Evaluation.fixed((x[:200], y[:200]), (x[200:], y[200:])), [0], LabelBudget())
    assert out[0].metrics["r2"] > 0.95 and "alpha" in out[0].params


def test_ridge_regression_predictions_stay_within_the_training_targets_range():
    """One test row far outside the training features (sim_counts 3.0: a halo crop under random ResNet-18) made
    ridge predict 773 sources for a crop with 17; clipped, it costs at most the training range."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10))
    x[:, 9] = rng.normal(size=300) * 1e-3  # a near-constant feature: standardised, an outlier becomes huge
    y = x[:, :9] @ rng.normal(size=9) + 0.1 * rng.normal(size=300) + 0.5 * x[:, 9] * 1e3
    x_test = rng.normal(size=(20, 10))
    x_test[:, 9] = 0.0
    x_test[0, 9] = 10.0  # 10,000 training standard deviations out
    predicted, _ = Linear().fit_predict(REGRESSION, x, y, x_test, seed=0)
    assert predicted[0] == pytest.approx(y.max()) and y.min() <= predicted.min() and predicted.max() <= y.max()
    unclipped = np.linalg.lstsq(np.c_[x, np.ones(300)], y, rcond=None)[0] @ np.r_[x_test[0], 1.0]
    assert unclipped > 100 * y.max()  # what the unclipped fit would have said
    # ranking tasks keep the ridge's own scores: a clip would only tie the top of the ranking
    assert Linear().version_for("ranking") == "3" and Linear().version_for("regression") == "4"


def test_ridge_selection_survives_folds_whose_targets_are_all_equal():
    """A few scored items among many zeros (mgcls_anomaly under --limit) leave some CV folds constant."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 6))
    y = np.zeros(40)
    y[[3, 17, 31]] = x[[3, 17, 31], 0] + 3.0
    task = TaskSpec(name="reg", factory="m:f", version="1", kind="regression", main_score="r2", higher_is_better=True)
    (out,) = run_seeds(Linear(), task, score(task), Evaluation.fixed((x, y), (x, y)), [0], LabelBudget())
    assert out.params["alpha"] in Linear().options["ridge_alpha_grid"]
    assert np.isfinite(out.params["cv_score"]) and np.isfinite(out.metrics["r2"])


@pytest.mark.parametrize("labels, counts", [([0] * 8, "0: 8"), ([0] * 7 + [1], "0: 7, 1: 1"), ([0, 1], "0: 1, 1: 1")],
                         ids=["one class", "one image of the other", "one image of each"])
def test_linear_probe_on_too_few_labels_names_the_cause(labels, counts):
    x = np.random.default_rng(0).normal(size=(len(labels), 4))
    y = np.array(labels)
    with pytest.raises(RadiobenchError, match=rf"{len(y)} training labels \({counts} per class\).*single class.*--limit"):
        run_seeds(Linear(), FAKE_TASK, score(), Evaluation.fixed((x, y), (x, y)), [0], LabelBudget())


def test_ridge_on_a_handful_of_items_keeps_two_per_held_out_fold_or_says_why():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    (out,) = run_seeds(Linear(), REGRESSION, score(REGRESSION), Evaluation.fixed((x, y), (x, y)), [0], LabelBudget())
    assert np.isfinite(out.params["cv_score"])  # 2 folds of 2-3 rows, not 5 of one row (NaN R^2)
    with pytest.raises(RadiobenchError, match=r"3 training items are too few.*larger --limit"):
        run_seeds(Linear(), REGRESSION, score(REGRESSION), Evaluation.fixed((x[:3], y[:3]), (x, y)), [0], LabelBudget())


def test_knn_is_deterministic_without_a_budget_and_varies_with_one():
    (xtr, ytr), (xte, yte) = blobs(seed=0), blobs(seed=1)
    full = run_seeds(KNN(), FAKE_TASK, score(), Evaluation.fixed((xtr, ytr), (xte, yte)), [0, 1, 2], LabelBudget())
    assert len({r.metrics["accuracy"] for r in full}) == 1 and full[0].params == {"k": 20}
    budget = run_seeds(KNN(), FAKE_TASK, score(), Evaluation.fixed((xtr, ytr), (xte, yte)), [0, 1, 2, 3], LabelBudget(count=30))
    assert len({r.metrics["accuracy"] for r in budget}) > 1


def test_label_budget_is_stratified_and_seeded():
    labels = np.array([0] * 349 + [1] * 380)  # MiraBest-like imbalance, 729 train labels
    budget = LabelBudget(count=145)
    rows = budget.select(labels, seed=0, stratify=True)
    assert len(rows) == 145 and abs(np.bincount(labels[rows])[0] - 145 * 349 / 729) <= 1
    assert np.array_equal(rows, budget.select(labels, seed=0, stratify=True))
    assert not np.array_equal(rows, budget.select(labels, seed=1, stratify=True))
    assert len(LabelBudget(fraction=0.1).select(labels, 0, True)) == 73
    assert budget.suffix == "-n145" and LabelBudget(fraction=0.25).suffix == "-f0.25" and LabelBudget().suffix == ""


@pytest.mark.parametrize("kwargs, message", [
    ({"fraction": 0.5, "count": 10}, "not both"),
    ({"fraction": 1.5}, r"\(0, 1\]"),
    ({"count": 1}, "at least 2"),
])
def test_bad_budgets_are_refused(kwargs, message):
    with pytest.raises(RadiobenchError, match=message):
        LabelBudget(**kwargs)


def test_budget_larger_than_training_set_or_smaller_than_its_classes_is_refused():
    with pytest.raises(RadiobenchError, match="exceeds the 10 training examples; use --train-labels 10 or fewer"):
        LabelBudget(count=20).select(np.zeros(10), 0, False)
    with pytest.raises(RadiobenchError, match="budget 3 is smaller than the task's 4 classes.*--train-labels 4 or more"):
        LabelBudget(count=3).select(np.arange(12) % 4, 0, True)
    assert len(LabelBudget(count=3).select(np.arange(12) % 4, 0, False)) == 3  # unstratified (regression): any 3


def test_ridge_path_equals_the_sklearn_pipeline_for_every_alpha():
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radiobench.protocols.linear import ALPHA_GRID, ridge_path

    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 300)) * rng.uniform(0.1, 10, size=300)  # more features than rows, mixed scales
    x[:, 5] = 2.0  # a constant feature
    y = x[:, :4] @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.normal(size=120)
    x_new = rng.normal(size=(30, 300))
    paths = ridge_path(x, y, x_new, list(ALPHA_GRID))
    for alpha, predicted in zip(ALPHA_GRID, paths):
        expected = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y).predict(x_new)
        assert np.allclose(predicted, expected, rtol=1e-6, atol=1e-6), alpha


def test_ridge_survives_a_gram_matrix_that_float32_rounding_leaves_not_positive_definite():
    """Random-init ResNet-50 features on mgcls_anomaly crashed the alpha search (LinAlgError); sklearn falls back."""
    import warnings

    from scipy.linalg import LinAlgWarning
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radiobench.protocols.linear import ALPHA_GRID, ridge_path

    rng = np.random.default_rng(0)
    base = rng.normal(size=(300, 1))  # 3000 float32 features that are nearly one feature, fewer rows than features
    x = (base * rng.uniform(1, 2, size=(1, 3000)) + 1e-3 * rng.normal(size=(300, 3000))).astype(np.float32)
    y = 3 * base[:, 0] + rng.normal(size=300)
    with pytest.warns(LinAlgWarning, match="least squares"):
        paths = ridge_path(x, y, x[:20], list(ALPHA_GRID))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own fallback warns too
        assert np.isfinite(paths).all()
        for alpha, predicted in zip(ALPHA_GRID, paths):  # below 1, both are float32 rounding noise
            if alpha >= 10:
                expected = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y).predict(x[:20])
                assert np.allclose(predicted, expected, rtol=1e-3, atol=1e-3), alpha
        predicted, chosen = Linear().fit_predict(REGRESSION, x[:240], y[:240], x[240:], seed=0)
    assert np.corrcoef(predicted, y[240:])[0, 1] > 0.8 and chosen["alpha"] in ALPHA_GRID


def test_ridge_selection_picks_what_grid_search_picks():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radiobench.protocols.linear import ALPHA_GRID

    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 50))
    y = x @ rng.normal(size=50) * 0.3 + rng.normal(size=200) * 2
    x_test = rng.normal(size=(30, 50))
    for seed in range(3):
        predicted, chosen = Linear().fit_predict(REGRESSION, x, y, x_test, seed)
        search = GridSearchCV(make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": list(ALPHA_GRID)},
                              cv=KFold(5, shuffle=True, random_state=seed), scoring="neg_mean_squared_error").fit(x, y)
        assert chosen["alpha"] == search.best_params_["ridge__alpha"]
        assert chosen["cv_score"] == pytest.approx(search.best_score_, rel=1e-9)
        assert np.allclose(predicted, search.predict(x_test), rtol=1e-6, atol=1e-6)


def test_warm_started_logistic_search_picks_what_grid_search_picks():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from radiobench.protocols.linear import C_GRID

    rng = np.random.default_rng(7)
    y = rng.choice(3, size=240, p=[0.6, 0.25, 0.15])  # imbalanced, as RGD's training split: the weights matter
    x = rng.normal(size=(240, 40)) + 0.4 * np.eye(40)[y * 3][:, :40]  # weakly separable: C matters
    x_test = rng.normal(size=(50, 40))
    for seed in range(3):
        predicted, chosen = Linear().fit_predict(FAKE_TASK_MULTI, x, y, x_test, seed)
        search = GridSearchCV(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced")),
                              {"logisticregression__C": list(C_GRID)}, cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                              scoring="accuracy").fit(x, y)
        assert chosen["C"] == search.best_params_["logisticregression__C"]
        assert chosen["cv_score"] == pytest.approx(search.best_score_, abs=1 / 48)  # at most one validation flip
        assert np.array_equal(predicted, search.predict(x_test))


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_pooled_fits_equal_fits_one_at_a_time(kind):
    """Linear schedules every seed's folds together; each seed's numbers must not depend on its neighbours."""
    from radiobench.protocols import FitJob

    task = FAKE_TASK_MULTI if kind == "classification" else REGRESSION
    rng = np.random.default_rng(11)
    x = rng.normal(size=(260, 30))
    y = rng.integers(0, 3, size=260) if kind == "classification" else x[:, 0] * 2 + rng.normal(size=260)
    if kind == "classification":
        x[:, :3] += 0.8 * np.eye(3)[y]
    train, test, valid = np.arange(0, 180), np.arange(180, 230), np.arange(230, 260)
    jobs = [FitJob(x, y, train, test, seed) for seed in range(4)] + [FitJob(x, y, train, test, 9, valid)]
    pooled = Linear().fit_predict_all(task, jobs)
    for job, (predicted, params, seconds) in zip(jobs, pooled):
        alone, alone_params = Linear().fit_predict(task, job.x_train, job.y_train, job.x_test, job.seed, job.validation)
        assert np.array_equal(predicted, alone) and params == alone_params and seconds > 0
    assert "valid_score" in pooled[-1][1] and "cv_score" in pooled[0][1]
    assert len({p[1]["cv_score"] for p in pooled[:4]}) > 1  # the seeds really drew different folds


FAKE_TASK_MULTI = TaskSpec(name="multi", factory="m:f", version="1", kind="classification", main_score="accuracy",
                           higher_is_better=True)

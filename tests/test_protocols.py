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


def test_budget_larger_than_training_set_is_refused():
    with pytest.raises(RadiobenchError, match="exceeds the 10 training examples"):
        LabelBudget(count=20).select(np.zeros(10), 0, False)

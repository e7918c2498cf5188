"""The board's statistics on small fixtures: weighted resample metrics, test inversion, McNemar, Holm, ranks, chance."""

from __future__ import annotations

import numpy as np
import pytest

from radiobench.board.ranks import Row, column_tests, holm
from radiobench.results import scoring, weighted
from radiobench.results.chance import no_skill
from radiobench.results.coco import DetectionScorer
from radiobench.results.paired import compare_items, inverted_interval, mcnemar
from radiobench.results.predictions import ItemPredictions
from radiobench.results.resample import design_for

pytestmark = pytest.mark.timeout(120)
RNG = np.random.default_rng(3)


def _draws(n: int, b: int = 25) -> np.ndarray:
    return np.stack([np.bincount(RNG.integers(0, n, n), minlength=n) for _ in range(b)]).astype(float)


def _slow(score, truth, predicted, weights):
    rows = [np.repeat(np.arange(len(truth)), w.astype(int)) for w in weights]
    return [score(truth[r], predicted[r]) for r in rows]


def test_weighted_classification_equals_scoring_each_resample():
    truth, predicted = RNG.integers(0, 3, 60), RNG.integers(0, 4, 60)  # a class only predicted, never true
    w = _draws(60)
    fast = weighted.classification(truth, predicted, w)
    for b, slow in enumerate(_slow(scoring.classification, truth, predicted, w)):
        for metric, value in slow.items():
            assert fast[metric][b] == pytest.approx(value, abs=1e-12), metric


def test_weighted_regression_and_ap_with_ties_equal_scoring():
    truth, predicted = RNG.normal(size=50), RNG.normal(size=50)
    w = _draws(50)
    fast = weighted.regression(truth, predicted, w)
    for b, slow in enumerate(_slow(scoring.regression, truth, predicted, w)):
        assert [fast[m][b] for m in ("mse", "mae", "r2")] == pytest.approx([slow["mse"], slow["mae"], slow["r2"]])
    positive, score = RNG.random(80) < 0.3, np.round(RNG.random(80), 1)  # ten distinct scores: many ties
    w = _draws(80)
    fast_ap = weighted.average_precision(positive, score, w)
    for b, row in enumerate(w):
        rows = np.repeat(np.arange(80), row.astype(int))
        assert fast_ap[b] == pytest.approx(scoring.average_precision(positive[rows], score[rows]))


def test_weighted_map_equals_the_detection_scorer():
    targets, detections = [], []
    for _ in range(12):
        k = int(RNG.integers(1, 4))
        xy = RNG.uniform(0, 80, (k, 2))
        boxes = np.c_[xy, xy + RNG.uniform(5, 20, (k, 2))]
        targets.append({"boxes": boxes.astype(np.float32), "labels": RNG.integers(0, 2, k)})
        jitter = boxes + RNG.normal(0, 2, boxes.shape)
        extra = np.c_[RNG.uniform(0, 80, (2, 2)), RNG.uniform(80, 100, (2, 2))]
        found = np.r_[jitter, extra].astype(np.float32)
        detections.append({"boxes": found, "scores": RNG.random(len(found)).astype(np.float32),
                           "labels": RNG.integers(0, 2, len(found))})
    scorer = DetectionScorer(("a", "b"))
    w = _draws(12, 15)
    fast = weighted.detection_map(scorer, targets, detections, w)
    for b, row in enumerate(w):
        rows = np.repeat(np.arange(12), row.astype(int))
        slow = scorer([targets[i] for i in rows], [detections[i] for i in rows])
        assert fast["map"][b] == pytest.approx(slow["map"], abs=1e-12)
        assert fast["map_50"][b] == pytest.approx(slow["map_50"], abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_p_below_alpha_exactly_when_the_interval_excludes_zero(seed):
    rng = np.random.default_rng(seed)
    deltas = np.round(rng.normal(rng.uniform(-0.1, 0.1), 0.05, 2000), 2)  # rounding puts mass exactly at 0
    low, high, p = inverted_interval(deltas)
    assert (p < 0.05) == (low > 0 or high < 0)
    assert inverted_interval(np.zeros(2000)) == (0.0, 0.0, 1.0)


def _items(truth, predicted, groups=None, ids=None):
    n = len(truth)
    return ItemPredictions(np.asarray(ids if ids is not None else [f"i{k}" for k in range(n)]), np.asarray(truth),
                           np.asarray(predicted), groups=None if groups is None else np.asarray(groups))


def test_mcnemar_is_the_primary_test_for_error_and_names_a_disagreeing_bootstrap():
    truth = np.zeros(104, dtype=int)
    a = truth.copy()
    b = truth.copy()
    a[:8] = 1  # A wrong on 8 items B gets right
    b[8:27] = 1  # B wrong on 19 items A gets right
    a[27:37] = b[27:37] = 1  # both wrong on 10
    m = mcnemar([_items(truth, a)], [_items(truth, b)])
    assert (m.a_only, m.b_only) == (19, 8) and m.p_value == pytest.approx(0.0522, abs=5e-4)
    c = compare_items([_items(truth, a)], [_items(truth, b)], task="t", target="class", metric="error",
                      higher_is_better=False, score=scoring.FAST["class"], names=("A", "B"), seed_pairs=[(0, 0)])
    assert c.primary == "McNemar exact" and c.p_value == m.p_value and not c.significant
    assert c.p_bootstrap < 0.05 and "the paired bootstrap disagrees" in c.verdict()


def test_holm_step_down():
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.005})
    assert adjusted == pytest.approx({"d": 0.02, "a": 0.03, "c": 0.06, "b": 0.06})


def test_cluster_design_draws_whole_fields():
    groups = np.repeat(["f1", "f2", "f3", "f4"], [3, 5, 2, 4])
    items = _items(np.arange(14.0), np.arange(14.0), groups=groups)
    design = design_for(items, "value")
    w = design.weights(200, np.random.default_rng(0))
    for g in np.unique(groups):
        block = w[:, groups == g]
        assert (block == block[:, :1]).all()  # every crop of a field is drawn as often as its field
    assert (w.sum(axis=1) != 14).any()  # fields differ in size, so resample sizes vary
    assert "whole fields" in design.description


class _Record:
    def __init__(self, seeds=(0,), seeded=True):
        self.seeds, self.seeded = list(seeds), seeded


def _row(name, truth, predicted):
    mean = float(scoring.classification(truth, predicted)["f1_macro"])
    return Row(name, None, _Record(), {0: _items(truth, predicted)}, mean)


def test_ranks_come_from_the_corrected_tests_and_rank_one_means_no_row_is_better():
    truth = np.tile(np.arange(4), 60)
    good = truth.copy()
    good[:20] = (good[:20] + 1) % 4
    poor = truth.copy()
    poor[:130] = (poor[:130] + 1) % 4
    poor_too = poor.copy()
    poor_too[130:132] = (poor_too[130:132] + 1) % 4  # two more mistakes: not resolvable from `poor`
    rows = [_row("good", truth, good), _row("poor", truth, poor), _row("poor_too", truth, poor_too)]
    tests = column_tests(rows, "class", "f1_macro", True, scoring.FAST["class"], n_resamples=500)
    assert tests.ranks == {"good": 1, "poor": 2, "poor_too": 2}
    assert tests.family == 3 and tests.adjusted[("poor", "poor_too")] >= 0.05
    for name, rank in tests.ranks.items():
        assert (rank == 1) == (not any(loser == name for _, loser in tests.better))


def test_no_skill_levels_are_the_best_of_the_standard_dummies():
    balanced = np.repeat(np.arange(4), 25)
    f1, which = no_skill(balanced, "class", "f1_macro")
    assert f1 == pytest.approx(0.25) and which in ("a uniform guess", "a guess from the class frequencies")
    skewed = np.r_[np.zeros(70, int), np.ones(30, int)]
    assert no_skill(skewed, "class", "error") == (pytest.approx(0.30), "always the majority class")
    f1, which = no_skill(skewed, "class", "f1_macro")
    # majority 2(.7)/1.7/2 = .41; uniform mean(.7/1.2, .3/.8) = .479; from the frequencies 1/k = .5
    assert which == "a guess from the class frequencies" and f1 == pytest.approx(0.5)
    assert no_skill(np.array([1, 2, 5, 4]), "graded", "average_precision")[0] == pytest.approx(0.5)

"""Test-set uncertainty: the bootstrap's intervals, its strata and seeds, and the fast scorers it resamples with."""

import warnings

import numpy as np
import pytest

from radiobench.kinds import get_kind
from radiobench.results import bootstrap, scoring
from radiobench.results.coco import DetectionScorer
from radiobench.results.predictions import ItemPredictions


def errors_in(n: int, wrong: int, seed: int = 0) -> ItemPredictions:
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % 2
    miss = np.zeros(n, bool)
    miss[rng.choice(n, wrong, replace=False)] = True
    return ItemPredictions(np.arange(n).astype(str), truth, np.where(miss, 1 - truth, truth))


def error_interval(per_seed, **kw):
    out = bootstrap.intervals(per_seed, scoring.classification, "class", ["error"], **kw)
    return out["metrics"]["error"], out


def test_16_errors_in_104_items_give_about_the_wilson_interval():
    from scipy.stats import binomtest

    wilson = binomtest(16, 104).proportion_ci(method="wilson")
    assert (round(wilson.low, 3), round(wilson.high, 3)) == (0.097, 0.235)
    (low, high), info = error_interval([errors_in(104, 16)])
    assert low == pytest.approx(wilson.low, abs=0.01) and high == pytest.approx(wilson.high, abs=0.01)
    assert info["n_resamples"] == 2000 and info["random_seed"] == 0 and info["confidence"] == 0.95
    assert info["strata"] == "true class" and "BCa" in info["method"]


def test_the_interval_is_reproducible_and_moves_with_its_seed():
    items = [errors_in(104, 16)]
    assert error_interval(items)[0] == error_interval(items)[0]
    other = bootstrap.intervals(items, scoring.classification, "class", ["f1_macro"], random_seed=1)["metrics"]["f1_macro"]
    assert other != bootstrap.intervals(items, scoring.classification, "class", ["f1_macro"])["metrics"]["f1_macro"]


def test_identical_seeds_give_the_one_seed_interval_and_disagreeing_seeds_widen_it():
    one, _ = error_interval([errors_in(104, 16)])
    same, info = error_interval([errors_in(104, 16)] * 5)
    assert same == pytest.approx(one, abs=1.5 / 104)  # the same test set; resampling noise of one item
    assert "seeds drawn with replacement" in info["seeds"]
    order = np.random.default_rng(0).permutation(104)
    truth = np.arange(104) % 2
    spread = []  # seeds that disagree: 4 to 28 errors (mean 16), the items of fewer errors among those of more
    for wrong in (4, 10, 16, 22, 28):
        miss = np.isin(np.arange(104), order[:wrong])
        spread.append(ItemPredictions(np.arange(104).astype(str), truth, np.where(miss, 1 - truth, truth)))
    wide, _ = error_interval(spread)
    assert wide[0] < 16 / 104 < wide[1] and wide[1] - wide[0] > 1.3 * (one[1] - one[0])


def test_seeds_with_their_own_test_items_are_resampled_within_their_fields():
    rng = np.random.default_rng(0)
    per_seed = []
    for seed in range(3):
        ids = np.array([f"s{seed}-{i}" for i in range(60)])
        groups = np.repeat([f"field{seed}{k}" for k in range(3)], 20)
        truth = rng.poisson(5, 60).astype(float)
        per_seed.append(ItemPredictions(ids, truth, truth + rng.normal(0, 1, 60), groups=groups))
    plan = bootstrap.plan(per_seed, "value")
    assert plan.strata == "field (the task's groups)" and plan.owners == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    out = bootstrap.intervals(per_seed, scoring.regression, "value", ["mse", "r2"])
    mse = np.mean([scoring.regression(p.truth, p.predicted)["mse"] for p in per_seed])
    low, high = out["metrics"]["mse"]
    assert low < mse < high


def test_a_metric_every_resample_scores_the_same_has_that_value_at_both_ends():
    rng = np.random.default_rng(1)
    truth = rng.integers(1, 6, 300).astype(float)
    items = ItemPredictions(np.arange(300).astype(str), truth, truth + rng.normal(0, 2, 300))
    out = bootstrap.intervals([items], scoring.ranking, "graded", ["ap_chance", "average_precision"])
    chance = float(np.mean(truth >= 4))
    assert out["metrics"]["ap_chance"] == [chance, chance]  # strata keep the share of interesting items
    low, high = out["metrics"]["average_precision"]
    assert low < scoring.ranking(truth, items.predicted)["average_precision"] < high


def test_fast_classification_and_regression_scores_equal_scikit_learns():
    rng = np.random.default_rng(2)
    classification, regression = get_kind("classification"), get_kind("regression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trial in range(30):
            n = int(rng.integers(3, 40))
            t = rng.integers(0, 4, n)
            p = rng.integers(0, 5, n) if trial % 3 else t.copy()  # predicted classes the truth lacks, too
            slow, fast = classification.score(t, p), scoring.classification(t, p)
            assert fast == pytest.approx(slow, abs=1e-12)
            truth = rng.normal(size=n) if trial % 5 else np.full(n, 2.0)  # constant truth: sklearn's R^2 rule
            guess = truth + rng.normal(size=n) if trial % 4 else truth.copy()
            assert scoring.regression(truth, guess) == pytest.approx(regression.score(truth, guess), abs=1e-9)


def test_fast_ranking_scores_equal_the_kinds_with_ties():
    rng = np.random.default_rng(3)
    ranking = get_kind("ranking")
    for trial in range(20):
        n = int(rng.integers(60, 300))
        truth = rng.integers(1, 6, n).astype(float)
        score = np.round(rng.normal(size=n) + 0.2 * truth, 1 if trial % 2 else 6)  # ties in half the trials
        assert scoring.ranking(truth, score) == pytest.approx(ranking.score(truth, score), abs=1e-9)


def _boxes(rng, n_images, classes, jitter):
    targets, found = [], []
    for _ in range(n_images):
        k = int(rng.integers(0, 10))
        corner = rng.uniform(0, 200, (k, 2))
        boxes = np.c_[corner, corner + rng.uniform(5, 30, (k, 2))].astype(np.float32)
        targets.append({"boxes": boxes, "labels": rng.integers(0, classes, k)})
        m = int(rng.integers(0, 14))
        near = boxes[rng.integers(0, k, m)] if k else np.zeros((m, 4), np.float32)
        found.append({"boxes": (near + rng.normal(0, jitter, (m, 4))).astype(np.float32),
                      "scores": np.round(rng.uniform(0, 1, m), 2).astype(np.float32), "labels": rng.integers(0, classes, m)})
    return targets, found


@pytest.mark.parametrize("classes, jitter", [(1, 1.5), (3, 1.5), (1, 8.0), (2, 8.0)])
def test_detection_resamples_score_as_the_coco_evaluation(classes, jitter):
    from radiobench.tasks.detection import detection_scores

    rng = np.random.default_rng(classes * 10 + int(jitter))
    targets, found = _boxes(rng, 25, classes, jitter)  # jitter 8: boxes of negative width, outside COCO's areas
    names = tuple(f"c{i}" for i in range(classes))
    fast = DetectionScorer(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rows in (np.arange(25), rng.integers(0, 25, 25)):  # the images, then a resample with repeats
            picked_t, picked_f = [targets[i] for i in rows], [found[i] for i in rows]
            slow = detection_scores(picked_t, picked_f, names)
            assert fast(picked_t, picked_f) == pytest.approx(slow, abs=1e-6)


def test_detection_intervals_resample_images():
    rng = np.random.default_rng(5)
    targets, found = _boxes(rng, 30, 1, 1.5)
    items = ItemPredictions(np.arange(30).astype(str), targets=targets, detections=found)
    out = bootstrap.intervals([items, items], DetectionScorer(("source",)), "boxes", ["map", "map_50"], n_resamples=300)
    assert out["strata"] == "none: whole images resampled"
    point = DetectionScorer(("source",))(targets, found)["map"]
    low, high = out["metrics"]["map"]
    assert low < point < high


def test_rgd_scores_equal_scikit_learns():
    """RGD adds per-class recalls to the kind's metrics, computed in numpy (a paired test scores ~20000 resamples)."""
    from sklearn.metrics import recall_score

    from radiobench.registry import get_registry
    from radiobench.run.pair import build_task
    from radiobench_plugins.rgd import CLASSES

    task = build_task(get_registry().task("rgd"))
    rng = np.random.default_rng(5)
    for trial in range(20):
        n = int(rng.integers(4, 60))
        t, p = rng.integers(0, 4, n), rng.integers(0, 4, n)
        if trial % 4 == 0:
            t[t == 3] = 0  # a class absent from the truth: recall 0, as zero_division=0
        expected = get_kind("classification").score(t, p)
        recalls = recall_score(t, p, labels=list(range(len(CLASSES))), average=None, zero_division=0)
        expected.update({f"recall_{c}": float(r) for c, r in zip(CLASSES, recalls)})
        assert task.score(t, p) == pytest.approx(expected, abs=1e-12)


def _evaluate_img_loop(dt, scores, gt):
    """pycocotools' ``evaluateImg`` matching, transcribed loop for loop (the reference for the vectorised one)."""
    from radiobench.results.coco import MAX_DETECTIONS, _grid, _iou, _outside

    thresholds, _ = _grid()
    gt_ignored = _outside(gt)
    gt = gt[np.argsort(gt_ignored, kind="mergesort")]
    gt_ignored = np.sort(gt_ignored, kind="mergesort")
    order = np.argsort(-scores, kind="mergesort")[:MAX_DETECTIONS]
    dt, scores = dt[order], scores[order]
    state = np.zeros((len(thresholds), len(dt)), dtype=np.int8)
    if len(gt) and len(dt):
        ious = _iou(dt, gt)
        for t, threshold in enumerate(thresholds):
            taken = np.zeros(len(gt), dtype=bool)
            for d in range(len(dt)):
                best, m = min(threshold, 1 - 1e-10), -1
                for g in range(len(gt)):
                    if taken[g]:
                        continue
                    if m > -1 and not gt_ignored[m] and gt_ignored[g]:
                        break
                    if ious[d, g] < best:
                        continue
                    best, m = ious[d, g], g
                if m >= 0:
                    taken[m] = True
                    state[t, d] = -1 if gt_ignored[m] else 1
    state[(state == 0) & _outside(dt)[None, :]] = -1
    return scores, state, int((~gt_ignored).sum())


def test_vectorised_matching_equals_the_evaluate_img_loop_with_ties_and_ignored_boxes():
    from radiobench.results.coco import _match

    rng = np.random.default_rng(0)
    for trial in range(150):
        ng, nd = rng.integers(0, 20), rng.integers(0, 110)
        gt = np.concatenate([rng.uniform(0, 100, (ng, 2)), rng.uniform(-2, 20, (ng, 2))], 1)  # some of negative area
        if trial % 3 == 0 and ng:
            gt[: ng // 2] = gt[0]  # identical true boxes: tied IoUs
        near = gt[rng.integers(0, max(ng, 1), nd)] if ng else rng.uniform(0, 100, (nd, 4))
        dt = near + rng.normal(0, rng.choice([0.5, 3, 10]), near.shape)
        scores = np.round(rng.uniform(0, 1, nd), 1)  # tied scores
        want, got = _evaluate_img_loop(dt, scores, gt), _match(dt, scores, gt)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1]) and want[2] == got[2], trial

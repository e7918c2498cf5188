"""Grouped k-fold cross-validation (issue 30): the folds, the pooled tests, the board's cv columns, the real tasks."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from radiobench.board.collect import collect
from radiobench.board.render import render
from radiobench.errors import PluginError, RadiobenchError
from radiobench.kinds import get_kind
from radiobench.protocols import Evaluation, LabelBudget, Protocol, grouped_kfold, run_seeds
from radiobench.results.paired import mcnemar
from radiobench.results.predictions import ItemPredictions
from radiobench.results.resample import design_for
from radiobench.run.vectors import evaluation_for
from radiobench.specs import TaskSpec
from radiobench.tasks.base import Split
from radiobench.testing import FAKE_TASK, FakeTask

from conftest import SHARED_DATA
from test_leaderboard import ITEMS, result, write


def groups_of(sizes: list[int]) -> np.ndarray:
    """Items in groups of these sizes, interleaved (a group's items are not neighbours)."""
    names = [f"g{g}" for g, size in enumerate(sizes) for _ in range(size)]
    return np.asarray(names)[np.random.default_rng(99).permutation(len(names))]


# ---------------------------------------------------------------------------------------------- the folds


@pytest.mark.parametrize("sizes", [[1] * 23, [3, 1, 1, 2, 5, 1, 1, 1, 2, 1, 1, 4, 1, 1, 1, 2]])
def test_every_item_is_tested_once_per_repeat_in_whole_groups_and_folds_are_balanced(sizes):
    groups = groups_of(sizes)
    n, k = len(groups), 5
    for repeat in range(4):
        folds = grouped_kfold(groups, k, repeat)
        assert len(folds) == k
        tested = np.concatenate([f.test for f in folds])
        assert sorted(tested.tolist()) == list(range(n))  # every item tested exactly once
        for f in folds:
            assert sorted(np.concatenate([f.train, f.test]).tolist()) == list(range(n))  # train: the other folds
            assert not set(groups[f.test]) & set(groups[f.train])  # no group on both sides
            assert f.valid is None
        lengths = [len(f.test) for f in folds]
        assert max(lengths) - min(lengths) <= max(sizes)  # as equal as whole groups allow
    if max(sizes) == 1:
        assert {len(f.test) for f in grouped_kfold(groups, k, 0)} == {4, 5}  # 23 items: 5, 5, 5, 4, 4


def test_folds_are_deterministic_per_repeat_and_differ_between_repeats():
    groups = groups_of([1] * 30 + [2] * 5)
    first = [f.test.tolist() for f in grouped_kfold(groups, 5, 0)]
    assert first == [f.test.tolist() for f in grouped_kfold(groups, 5, 0)]
    assert first != [f.test.tolist() for f in grouped_kfold(groups, 5, 1)]


def test_too_few_groups_or_folds_are_refused():
    with pytest.raises(RadiobenchError, match="at least 5 groups"):
        grouped_kfold(np.array(["a", "a", "b", "c", "d"]), 5, 0)
    for k in (1, 0, True):
        with pytest.raises(RadiobenchError, match="k >= 2"):
            grouped_kfold(np.array(list("abcdef")), k, 0)


def test_a_seed_of_a_kfold_evaluation_predicts_every_item_once_and_records_its_design():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = rng.normal(size=(60, 4)) + 2.0 * y[:, None]
    groups = groups_of([1] * 50 + [2] * 5)
    evaluation = Evaluation.kfold(x, y, groups, 5, cv_of="fake_task")
    evaluation.ids = np.asarray([f"i{i:02d}" for i in range(60)])
    evaluation.groups = groups
    out = run_seeds(Threshold(), FAKE_TASK, FakeTask(FAKE_TASK).score, evaluation, [0, 1], LabelBudget())
    for seed in out:
        assert seed.items.ids.tolist() == evaluation.ids.tolist()  # all 60, once each, in evaluation order
        assert seed.sizes == {"train": 48, "valid": 0, "test": 60, "folds": 5}
        assert len(seed.params["folds"]) == 5
    assert evaluation.description == {
        "method": "grouped k-fold cross-validation, redrawn per seed", "cv_folds": 5,
        "repeats": "one per seed: seed s draws its folds with a generator seeded by s, and every item is tested once "
                   "per seed", "groups": 55, "largest_group": 2, "items": 60, "cv_of": "fake_task"}


def test_the_runner_cross_validates_a_task_that_declares_cv_folds():
    spec = TaskSpec(name="t_cv", factory="m:f", version="1", kind="classification", main_score="error",
                    splits=("all",), cv_folds=3, cv_of="t")
    assert get_kind("classification").split_names(spec) == ("all",)
    ids = [f"i{i}" for i in range(9)]
    split = Split(np.zeros((9, 2, 2), dtype=np.uint8), np.arange(9) % 2, ids, np.asarray(ids))
    evaluation = evaluation_for(spec, {"all": np.zeros((9, 3))}, {"all": split})
    assert evaluation.description["cv_folds"] == 3 and evaluation.description["cv_of"] == "t"
    assert evaluation.groups.tolist() == ids and len(evaluation.folds(0, True)) == 3
    with pytest.raises(PluginError, match="no groups"):
        evaluation_for(spec, {"all": np.zeros((9, 3))}, {"all": Split(split.images, split.labels, ids)})


# ---------------------------------------------------------------------------------------------- the spec


def test_a_task_with_both_partition_and_cv_folds_is_refused_in_one_line():
    with pytest.raises(ValueError) as refused:
        TaskSpec(name="both", factory="m:f", version="1", kind="regression", main_score="r2", splits=("all",),
                 partition=(0.7, 0.2, 0.1), cv_folds=5)
    assert "partition and cv_folds exclude each other" in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("fields, why", [
    ({"cv_folds": 1}, "at least 2"), ({"cv_folds": True}, "at least 2"), ({"cv_folds": 5.0}, "at least 2"),
    ({"cv_folds": 5, "splits": ("train", "test")}, "one split"),
    ({"cv_folds": 5, "kind": "ranking", "main_score": "average_precision"}, "classification and regression"),
    ({"cv_of": "t"}, "set cv_folds too"), ({"cv_folds": 5, "cv_of": "c"}, "another task"),
])
def test_bad_cross_validation_settings_are_refused(fields, why):
    spec = {"name": "c", "factory": "m:f", "version": "1", "kind": "classification", "main_score": "error",
            "splits": ("all",), **fields}
    with pytest.raises(ValueError, match=why):
        TaskSpec(**spec)


# ---------------------------------------------------------------------------------------------- pooled tests


@dataclass
class Threshold(Protocol):
    """Predicts class 1 where the first feature is positive: the same for any fold, so its discordant items are known."""

    name: ClassVar[str] = "threshold"

    def fit_predict(self, task, x_train, y_train, x_test, seed, validation=None):
        return (x_test[:, 0] > 0).astype(np.int64), {}


def test_the_pooled_mcnemar_of_a_kfold_seed_is_the_exact_binomial_test_over_every_item():
    """Each seed's k folds are pooled into one prediction per item before the test, so McNemar sees all 24 items
    at once (not 5 folds of 4-5): A alone is right on 7 items, B alone on 1, both or neither on the rest."""
    y = np.arange(24) % 2
    sign = np.where(y == 1, 1.0, -1.0)
    a_right = np.arange(24) < 20  # A is right on items 0-19
    b_right = (np.arange(24) < 13) | (np.arange(24) == 22)  # B on 0-12 and 22
    groups = groups_of([1] * 18 + [2] * 3)
    ids = np.asarray([f"i{i:02d}" for i in range(24)])
    per_seed = {}
    for name, right in (("a", a_right), ("b", b_right)):
        x = np.c_[np.where(right, sign, -sign), np.zeros(24)]
        evaluation = Evaluation.kfold(x, y, groups, 5)
        evaluation.ids, evaluation.groups = ids, groups
        per_seed[name] = [s.items for s in run_seeds(Threshold(), FAKE_TASK, FakeTask(FAKE_TASK).score, evaluation,
                                                     [0, 1], LabelBudget())]
    assert all(len(items) == 24 for items in per_seed["a"])
    test = mcnemar(per_seed["a"], per_seed["b"])
    a_only, b_only = 7, 1  # items 13-19 / item 22
    n = a_only + b_only
    by_hand = min(1.0, 2 * sum(math.comb(n, i) for i in range(min(a_only, b_only) + 1)) / 2 ** n)  # 2 * 9/256
    assert (test.a_only, test.b_only, test.seed_pairs) == (a_only, b_only, 2)
    assert test.p_value == pytest.approx(by_hand, rel=1e-12) and by_hand == pytest.approx(0.0703125)


def test_the_bootstrap_draws_a_classification_tasks_groups_whole_within_their_class():
    truth = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    groups = np.array(["p", "p", "q", "q", "a", "b", "c", "d", "e", "m"])
    items = ItemPredictions(np.arange(10).astype(str), truth, truth, groups=groups)
    design = design_for(items, "class")
    assert "whole groups" in design.description and design.n_units == 8
    weights = design.weights(500, np.random.default_rng(0))
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 2] == weights[:, 3]).all()  # pairs drawn together
    # each class's groups are drawn among themselves, as many as it has (class 0: p, a, c, m; class 1: q, b, d, e)
    assert (weights[:, [0, 4, 6, 9]].sum(axis=1) == 4).all() and (weights[:, [2, 5, 7, 8]].sum(axis=1) == 4).all()
    singletons = ItemPredictions(np.arange(10).astype(str), truth, truth, groups=np.arange(10).astype(str))
    plain = ItemPredictions(np.arange(10).astype(str), truth, truth)
    a, b = design_for(singletons, "class"), design_for(plain, "class")  # groups of one: the usual draw
    assert a.description == b.description == "items within their true class"
    assert np.array_equal(a.unit_of_item, b.unit_of_item) and np.array_equal(a.stratum_of_unit, b.stratum_of_unit)


# ---------------------------------------------------------------------------------------------- the board


def cv_result(backbone, task, mean, cv_of):
    res = result(backbone, task, mean)
    res["task"]["evaluation"] = {"method": "grouped k-fold cross-validation, redrawn per seed", "cv_folds": 5,
                                 "groups": ITEMS, "items": ITEMS, "cv_of": cv_of}
    return res


@pytest.fixture
def cv_board(tmp_path):
    """zlit: alpha 0.10 is significantly better than beta 0.30; on its cross-validated twin cv_zlit, whose files
    come first by name, alpha and beta make the same predictions (a tie). gamma has only zlit."""
    write(tmp_path, result("alpha", "zlit", 0.10))
    write(tmp_path, result("beta", "zlit", 0.30))
    write(tmp_path, result("gamma", "zlit", 0.35))
    write(tmp_path, cv_result("alpha", "cv_zlit", 0.20, "zlit"))
    write(tmp_path, cv_result("beta", "cv_zlit", 0.20, "zlit"))
    write(tmp_path, result("alpha", "other", 0.10, sources=("NVSS",)))
    write(tmp_path, result("beta", "other", 0.10, sources=("NVSS",)))
    return tmp_path


def test_the_cv_column_sits_beside_its_literature_column_and_the_mean_rank_prefers_it(cv_board):
    board = collect(cv_board)
    assert list(board.tasks) == ["other", "zlit", "cv_zlit"]  # found as cv_zlit, other, zlit
    assert board.tasks["cv_zlit"]["cv_folds"] == 5 and board.tasks["cv_zlit"]["cv_of"] == "zlit"
    assert "cv_folds" not in board.tasks["zlit"]
    assert board.cells[("beta", "zlit")].rank == 2 and board.cells[("beta", "cv_zlit")].rank == 1
    # beta: rank 2 on zlit, but its cv_zlit rank (1) stands for it; gamma has only zlit, so zlit counts
    assert board.ranks["alpha"] == 1.0 and board.ranks["beta"] == 1.0
    assert board.ranks["gamma"] == board.cells[("gamma", "zlit")].rank
    md = render(board, "md")
    assert "cv_zlit (error ↓, 5-fold CV)" in md.splitlines()[0]
    assert "the mean rank uses it in place of zlit where a row has both" in md
    assert "cv_zlit and zlit share source data" not in md and "zlit and cv_zlit share" not in md
    page = render(board, "html")
    assert "error ↓ · 5-fold CV" in page and "5-fold cross-validation over every item, the estimate of zlit" in page
    payload = json.loads(render(board, "json"))
    assert payload["tasks"]["cv_zlit"]["cv_of"] == "zlit"


def test_without_its_cv_column_a_board_ranks_on_the_literature_columns(cv_board):
    for path in cv_board.glob("*__cv_zlit__*"):
        path.unlink()
    board = collect(cv_board)
    assert board.ranks["beta"] == 1.5  # rank 2 on zlit, 1 on other


# ---------------------------------------------------------------------------------------------- the real tasks


def load_all(name: str) -> Split:
    from radiobench.registry import get_registry
    from radiobench.specs import resolve_factory

    spec = get_registry().task(name).spec
    task = resolve_factory(spec.factory)(spec, **spec.options)
    task.prepare(SHARED_DATA)
    return task.load_split("all")


@pytest.mark.parametrize("name, items, groups, counts, literature", [
    ("mirabest_cv", 833, 831, [397, 436], "mirabest"),
    ("rgd_cv", 2158, 2149, [495, 924, 391, 348], "rgd"),
])
def test_the_cross_validated_tasks_serve_every_labelled_item_with_sky_groups(shared_data, name, items, groups, counts,
                                                                             literature):
    from radiobench.astro.sky import GROUP_RADIUS_ARCSEC, separation_arcsec, sky_position
    from radiobench.registry import get_registry

    spec = get_registry().task(name).spec
    lit = get_registry().task(literature).spec
    assert (spec.cv_folds, spec.cv_of, spec.in_all, spec.version) == (5, literature, False, "1.0")
    assert spec.data_sha256 == lit.data_sha256 and spec.source_datasets == lit.source_datasets
    split = load_all(name)
    assert len(split) == items and len(set(split.ids)) == items
    assert np.bincount(split.labels).tolist() == counts
    assert len(np.unique(split.groups)) == groups
    for group in np.unique(split.groups):  # each group of several: linked by positions within 90"
        members = [i for i, g in zip(split.ids, split.groups) if g == group]
        if len(members) > 1:
            pos = np.asarray([sky_position(m) for m in members])
            seps = separation_arcsec(pos, pos)
            np.fill_diagonal(seps, np.inf)
            assert (seps.min(axis=1) <= GROUP_RADIUS_ARCSEC).all()


@pytest.mark.slow
def test_pixels_on_mirabest_cv_end_to_end_tests_every_item_once_per_seed(shared_data, tmp_path):
    """Two repeats of 5-fold cross-validation (10 probe fits): about 90 s on 2 busy cores."""
    from radiobench.cli import main
    from radiobench.results import ResultRecord
    from radiobench.results.predictions import read_predictions

    out = tmp_path / "results"
    assert main(["run", "--backbone", "pixels", "--task", "mirabest_cv", "--seeds", "2", "--device", "cpu",
                 "--data-root", str(shared_data), "--results-dir", str(out)]) == 0
    path = out / "pixels__mirabest_cv__linear.json"
    record = ResultRecord.read(path)
    assert record.task.evaluation["cv_folds"] == 5 and record.task.evaluation["items"] == 833
    assert record.task.evaluation["groups"] == 831 and record.task.evaluation["cv_of"] == "mirabest"
    items = read_predictions(path, record)
    all_ids = load_all("mirabest_cv").ids
    for seed in (0, 1):
        assert sorted(items[seed].ids.tolist()) == sorted(all_ids)  # every item predicted exactly once
    assert record.protocol.sizes_per_seed[0] == {"train": 666, "valid": 0, "test": 833, "folds": 5}
    error = record.main_score.mean
    assert 0.15 <= error < 397 / 833, error  # better than always FRII, worse than any real backbone's best
    low, high = record.interval()
    assert high - low < 0.09  # the literature split's 104 items give about 0.17 (pixels: [0.356, 0.527])

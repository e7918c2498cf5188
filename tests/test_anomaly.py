"""MGCLS anomaly ranking: ranking metrics, anomaly protocols, the real Protege release, unsafe archives."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from radiobench.errors import RadiobenchError, UnsafeDataError
from radiobench.protocols import Evaluation, IsolationForestScore, KNNDistance, LabelBudget, run_seeds
from radiobench.registry import get_registry
from radiobench.run import RunOptions, build_task, run_pair
from radiobench.tasks.base import ranking_scores
from radiobench.testing import FAKE_TASK, FakeTask
from radiobench_plugins.mgcls_anomaly.task import unpack_pngs


def test_ranking_scores_reward_putting_interesting_items_first():
    labels = np.array([5, 4, 3, 2, 1, 1, 2, 1, 1, 2], dtype=float)
    perfect = ranking_scores(labels, labels)
    assert perfect["average_precision"] == 1.0 and perfect["ndcg"] == pytest.approx(1.0)
    assert perfect["ap_chance"] == 0.2 and perfect["spearman"] == pytest.approx(1.0)
    reversed_ = ranking_scores(labels, -labels)
    assert reversed_["average_precision"] < 0.3 and reversed_["ndcg"] < perfect["ndcg"]
    constant = ranking_scores(labels, np.zeros_like(labels))  # degenerate features: every item equally odd
    assert constant["spearman"] == 0.0 and constant["average_precision"] == pytest.approx(0.2)
    with pytest.raises(RadiobenchError, match="both below and at/above 4"):
        ranking_scores(np.array([1.0, 2.0, 3.0]), np.array([0.1, 0.2, 0.3]))


def test_ranking_folds_score_only_labelled_items_and_cross_validate_supervised_protocols():
    y = np.full(100, -1.0)
    y[::4] = np.arange(25) % 5 + 1
    ev = Evaluation.ranking(np.zeros((100, 2)), y)
    fold, = ev.folds(0, False)
    assert len(fold.train) == 100 and np.array_equal(fold.test, np.flatnonzero(y >= 0))
    folds = ev.folds(0, True)
    tested = np.concatenate([f.test for f in folds])
    assert len(folds) == 5 and sorted(tested) == list(np.flatnonzero(y >= 0))
    assert all(not set(f.train) & set(f.test) and (y[f.train] >= 0).all() for f in folds)
    with pytest.raises(RadiobenchError, match=r"at least 5 items with a human score, got 3 of 30 items; .*larger --limit"):
        Evaluation.ranking(np.zeros((30, 2)), np.where(np.arange(30) < 3, 4.0, -1.0))


@pytest.mark.parametrize("protocol", [KNNDistance(), IsolationForestScore()])
def test_anomaly_protocols_put_planted_outliers_first(protocol):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 8)) + 3.0  # the crowd points one way (cosine geometry ignores length)
    x[:10] = rng.normal(size=(10, 8)) * 4  # ten items each pointing somewhere else
    y = np.full(400, -1.0)
    y[:60] = 1.0
    y[:10] = 5.0  # the outliers are the interesting ones
    spec = replace(FAKE_TASK, kind="ranking", main_score="average_precision", higher_is_better=True, splits=("all",))
    out = run_seeds(protocol, spec, FakeTask(spec).score, Evaluation.ranking(x, y), [0, 1], LabelBudget())
    assert all(r.metrics["average_precision"] > 0.9 for r in out), [r.metrics for r in out]


@pytest.mark.slow
def test_protege_pixels_rank_interesting_sources_above_chance(shared_data, tmp_path):
    opts = RunOptions(protocols=["knn-distance", "linear"], seeds=2, data_root=shared_data,
                      results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", device="cpu")
    outcomes = run_pair(get_registry(), "pixels", "mgcls_anomaly", opts)
    assert [o.status for o in outcomes] == ["done", "done"]
    knn = json.loads(outcomes[0].path.read_text())
    meta = knn["task"]["metadata"]
    assert meta["sources"] == 6161 and meta["scored"] == 1031
    assert meta["score_counts"] == {"1": 384, "2": 439, "3": 122, "4": 62, "5": 24}
    ap = knn["metrics"]["average_precision"]
    assert ap["mean"] > 1.5 * knn["metrics"]["ap_chance"]["mean"]  # 86/1031 = 0.083 by chance; pixels measured 0.18
    assert ap["std"] == 0.0 and knn["protocol"]["chosen_per_seed"][0] == {"k": 10}
    assert len(knn["task"]["data_sha256"]) == 64 and not knn["task"]["data_sha256"].startswith("ca93b515")  # + images
    linear = json.loads(outcomes[1].path.read_text())
    assert linear["protocol"]["sizes_per_seed"][0] == {"train": 825, "valid": 0, "test": 1031, "folds": 5}
    assert 0.0 < linear["metrics"]["ndcg"]["mean"] <= 1.0


def test_missing_cutouts_are_named_with_the_fix(shared_data, tmp_path):
    folder = tmp_path / "mgcls_protege"
    shutil.copytree(shared_data / "mgcls_protege" / "catalogue", folder / "catalogue")
    (folder / "images").mkdir()
    task = build_task(get_registry().task("mgcls_anomaly"))
    with pytest.raises(RadiobenchError, match=r"6161 of 6161 cutouts missing .* unzip both image archives"):
        task.prepare(tmp_path)  # at prepare, where the data identity is computed: before any extraction


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_image_archives_unpack_only_cutouts_and_never_outside_the_target(shared_data, tmp_path):
    png = (shared_data / "mgcls_protege" / "images" / "7.png").read_bytes()
    good = make_zip(tmp_path / "good.zip", {"all_images/7.png": png, "all_images/__MACOSX/.7.png": b"x", "README": b"r"})
    assert unpack_pngs(good, tmp_path / "images") == 1
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["7.png"]
    evil = make_zip(tmp_path / "evil.zip", {"../../escape.png": png})
    with pytest.raises(UnsafeDataError, match=r"leaves the target folder"):
        unpack_pngs(evil, tmp_path / "images2")
    assert not (tmp_path.parent / "escape.png").exists()
    odd = make_zip(tmp_path / "odd.zip", {"all_images/run.sh.png": b"#!/bin/sh"})
    with pytest.raises(UnsafeDataError, match="unexpected member"):
        unpack_pngs(odd, tmp_path / "images3")


@pytest.mark.slow
def test_a_cached_rerun_never_decodes_a_cutout(shared_data, tmp_path, monkeypatch):
    opts = RunOptions(protocols=["knn-distance"], seeds=1, data_root=shared_data, results_dir=tmp_path / "results",
                      cache_dir=tmp_path / "cache", device="cpu", limit=300)
    first, = run_pair(get_registry(), "pixels", "mgcls_anomaly", opts)

    def refuse(path):
        raise AssertionError(f"decoded {path} although its features are cached")

    monkeypatch.setattr("radiobench_plugins.mgcls_anomaly.task.read_cutout", refuse)
    opts.overwrite = True
    again, = run_pair(get_registry(), "pixels", "mgcls_anomaly", opts)
    assert again.status == "done"
    assert json.loads(again.path.read_text())["cache"]["all"]["hit"] is True
    assert json.loads(again.path.read_text())["metrics"] == json.loads(first.path.read_text())["metrics"]


@pytest.mark.slow
def test_a_finished_protege_result_answers_the_same_request(shared_data, tmp_path):
    """The data identity covers the cutouts from prepare() on, so a re-run finds its result and does nothing.

    It used to be the catalogue's sha256 until the split was read, and the recorded one (catalogue + cutouts)
    never matched it: every run redid every Protege result.
    """
    opts = RunOptions(protocols=["knn-distance"], seeds=1, data_root=shared_data, results_dir=tmp_path / "results",
                      cache_dir=tmp_path / "cache", device="cpu", limit=300)
    first, = run_pair(get_registry(), "pixels", "mgcls_anomaly", opts)
    task = build_task(get_registry().task("mgcls_anomaly"))
    task.prepare(shared_data)
    assert task.data_sha256 == json.loads(first.path.read_text())["task"]["data_sha256"]  # before any split is read
    again, = run_pair(get_registry(), "pixels", "mgcls_anomaly", opts)
    assert again.status == "skipped" and again.path == first.path

"""Per-item predictions: the sidecar beside each result, its sha256 in the JSON, and schema 3."""

import json

import numpy as np
import pytest

from radiobench.errors import ResultsError
from radiobench.protocols import KNN, Evaluation, LabelBudget, Linear, run_seeds
from radiobench.results import ResultRecord, migrate, read_result, write_result
from radiobench.results.predictions import (FORMAT, ItemPredictions, from_bytes, read_predictions, sha256,
                                            sidecar_name, to_bytes)
from radiobench.run import Progress, RunOptions, run_pair
from radiobench.specs import TaskSpec
from radiobench.testing import registry_with

from test_leaderboard import result as schema_2_payload

TASK = TaskSpec(name="t", factory="m:f", version="1", kind="classification", main_score="error", higher_is_better=False,
                classes=("a", "b", "c"))


@pytest.fixture(autouse=True)
def clean_checkout(monkeypatch):
    from radiobench.results import provenance

    monkeypatch.setattr(provenance, "git_state", lambda *a: {"git_commit": "0" * 40, "git_dirty": False})


def opts(tmp_path, **kw):
    settings = {"results_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "device": "cpu",
                "protocols": ["linear"], "data_root": tmp_path / "data", "seeds": 2, **kw}
    return RunOptions(**settings)


def run(options):
    (outcome,) = run_pair(registry_with(), "fake_backbone", "fake_task", options, Progress())
    return outcome


def test_sidecar_round_trips_classes_probabilities_groups_and_boxes():
    items = {
        1: ItemPredictions(np.array(["x", "y"]), np.array([0, 2]), np.array([0, 1]),
                           np.array([[0.9, 0.1, 0], [0.2, 0.5, 0.3]], np.float32), np.array(["f1", "f2"])),
        0: ItemPredictions(np.array(["x", "y"]), np.array([0, 2]), np.array([2, 2]),
                           np.array([[0.1, 0.1, 0.8], [0, 0, 1]], np.float32), np.array(["f1", "f2"])),
    }
    back = from_bytes(to_bytes(items))
    assert sorted(back) == [0, 1]
    for seed, it in items.items():
        assert np.array_equal(back[seed].ids, it.ids) and np.array_equal(back[seed].predicted, it.predicted)
        assert np.array_equal(back[seed].proba, it.proba) and np.array_equal(back[seed].groups, it.groups)
    boxes = [{"boxes": np.array([[1, 2, 3, 4]], np.float32), "labels": np.array([0])}, {"boxes": np.zeros((0, 4)), "labels": np.zeros(0)}]
    found = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0)},
             {"boxes": np.array([[0, 0, 5, 5], [1, 1, 2, 2]], np.float32), "scores": np.array([0.9, 0.2]), "labels": np.array([0, 0])}]
    detection = from_bytes(to_bytes({0: ItemPredictions(np.array(["im1", "im2"]), targets=boxes, detections=found)}))[0]
    assert [len(t["labels"]) for t in detection.targets] == [1, 0] and [len(d["scores"]) for d in detection.detections] == [0, 2]
    assert np.array_equal(detection.detections[1]["boxes"], found[1]["boxes"]) and detection.truth is None


def test_a_file_that_is_not_a_sidecar_is_one_line():
    with pytest.raises(ResultsError, match=r"x.npz: predictions file is not a readable zip archive .*; re-run the result"):
        from_bytes(b"not a zip", "x.npz")
    buffer = __import__("io").BytesIO()
    np.savez(buffer, format=np.asarray("other/9"), seed=np.zeros(1))
    with pytest.raises(ResultsError, match="predictions format 'other/9'"):
        from_bytes(buffer.getvalue())


def test_run_seeds_keeps_each_test_item_with_probabilities_and_unchanged_scores():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 160)
    x = rng.normal(size=(160, 6)) + np.eye(6)[y] * 2
    evaluation = Evaluation.fixed((x[:120], y[:120]), (x[120:], y[120:]))
    evaluation.ids = np.array([f"item{i}" for i in range(160)])

    def score(t, p):
        return {"error": float(np.mean(t != p))}

    for protocol in (Linear(), KNN()):
        out = run_seeds(protocol, TASK, score, evaluation, [0, 1], LabelBudget())
        for r in out:
            items = r.items
            assert list(items.ids) == [f"item{i}" for i in range(120, 160)]
            assert np.array_equal(items.truth, y[120:]) and items.predicted.dtype == np.int64
            assert r.metrics["error"] == np.mean(items.truth != items.predicted)  # the score is of these labels
            assert items.proba.shape == (40, 3) and np.allclose(items.proba.sum(axis=1), 1, atol=1e-5)
            assert (items.proba.argmax(axis=1) == items.predicted).mean() > 0.95


def test_a_run_writes_the_sidecar_first_and_the_json_names_it(tmp_path, monkeypatch):
    import radiobench.results.files as files

    order = []
    real_open, real_write = files.open_atomic, files.write_text_atomic

    def opened(path, mode="w"):
        order.append(path.name)
        return real_open(path, mode)

    def wrote(path, text):
        order.append(path.name)
        real_write(path, text)

    monkeypatch.setattr(files, "open_atomic", opened)
    monkeypatch.setattr(files, "write_text_atomic", wrote)
    outcome = run(opts(tmp_path))
    assert order == [sidecar_name(outcome.path.name), outcome.path.name]
    record = read_result(outcome.path)
    assert record.schema_version == 3 and record.predictions.file == sidecar_name(outcome.path.name)
    sidecar = outcome.path.with_name(record.predictions.file)
    assert record.predictions.sha256 == sha256(sidecar.read_bytes()) and record.predictions.format == FORMAT
    items = read_predictions(outcome.path, record)
    assert sorted(items) == [0, 1] and record.predictions.rows == sum(len(i) for i in items.values())
    low, high = record.interval()
    assert low <= record.main_score.mean <= high
    assert record.intervals.n_resamples == 2000 and record.intervals.strata == "true class"
    assert set(record.intervals.metrics) == set(record.metrics)


def test_a_changed_or_missing_sidecar_is_refused_in_one_line(tmp_path):
    outcome = run(opts(tmp_path))
    record = read_result(outcome.path)
    sidecar = outcome.path.with_name(record.predictions.file)
    content = sidecar.read_bytes()
    sidecar.write_bytes(content + b"\0")
    with pytest.raises(ResultsError, match="sha256 differs from the one .* records, so it belongs to another run"):
        read_predictions(outcome.path, record)
    sidecar.unlink()
    with pytest.raises(ResultsError, match="its predictions file .* is missing; copy it beside the result"):
        read_predictions(outcome.path, record)


def test_write_result_refuses_a_sidecar_the_record_does_not_name(tmp_path):
    outcome = run(opts(tmp_path))
    record = read_result(outcome.path)
    with pytest.raises(ValueError, match="not this sidecar"):
        write_result(outcome.path, record, b"other bytes")
    with pytest.raises(ValueError, match="exactly when one is given"):
        write_result(outcome.path, record)


def test_more_seeds_keep_the_earlier_seeds_predictions(tmp_path):
    first = run(opts(tmp_path))
    before = read_predictions(first.path, read_result(first.path))
    again = run(opts(tmp_path, seeds=3))
    record = read_result(again.path)
    assert record.seeds_kept == [0, 1]
    after = read_predictions(again.path, record)
    assert sorted(after) == [0, 1, 2]
    for seed in (0, 1):
        assert np.array_equal(after[seed].predicted, before[seed].predicted)


def test_seeds_are_not_kept_when_the_sidecar_is_gone(tmp_path):
    first = run(opts(tmp_path))
    first.path.with_name(read_result(first.path).predictions.file).unlink()
    again = run(opts(tmp_path, seeds=3))
    record = read_result(again.path)
    assert record.seeds_kept == [] and sorted(read_predictions(again.path, record)) == [0, 1, 2]


@pytest.mark.parametrize("version", [1, 2])
def test_schema_1_and_2_migrate_with_predictions_and_intervals_unknown(version):
    payload = schema_2_payload("a", "t", 0.1)
    payload["schema_version"] = version
    if version == 1:
        del payload["backbone"]["code"]
    record = ResultRecord.model_validate(migrate(payload))
    assert record.schema_version == 3 and record.predictions is None and record.intervals is None
    assert record.interval() is None and "±" in record.score_text()


def test_a_result_without_predictions_answers_no_new_run(tmp_path):
    outcome = run(opts(tmp_path))
    payload = json.loads(outcome.path.read_text())
    payload.update(schema_version=2)
    del payload["predictions"], payload["intervals"]
    outcome.path.write_text(json.dumps(payload))
    again = run(opts(tmp_path))
    assert again.status == "done"  # refitted: a schema-2 result has no per-item predictions
    assert read_result(again.path).predictions is not None


def test_an_interval_of_an_unknown_metric_or_reversed_is_refused(tmp_path):
    outcome = run(opts(tmp_path))
    payload = json.loads(outcome.path.read_text())
    payload["intervals"]["metrics"]["nonsense"] = [0, 1]
    with pytest.raises(ResultsError, match=r"intervals of \['nonsense'\] name no metric"):
        ResultRecord.from_json(json.dumps(payload), "x.json")
    payload["intervals"]["metrics"] = {"error": [0.5, 0.1]}
    with pytest.raises(ResultsError, match="x.json: field intervals.*low <= high"):
        ResultRecord.from_json(json.dumps(payload), "x.json")


class PooledTask(__import__("radiobench.tasks.base", fromlist=["Task"]).Task):
    """In-memory items for the grouped-partition (counts) and ranking-pool evaluations."""

    pixel_range = (0, 255)

    def prepare(self, root, download=False):
        self.root = root

    def load_split(self, split):
        from radiobench.tasks.base import Split
        from radiobench.testing import radio_like_images

        n = 120
        images = (radio_like_images(n, side=32, seed=3) * 255).astype(np.uint8)
        if self.spec.kind == "regression":
            labels = (np.arange(n) % 2 + np.arange(n) % 5).astype(float)
            return Split(images, labels, [f"crop{i}" for i in range(n)], np.repeat([f"field{k}" for k in range(12)], 10))
        labels = np.where(np.arange(n) % 3 == 0, -1, 1 + np.arange(n) % 5).astype(float)  # a third unscored
        return Split(images, labels, [f"src{i}" for i in range(n)])


GROUPED = TaskSpec(name="grouped", factory="test_predictions:PooledTask", version="1", kind="regression",
                   main_score="mse", higher_is_better=False, data_sha256="synthetic", scaling="uint8 / 255",
                   splits=("all",), partition=(0.6, 0.2, 0.2))
RANKED = TaskSpec(name="ranked", factory="test_predictions:PooledTask", version="1", kind="ranking",
                  main_score="average_precision", higher_is_better=True, data_sha256="synthetic",
                  scaling="uint8 / 255", splits=("all",))


@pytest.mark.slow
def test_grouped_and_pooled_tasks_keep_their_items_fields_and_strata(tmp_path):
    reg = registry_with(GROUPED, RANKED)
    (counts,) = run_pair(reg, "fake_backbone", "grouped", opts(tmp_path, seeds=3), Progress())
    record = read_result(counts.path)
    items = read_predictions(counts.path, record)
    assert record.intervals.strata == "field (the task's groups)"
    assert all((np.unique(it.groups, return_counts=True)[1] == 10).all() for it in items.values())  # whole fields
    assert not np.array_equal(items[0].ids, items[1].ids)  # the partition is redrawn per seed
    for seed, it in items.items():  # the score is of these items
        assert record.metrics["mse"].per_seed[seed] == pytest.approx(np.mean((it.truth - it.predicted) ** 2))
    outcomes = run_pair(reg, "fake_backbone", "ranked", opts(tmp_path, protocols=["linear", "knn-distance"]), Progress())
    for outcome in outcomes:
        record = read_result(outcome.path)
        items = read_predictions(outcome.path, record)
        assert all(len(it) == 80 and (it.truth >= 1).all() for it in items.values())  # the scored items only
        assert np.array_equal(items[0].ids, items[1].ids)  # CV folds in another order per seed; stored in pool order
        assert record.intervals.strata.startswith("interesting") and "average_precision" in record.intervals.metrics

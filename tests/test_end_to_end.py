"""The whole path on real MiraBest through the CLI, as a newcomer runs it."""

import json

import pytest

from conftest import radiobench_cli

# ~70 s on 2 cores in all; the tests share one workspace, so they are deselected together (-m "not slow")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("e2e")
    env = {"RADIOBENCH_CACHE": str(root / "cache"), "RADIOBENCH_DATA": str(shared_data)}
    return root, env


def run(workspace, *args):
    root, env = workspace
    return radiobench_cli("run", "--results-dir", str(root / "results"), *args, env=env)


@pytest.mark.slow
def test_random_resnet18_linear_probe_is_well_above_chance_with_full_provenance(workspace):
    root, _ = workspace
    done = run(workspace, "--backbone", "random_resnet18", "--task", "mirabest", "--protocol", "all")
    assert done.returncode == 0, done.stdout + done.stderr
    res = json.loads((root / "results" / "random_resnet18__mirabest__linear.json").read_text())
    accuracy = res["metrics"]["accuracy"]
    assert accuracy["mean"] >= 0.6, accuracy  # chance is 55/104 = 0.53 (always FRII)
    assert len(accuracy["per_seed"]) == 5 and res["seeds"] == [0, 1, 2, 3, 4]
    assert res["main_score"] == {"name": "error", "mean": pytest.approx(1 - accuracy["mean"]),
                                 "std": pytest.approx(accuracy["std"]), "higher_is_better": False}
    assert res["task"]["train_count"] == 729 and res["task"]["test_count"] == 104
    assert res["task"]["data_sha256"] == "5ad6b8fbe982e4f7ae52d3f88dd2e6cb03de0c4f7c00b00b92608c6e78a5243b"
    assert res["backbone"]["input"]["channel_adapt"] == "repeat 1->3"
    assert res["backbone"]["weights"]["identity"] == "random-init:seed=0"
    assert res["backbone"]["provided_by"]["distribution"] == "radiobench"
    assert all("C" in chosen for chosen in res["protocol"]["chosen_per_seed"])
    assert res["environment"]["packages"]["torch"] and res["environment"]["cuda_version"] is None
    assert res["radiobench"]["git_commit"] is None or len(res["radiobench"]["git_commit"]) == 40
    assert res["cache"]["train"]["hit"] is False and res["timings"]["images_per_second"] > 0
    assert (root / "results" / "random_resnet18__mirabest__knn.json").exists()


def test_rerun_skips_finished_results(workspace):
    root, _ = workspace
    path = root / "results" / "random_resnet18__mirabest__linear.json"
    before = path.read_text()
    done = run(workspace, "--backbone", "random_resnet18", "--task", "mirabest")
    assert done.returncode == 0 and "skipped" in done.stdout
    assert path.read_text() == before


@pytest.mark.slow
def test_overwrite_recomputes_from_the_feature_cache(workspace):
    root, _ = workspace
    done = run(workspace, "--backbone", "random_resnet18", "--task", "mirabest", "--overwrite")
    assert done.returncode == 0, done.stdout + done.stderr
    res = json.loads((root / "results" / "random_resnet18__mirabest__linear.json").read_text())
    assert res["cache"]["train"]["hit"] and res["cache"]["test"]["hit"]
    assert res["timings"]["extraction_seconds"] == {}
    assert res["metrics"]["accuracy"]["mean"] >= 0.6  # same features, same seeds, same score


@pytest.mark.slow
def test_label_budget_of_145_labels(workspace):
    root, _ = workspace
    done = run(workspace, "--backbone", "pixels", "--task", "mirabest", "--train-labels", "145", "--seeds", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    res = json.loads((root / "results" / "pixels__mirabest__linear-n145.json").read_text())
    assert res["protocol"]["train_size_per_seed"] == [145, 145, 145]
    assert res["protocol"]["label_budget"] == {"fraction": None, "count": 145}


def test_leaderboard_from_the_run(workspace):
    root, _ = workspace
    done = radiobench_cli("leaderboard", "--results-dir", str(root / "results"))
    assert done.returncode == 0, done.stderr
    line = next(l for l in done.stdout.splitlines() if l.startswith("| random_resnet18"))
    res = json.loads((root / "results" / "random_resnet18__mirabest__linear.json").read_text())
    from radiobench.board.collect import collect

    cell = collect(root / "results").cells[("random_resnet18", "mirabest")]
    assert f"{res['main_score']['mean']:.4f} [{cell.low:.3f}, {cell.high:.3f}]" in line  # the cell shows the interval
    # the board's interval (percentile, from the sidecar) and the one the run recorded (BCa) tell the same story
    recorded = res["intervals"]["metrics"]["error"]
    assert abs(cell.low - recorded[0]) < 0.02 and abs(cell.high - recorded[1]) < 0.02


def test_pixels_with_three_seeds_writes_per_item_predictions_and_intervals(workspace):
    from radiobench.results import read_result
    from radiobench.results.predictions import read_predictions

    root, _ = workspace
    path = root / "results" / "pixels__mirabest__linear-n145.json"
    record = read_result(path)
    items = read_predictions(path, record)
    assert sorted(items) == [0, 1, 2] and all(len(it) == 104 and it.proba.shape == (104, 2) for it in items.values())
    low, high = record.interval()
    assert low < record.main_score.mean < high and 0.05 < high - low < 0.3  # 104 test images: about +-0.09
    assert record.intervals.strata == "true class" and record.intervals.n_resamples == 2000

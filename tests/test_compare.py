"""`radiobench compare`: paired tests on synthetic results whose answer is known."""

import json

import numpy as np
import pytest

from radiobench.board.stats import compare, tied_with_best
from radiobench.cli import main
from radiobench.errors import ResultsError
from radiobench.results import ResultRecord, Summary, result_path, write_result
from radiobench.results.predictions import FORMAT, ItemPredictions, sha256, sidecar_name, to_bytes

from test_leaderboard import result as payload_of

N = 200


def synthetic(folder, backbone, error_rate, seeds=(0, 1, 2), task="t", ids=None, sidecar=True, same_as=None, seed=0,
              intervals=False):
    """A classification result of ``N`` items whose predictions miss ``error_rate`` of them (drawn per seed)."""
    truth = np.arange(N) % 2
    rng = np.random.default_rng(seed)
    items = {}
    for s in seeds:
        predicted = truth.copy() if same_as is None else same_as[s].predicted.copy()
        if same_as is None:
            miss = rng.random(N) < error_rate
            predicted[miss] = 1 - predicted[miss]
        items[s] = ItemPredictions(np.asarray(ids if ids is not None else [f"i{k}" for k in range(N)]), truth, predicted)
    errors = [float(np.mean(items[s].predicted != truth)) for s in seeds]
    summary = Summary.of(errors)
    payload = payload_of(backbone, task, summary.mean)
    n = len(seeds)
    payload.update(seeds=list(seeds), metrics={"error": summary.model_dump()},
                   main_score={"name": "error", "mean": summary.mean, "std": summary.std, "higher_is_better": False})
    payload["protocol"].update(train_size_per_seed=[10] * n, sizes_per_seed=[{"train": 10, "test": N}] * n,
                               chosen_per_seed=[{}] * n)
    payload["timings"]["fit_seconds_per_seed"] = [0.2] * n
    path = result_path(folder, backbone, task, "linear", None)
    content = None
    if sidecar:
        content = to_bytes(items)
        payload["predictions"] = {"file": sidecar_name(path.name), "sha256": sha256(content), "format": FORMAT,
                                  "rows": N * n}
    if intervals:
        from radiobench.results import bootstrap, scoring

        payload["intervals"] = bootstrap.intervals([items[s] for s in seeds], scoring.classification, "class", ["error"],
                                                   n_resamples=500)
    write_result(path, ResultRecord.model_validate(payload), content)
    return path, items


def test_identical_predictions_give_p_1(tmp_path):
    a, items = synthetic(tmp_path / "a", "alpha", 0.2)
    b, _ = synthetic(tmp_path / "b", "beta", 0.2, same_as=items)
    c = compare(a, b)
    assert c.difference == 0 and (c.low, c.high) == (0, 0) and c.p_value == 1.0
    assert c.mcnemar.p_value == 1.0 and (c.mcnemar.a_only, c.mcnemar.b_only) == (0, 0)
    assert not c.significant and "no significant difference" in c.verdict()


def test_a_clearly_better_model_gives_p_below_one_percent(tmp_path):
    a, _ = synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, _ = synthetic(tmp_path, "beta", 0.30, seed=2)
    c = compare(a, b)
    assert c.difference < -0.15 and c.high < 0 and c.p_value < 0.01
    assert c.mcnemar.p_value < 0.01 and c.mcnemar.a_only > c.mcnemar.b_only
    assert c.a_better and c.verdict().startswith("alpha is better")
    reverse = compare(b, a)
    assert reverse.difference == pytest.approx(-c.difference) and not reverse.a_better


def test_a_small_difference_on_a_small_test_set_is_not_significant(tmp_path):
    a, items = synthetic(tmp_path, "alpha", 0.15, seeds=(0,), seed=3)
    flipped = {0: ItemPredictions(items[0].ids, items[0].truth, items[0].predicted.copy())}
    wrong = np.flatnonzero(flipped[0].predicted == flipped[0].truth)[:3]  # three more errors in 200
    flipped[0].predicted[wrong] = 1 - flipped[0].predicted[wrong]
    b, _ = synthetic(tmp_path, "beta", 0.0, seeds=(0,), same_as=flipped)
    c = compare(a, b)
    assert c.difference == pytest.approx(-3 / N) and c.p_value > 0.05 and c.mcnemar.p_value == pytest.approx(0.25)


def test_cli_prints_the_difference_interval_and_p_value(tmp_path, capsys):
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    synthetic(tmp_path, "beta", 0.30, seed=2)
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "A - B = -0." in out and "95% CI [" in out and "McNemar exact p = " in out and "alpha is better" in out
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["significant"] and payload["p_value"] < 0.01 and payload["metric"] == "error"


@pytest.mark.parametrize("setup, message", [
    (lambda d: synthetic(d, "beta", 0.2, sidecar=False), "beta__t__linear.json: no per-item predictions"),
    (lambda d: synthetic(d, "beta", 0.2, ids=[f"other{k}" for k in range(N)]), r"share 0 test item\(s\)"),
    (lambda d: synthetic(d, "beta", 0.2, seeds=(7,)), r"share no seed"),
])
def test_results_that_cannot_be_paired_are_one_line_errors(tmp_path, capsys, setup, message):
    synthetic(tmp_path, "alpha", 0.2)
    setup(tmp_path)
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert __import__("re").search(message, err), err


def test_results_of_different_tasks_or_missing_ones_are_refused(tmp_path, capsys):
    a, _ = synthetic(tmp_path, "alpha", 0.2)
    b, _ = synthetic(tmp_path, "beta", 0.2, task="other")
    with pytest.raises(ResultsError, match="differ in task"):
        compare(a, b)
    assert main(["compare", "alpha", "gamma", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    assert "no main-protocol result of gamma on t" in capsys.readouterr().err
    assert main(["compare", "alpha", "beta", "--results-dir", str(tmp_path)]) == 1
    assert "give --task" in capsys.readouterr().err


def test_tied_with_best_uses_the_paired_test_and_falls_back_to_intervals(tmp_path):
    paths = {"alpha": synthetic(tmp_path, "alpha", 0.05, seed=1)[0], "beta": synthetic(tmp_path, "beta", 0.30, seed=2)[0]}
    paths["gamma"], _ = synthetic(tmp_path, "gamma", 0.06, seed=4)
    records = {k: ResultRecord.read(p) for k, p in paths.items()}
    ties = tied_with_best(paths, records, "alpha", n_resamples=500)
    assert ties["alpha"] == (True, None, "best")
    assert ties["beta"][0] is False and ties["beta"][2] == "paired"
    assert ties["gamma"][0] is True and ties["gamma"][1] > 0.05
    paths["gamma"].with_name(records["gamma"].predictions.file).unlink()
    assert tied_with_best(paths, records, "alpha", n_resamples=500)["gamma"] == (None, None, "unknown")  # no intervals


def test_leaderboard_comparisons_are_remembered_by_their_sidecars(tmp_path, monkeypatch):
    """A page re-render reuses each paired test; a changed sidecar (a re-run) is tested again."""
    from radiobench.board import stats
    from radiobench.results import ResultRecord

    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache"))
    a, items = synthetic(tmp_path / "a", "alpha", 0.1, seed=1)
    b, _ = synthetic(tmp_path / "b", "beta", 0.4, seed=2)
    records = (ResultRecord.read(a), ResultRecord.read(b))
    first = stats.cached_compare(a, b, records)
    assert first == compare(a, b) and len(list((tmp_path / "cache" / "comparisons").iterdir())) == 1
    calls = []
    monkeypatch.setattr(stats, "compare", lambda *args, **kw: calls.append(args) or first)
    assert stats.cached_compare(a, b, records) == first and calls == []  # from the cache, same answer
    b2, _ = synthetic(tmp_path / "b", "beta", 0.3, seed=3)  # re-run: another sidecar
    stats.cached_compare(a, b2, (records[0], ResultRecord.read(b2)))
    assert len(calls) == 1

"""`radiobench compare`: paired tests on synthetic results whose answer is known."""

import json

import numpy as np
import pytest

from radiobench.board.stats import compare
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
    assert main(["compare", "alpha", "beta", "--results-dir", str(tmp_path)]) == 2  # a usage error
    assert "give --task" in capsys.readouterr().err


def test_a_column_ranks_by_corrected_paired_tests_and_caches_nothing(tmp_path, monkeypatch):
    """The board's column: the clearly worse row ranks below, the close one shares rank 1; no verdict is stored."""
    from radiobench.board.collect import collect

    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache"))
    synthetic(tmp_path, "alpha", 0.05, seed=1)
    synthetic(tmp_path, "beta", 0.30, seed=2)
    synthetic(tmp_path, "gamma", 0.06, seed=4)
    board = collect(tmp_path)
    cells = {b: c for (b, t), c in board.cells.items()}
    assert (cells["alpha"].rank, cells["gamma"].rank, cells["beta"].rank) == (1, 1, 3)  # both rows beat beta
    assert cells["gamma"].tied and not cells["alpha"].tied and cells["beta"].p_vs_best < 0.01
    assert board.tests["t"] == {"test": "McNemar exact", "resampled": "items within their true class", "family": 3}
    assert not (tmp_path / "cache").exists()


def test_a_result_without_predictions_is_refused_by_name_not_ranked_by_a_looser_rule(tmp_path):
    from radiobench.board.collect import collect
    from radiobench.board.render import render

    synthetic(tmp_path, "alpha", 0.05, seed=1)
    synthetic(tmp_path, "beta", 0.30, seed=2, sidecar=False)
    board = collect(tmp_path)
    beta = board.cells[("beta", "t")]
    assert beta.rank is None and not beta.tied and "no per-item predictions" in beta.refused
    page = render(board, "md")
    assert "⊘" in page and "beta on t: not tested" in page


def test_a_forged_sidecar_is_refused_by_name_in_compare_and_on_the_board(tmp_path, capsys):
    """Perfect predictions written over a result's sidecar, its sha256 updated in the JSON: neither is used."""
    from radiobench.board.collect import collect
    from radiobench.board.render import render

    a, _ = synthetic(tmp_path, "alpha", 0.05, seed=1)
    b, items = synthetic(tmp_path, "beta", 0.30, seed=2)
    perfect = {s: ItemPredictions(it.ids, it.truth, it.truth.copy()) for s, it in items.items()}
    content = to_bytes(perfect)
    record = json.loads(b.read_text())
    b.with_name(record["predictions"]["file"]).write_bytes(content)
    record["predictions"]["sha256"] = sha256(content)
    b.write_text(json.dumps(record))
    assert main(["compare", "alpha", "beta", "--task", "t", "--results-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "beta__t__linear.json: its predictions give error 0.0000 for seed 0" in err
    assert "the result records 0.3" in err and "re-run it with --overwrite" in err
    board = collect(tmp_path)
    beta = board.cells[("beta", "t")]
    assert beta.rank is None and beta.refused and "its predictions give error 0.0000" in beta.refused
    assert "⊘ beta on t: not tested" in render(board, "md")

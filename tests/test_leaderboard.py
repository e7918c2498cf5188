"""Leaderboard: merging rules, ranks, and the four output formats."""

import csv
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from radiobench.cli import main
from radiobench.errors import ResultsError
from radiobench.board.collect import collect
from radiobench.board.render import render
from radiobench.io.atomic import write_text_atomic
from radiobench.results import SCHEMA_VERSION, ResultRecord, result_path

from conftest import chromium_path, need


def result(backbone, task, mean, std=0.01, higher=False, version="1.0", sha="a" * 64, weights="none",
           limit=None, protocol="linear", training=(), sources=("FIRST",)):
    """A complete, valid result record (schema 2) of five seeds (the recorded std is taken as given)."""
    values = [mean] * 5
    name = "error" if not higher else "accuracy"
    provided = {"plugin": "test", "distribution": "test-dist", "version": "0"}
    return {
        "schema_version": SCHEMA_VERSION,
        "radiobench": {"version": "0.1.0", "git_commit": None, "git_dirty": None},
        "date": "2026-12-01T00:00:00+00:00",
        "backbone": {"name": backbone, "provided_by": provided, "family": "test", "embed_dim": 8,
                     "weights": {"kind": "none", "identity": weights}, "input": {}, "training_data": list(training),
                     "code": {"spec_version": "1"}},
        "task": {"name": task, "version": version, "kind": "classification", "provided_by": provided,
                 "data_sha256": sha, "source_datasets": list(sources), "train_count": 10, "test_count": 5},
        "protocol": {"name": protocol.split("-")[0], "version": "3", "id": protocol, "train_size_per_seed": [10] * 5,
                     "sizes_per_seed": [{"train": 10, "test": 5}] * 5, "chosen_per_seed": [{}] * 5},
        "seeds": [0, 1, 2, 3, 4],
        "metrics": {name: {"mean": mean, "std": std, "per_seed": values}},
        "main_score": {"name": name, "mean": mean, "std": std, "higher_is_better": higher},
        "limit": limit,
        "precision": "fp32",
        "batch_size": 64,
        "timings": {"fit_seconds": 1.0, "fit_seconds_per_seed": [0.2] * 5},
        "environment": {"device_name": "AMD EPYC", "python": "3.11.7", "packages": {"torch": "2.14.1"}},
    }


ITEMS = 100


def write(folder, res, sidecar=True, predicted=None):
    """The result file, and beside it per-item predictions that give its score (error or accuracy of ``ITEMS``
    items, the same for every seed), so the board can test it; ``sidecar=False``: an untestable result;
    ``predicted``: these predictions instead (the score must be theirs)."""
    from radiobench.results import write_result
    from radiobench.results.predictions import FORMAT, ItemPredictions, sha256, sidecar_name, to_bytes

    path = result_path(folder, res["backbone"]["name"], res["task"]["name"], res["protocol"]["id"], res["limit"])
    main = res["main_score"]
    content = None
    if sidecar and main["name"] in ("error", "accuracy"):
        wrong = round((main["mean"] if main["name"] == "error" else 1 - main["mean"]) * ITEMS)
        truth = np.arange(ITEMS) % 2
        if predicted is None:
            predicted = truth.copy()
            predicted[:wrong] = 1 - predicted[:wrong]
        items = {s: ItemPredictions(np.array([f"i{k}" for k in range(ITEMS)]), truth, predicted) for s in res["seeds"]}
        content = to_bytes(items)
        res = {**res, "predictions": {"file": sidecar_name(path.name), "sha256": sha256(content), "format": FORMAT,
                                      "rows": ITEMS * len(res["seeds"])}}
    write_result(path, ResultRecord.model_validate(res), content)
    return path


@pytest.fixture
def board_dir(tmp_path):
    write(tmp_path, result("alpha", "t_err", 0.10))
    write(tmp_path, result("beta", "t_err", 0.30))
    write(tmp_path, result("gamma", "t_err", 0.20, training=("FIRST",)))
    write(tmp_path, result("alpha", "t_f1", 0.50, higher=True))
    write(tmp_path, result("beta", "t_f1", 0.90, higher=True))
    write(tmp_path, result("beta", "t_err", 0.01, limit=20))  # smoke run: never on the board
    write(tmp_path, result("beta", "t_err", 0.02, protocol="knn"))  # other protocol
    return tmp_path


def test_ranks_respect_each_tasks_direction(board_dir):
    board = collect(board_dir)
    assert board.ranks == {"alpha": 1.5, "beta": 2.0, "gamma": 2.0}
    assert board.ordered_backbones() == ["alpha", "beta", "gamma"]  # gamma has one task of two: last
    assert board.cells[("beta", "t_err")].mean == 0.30  # not the --limit or knn result
    assert board.skipped_limited == 1
    assert board.cells[("gamma", "t_err")].in_domain and not board.cells[("alpha", "t_err")].in_domain


def test_markdown_has_spread_rank_and_in_domain_mark(board_dir):
    board = collect(board_dir)
    md = render(board, "md")
    assert "| backbone | training data | t_err (error ↓) | t_f1 (accuracy ↑) | mean rank | tasks |" in md
    alpha, gamma = (md.split(f"| {b} |")[1].splitlines()[0] for b in ("alpha", "gamma"))
    low, high = board.cells[("alpha", "t_err")].low, board.cells[("alpha", "t_err")].high
    assert alpha.startswith(f" – | **0.1000 [{low:.3f}, {high:.3f}]** | 0.5000 [") and alpha.endswith("| 1.50 | 2/2 |")
    assert gamma.startswith(" FIRST | 0.2000 [") and gamma.endswith("] † | – | 2.00 | 1/2 |")
    assert "‡: no interval known" in md and "≈: rank 1 without the best mean" in md
    assert "1 `--limit` result(s) left out" in md


def test_csv_and_json_carry_the_same_numbers(board_dir):
    board = collect(board_dir)
    rows = list(csv.DictReader(io.StringIO(render(board, "csv"))))
    assert [r["backbone"] for r in rows] == ["alpha", "beta", "gamma"]
    assert float(rows[1]["t_f1_mean"]) == 0.9 and rows[2]["t_f1_mean"] == ""
    payload = json.loads(render(board, "json"))
    assert payload["rows"][0]["mean_rank"] == 1.5 and payload["tasks"]["t_f1"]["higher_is_better"]


def test_refuses_to_merge_different_task_versions(tmp_path):
    first = write(tmp_path, result("alpha", "t", 0.1, version="1.0"))
    second = write(tmp_path, result("beta", "t", 0.2, version="1.1"))
    with pytest.raises(ResultsError, match=rf"task 't': {first} has version 1.0 .* but {second} has version 1.1"):
        collect(tmp_path)


def test_refuses_to_merge_different_data(tmp_path):
    write(tmp_path, result("alpha", "t", 0.1, sha="a" * 64))
    write(tmp_path, result("beta", "t", 0.2, sha="b" * 64))
    with pytest.raises(ResultsError, match="data sha256 aaaaaaaaaaaa but .* data sha256 bbbbbbbbbbbb"):
        collect(tmp_path)


def test_refuses_to_merge_different_weights_of_one_backbone(tmp_path):
    write(tmp_path, result("alpha", "t1", 0.1, weights="sha256:11"))
    write(tmp_path, result("alpha", "t2", 0.2, weights="sha256:22"))
    with pytest.raises(ResultsError, match="backbone 'alpha'.*used weights sha256:11 but .* used sha256:22"):
        collect(tmp_path)


def test_duplicate_results_are_refused(tmp_path):
    write(tmp_path, result("alpha", "t", 0.1))
    (tmp_path / "copy").mkdir()
    write(tmp_path / "copy", result("alpha", "t", 0.1))
    with pytest.raises(ResultsError, match="two results for alpha on t"):
        collect(tmp_path)


def test_truncated_result_file_is_named(tmp_path):
    path = write(tmp_path, result("alpha", "t", 0.1))
    path.write_text(path.read_text()[:50])
    with pytest.raises(ResultsError, match=rf"{path}: not a readable result file"):
        collect(tmp_path)


def test_a_protocol_without_results_names_the_ones_present_and_the_nearest(board_dir):
    with pytest.raises(ResultsError, match=r"no finished 'linaer' results .* \(Did you mean 'linear'\? results here: knn, linear\)"):
        collect(board_dir, "linaer")


def test_cli_writes_output_atomically_and_errors_cleanly(board_dir, tmp_path, capsys):
    out = tmp_path / "board.md"
    assert main(["leaderboard", "--results-dir", str(board_dir), "--output", str(out)]) == 0
    assert out.read_text().startswith("| backbone |")
    assert main(["leaderboard", "--results-dir", str(tmp_path / "none")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_html_renders_sorts_and_plots_in_headless_chromium(board_dir, tmp_path):
    chromium = chromium_path()
    need(chromium is not None, "headless Chromium not installed (Debian package 'chromium')")
    page = tmp_path / "board.html"
    assert main(["leaderboard", "--results-dir", str(board_dir), "--format", "html", "--output", str(page)]) == 0
    text = page.read_text()
    assert "<script src" not in text and "<link" not in text  # self-contained
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", f"file://{page}#sort=t_f1"],
                         capture_output=True, text=True, timeout=120).stdout
    assert 'data-ready="1"' in dom, dom[:500]  # the script ran without error
    assert 'data-sorted-by="t_f1"' in dom
    body = dom.split("<tbody>")[1]
    # ascending by t_f1: alpha (0.5), beta (0.9), then gamma (no score) last
    assert body.index(">alpha<") < body.index(">beta<") < body.index(">gamma<")
    assert dom.count('<figure class="plot"') == 2  # one chart per task (matplotlib SVG, text kept as text)
    plots = dom.split('<section class="plots" id="plots-linear">')[1]
    assert plots.count(">alpha<") == 4 and plots.count(">gamma<") == 2  # a bar chart and a confusion panel per task
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=900,700", f"file://{page}"],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 5000


@pytest.fixture
def interval_dir(tmp_path):
    """Schema-3 results with sidecars and intervals: alpha best, beta clearly worse, gamma close to alpha, delta
    with an interval but no sidecar (untestable), and epsilon of schema 2 (no interval, no sidecar)."""
    from test_compare import synthetic

    folder = tmp_path / "results"
    synthetic(folder, "alpha", 0.05, seed=1, intervals=True)
    synthetic(folder, "beta", 0.30, seed=2, intervals=True)
    synthetic(folder, "gamma", 0.06, seed=4, intervals=True)
    delta, _ = synthetic(folder, "delta", 0.07, seed=5, intervals=True)
    delta.with_name(delta.name.replace(".json", ".predictions.npz")).unlink()
    write(folder, result("epsilon", "t", 0.2, std=0.0), sidecar=False)
    return folder


def test_intervals_and_ties_show_in_every_format(interval_dir):
    board = collect(interval_dir)
    cells = {b: board.cells[(b, "t")] for b in ("alpha", "beta", "gamma", "delta", "epsilon")}
    assert (cells["alpha"].rank, cells["gamma"].rank, cells["beta"].rank) == (1, 1, 3)
    assert not cells["alpha"].tied and cells["beta"].tied is False and cells["beta"].p_vs_best < 0.01
    assert cells["gamma"].tied and cells["gamma"].p_vs_best >= 0.05
    for untestable in ("delta", "epsilon"):  # no predictions to test: refused by name, never ranked by overlap
        assert cells[untestable].rank is None and cells[untestable].tied is None
        assert "no per-item predictions" in cells[untestable].refused or "is missing" in cells[untestable].refused
    md = render(board, "md")
    low, high = cells["alpha"].low, cells["alpha"].high
    assert f"| alpha | – | **{cells['alpha'].mean:.4f} [{low:.3f}, {high:.3f}]** |" in md
    assert f"| gamma | – | {cells['gamma'].mean:.4f} [{cells['gamma'].low:.3f}, {cells['gamma'].high:.3f}] ≈ |" in md
    assert "] ⊘ |" in md.split("| delta |")[1].splitlines()[0] and "0.2000 ± 0.0000 ‡ ⊘" in md
    assert "⊘ delta on t: not tested" in md and "⊘ epsilon on t: not tested" in md
    beta = md.split("| beta |")[1].splitlines()[0]
    assert "≈" not in beta and "⊘" not in beta
    rows = {r["backbone"]: r for r in csv.DictReader(io.StringIO(render(board, "csv")))}
    assert float(rows["alpha"]["t_ci_low"]) == low and rows["epsilon"]["t_ci_low"] == ""
    assert rows["gamma"]["t_not_worse_than_best"] == "True" and rows["beta"]["t_not_worse_than_best"] == "False"
    payload = json.loads(render(board, "json"))
    alpha = next(r for r in payload["rows"] if r["backbone"] == "alpha")
    assert (alpha["t_ci_low"], alpha["t_ci_high"]) == (low, high) and any("≈" in n for n in payload["notes"])


def test_html_page_shows_intervals_and_charts_in_headless_chromium(interval_dir, tmp_path):
    chromium = chromium_path()
    need(chromium is not None, "headless Chromium not installed (Debian package 'chromium')")
    page = tmp_path / "page" / "board.html"
    assert main(["leaderboard", "--results-dir", str(interval_dir), "--format", "html", "--output", str(page)]) == 0
    assert sorted(p.name for p in page.parent.iterdir()) == ["board-confusion-t.png", "board-confusion-t.svg",
                                                             "board-t.png", "board-t.svg", "board.html"]
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", f"file://{page}"], capture_output=True, text=True,
                         timeout=120).stdout
    assert 'data-ready="1"' in dom
    cell = collect(interval_dir).cells[("alpha", "t")]
    best = dom.split('<td class="score best"')[1].split("</td>")[0]  # the mean in bold, its interval below it
    assert f"<strong>{cell.mean:.4f}</strong>" in best and f'<small class="ci">[{cell.low:.3f}, {cell.high:.3f}]' in best
    chart = dom.split('<figure class="plot" data-task="t">')[1].split("</figure>")[0]
    assert "<svg" in chart and all(f">{b}<" in chart for b in ("alpha", "beta", "gamma", "delta", "epsilon"))
    matrices = dom.split('<figure class="plot confusion" data-task="t">')[1].split("</figure>")[0]
    # a panel per result with per-item predictions: delta lost its sidecar, epsilon never had one
    assert "<svg" in matrices and all(f">{b}<" in matrices for b in ("alpha", "beta", "gamma"))
    assert ">delta<" not in matrices and ">epsilon<" not in matrices
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=900,900", f"file://{page}"],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 5000


def test_simulated_tasks_are_marked_and_left_out_of_mean_ranks(tmp_path):
    for backbone, task, mean in [("a", "t_real", 0.1), ("b", "t_real", 0.2), ("a", "t_sim", 0.9), ("b", "t_sim", 0.1),
                                 ("c", "t_sim", 0.05)]:
        res = result(backbone, task, mean)
        res["task"]["simulated"] = task == "t_sim"
        write(tmp_path, res)
    board = collect(tmp_path)
    assert board.ranks["a"] == 1.0 and board.ranks["b"] == 2.0  # t_sim would have tied them
    assert board.ranks["c"] != board.ranks["c"]  # NaN: only a simulated result
    md = render(board, "md")
    assert "t_sim [SIMULATED] (error ↓)" in md and "left out of mean ranks" in md
    c = md.split("| c |")[1].splitlines()[0]
    assert c.startswith(" – | – | **0.0500 [") and c.endswith("** | – | 1/2 |")
    assert json.loads(render(board, "json"))["rows"][-1]["mean_rank"] is None


def test_results_of_different_protocol_versions_are_not_merged(tmp_path):
    old, new = result("a", "t", 0.1), result("b", "t", 0.2)
    new["protocol"]["version"] = "2"
    write(tmp_path, old)
    write(tmp_path, new)
    with pytest.raises(ResultsError, match=r"used protocol version 3 but .* used 2 \(classification tasks\); .* cannot be merged"):
        collect(tmp_path)


def test_a_protocol_versions_task_kinds_apart_and_runs_record_their_kinds_version(tmp_path):
    """Linear 4 changed logistic fits and regression 4 clipped ridge predictions: ranking results keep version 3
    and share the board with version 4."""
    from radiobench.protocols.linear import Linear

    assert (Linear.version_for("classification"), Linear.version_for("regression"), Linear.version_for("ranking")) == \
        ("4", "4", "3")

    def ranking(backbone, score, version):
        res = result(backbone, "t_rank", score, higher=True, sources=("t_rank",))
        res["task"]["kind"], res["protocol"]["version"] = "ranking", version
        res["metrics"] = {"average_precision": res["metrics"].pop("accuracy")}
        res["main_score"]["name"] = "average_precision"
        return res

    for backbone in ("a", "b"):
        res = result(backbone, "t_cls", 0.1 if backbone == "a" else 0.2, sources=("t_cls",))
        res["task"]["kind"], res["protocol"]["version"] = "classification", "4"
        write(tmp_path, res)
        write(tmp_path, ranking(backbone, 0.5 if backbone == "a" else 0.4, "3"))
    board = collect(tmp_path)
    assert set(board.tasks) == {"t_cls", "t_rank"} and board.ranks["a"] == 1.0
    write(tmp_path, ranking("c", 0.3, "4"))
    with pytest.raises(ResultsError, match=r"used protocol version 3 but .* used 4 \(ranking tasks\)"):
        collect(tmp_path)


@pytest.mark.parametrize("damage, field", [
    (lambda r: r["metrics"]["error"].pop("mean"), "metrics.error.mean"),
    (lambda r: r["metrics"]["error"].update(per_seed=[0.2, 0.2]), "metrics.error.per_seed has 2 values for 5 seeds"),
    (lambda r: r.update(seeds="01234"), "seeds"),
    (lambda r: r["main_score"].update(name="f1"), "main_score 'f1' is not among metrics"),
    (lambda r: r["task"].update(version=None), "task.version"),
])
def test_a_structurally_bad_result_is_named_with_its_field_not_a_traceback(tmp_path, capsys, damage, field):
    write(tmp_path, result("a", "t", 0.1))
    bad = result("b", "t", 0.2)
    damage(bad)
    path = result_path(tmp_path, "b", "t", "linear", None)
    path.write_text(json.dumps(bad))
    assert main(["leaderboard", "--results-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and field in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ["[1, 2]", "{" * 100000, '{"schema_version": 2, "seeds": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_json_that_is_not_a_result_is_one_line(tmp_path, capsys, text):
    (tmp_path / "x__t__linear.json").write_text(text)
    assert main(["leaderboard", "--results-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "x__t__linear.json" in err and "Traceback" not in err


@pytest.mark.slow
def test_committed_results_and_a_schema_1_result_read_and_render_the_committed_pages():
    """Every committed result reads as a record and re-renders the committed page byte for byte; a schema-1
    file (the committed board's mgcls_anomaly results, until they were re-run at schema 3) migrates."""
    from pathlib import Path

    here = Path(__file__).resolve().parent
    root = here.parent / "leaderboard"
    board = collect(root / "results", protocol="linear")
    assert render(board, "md") == (root / "leaderboard.md").read_text()
    record = ResultRecord.read(here / "fixtures" / "schema1__mgcls_anomaly__linear.json")
    assert record.backbone.code is None and record.schema_version == 3  # code identity unknown before schema 2
    assert record.predictions is None and record.intervals is None  # no per-item predictions before schema 3


def test_charts_escape_names_and_do_not_read_dollars_as_mathtext(tmp_path):
    for backbone, task, mean in [("<script>alert(1)</script>|x", "t_err", 0.1), ("$\\frac{1}{0}$ money $", "t_err", 0.2),
                                 ("a&b", "t|a<sk>", 0.3)]:
        write_text_atomic(tmp_path / f"r{mean}.json", json.dumps(result(backbone, task, mean)))
    page = render(collect(tmp_path), "html")
    charts = page.split('<section class="plots" id="plots-linear">')[1]
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;|x" in charts
    assert "$\\frac{1}{0}$ money $" in charts and "a&amp;b" in charts  # shown as typed
    from radiobench.board.plots import file_name, render as chart

    assert file_name("board", "t|a<sk>", "svg") == "board-t_a_sk_.svg"
    assert chart(collect(tmp_path), "t_err", "svg") == chart(collect(tmp_path), "t_err", "svg")  # no date, fixed ids



def described(folder):
    """Results on two registered tasks (mirabest: description and chance declared by the task), a ranking task
    whose records carry ap_chance, a regression task (chance from MSE and R²), and a task nobody registered."""
    mirabest = result("alpha", "mirabest", 0.20, sources=("MiraBest",))
    mirabest["task"]["citation"] = "Porter & Scaife 2023, RASTI 2, 293"
    write(folder, mirabest)
    write(folder, result("beta", "mirabest", 0.30, sources=("MiraBest",)))
    ranking = result("alpha", "t_rank", 0.4, higher=True)
    ranking["metrics"] = {"average_precision": {"mean": 0.4, "std": 0.0, "per_seed": [0.4] * 5},
                          "ap_chance": {"mean": 0.083, "std": 0.0, "per_seed": [0.083] * 5}}
    ranking["main_score"].update(name="average_precision", std=0.0)
    write(folder, ranking)
    counts = result("alpha", "t_counts", 8.0)
    counts["metrics"] = {"mse": {"mean": 8.0, "std": 0.0, "per_seed": [8.0] * 5},
                         "r2": {"mean": 0.5, "std": 0.0, "per_seed": [0.5] * 5}}
    counts["main_score"].update(name="mse", std=0.0)
    write(folder, counts)
    write(folder, result("alpha", "t_plain", 0.1), sidecar=False)
    write(folder, result("beta", "mirabest", 0.25, protocol="knn", sources=("MiraBest",)))
    return folder


def test_html_page_describes_tasks_with_chance_levels_and_lists_backbones_without_results(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "no-weights"))  # no learned weights here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    results = described(tmp_path / "results")
    board = collect(results)
    info = board.info
    assert info["mirabest"]["chance"] == pytest.approx(0.5)  # half of the items in each class: the majority errs on 1/2
    assert info["mirabest"]["chance_source"] == "computed from the test labels"
    assert "always the majority class" in info["mirabest"]["chance_note"]
    assert info["t_rank"]["chance"] == 0.083 and "share of relevant" in info["t_rank"]["chance_note"]
    assert info["t_counts"]["chance"] == pytest.approx(16.0)  # MSE / (1 - R²): the variance of the targets
    assert info["t_plain"]["chance"] is None
    page = tmp_path / "page" / "board.html"
    assert main(["leaderboard", "--results-dir", str(results), "--protocol", "all", "--format", "html",
                 "--output", str(page)]) == 0
    text = page.read_text()
    from radiobench.registry import get_registry

    spec = get_registry().tasks["mirabest"].spec
    assert html_escape(spec.description) in text and "Porter &amp; Scaife 2023, RASTI 2, 293" in text
    assert "Chance level: 0.5 — the best no-skill predictor: always the majority class" in text
    assert "error: lower is better (↓)" in text and "average_precision: higher is better (↑)" in text
    assert "Chance level: 0.083 — a random ranking" in text and "Chance level: 16 — predicting the mean" in text
    assert "Chance level: not known" in text.split('id="task-t_plain"')[1].split("</div>")[0]
    assert 'id="protocol-linear"' in text and 'id="protocol-knn"' in text and text.count('class="board"') == 2
    assert "Click a column header (marked ↕) to sort" in text and text.count('class="sort-icon"') > 6
    missing = text.split('<section id="unevaluated">')[1]
    assert "Registered backbones without results" in missing and "Not yet evaluated" in missing
    assert "<td>dino_mgcls_vits8</td><td>MGCLS</td><td>weights not available here (url: https://zenodo.org" in missing
    assert "<td>random_resnet18</td><td>–</td><td>weights here (or none needed); not run yet</td>" in missing
    assert "<td>alpha</td>" not in missing  # has results
    names = sorted(p.name for p in page.parent.iterdir())
    assert "board-mirabest.svg" in names and "board-knn-mirabest.svg" in names  # linear plain, others by protocol
    assert main(["leaderboard", "--results-dir", str(results), "--protocol", "all"]) == 2  # md takes one protocol


def html_escape(text):
    import html

    return html.escape(text)


def test_chance_line_is_drawn_on_the_chart(tmp_path):
    from radiobench.board.plots import CHANCE, task_figure

    board = collect(described(tmp_path))
    lines = [line for line in task_figure(board, "mirabest").axes[0].get_lines() if line.get_color() == CHANCE]
    assert len(lines) == 1 and lines[0].get_xdata()[0] == pytest.approx(0.5)
    assert not [line for line in task_figure(board, "t_plain").axes[0].get_lines() if line.get_color() == CHANCE]
    assert "chance level 0.5" in render(board, "html")  # the axis label says it in the SVG text


def budgets_and_a_simulated_task(folder):
    """``described`` plus a label budget of 5 on mirabest (a label-efficiency curve: 5 labels, then the whole
    training split of 10) and a simulated task whose name sorts first (the page must still put it last)."""
    described(folder)
    for backbone, mean in (("alpha", 0.30), ("beta", 0.40)):
        budget = result(backbone, "mirabest", mean, protocol="linear-n5", sources=("MiraBest",))
        budget["protocol"]["label_budget"] = {"fraction": None, "count": 5}
        write(folder, budget)
        simulated = result(backbone, "a_sim", mean, sources=("simulated",))
        simulated["task"]["simulated"] = True
        write(folder, simulated)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("width", [800, 1400])
def test_all_protocols_page_in_headless_chromium_sorts_fits_the_window_and_shows_chance_lines(tmp_path, width,
                                                                                               monkeypatch):
    """The page at 800 and 1400 px: scripts run, a column sorts both ways, nothing is wider than the window, the
    headline, the notes, the sort hint, the task cards, the charts, the label-efficiency figure and the "without
    results" section are laid out, the first board's backbone name (and at 1400 px its mean rank) shows without
    scrolling sideways, real tasks come before simulated ones, the notes appear once, and the screenshot shows
    the red chance line. RADIOBENCH_SCREENSHOTS=<folder> keeps the screenshots for a person to look at."""
    import os
    import re
    import shutil

    chromium = chromium_path()
    need(chromium is not None, "headless Chromium not installed (Debian package 'chromium')")
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "no-weights"))
    results = budgets_and_a_simulated_task(tmp_path / "results")
    page = tmp_path / "page" / "board.html"
    assert main(["leaderboard", "--results-dir", str(results), "--protocol", "all", "--format", "html",
                 "--output", str(page)]) == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", f"--window-size={width},1000"]

    def dom(fragment=""):
        return subprocess.run([chromium, *flags, "--dump-dom", f"file://{page}{fragment}"], capture_output=True,
                              text=True, timeout=120).stdout

    def attrs(text, tag):
        import re

        return dict(re.findall(r'([\w-]+)="([^"]*)"', re.search(rf"<{tag}[^>]*>", text).group(0)))

    up, down = dom("#sort=mirabest"), dom("#sort=-mirabest")
    body = attrs(up, "body")
    assert body["data-ready"] == "1", up[:500]
    assert body["data-overflow-x"] == "0", body  # no horizontal scrolling of the page: wide tables scroll inside
    assert width - 20 <= int(body["data-viewport-width"]) <= width
    assert set(body["data-visible"].split()) == {"glance", "reading", "sort-hint", "task-card", "unevaluated", "plot",
                                                 "table", "efficiency"}
    first_row = set(body["data-first-row-visible"].split())
    assert first_row == {"name", "mean-rank"} if width == 1400 else "name" in first_row, body
    columns = body["data-first-table-columns"].split()
    assert columns[:2] == ["backbone", "mean_rank"] and columns[-1] == "tasks", columns
    simulated = [c.endswith(":simulated") for c in columns[2:-1]]
    assert columns[2:-1][-1] == "a_sim:simulated" and simulated == sorted(simulated) and not simulated[0]  # real first
    board = collect(results, specs=None)
    glance = up.split('id="glance"')[1].split("</section>")[0]
    leaders = dict(re.findall(r'class="leader" data-task="([^"]+)" data-best="([^"]+)"', glance))
    real = [t for t, m in board.tasks.items() if not m.get("simulated")]
    assert list(leaders) == real and leaders["mirabest"] == "alpha" and leaders["t_rank"] == "alpha"
    assert "have the best mean" in glance or "The best mean" in glance
    assert "CONTRIBUTING.md" in glance and "no results" in glance  # the registered backbones without results
    for note in ("step-down procedure", "Mean rank: the tested ranks", "in-domain (the backbone", SORT_HINT_START):
        assert up.count(note) == 1, note  # the notes once, not under every board
    assert '<figure class="plot efficiency" data-task="mirabest">' in up
    assert up.count('<div class="task" id="task-mirabest"') == 1  # the whole card once, beside its first chart
    assert up.index('id="task-mirabest"') < up.index('<figure class="plot" data-task="mirabest">')
    linear = up.split('id="board-linear"')[1].split("</tbody>")[0]
    assert linear.index(">alpha<") < linear.index(">beta<")  # error ascending: 0.20, 0.30
    assert attrs(up, 'table class="board" id="board-linear"')["data-sorted-by"] == "mirabest"
    assert ">▲</span>" in linear.split("</thead>")[0]
    linear = down.split('id="board-linear"')[1].split("</tbody>")[0]
    assert linear.index(">beta<") < linear.index(">alpha<") and ">▼</span>" in linear
    shot = tmp_path / f"board-{width}.png"
    subprocess.run([chromium, *flags[:-1], f"--window-size={width},6000", f"--screenshot={shot}", f"file://{page}"],
                   capture_output=True, timeout=120)
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    assert image.size[0] == width
    import numpy as np

    pixels = np.asarray(image).astype(int)

    def near(rgb, tolerance=24):
        return int((np.abs(pixels - np.array(rgb)).max(axis=-1) <= tolerance).sum())

    assert near((0xC0, 0x39, 0x2B)) > 40  # the chance lines (dotted red) on the charts
    assert near((0xEE, 0xF4, 0xFB), 4) > 2000  # the sort hint's box
    if os.environ.get("RADIOBENCH_SCREENSHOTS"):
        keep = Path(os.environ["RADIOBENCH_SCREENSHOTS"])
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, keep / shot.name)


SORT_HINT_START = "Click a column header"


def test_a_declared_chance_needs_its_note():
    from radiobench.specs import TaskSpec

    with pytest.raises(ValueError, match="chance needs a chance_note"):
        TaskSpec(name="t", factory="m:f", version="1", kind="classification", main_score="error",
                 higher_is_better=False, chance={"error": 0.5})


@pytest.mark.parametrize("task", ["mirabest", "rgd"])
def test_declared_chance_levels_are_the_majority_class_scores_on_the_test_labels(shared_data, task):
    """The built-in classification tasks' chance: always the training set's majority class, scored on the test split."""
    import numpy as np
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    from radiobench.registry import get_registry
    from radiobench.run import build_task

    spec = get_registry().tasks[task].spec
    built = build_task(get_registry().tasks[task])
    built.prepare(shared_data)
    train, test = np.asarray(built.load_split("train").labels), np.asarray(built.load_split("test").labels)
    guess = np.full_like(test, np.bincount(train).argmax())
    accuracy = accuracy_score(test, guess)
    measured = {"error": 1 - accuracy, "accuracy": accuracy, "f1_macro": f1_score(test, guess, average="macro"),
                "balanced_accuracy": balanced_accuracy_score(test, guess)}
    assert spec.chance == pytest.approx({m: measured[m] for m in spec.chance}, abs=5e-4)
    assert spec.main_score in spec.chance and spec.chance_note


def test_tasks_that_share_a_survey_are_said_to_be_ranked_as_one_group(board_dir):
    md = render(collect(board_dir), "md")
    assert "t_err and t_f1 share source data (FIRST)" in md and "averages them into one group first" in md


def test_label_efficiency_curves_come_from_the_budgeted_result_files(tmp_path):
    from radiobench.board.efficiency import collect_curves, write_figure

    for budget, mean in [(10, 0.40), (50, 0.30), (None, 0.20)]:
        protocol = "linear" if budget is None else f"linear-n{budget}"
        res = result("alpha", "t", mean, protocol=protocol)
        res["protocol"]["label_budget"] = {"fraction": None, "count": budget}
        res["task"]["train_count"] = 100  # the full budget: every training label
        write(tmp_path, res)
    write(tmp_path, result("alpha", "other_task", 0.9))
    curves = collect_curves(tmp_path, "t")
    assert [(p.labels, p.mean) for p in curves.points["alpha"]] == [(10, 0.40), (50, 0.30), (100, 0.20)]
    assert curves.metric == "error" and not curves.higher_is_better
    written = write_figure(curves, tmp_path)
    assert [p.name for p in written] == ["label-efficiency-t.png", "label-efficiency-t.svg"]
    assert b"alpha" in written[1].read_bytes()
    with pytest.raises(ResultsError, match="no 'linear' results for task 'nothing'"):
        collect_curves(tmp_path, "nothing")


def test_mean_rank_averages_tested_ranks_and_counts_a_shared_survey_once():
    from radiobench.board.collect import Board, Cell, mean_ranks, source_groups

    def cell(rank):
        return Cell(0.5, 0.0, 5, False, Path("r.json"), rank=rank)

    tasks = {"first_a": {"higher_is_better": True, "source_datasets": ["FIRST"]},
             "first_b": {"higher_is_better": False, "source_datasets": ["first", "NVSS"]},
             "meerkat": {"higher_is_better": True, "source_datasets": ["MGCLS"]},
             "sim": {"higher_is_better": True, "source_datasets": [], "simulated": True}}
    cells = {("a", "first_a"): cell(1), ("b", "first_a"): cell(1), ("c", "first_a"): cell(3),
             ("a", "first_b"): cell(1), ("b", "first_b"): cell(3), ("c", "first_b"): cell(2),
             ("a", "meerkat"): cell(2), ("b", "meerkat"): cell(1), ("c", "meerkat"): cell(None),  # refused: no rank
             ("d", "sim"): cell(1)}
    board = Board("linear", tasks, {b: {} for b in "abcd"}, cells)
    assert source_groups(board, ["first_a", "meerkat", "first_b"]) == [["first_a", "first_b"], ["meerkat"]]
    ranks = mean_ranks(board)
    # FIRST group: a (1 + 1) / 2, b (1 + 3) / 2, c (3 + 2) / 2; meerkat: a 2, b 1, c untested; then over groups
    assert (ranks["a"], ranks["b"], ranks["c"]) == (1.5, 1.5, 2.5)
    assert ranks["d"] != ranks["d"]  # only a simulated result: NaN


def test_confusion_matrices_count_each_seeds_test_items_and_normalise_rows(interval_dir):
    from radiobench.board.confusion import confusions
    from radiobench.results import ResultRecord
    from radiobench.results.predictions import read_predictions

    board = collect(interval_dir)
    found = {c.backbone: c for c in confusions(board, "t")}
    assert list(found) == ["alpha", "gamma", "beta"]  # best first; no sidecar, no panel
    path = board.cells[("beta", "t")].path
    items = read_predictions(path, ResultRecord.read(path))
    beta = found["beta"]
    truth = np.concatenate([i.truth for i in items.values()])
    predicted = np.concatenate([i.predicted for i in items.values()])
    assert beta.seeds == 3 and beta.counts.sum() == len(truth)
    assert beta.counts[1, 0] == int(((truth == 1) & (predicted == 0)).sum())
    assert np.allclose(beta.recall.sum(axis=1), 1.0)
    assert beta.recall[0, 0] == pytest.approx(np.mean(predicted[truth == 0] == 0))


def test_limit_only_results_say_so_without_suggesting_the_protocol_typed(tmp_path):
    write(tmp_path, result("alpha", "t_err", 0.1, limit=20))
    with pytest.raises(ResultsError) as info:
        collect(tmp_path)
    message = str(info.value)
    assert "no finished 'linear' results" in message and "(1 --limit runs left out)" in message
    assert "Did you mean" not in message and "results here" not in message

"""The leaderboard page's presentation: degenerate rows, row order, the headline, label-efficiency figures
and the confusion-matrix layout (the statistics themselves are tested in test_leaderboard and test_ranks)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from radiobench.board.collect import Board, Cell, collect, constant, natural_key
from radiobench.board.render import render, to_html_page
from radiobench.results.predictions import ItemPredictions

from test_leaderboard import ITEMS, result, write


def test_constant_predictions_are_marked_degenerate_in_markdown_and_html(tmp_path):
    write(tmp_path, result("alpha", "t", 0.10))
    write(tmp_path, result("stuck", "t", 0.50), predicted=np.ones(ITEMS, dtype=np.int64))  # class 1 for every item
    board = collect(tmp_path)
    stuck, alpha = board.cells[("stuck", "t")], board.cells[("alpha", "t")]
    assert stuck.degenerate == "one predicted class (1) for every test item of every seed"
    assert alpha.degenerate is None
    md = render(board, "md")
    row = md.split("| stuck |")[1].splitlines()[0]
    assert row == " – | 0.5000 [0.500, 0.500] ≡ | 2.00 | 1/1 |"  # at chance, an interval of no width: marked
    assert "- ≡ stuck on t: degenerate, one predicted class (1) for every test item of every seed: a constant guess" \
        in md
    assert "≡" not in md.split("| alpha |")[1].splitlines()[0]
    page = render(board, "html")
    cell = page.split('data-value="stuck"')[1].split("</tr>")[0]
    assert 'class="mark degenerate" title="degenerate: one predicted class (1)' in cell
    assert 'class="board-notes"' in page and "≡ stuck on t: degenerate" in page.split('class="board-notes"')[1]


def record(kind="classification", classes=("FRI", "FRII")):
    return SimpleNamespace(task=SimpleNamespace(kind=kind, classes=list(classes)))


def row(predicted_per_seed, kind="classification", classes=("FRI", "FRII")):
    items = {s: ItemPredictions(np.array([f"i{k}" for k in range(len(p))]), np.zeros(len(p)), np.asarray(p))
             for s, p in enumerate(predicted_per_seed)}
    return SimpleNamespace(items=items, record=record(kind, classes))


def test_constant_names_the_class_or_value_and_needs_every_seed_constant():
    assert constant(row([[1, 1, 1], [1, 1, 1]])) == "one predicted class (FRII) for every test item of every seed"
    assert constant(row([[0, 0, 0]])) == "one predicted class (FRI) for every test item"
    assert constant(row([[1, 1, 1], [0, 0, 0]])) is None  # constant within a seed, not across them
    assert constant(row([[0, 1, 1]])) is None
    assert constant(row([[2.5, 2.5]], kind="regression")) == "one predicted value (2.5) for every test item"
    assert constant(row([[1.0, 1.0]], kind="ranking")).startswith("one score (1) for every test item")
    assert constant(row([[1.0]], kind="regression")) is None  # one item is not a pattern


def board_of(tasks, cells, ranks):
    backbones = {b: {"family": "f", "training_data": []} for b, _ in cells}
    return Board("linear", tasks, backbones, {k: Cell(v, 0.0, 5, False, Path("r.json")) for k, v in cells.items()},
                 ranks)


def test_rows_sort_by_coverage_mean_rank_then_the_first_tasks_score_not_by_name():
    tasks = {"first": {"higher_is_better": True}, "second": {"higher_is_better": False}}
    cells = {("a", "first"): 0.5, ("a", "second"): 0.2, ("b", "first"): 0.9, ("b", "second"): 0.1,
             ("c", "first"): 0.7, ("c", "second"): 0.3, ("d", "first"): 0.99}
    board = board_of(tasks, cells, {"a": 1.0, "b": 1.5, "c": 1.0, "d": 1.0})
    # d covers one task of two: last; a and c share mean rank 1.00: the first task's score (higher first) decides
    assert board.ordered_backbones() == ["c", "a", "b", "d"]


@pytest.mark.parametrize("higher, expected", [(True, ["z", "x", "y"]), (False, ["y", "x", "z"])])
def test_a_board_without_mean_ranks_sorts_by_its_score_in_its_direction(higher, expected):
    tasks = {"sim_detect": {"higher_is_better": higher, "simulated": True}}
    nan = float("nan")
    board = board_of(tasks, {("x", "sim_detect"): 0.5, ("y", "sim_detect"): 0.1, ("z", "sim_detect"): 0.9},
                     {"x": nan, "y": nan, "z": nan})
    assert board.ordered_backbones() == expected


def test_markdown_rows_follow_the_score_when_the_mean_rank_ties(tmp_path):
    for backbone, mean in (("a_first_by_name", 0.12), ("b_best", 0.10), ("c_middle", 0.11)):  # too close to separate
        write(tmp_path, result(backbone, "t", mean))
    md = render(collect(tmp_path), "md")
    names = [line.split("|")[1].strip() for line in md.splitlines()[2:5]]
    assert names == ["b_best", "c_middle", "a_first_by_name"]


def test_label_budget_protocols_sort_by_their_number():
    assert sorted(["linear-n10", "linear-n100", "linear-n145", "linear-n25", "linear-n50"], key=natural_key) == \
        ["linear-n10", "linear-n25", "linear-n50", "linear-n100", "linear-n145"]


def test_label_efficiency_colours_a_family_alike_and_tells_its_members_apart():
    from radiobench.board.efficiency import Curves, Point, styles

    names = {"img_a": "imagenet", "img_b": "imagenet", "rand_a": "random-init", "rand_b": "random-init",
             "rand_c": "random-init", "pixels": "baseline"}
    curves = Curves("t", "error", False, {b: [Point(10, 0.3, 0.2, 0.4, True)] for b in names}, names)
    look = styles(curves)
    assert look["img_a"]["color"] == look["img_b"]["color"]
    assert len({look[b]["color"] for b in ("img_a", "rand_a", "pixels")}) == 3
    members = {(look[b]["marker"], look[b]["linestyle"]) for b in ("rand_a", "rand_b", "rand_c")}
    assert len(members) == 3


def test_label_efficiency_curves_come_from_the_boards_on_the_page(tmp_path):
    from radiobench.board.efficiency import curves_from_boards

    for backbone, full, few in (("alpha", 0.2, 0.3), ("beta", 0.3, 0.5)):
        write(tmp_path, result(backbone, "t", full))
        budget = result(backbone, "t", few, protocol="linear-n5")
        budget["protocol"]["label_budget"] = {"fraction": None, "count": 5}
        write(tmp_path, budget)
    boards = {p: collect(tmp_path, protocol=p) for p in ("linear", "linear-n5")}
    curves = curves_from_boards(boards, "t")
    assert [(p.labels, p.mean) for p in curves.points["alpha"]] == [(5, 0.3), (10, 0.2)]  # 10: the whole split
    low, high = boards["linear"].cells[("alpha", "t")].low, boards["linear"].cells[("alpha", "t")].high
    assert (curves.points["alpha"][1].low, curves.points["alpha"][1].high) == (low, high)  # the board's interval
    assert curves.families == {"alpha": "test", "beta": "test"} and curves.chance == pytest.approx(0.5)
    assert curves_from_boards({"linear": boards["linear"]}, "t") is None  # one budget: no curve
    page = to_html_page(boards, {}, {})
    assert page.count('<figure class="plot efficiency" data-task="t">') == 1
    assert page.index('id="efficiency"') < page.index('id="protocol-linear-n5"')  # before the budget boards


def test_headline_names_the_best_per_real_task_and_what_the_board_cannot_say(tmp_path):
    write(tmp_path, result("imagenet_net", "t_real", 0.10, training=("ImageNet-1k",)))
    write(tmp_path, result("random_net", "t_real", 0.40))
    write(tmp_path, result("radio_small", "t_real", 0.35, training=("FIRST",)))
    sim = result("random_net", "t_sim", 0.05, sources=("simulated",))
    sim["task"]["simulated"] = True
    write(tmp_path, sim)
    board = collect(tmp_path)
    missing = {"radio_big": "weights not available here (url: https://example.org/w.pth)",
               "web_net": "weights not available here (hf_hub: x)"}
    page = to_html_page({"linear": board}, missing, {"radio_big": "FIRST, NVSS", "web_net": "LAION-2B"})
    glance = page.split('id="glance"')[1].split("</section>")[0]
    assert 'data-task="t_real" data-best="imagenet_net"' in glance and 'data-task="t_sim"' not in glance
    assert "Backbones pretrained on ImageNet-1k (family test) have the best mean on every real-data task" in glance
    assert "radio_small (pretrained on FIRST) has mean rank" in glance
    assert "radio_big (FIRST, NVSS)" in glance and "cannot say whether their radio pretraining beats the leaders" \
        in glance
    assert "2 registered backbones have no results, all for one reason: weights not available here" in glance
    assert "<b>LAION-2B</b>: web_net" in glance and "CONTRIBUTING.md" in glance
    one = to_html_page({"linear": board})  # a one-board page knows nothing of the registry: it says so
    assert "not known (this page was rendered without the registry" in one


def test_confusion_matrices_are_laid_out_legibly():
    from radiobench.board.confusion import LABEL_SIZE, VALUE_SIZE, layout

    assert layout(14, 2)[:2] == (6, 3) and layout(14, 4)[:2] == (4, 4) and layout(7, 6)[:2] == (3, 3)
    assert layout(1, 4)[:2] == (1, 1)
    assert LABEL_SIZE >= 9 and VALUE_SIZE >= 9  # the former 7 pt printed at about 5 px on the page

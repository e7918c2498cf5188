"""leaderboard/run.py picks what can run here: offline weights in, download-only weights out with the reason."""

import importlib.util

import pytest

from conftest import ROOT
from radiobench.registry import get_registry


def test_only_backbones_with_weights_at_hand_are_run(monkeypatch, tmp_path):
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "none"))
    spec = importlib.util.spec_from_file_location("leaderboard_run", ROOT / "leaderboard" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ok, missing = module.available_backbones(get_registry())
    assert {"pixels", "random_resnet18", "imagenet_efficientnet_lite0"} <= set(ok)
    assert "dino_mgcls_vits8" in missing and "not found and offline mode is on" in missing["dino_mgcls_vits8"]
    assert not set(ok) & set(missing)


@pytest.mark.parametrize("protocol, page", [("linear", "leaderboard.md"), ("knn", "leaderboard-knn.md"),
                                            ("knn-distance", "leaderboard-knn-distance.md"),
                                            ("detect", "leaderboard-detect.md")])
def test_committed_pages_are_rendered_from_the_committed_results(protocol, page):
    from radiobench.leaderboard import collect
    from radiobench.render import render

    board = collect(ROOT / "leaderboard" / "results", protocol=protocol)
    assert render(board, "md") == (ROOT / "leaderboard" / page).read_text()
    # every learned probe over 5 seeds; the source finder has nothing random to reseed and runs once
    assert all(cell.n_seeds == (1 if backbone == "pybdsf" else 5) for (backbone, _), cell in board.cells.items())

"""Results say which commit made them and whether the code had uncommitted edits."""

import os
import subprocess
from pathlib import Path

from radiobench.results.provenance import git_state


def test_rendered_pages_and_results_do_not_make_a_checkout_dirty_but_code_edits_do(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    files = ["radiobench/runner.py", "leaderboard/run.py", "leaderboard/leaderboard.md", "leaderboard/leaderboard.html",
             "leaderboard/results/a__b__linear.json"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("0\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    package = tmp_path / "radiobench"
    assert git_state(package)["git_dirty"] is False and len(git_state(package)["git_commit"]) == 40
    for name in files[2:]:  # what `leaderboard/run.py` writes: a later run in this checkout is still clean
        (tmp_path / name).write_text("1\n")
    assert git_state(package)["git_dirty"] is False
    for name in files[:2]:
        (tmp_path / name).write_text("1\n")
        assert git_state(package)["git_dirty"] is True, name
        git("checkout", "--", name)


def test_outside_a_checkout_the_commit_is_unknown(tmp_path):
    assert git_state(tmp_path) == {"git_commit": None, "git_dirty": None}


def test_environment_records_blas_threads_and_the_code_path(monkeypatch):
    import torch

    from radiobench.results.provenance import CODE_PATH, environment

    for var in [v for v in os.environ if v.endswith("_NUM_THREADS")]:  # pytest-xdist workers set their share
        monkeypatch.delenv(var)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    env = environment(torch.device("cpu"))
    assert set(CODE_PATH) <= set(env["packages"]) and env["packages"]["scikit-learn"]
    assert env["thread_settings"] == {"OMP_NUM_THREADS": "3"}
    assert any(lib["user_api"] == "blas" and lib["num_threads"] >= 1 for lib in env["blas"])


def test_recorded_paths_name_their_root_not_a_home_folder(tmp_path, monkeypatch):
    import sysconfig

    from radiobench.results.provenance import portable_path

    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("RADIOBENCH_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert portable_path(tmp_path / "cache" / "features" / "t" / "a.npz") == "$RADIOBENCH_CACHE/features/t/a.npz"
    assert portable_path(tmp_path / "weights" / "net" / "w.pth") == "$RADIOBENCH_WEIGHTS/net/w.pth"
    wheel = Path(sysconfig.get_paths()["purelib"]) / "some_model" / "w.pth"
    assert portable_path(wheel) == "<site-packages>/some_model/w.pth"
    assert portable_path(tmp_path / "home" / "Downloads" / "w.pth") == "~/Downloads/w.pth"
    assert portable_path(None) is None

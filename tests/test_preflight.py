"""The run's pre-flight: one table before any work, each missing weights file or data set named once with its fix."""

from __future__ import annotations

import re

import pytest

from conftest import radiobench_cli
from radiobench.registry import get_registry
from radiobench.run.options import RunOptions
from radiobench.run.preflight import preflight

# requests honours the proxy variables: every download fails at once, as on a machine without a network
NO_NETWORK = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def problem_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if re.match(r"\[\d+\] ", line)]


def test_every_task_with_missing_weights_prints_one_table_and_one_line_per_missing_thing(shared_data, tmp_path):
    done = radiobench_cli("run", "--backbone", "dino_mgcls", "--task", "all", "--data-root", str(shared_data),
                          "--results-dir", str(tmp_path / "res"), env=NO_NETWORK)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert out.count("Pre-flight") == 1 and "Summary" not in out and "Traceback" not in out + done.stderr
    lines = problem_lines(out)
    assert len(lines) == 3, out
    counts, rgn, weights = lines  # the table's problems, then the download that failed after it
    assert counts == (f"[1] data mgcls_counts: not in {shared_data / 'mgcls'}; run `radiobench data download mgcls_counts "
                      f"--data-root {shared_data}` (or add --download to this run)")
    assert rgn.startswith("[2] data radiogalaxynet: not in ") and "has no automatic download" in rgn
    assert weights.startswith("[3] weights dino_mgcls_vits8: could not download https://zenodo.org/")
    assert "--weights PATH" in weights and "`radiobench weights download dino_mgcls_vits8`" in weights
    assert out.count("could not download") == 1  # once, not once per task
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.startswith("│ dino_mgcls_vits8")}
    assert len(rows) == 7 and "generated on first run" in rows["sim_detect"] and "present" in rows["mirabest"]
    assert "to download" in rows["mirabest"] and "missing [1]" in rows["mgcls_counts"]
    assert "nothing until its data are here" in rows["mgcls_counts"]
    # in the order it happens: the pre-flight table, then the download it calls for, then how that went
    download = out.index("downloading weights for dino_mgcls_vits8 from https://zenodo.org/")
    assert out.index("Pre-flight") < out.index("│ dino_mgcls_vits8") < out.index(rgn) < download < out.index(weights)
    assert "nothing ran: fix the 3 missing items above" in out
    assert not (tmp_path / "res").exists()


@pytest.mark.slow
def test_pairs_that_can_run_do_and_the_summary_keeps_whole_paths(shared_data, tmp_path):
    results = tmp_path / ("deep_results_folder_" * 5)
    done = radiobench_cli("run", "--backbone", "pixels", "--task", "mirabest,radiogalaxynet", "--limit", "20",
                          "--seeds", "2", "--data-root", str(shared_data), "--results-dir", str(results))
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert problem_lines(out) == [line for line in problem_lines(out) if "radiogalaxynet" in line] and len(problem_lines(out)) == 1
    assert "pair 1 of 1" in out and "…" not in out
    summary = out[out.index("Summary"):]
    last_cells = [line.split("│")[-2].strip() for line in summary.splitlines() if line.startswith("│")]
    assert str(results / "pixels__mirabest__linear.limit20.json") in "".join(last_cells)
    assert "not run: data missing (see the pre-flight above)" in " ".join(last_cells)
    assert "1 of 2 failed" in out


def test_data_a_task_cannot_look_for_is_checked_when_it_runs(tmp_path):
    """A task without data_present (a third-party one) is not blocked: prepare() will say."""
    reg = get_registry()
    opts = RunOptions(data_root=tmp_path, results_dir=tmp_path / "r", seeds=1)
    checked = preflight(reg, ["pixels"], ["mirabest", "sim_counts"], opts)
    assert checked.data["mirabest"].status == "missing" and not checked.data["mirabest"].ok
    assert checked.data["sim_counts"].ok and checked.weights["pixels"].status == "none needed"
    assert [p.task for p in checked.runnable] == ["sim_counts"]

    from radiobench.tasks.base import Task

    assert Task.data_present(object(), tmp_path) is None  # the default: cannot tell without preparing

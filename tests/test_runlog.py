"""An unexpected error is one line that points to the run's log (full traceback); --verbose prints it too."""

from __future__ import annotations

import pytest

from radiobench.cli import main
from radiobench.run import session


def explode(*args, **kwargs):
    raise ValueError("a bug deep in a plugin")


@pytest.fixture
def buggy_pairs(monkeypatch):
    monkeypatch.setattr(session, "run_pair", explode)


def run(shared_data, results, *extra):
    return main(["run", "--backbone", "pixels", "--task", "mirabest", "--data-root", str(shared_data),
                 "--results-dir", str(results), "--limit", "10", *extra])


def test_unexpected_error_is_one_line_pointing_to_the_log_with_the_traceback(buggy_pairs, shared_data, tmp_path, capsys):
    assert run(shared_data, tmp_path / "res") == 1
    out, err = capsys.readouterr()
    [log] = (tmp_path / "res").glob("radiobench-run-*.log")
    line = next(line for line in out.splitlines() if "failed with an unexpected" in line)
    assert line.strip() == f"failed with an unexpected ValueError: a bug deep in a plugin (traceback in {log})"
    assert "Traceback" not in out + err
    text = log.read_text()
    assert "== " in text and "pixels on mirabest" in text and "Traceback (most recent call last)" in text
    assert 'raise ValueError("a bug deep in a plugin")' in text and text.startswith("radiobench ")


def test_verbose_prints_the_traceback_too(buggy_pairs, shared_data, tmp_path, capsys):
    assert run(shared_data, tmp_path / "res", "--verbose") == 1
    out, err = capsys.readouterr()
    assert "Traceback (most recent call last)" in err and "ValueError: a bug deep in a plugin" in err
    assert "(traceback above)" in out and len(list((tmp_path / "res").glob("radiobench-run-*.log"))) == 1


def test_a_clean_run_leaves_no_log(shared_data, tmp_path, capsys):
    assert run(shared_data, tmp_path / "res", "--seeds", "2", "--protocol", "knn") == 0
    assert (tmp_path / "res" / "pixels__mirabest__knn.limit10.json").is_file()
    assert not list((tmp_path / "res").glob("radiobench-run-*"))

"""Bad input gives one clear line naming the value or file and what to do, before any expensive work.

Covers the simulate options, ``run --beam``, named pipes and folders where data files go, a
task without a download URL, and names in result files that would break a Markdown page or
run as a spreadsheet formula. (FITS headers: test_fitsimage.py; plugins calling sys.exit:
test_plugins.py; pool workers outliving a killed run: test_worker_cleanup.py.)
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from radiobench.io import datafiles
from radiobench.cli import main
from radiobench.io.download import sha256_file
from radiobench.io.reader import NotRegularFileError
from radiobench.errors import DatasetNotFoundError
from radiobench.board.collect import collect
from radiobench.board.render import csv_cell, md_text, render

from conftest import ROOT, radiobench_cli
from test_leaderboard import result


def one_error_line(capsys) -> str:
    """The CLI's error line: exactly one, and the last thing on stderr (a plugin warning may come before it)."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


@pytest.mark.parametrize("option, value, message", [
    ("--beam-arcsec", "nan", "--beam-arcsec is nan; give a finite number"),
    ("--beam-arcsec", "-2", "--beam-arcsec is -2.0; it must be positive"),
    ("--pixel-arcsec", "inf", "--pixel-arcsec is inf; give a finite number"),
    ("--pixel-arcsec", "0", "--pixel-arcsec is 0.0; it must be positive"),
    ("--rms", "nan", "--rms is nan; give a finite number"),
    ("--rms", "-1e-6", "--rms is -1e-06; it must be positive"),
    ("--n-sources", "-5", "--n-sources is -5; it must be 0 or more"),
    ("--size", "200000", "--size 200000 would be a 149.0 GiB float32 image"),
    ("--size", "16", "--size is 16; it must be at least 32 pixels per side"),
])
def test_simulate_refuses_bad_values_and_writes_nothing(tmp_path, capsys, option, value, message):
    out = tmp_path / "field.fits"
    assert main(["simulate", "field", "--output", str(out), f"{option}={value}"]) == 2  # a bad value is a usage error
    assert one_error_line(capsys).startswith(f"error: simulate field: {message}")
    assert list(tmp_path.iterdir()) == []


def test_simulate_size_limit_is_stated(tmp_path, capsys):
    assert main(["simulate", "field", "--output", str(tmp_path / "f.fits"), "--size", "200000"]) == 2
    assert "the limit is 16384 pixels per side (a 1 GiB image)" in one_error_line(capsys)


def test_simulate_refuses_a_folder_as_output_before_simulating(tmp_path, capsys):
    assert main(["simulate", "field", "--output", str(tmp_path), "--size", "64"]) == 2  # another path: a usage error
    assert one_error_line(capsys) == (f"error: simulate field: --output {tmp_path} is a folder; give a file path such as "
                                      f"{tmp_path / 'field.fits'}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("beam", ["inf,0.001,0", "0.002,nan,0", "0.002,0.001,nan", "0.002,0.001,inf", "nan,nan,0"])
def test_run_refuses_a_non_finite_beam_before_running(tmp_path, capsys, beam):
    results = tmp_path / "results"
    args = ["run", "--backbone", "pixels", "--task", "mgcls_counts", "--beam", beam, "--results-dir", str(results),
            "--data-root", str(tmp_path / "data")]
    assert main(args) == 2
    assert one_error_line(capsys) == (f"error: --beam {beam!r}: expected BMAJ,BMIN,BPA in degrees, finite, with "
                                      "BMAJ >= BMIN > 0, e.g. 0.0015,0.0015,0")
    assert list(tmp_path.iterdir()) == []


# --- named pipes and folders where a data file goes: refused at once, never read (which blocks forever)

def test_data_verify_refuses_a_named_pipe_instead_of_hanging(tmp_path):
    folder = tmp_path / "mirabest"
    folder.mkdir()
    fifo = folder / "MiraBest_F_batches.tar.gz"
    os.mkfifo(fifo)
    done = radiobench_cli("data", "verify", "mirabest", "--data-root", str(tmp_path), timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (  # the last line: a plugin warning may come before it
        f"error: mirabest: {fifo} is not a regular file (a named pipe); delete it and run `radiobench data download "
        f"mirabest --data-root {tmp_path}` or place the file from "
        "http://www.jb.man.ac.uk/research/MiraBest/MiraBest_F/MiraBest_F_batches.tar.gz there")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["MiraBest_F_batches.tar.gz", "mirabest"]


CHECK_IN_SUBPROCESS = """
import sys
from pathlib import Path
from radiobench.io import datafiles
from radiobench.io.download import sha256_file
from radiobench.errors import RadiobenchError
path = Path(sys.argv[1])
for check in (lambda: sha256_file(path), lambda: datafiles.require_file(path, "0" * 64, "t", "https://x/f.bin")):
    try:
        check()
        print("read it")
    except RadiobenchError as exc:
        print(exc)
"""


def test_hashing_a_named_pipe_fails_at_once(tmp_path):
    """In a subprocess with a timeout: a regression blocks on the pipe, and must fail, not hang the suite."""
    fifo = tmp_path / "t" / "f.bin"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-c", CHECK_IN_SUBPROCESS, str(fifo)], capture_output=True, text=True,
                          timeout=30, cwd=ROOT)
    assert done.stdout.splitlines() == [
        f"{fifo} is not a regular file (a named pipe); delete it and put the real file there",
        f"t: {fifo} is not a regular file (a named pipe); delete it and run `radiobench data download t --data-root "
        f"{tmp_path}` or place the file from https://x/f.bin there",
    ], done.stderr


def test_a_folder_where_a_data_file_goes_is_named(tmp_path):
    folder = tmp_path / "t" / "f.bin"
    folder.mkdir(parents=True)
    with pytest.raises(NotRegularFileError, match=r"f.bin is not a regular file \(a folder\); delete it"):
        sha256_file(folder)
    with pytest.raises(DatasetNotFoundError, match=r"^t: .*f.bin is not a regular file \(a folder\); delete it and run"):
        datafiles.require_file(folder, "0" * 64, "t", "https://x/f.bin")


# --- data with no download URL: say where to get it by hand

def _spec(task):
    """The registered spec, as a plugin passes ``self.spec``: io sits below the registry and never looks a task up."""
    from radiobench.registry import get_registry

    return get_registry().tasks[task].spec


def test_missing_file_without_url_points_to_the_tasks_download_hint(tmp_path):
    path = tmp_path / "mgcls" / "field.fits"
    with pytest.raises(DatasetNotFoundError) as info:
        datafiles.require_file(path, "0" * 64, _spec("mgcls_counts"), "")
    assert str(info.value) == (f"mgcls_counts: field.fits not found in {path.parent}; get it by hand "
                               f"(https://doi.org/10.48479/7epd-w356) and place it in {path.parent}; it has no automatic "
                               "download")


def test_missing_file_without_url_or_hint_says_so(tmp_path):
    path = tmp_path / "mine" / "f.bin"
    with pytest.raises(DatasetNotFoundError) as info:
        datafiles.require_file(path, "0" * 64, "my_task", "", hint="from the lab's NAS, folder /surveys/x")
    assert str(info.value) == (f"my_task: f.bin not found in {path.parent}; get it by hand (from the lab's NAS, folder "
                               f"/surveys/x) and place it in {path.parent}; it has no automatic download")
    with pytest.raises(DatasetNotFoundError) as info:
        datafiles.require_file(path, "0" * 64, "my_task", "")
    assert str(info.value).endswith("it has no automatic download and the task names no source, so ask the authors of "
                                    "the plugin that provides 'my_task'")
    assert "place the file from  there" not in str(info.value)


def test_missing_file_in_a_subfolder_names_the_data_root(tmp_path):
    """The catalogue sits in <root>/mgcls_protege/catalogue/: --data-root is <root>, not the task folder."""
    path = tmp_path / "mgcls_protege" / "catalogue" / "protege_catalogue.csv"
    with pytest.raises(DatasetNotFoundError, match=rf"data download mgcls_anomaly --data-root {tmp_path}` or place"):
        datafiles.require_file(path, "0" * 64, _spec("mgcls_anomaly"), "https://zenodo.org/records/14440674")


# --- names from result files in Markdown and CSV

EVIL = {
    "backbone": "<script>alert(1)</script>|x",
    "task": "t|ask",
    "formula": "=HYPERLINK(\"http://evil\",\"click\")",
}


@pytest.fixture
def evil_board(tmp_path):
    for backbone, task, mean in [(EVIL["backbone"], "t_err", 0.1), ("+cmd|' /C calc'!A0", "t_err", 0.2),
                                 (EVIL["formula"], "t_err", 0.3), ("@SUM(1+1)", EVIL["task"], 0.4),
                                 ("-foo", EVIL["task"], -0.5), ("plain_net", "t_err", 0.25)]:
        # under a plain file name (these names cannot all be file names); the JSON carries them as they are
        (tmp_path / f"result_{len(list(tmp_path.iterdir()))}.json").write_text(json.dumps(result(backbone, task, mean)))
    return collect(tmp_path)


def test_markdown_escapes_names_that_would_break_the_table_or_inject_html(evil_board):
    md = render(evil_board, "md")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len({line.count("|") for line in table}) == 1  # no name adds a column (the separator line included)
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;&#124;x" in md
    assert "t&#124;ask (error ↓)" in table[0]
    assert "| plain_net | – |" in md  # ordinary names unchanged


def test_csv_neutralises_formula_cells_and_keeps_numbers(evil_board):
    text = render(evil_board, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    names = [r[0] for r in body]
    assert "'=HYPERLINK(\"http://evil\",\"click\")" in names and "'+cmd|' /C calc'!A0" in names
    assert "'@SUM(1+1)" in names and "'-foo" in names and "plain_net" in names
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell and not _number(cell))
    assert "t|ask_mean" in header  # quoted by the csv module, not broken
    foo = body[names.index("'-foo")]
    assert float(foo[header.index("t|ask_mean")]) == -0.5  # a negative score stays a number


def _number(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("name", ["imagenet_efficientnet_lite0", "random_vits8", "ImageNet-1k", "net.v2", "a-b_c"])
def test_ordinary_names_are_left_exactly_as_they_are(name):
    assert md_text(name) == name and csv_cell(name) == name


@pytest.mark.slow
def test_committed_leaderboard_page_renders_identically():
    """The linear page in leaderboard/ is rendered from leaderboard/results: escaping must not change a byte."""
    page = ROOT / "leaderboard" / "leaderboard.md"
    assert render(collect(ROOT / "leaderboard" / "results", protocol="linear"), "md") == page.read_text()

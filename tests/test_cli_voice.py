"""How the command speaks (issue 34): exit 2 for what must change on the command line, 1 for what failed while
running, one ``error:`` line echoing the value given; lines in the order things happen; no unmeasured time in --help."""

from __future__ import annotations

import argparse
import re

import pytest

from radiobench.cli import build_parser, main
from radiobench.errors import RadiobenchError

pytestmark = pytest.mark.timeout(300)


def one_error_line(capsys) -> str:
    """The one ``error:`` line, last on standard error (a plugin's warning may come before it)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


RUN = ["run", "--backbone", "pixels", "--task", "mirabest"]


@pytest.mark.parametrize("args, said", [
    (RUN + ["--seeds", "0"], "error: --seeds must be between 1 and 100, got 0"),
    (RUN + ["--batch-size", "-3"], "error: --batch-size must be at least 1, got -3"),
    (RUN + ["--train-labels", "1"], "error: --train-labels must be at least 2, got 1"),
    (RUN + ["--train-fraction", "1.5"], "error: --train-fraction must be in (0, 1], got 1.5"),
    (RUN + ["--device", "tpu"], "error: --device 'tpu' is not a device"),
    (RUN + ["--protocol", " , "], "error: --protocol ' , ' names nothing"),
    (RUN + ["--beam", "1,2"], "error: --beam '1,2': expected BMAJ,BMIN,BPA"),
    (RUN + ["--beam", "0.002,0.001,0"], "error: --beam '0.002,0.001,0' applies to tasks that read FITS fields"),
    (RUN + ["--mem", "16G"], "error: --mem 16G needs --executor slurm (or local)"),
    (RUN + ["--executor", "local", "--mem", "16X"], "error: --mem '16X': expected a size"),
    (["run", "--backbone", "pixels,dino_mgcls", "--task", "mirabest", "--weights", "w.pth"],
     "error: --weights 'w.pth': a bare PATH needs exactly one --backbone (got 2)"),
    (["run", "--backbone", "dino_mgcls", "--task", "mirabest", "--weights", "dino_mgcls=no/such.pth"],
     "error: --weights for 'dino_mgcls': no/such.pth is not a file"),
    (["compare", "alpha", "beta", "--resamples", "50"], "error: --resamples 50: use at least 100"),
    (["compare", "alpha", "beta"], "error: give --task to find 'alpha'"),
    (["compare", "no/such.json", "other.json"], "error: result file no/such.json does not exist"),
    (["leaderboard", "--protocol", "all", "--format", "csv"], "error: --protocol all makes one HTML page with every "
                                                                "protocol's board: with --format csv"),
    (["simulate", "field", "--output", "f.fits", "--size", "16"], "error: simulate field: --size is 16"),
])
def test_bad_values_exit_2_with_one_line_echoing_the_value(args, said, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert one_error_line(capsys).startswith(said)
    assert list(tmp_path.iterdir()) == []  # refused before any work


def test_paths_that_cannot_serve_their_option_exit_2(capsys, tmp_path):
    (tmp_path / "plain").write_text("x")
    assert main(RUN + ["--results-dir", str(tmp_path / "plain" / "r")]) == 2
    assert one_error_line(capsys) == (f"error: --results-dir {tmp_path / 'plain' / 'r'}: {tmp_path / 'plain'} is a "
                                      "file, not a folder; pick another --results-dir")
    assert main(["leaderboard", "--output", str(tmp_path)]) == 2
    assert one_error_line(capsys).startswith(f"error: --output {tmp_path} is a folder")
    assert main(["sweep", "status", str(tmp_path)]) == 2
    assert one_error_line(capsys).startswith(f"error: {tmp_path} holds no sweep record")


def test_argparse_refusals_exit_2_naming_the_value(capsys):
    with pytest.raises(SystemExit) as stop:
        main(RUN + ["--seeds", "many"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "radiobench run: error: argument --seeds: invalid int value: 'many'"


def test_runtime_failures_exit_1(capsys, tmp_path):
    assert main(["leaderboard", "--results-dir", str(tmp_path / "none")]) == 1
    assert one_error_line(capsys).startswith(f"error: results folder {tmp_path / 'none'} does not exist")
    assert main(["compare", "alpha", "beta", "--task", "mirabest", "--results-dir", str(tmp_path)]) == 1
    assert one_error_line(capsys).startswith(f"error: no main-protocol result of alpha on mirabest in {tmp_path}")
    assert main(["data", "verify", "mirabest", "--data-root", str(tmp_path)]) == 1
    assert one_error_line(capsys).startswith("error: mirabest:")


def test_every_usage_error_prints_lower_case_error(capsys):
    assert main(["run", "--backbone", "pixles", "--task", "mirabest"]) == 2
    assert one_error_line(capsys).startswith("error: Unknown backbone 'pixles'.")


def test_the_download_line_comes_after_the_preflight_table(capsys, tmp_path, monkeypatch):
    """Pre-flight heading and table, then the weights download they call for, then how it went."""
    fetched = []

    def unreachable(spec):
        fetched.append(spec.name)
        raise RadiobenchError(f"could not download {spec.weights.download_source} (test: no network)")

    monkeypatch.setattr("radiobench.models.weights.fetch", unreachable)
    monkeypatch.delenv("RADIOBENCH_WEIGHTS", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    code = main(["run", "--backbone", "dino_mgcls", "--task", "sim_counts", "--results-dir", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 1 and fetched == ["dino_mgcls_vits8"], out
    heading, row = out.index("Pre-flight"), out.index("│ dino_mgcls_vits8 │ sim_counts │ to download")
    download = out.index("downloading weights for dino_mgcls_vits8 from https://zenodo.org/")
    problem = out.index("[1] weights dino_mgcls_vits8: could not download https://zenodo.org/")
    assert heading < row < download < problem < out.index("nothing ran: fix the 1 missing item above")
    assert out.count("downloading weights") == 1


def test_preflight_leaves_downloads_for_later_and_the_pairs_follow_them(tmp_path, monkeypatch):
    from radiobench.registry import get_registry
    from radiobench.run.options import RunOptions
    from radiobench.run.preflight import download_weights, preflight
    from radiobench.run.progress import Progress

    monkeypatch.delenv("RADIOBENCH_WEIGHTS", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("radiobench.models.weights.fetch", lambda spec: None)
    reg = get_registry()
    checked = preflight(reg, ["dino_mgcls", "pixels"], ["sim_counts"], RunOptions(results_dir=tmp_path, seeds=1),
                        fetch=False)
    assert checked.downloads == ["dino_mgcls_vits8"] and checked.weights["dino_mgcls_vits8"].status == "to download"
    notes = []

    class Notes(Progress):
        def note(self, text: str) -> None:
            notes.append(text)

    assert download_weights(reg, checked, Notes()) == [] and checked.downloads == []
    assert [p.weights.status for p in checked.pairs] == ["downloaded now", "none needed"]
    source = reg.backbone("dino_mgcls").spec.weights.download_source
    assert notes == [f"downloading weights for dino_mgcls_vits8 from {source}"]


def _help_texts(parser: argparse.ArgumentParser, name: str = "radiobench"):
    yield name, parser.description or ""
    yield name, parser.epilog or ""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _help_texts(sub, f"{name} {sub_name}")
            yield from ((name, choice.help or "") for choice in action._choices_actions)
        else:
            yield name, action.help or ""


DURATION = re.compile(r"\b\d+(\.\d+)? ?(s|sec|seconds?|min|minutes?|h|hours?)\b", re.IGNORECASE)


def test_every_time_in_help_is_measured_and_dated():
    claims = []
    for name, text in _help_texts(build_parser()):
        for paragraph in text.split("\n\n"):
            if DURATION.search(paragraph):
                claims.append(paragraph)
                assert re.search(r"on \d+ CPU cores.*measured 20\d\d-\d\d", paragraph, re.DOTALL), (name, paragraph)
    assert any("about 16 s on 2 CPU cores with an empty cache (measured 2026-12)" in c for c in claims)
    assert not any("faster on" in text for _, text in _help_texts(build_parser()))  # a speed nobody measured here

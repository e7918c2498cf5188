"""The CLI against hostile strings and impossible settings: one line, the right exit code, nothing run or printed raw."""

from __future__ import annotations

import errno
import json
import os
import shutil
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from radiobench import cli
from radiobench.io.terminal import markup_safe, printable
from radiobench.registry import build_registry
from radiobench.registry import loader as plugins

pytestmark = pytest.mark.timeout(300)

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "leaderboard" / "results"
OSC52 = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # writes the terminal user's clipboard
CLEAR = "\x1b[2J\x1b[H"


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def test_printable_shows_control_characters_and_keeps_text():
    assert printable(f"net{OSC52}") == "net\\x1b]52;c;ZWNobyBwd25lZA==\\x07"
    assert printable("a\u202eb") == "a\\u202eb"  # a bidi override would reorder what is read
    assert printable("line\nnext", keep_newlines=True) == "line\nnext"
    assert printable("line\nnext") == "line\\x0anext"
    assert markup_safe("[red]x[/red]") == "\\[red]x\\[/red]"


@pytest.mark.parametrize("flags", [["--backbone", "", "--task", "mirabest"], ["--backbone", ",", "--task", "mirabest"],
                                   ["--backbone", "pixels", "--task", ""], ["--backbone", "pixels", "--task", " , "],
                                   ["--backbone", "pixels", "--task", "mirabest", "--protocol", ","]])
def test_an_empty_name_list_is_a_usage_error(flags, capsys, tmp_path):
    assert cli.main(["run", *flags, "--results-dir", str(tmp_path / "r")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "names nothing; give one or more names separated by commas" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("make, said", [
    (lambda p: p.write_text("x"), "is a file, not a folder; set RADIOBENCH_CACHE to another folder"),
    (lambda p: (p.mkdir(), p.chmod(0o500)), "cannot write in"),
])
def test_an_unusable_cache_root_is_refused_before_any_work(make, said, tmp_path, monkeypatch, capsys):
    if said == "cannot write in" and os.geteuid() == 0:
        target = Path("/proc/radiobench-cache")  # root writes anywhere on a disk; /proc refuses even root
    else:
        target = tmp_path / "cache"
        make(target)
    monkeypatch.setenv("RADIOBENCH_CACHE", str(target))
    code = cli.main(["run", "--backbone", "pixels", "--task", "mirabest", "--results-dir", str(tmp_path / "r"),
                     "--data-root", str(tmp_path / "data")])
    assert code == 2  # another folder is the fix: a usage error
    line = _one_error_line(capsys.readouterr().err)
    assert f"RADIOBENCH_CACHE {target}" in line and said in line
    assert not (tmp_path / "r").exists()


def test_leaderboard_output_that_cannot_be_a_file_is_refused_before_rendering(tmp_path, capsys):
    (tmp_path / "plain").write_text("x")
    for output, said in ((tmp_path, "is a folder; give a file path such as"),
                         (tmp_path / "plain" / "board.md", "is a file, not a folder; pick another --output")):
        assert cli.main(["leaderboard", "--results-dir", str(tmp_path / "none"), "--output", str(output)]) == 2
        assert said in _one_error_line(capsys.readouterr().err)


def test_simulate_caps_the_number_of_sources(tmp_path, capsys):
    out = tmp_path / "f.fits"
    assert cli.main(["simulate", "field", "--output", str(out), "--n-sources", "100000000"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--n-sources 100000000" in line and "more than the 100,000 sources a field may hold" in line
    assert not out.exists()


def test_a_full_disk_is_said_as_such_and_stops_the_run(tmp_path, monkeypatch, capsys):
    from radiobench.run import session

    calls = []

    def full(registry, backbone, task, opts, hooks):
        calls.append((backbone, task))
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "x.json"))

    monkeypatch.setattr(session, "run_pair", full)
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path / "cache"))
    code = cli.main(["run", "--backbone", "pixels,random_resnet18", "--task", "mirabest", "--results-dir",
                     str(tmp_path / "r"), "--data-root", str(REPO.parent / "shared" / "data"), "--limit", "10"])
    out = capsys.readouterr().out
    if "nothing ran" in out:
        pytest.skip("MiraBest is not in ../shared/data here")  # pragma: no cover - CI has the data
    assert code == 1
    assert calls == [("pixels", "mirabest")]  # the second pair is not tried on a full disk
    assert "disk full (" in out and "free space under" in out and "unexpected" not in out
    assert not list((tmp_path / "r").glob("radiobench-run-*.log"))


HOSTILE_PLUGIN = """
from radiobench import BackboneSpec, hookimpl

@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(name="evil_net", factory="radiobench.testing:FakeBackbone", embed_dim=16,
                          description={description!r}, family="[bold]x{clear}"))
"""


def test_plugin_text_is_neither_markup_nor_escape_sequences_in_list(tmp_path, monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "rb_evil.py").write_text(textwrap.dedent(HOSTILE_PLUGIN.format(
        description=f"[red]red{OSC52}[/red]", clear=CLEAR)))
    entry = plugins.PluginEntry(metadata.EntryPoint(name="rb_evil", value="rb_evil", group=plugins.GROUP), "rb-evil", "1")
    builtin = [e for e in plugins.discover_entry_points() if e.distribution == plugins.CORE_DISTRIBUTION]
    registry = build_registry(builtin + [entry])
    monkeypatch.setattr("radiobench.registry.get_registry", lambda: registry)
    monkeypatch.setenv("COLUMNS", "250")
    assert cli.main(["list", "backbones"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "[bold]x\\x1b[2J" in out  # shown as text, visibly


def _hostile_copy(tmp_path: Path) -> Path:
    """Two committed MiraBest results, one renamed with escape sequences in its name and device."""
    folder = tmp_path / "results"
    folder.mkdir()
    for stem in ("pixels__mirabest__linear", "random_resnet18__mirabest__linear"):
        for suffix in (".json", ".predictions.npz"):
            shutil.copy(COMMITTED / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    path = folder / "pixels__mirabest__linear.json"
    doc = json.loads(path.read_text())
    doc["backbone"]["name"] = f"pixels{OSC52}"
    doc["environment"]["device_name"] = f"cpu{CLEAR}"
    path.write_text(json.dumps(doc))
    return folder


def test_result_strings_reach_no_terminal_raw_from_leaderboard_and_compare(tmp_path, capsys):
    folder = _hostile_copy(tmp_path)
    cli.main(["leaderboard", "--results-dir", str(folder)])
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "\\x1b]52" in captured.out + captured.err or "error:" in captured.err  # shown visibly, or refused
    cli.main(["compare", str(folder / "pixels__mirabest__linear.json"),
              str(folder / "random_resnet18__mirabest__linear.json"), "--resamples", "200"])
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err


def test_list_at_120_columns_shows_every_name_whole_and_names_its_data_root(monkeypatch, capsys, tmp_path):
    from radiobench.registry import get_registry

    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("RADIOBENCH_DATA", str(tmp_path))
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    registry = get_registry()
    for name in [*registry.backbones, *registry.tasks]:
        assert any(line.split("│")[1].strip().startswith(name) for line in out.splitlines() if line.count("│") > 2), name
    assert f"data root: {tmp_path} (from $RADIOBENCH_DATA)" in out

"""The documentation site builds strictly, its examples run, and the README stays a true front page.

- ``mkdocs build --strict``: a broken link or anchor, a missing snippet (``--8<--``), a page left
  out of the nav is an error, and the generated references cover every subcommand and hook.
- Examples: every ```python block in ``docs/*.md`` runs, and every ```bash block marked with an
  ``<!-- runnable -->`` line right before it, in a fresh folder holding ``leaderboard/`` (the
  committed board, read only) with ``../shared`` beside it (the checkout's shared data, when there
  is one); a ```text block marked ``<!-- output -->`` right after a runnable one lists lines its
  output must contain. None of them needs the data to be present.
- Paths the pages and the README name in code (``radiobench/run/cache.py``) exist, and the README's
  quickstart is the command CI runs.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, need

DOCS = ROOT / "docs"
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
RUNNABLE, OUTPUT = "<!-- runnable -->", "<!-- output -->"


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _marker_before(text: str, start: int) -> str:
    """The last non-blank line before offset ``start``."""
    lines = [line.strip() for line in text[:start].splitlines() if line.strip()]
    return lines[-1] if lines else ""


def examples() -> list[tuple[str, str, str, list[str]]]:
    """(id, language, code, lines its output must contain) of every block the docs promise runs."""
    found = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        fences = list(FENCE.finditer(text))
        for i, block in enumerate(fences):
            lang, body = block.group(1), block.group(2)
            runnable = _marker_before(text, block.start()) == RUNNABLE
            if not (lang == "python" or (lang == "bash" and runnable)):
                continue
            expected: list[str] = []
            nxt = fences[i + 1] if i + 1 < len(fences) else None
            if nxt is not None and _marker_before(text, nxt.start()) == OUTPUT \
                    and not text[block.end():nxt.start()].replace(OUTPUT, "").strip():
                expected = [line.strip() for line in nxt.group(2).splitlines() if line.strip() not in ("", "...")]
            line = text[:block.start()].count("\n") + 1
            found.append((f"{page.relative_to(ROOT)}:{line}", lang, body, expected))
    return found


def _squeeze(text: str) -> str:
    return " ".join(text.split())


# -- the site --------------------------------------------------------------------------------------


def _mkdocs_installed() -> bool:
    return importlib.util.find_spec("mkdocs") is not None and importlib.util.find_spec("material") is not None


def test_the_site_builds_strictly_with_generated_references(tmp_path):
    need(_mkdocs_installed(), "mkdocs and mkdocs-material are not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "WARNING" not in log, log

    from radiobench import hookspecs
    from radiobench.cli import build_parser

    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    commands = next(a for a in build_parser()._actions if a.dest == "command").choices
    for name, sub in commands.items():
        assert f"radiobench {name}" in cli, f"the CLI reference has no section for `radiobench {name}`"
        for action in sub._actions:
            for option in action.option_strings:
                assert option in cli, f"the CLI reference misses `radiobench {name} {option}`"
    hooks = (site / "reference" / "hooks" / "index.html").read_text(encoding="utf-8")
    for name in (n for n, fn in vars(hookspecs).items() if hasattr(fn, f"{hookspecs.PROJECT}_spec")):
        assert name in hooks, f"the hook reference misses {name}"
    # pages included from the repository root, and files copied beside them
    assert "my_radio_nets" in (site / "contributing" / "index.html").read_text(encoding="utf-8")
    assert (site / "assets" / "leaderboard.html").is_file()


def test_the_markers_mark_what_they_say():
    """A marker that marks nothing (a typo, a block moved away) would quietly turn a check off."""
    for page in pages():
        text = page.read_text(encoding="utf-8")
        starts = {text[:m.start()].count("\n") for m in FENCE.finditer(text)}
        lines = text.splitlines()
        for number, line in enumerate(lines):
            if line.strip() not in (RUNNABLE, OUTPUT):
                continue
            following = next((n for n in range(number + 1, len(lines)) if lines[n].strip()), None)
            assert following in starts, f"{page.relative_to(ROOT)}:{number + 1}: {line.strip()} is not right before a code block"
            if line.strip() == RUNNABLE:
                assert lines[following].startswith(("```bash", "```python")), \
                    f"{page.relative_to(ROOT)}:{number + 1}: only bash and python blocks run"
    marked = [e for e in examples() if e[3]]
    assert marked, "no example checks its output"
    total = sum(line.strip() == OUTPUT for page in pages() for line in page.read_text(encoding="utf-8").splitlines())
    assert len(marked) == total, "an <!-- output --> block follows no runnable block"


@pytest.mark.slow
@pytest.mark.parametrize("where, lang, code, expected", examples(), ids=[e[0] for e in examples()])
def test_a_docs_example_runs(where, lang, code, expected, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "leaderboard").symlink_to(ROOT / "leaderboard", target_is_directory=True)
    if (ROOT.parent / "shared").is_dir():
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared", target_is_directory=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLUMNS": "160"}
    command = [sys.executable, "-c", code] if lang == "python" else ["bash", "-e", "-o", "pipefail", "-c", code]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{where} exited {done.returncode}:\n{output}"
    for line in expected:
        assert _squeeze(line) in _squeeze(output), f"{where}: the output has no line {line!r}:\n{output}"


# -- paths and the README --------------------------------------------------------------------------

PATH_IN_CODE = re.compile(r"`((?:radiobench|plugins|benchmarks|leaderboard|configs|tests|docs|\.ci)/[\w./-]*)`")


@pytest.mark.parametrize("page", [README, *pages()], ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_a_page_names_exist(page):
    text = page.read_text(encoding="utf-8")
    missing = sorted({p for p in PATH_IN_CODE.findall(text) if not (ROOT / p).exists()})
    assert not missing, f"{page.relative_to(ROOT)} names files that are not in the repository: {missing}"


def test_the_readme_is_a_front_page_whose_quickstart_ci_runs():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250, "README.md is a front page: the reference belongs in docs/"
    quickstart = text.split("## Quickstart", 1)[1]
    install, tests = FENCE.search(quickstart).group(2).strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    pip = re.search(r"^\.venv/bin/pip install .*$", ci, re.M).group(0)
    assert pip in install, f"the README installs otherwise than .ci/run does ({pip})"
    assert install.startswith("python3 -m venv .venv && ")
    assert ".venv/bin/radiobench run --backbone pixels,random_resnet18 --task mirabest --data-root ../shared/data " \
           "--download && .venv/bin/radiobench leaderboard" in install
    assert tests == ".venv/bin/python -m pytest" and re.search(r"^\.venv/bin/python -m pytest$", ci, re.M)
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README.md links to {target}, which is not in the repository"


def test_the_quickstarts_output_excerpt_is_what_the_committed_results_give(tmp_path):
    """The README shows the summary rows and the board of its run; the committed results of the same two pairs
    (the same code, data and seeds) must give exactly those lines, so the excerpt cannot drift from the board."""
    from radiobench.cli import main
    from radiobench.results import ResultRecord

    quickstart = README.read_text(encoding="utf-8").split("## Quickstart", 1)[1]
    excerpt = next(body for lang, body in FENCE.findall(quickstart) if lang == "text")
    results = tmp_path / "results"
    results.mkdir()
    for pair in ("pixels__mirabest__linear", "random_resnet18__mirabest__linear"):
        for suffix in (".json", ".predictions.npz"):
            (results / f"{pair}{suffix}").write_bytes((ROOT / "leaderboard" / "results" / f"{pair}{suffix}").read_bytes())
        record = ResultRecord.read(results / f"{pair}.json")
        summary = next(line for line in excerpt.splitlines() if f"results/{pair}.json" in line)
        assert record.score_text() in summary, f"README's summary row for {pair} is not its result's {record.score_text()}"
    board = tmp_path / "board.md"
    assert main(["leaderboard", "--results-dir", str(results), "--output", str(board)]) == 0
    rendered = board.read_text(encoding="utf-8").splitlines()
    shown = [line for line in excerpt.splitlines() if line.startswith("|")]
    # the header exactly, the rows in any order (the order of rows tied on mean rank is a rendering choice)
    assert len(shown) == 4 and shown[:2] == rendered[:2] and sorted(shown[2:]) == sorted(rendered[2:4]), \
        f"README's board excerpt is not the rendered board:\n" + "\n".join(rendered[:4])


def test_the_changelog_has_a_section_for_this_version():
    """A release without its changelog entry leaves plugin authors guessing what moved."""
    import radiobench

    text = (Path(__file__).resolve().parents[1] / "CHANGELOG.md").read_text()
    assert f"\n## {radiobench.__version__} (" in text and "## Policy for moved and deprecated names" in text

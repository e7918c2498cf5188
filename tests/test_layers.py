"""Layers that only point down, and no circles (issue 33).

radiobench's import graph is built from the source with the standard library alone: every
``import`` and ``from ... import`` statement in every ``radiobench/**/*.py`` counts, module-level,
function-level and under ``if TYPE_CHECKING:`` alike, with relative imports resolved and
``from radiobench.x import y`` read as an import of the submodule ``radiobench.x.y`` where one
exists (else of the package ``radiobench.x`` itself). A package's ``__init__`` is the module
named by the package; importing ``radiobench.x.y`` is an edge to ``radiobench.x.y`` alone (the
parents Python initialises first are counted only where a layer rule says so).
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "radiobench"

#: What the result, board and file-reading layers must never reach, directly or through anything they
#: import: the board renders from result files alone, and io serves everyone below the registry.
LOWER_LAYERS = ("radiobench.results", "radiobench.board", "radiobench.io")
UPPER_LAYERS = ("radiobench.registry", "radiobench.run.installed", "radiobench.cli")


def modules(package: Path) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package ``__init__``) for every module under ``package``."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        elif (path.with_suffix("") / "__init__.py").is_file():
            continue  # x.py beside a package x/: Python imports the package
        out[".".join(parts)] = (path, is_package)
    return out


def _known(name: str, known: Mapping[str, object]) -> str | None:
    """``name`` if it is a module here, else its nearest enclosing one here (None: not ours)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports anywhere in its file."""
    known = modules(package)
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        here = name if is_package else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(_known(alias.name, known) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    targets.add(submodule if submodule in known else _known(source, known))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe_cycle(graph: Mapping[str, Iterable[str]], component: list[str]) -> str:
    members = set(component)
    return "; ".join(f"{m} -> {', '.join(sorted(set(graph[m]) & members))}" for m in component)


def with_parents(graph: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """The graph plus the packages Python initialises before a module it imports (``a.b.c`` runs ``a.b``)."""
    out = {}
    for name, targets in graph.items():
        reached = set(targets)
        for target in targets:
            parts = target.split(".")
            reached.update(".".join(parts[:i]) for i in range(1, len(parts)))
        reached.discard(name)
        out[name] = {t for t in reached if t in graph}
    return out


def path_to(graph: Mapping[str, Iterable[str]], start: str, goal: tuple[str, ...]) -> list[str] | None:
    """The shortest import chain from ``start`` to a module named by (or under) ``goal``, or None."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node != start and any(node == g or node.startswith(g + ".") for g in goal):
            chain = [node]
            while previous[chain[-1]] is not None:
                chain.append(previous[chain[-1]])  # type: ignore[arg-type]
            return chain[::-1]
        for child in sorted(graph.get(node, ())):
            if child not in previous:
                previous[child] = node
                queue.append(child)
    return None


GRAPH = import_graph(PACKAGE)


def test_the_graph_sees_radiobench():
    """A sanity check of the parser: known edges of every form are there."""
    assert len(GRAPH) > 80
    assert "radiobench.kinds" in GRAPH["radiobench.specs"]  # from radiobench.kinds import ...
    assert "radiobench.registry.loader" in GRAPH["radiobench.registry"]  # from radiobench.registry import loader
    assert "radiobench.results.provenance" in GRAPH["radiobench.run.pair"]  # function-level, submodule by name
    assert "radiobench.run.options" in GRAPH["radiobench.run.pair"]  # under TYPE_CHECKING


def test_the_checker_finds_a_planted_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "top.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import low\n")
    (pkg / "sub" / "__init__.py").write_text("from .low import thing\n")
    (pkg / "sub" / "low.py").write_text("def f():\n    from .. import top\nthing = 1\n")
    (pkg / "alone.py").write_text("import pkg.sub\n")
    graph = import_graph(pkg)
    assert graph["pkg.sub"] == {"pkg.sub.low"} and graph["pkg.alone"] == {"pkg.sub"}
    assert cycles(graph) == [["pkg.sub.low", "pkg.top"]]
    assert path_to(with_parents(graph), "pkg.alone", ("pkg.top",)) == ["pkg.alone", "pkg.sub", "pkg.sub.low", "pkg.top"]


def test_no_import_cycles():
    found = cycles(GRAPH)
    assert not found, "import cycles among radiobench modules:\n" + "\n".join(
        f"  {' <-> '.join(c)}  ({describe_cycle(GRAPH, c)})" for c in found)


def test_results_board_and_io_reach_nothing_above_them():
    """Not directly, not through what they import, not through the package __init__s Python runs on the way."""
    graph = with_parents(GRAPH)
    lower = [name for name in graph if any(name == layer or name.startswith(layer + ".") for layer in LOWER_LAYERS)]
    assert len(lower) > 20
    reaching = {name: path_to(graph, name, UPPER_LAYERS) for name in lower}
    bad = {name: chain for name, chain in reaching.items() if chain}
    assert not bad, "lower layers reaching up:\n" + "\n".join(f"  {' -> '.join(chain)}" for chain in bad.values())


#: Below the runner: what a protocol, a task or the astronomy code uses must not reach back up into the run
#: (a protocol gets progress from :mod:`radiobench.progress`, worker pools from :mod:`radiobench.processes`).
BELOW_THE_RUNNER = ("radiobench.protocols", "radiobench.tasks", "radiobench.astro", "radiobench.progress",
                    "radiobench.processes", "radiobench.kinds", "radiobench.specs", "radiobench.errors")
RUNNER_AND_ABOVE = ("radiobench.run", "radiobench.registry", "radiobench.cli")


def test_protocols_tasks_and_astro_reach_nothing_of_the_runner():
    graph = with_parents(GRAPH)
    lower = [name for name in graph if any(name == layer or name.startswith(layer + ".") for layer in BELOW_THE_RUNNER)]
    assert len(lower) > 15
    bad = [chain for chain in (path_to(graph, name, RUNNER_AND_ABOVE) for name in lower) if chain]
    assert not bad, "reaching up into the runner:\n" + "\n".join(f"  {' -> '.join(chain)}" for chain in bad)


def test_process_and_progress_helpers_import_nothing_of_radiobench():
    assert GRAPH["radiobench.processes"] == set() and GRAPH["radiobench.progress"] == set()


def test_the_runners_progress_name_is_the_same_objects():
    import radiobench.progress
    import radiobench.run.progress

    for name in ("Progress", "reporting", "stage"):
        assert getattr(radiobench.run.progress, name) is getattr(radiobench.progress, name)

"""CONTRIBUTING.md is executable: its example plugin package is written out, discovered and run.

Every fenced block whose first line is ``# <path>`` is a file of the example package. The package
is made discoverable the way an installed one is (a ``*.dist-info`` with METADATA and
entry_points.txt on the path, built from the page's own pyproject.toml), without pip or network,
and every command runs in a fresh interpreter with PYTHONPATH pointing at it, so plugin discovery
goes through importlib.metadata exactly as for a user who ran ``pip install -e .``.

tests/test_third_party_plugin.py covers what this does not: a real pip install, broken plugins,
strict mode and autoload switches.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, radiobench_cli

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

PAGE = ROOT / "CONTRIBUTING.md"
BACKBONE, TASK, PROTOCOL = "my_cnn", "frdeep", "centroid"  # what the page's example registers
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
FILE_MARK = re.compile(r"# ([\w./-]+\.(?:py|toml))\n")


def blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in FENCE.findall(PAGE.read_text(encoding="utf-8"))]


def example_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for _, body in blocks():
        mark = FILE_MARK.match(body)
        if mark:
            assert mark.group(1) not in files, f"CONTRIBUTING.md has two blocks for {mark.group(1)}"
            files[mark.group(1)] = body
    return files


def make_discoverable(pkg: Path, pyproject: dict) -> str:
    """What ``pip install -e .`` leaves for importlib.metadata: a dist-info with the page's entry points."""
    project = pyproject["project"]
    name, version = project["name"], project["version"]
    info = pkg / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    groups = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) + "\n" for group, eps in groups.items())
    )
    return name


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> tuple[Path, str]:
    pkg = tmp_path_factory.mktemp("my-radio-nets")
    for path, text in example_files().items():
        (pkg / path).parent.mkdir(parents=True, exist_ok=True)
        (pkg / path).write_text(text)
    distribution = make_discoverable(pkg, tomllib.loads((pkg / "pyproject.toml").read_text()))
    return pkg, distribution


def env_for(pkg: Path) -> dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join([str(pkg), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "RADIOBENCH_STRICT_PLUGINS": "1"}  # a plugin that fails to load fails the command


def test_the_page_holds_a_whole_plugin_package():
    assert {"pyproject.toml", "my_radio_nets/__init__.py", "my_radio_nets/model.py", "my_radio_nets/frdeep.py",
            "my_radio_nets/centroid.py", "tests/test_my_radio_nets.py", "tests/test_my_centroid.py"} <= set(example_files())


def test_every_python_block_compiles():
    """Illustrations without a file mark (the one-module plugin, learned weights) must at least be Python."""
    python = [body for lang, body in blocks() if lang == "python"]
    assert len(python) >= 6
    for body in python:
        compile(body, "CONTRIBUTING.md", "exec")


def test_registration_module_does_not_import_torch(example):
    pkg, _ = example
    code = "import sys, my_radio_nets; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env_for(pkg)})
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr


def test_list_and_plugins_show_the_example(example):
    pkg, distribution = example
    done = radiobench_cli("list", "--json", env=env_for(pkg))
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    backbone = next(b for b in listing["backbones"] if b["name"] == BACKBONE)
    task = next(t for t in listing["tasks"] if t["name"] == TASK)
    assert backbone["plugin"] == task["plugin"] == distribution and backbone["weights"] == "random"
    plugins = {p["distribution"]: p for p in json.loads(radiobench_cli("plugins", "--json", env=env_for(pkg)).stdout)}
    assert plugins[distribution]["hooks"] == ["radiobench_register_backbones", "radiobench_register_protocols",
                                              "radiobench_register_tasks"]


def test_list_protocols_shows_the_example_protocol_with_its_option(example):
    pkg, distribution = example
    done = radiobench_cli("list", "protocols", "--json", env=env_for(pkg))
    assert done.returncode == 0, done.stderr
    protocols = {p["name"]: p for p in json.loads(done.stdout)["protocols"]}
    assert {"linear", "knn", PROTOCOL} <= set(protocols)
    mine = protocols[PROTOCOL]
    assert mine["plugin"] == distribution and mine["kinds"] == ["classification"] and mine["version"] == "1"
    assert mine["options"]["temperature"]["type"] == "float" and mine["options"]["temperature"]["default"] == 0.1
    table = radiobench_cli("list", "protocols", env=env_for(pkg))
    assert table.returncode == 0 and PROTOCOL in table.stdout and "temperature" in table.stdout
    assert "temperature" in radiobench_cli("run", "--help", env=env_for(pkg)).stdout  # help from the registry


@pytest.mark.slow
def test_the_examples_own_tests_pass(example):
    """check_backbone, check_task, check_protocol, the missing-data message and an end-to-end run, as the page's test
    files have them."""
    pkg, _ = example
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                          capture_output=True, text=True, cwd=pkg, env={**os.environ, **env_for(pkg)}, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "5 passed" in done.stdout


@pytest.mark.slow
def test_radiobench_run_on_the_example(example, tmp_path):
    pkg, _ = example
    spec = importlib.util.spec_from_file_location("example_tests", pkg / "tests" / "test_my_radio_nets.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    tests.write_frdeep(tmp_path / "data" / "frdeep")
    results = tmp_path / "results"
    done = radiobench_cli("run", "--backbone", BACKBONE, "--task", TASK, "--data-root", str(tmp_path / "data"),
                          "--results-dir", str(results), "--seeds", "2", env=env_for(pkg))
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = results.glob(f"{BACKBONE}__{TASK}__*.json")
    result = json.loads(path.read_text())
    main = result["main_score"]
    assert main["name"] == "error" and math.isfinite(main["mean"]) and 0 <= main["mean"] <= 0.5
    assert len(result["metrics"]["error"]["per_seed"]) == 2


@pytest.mark.slow
def test_radiobench_run_with_the_example_protocol_and_an_option(example, tmp_path):
    """The protocol written from the page runs, its option is checked, recorded, and names the result."""
    pkg, _ = example
    spec = importlib.util.spec_from_file_location("example_tests", pkg / "tests" / "test_my_radio_nets.py")
    tests = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tests)
    tests.write_frdeep(tmp_path / "data" / "frdeep")
    results = tmp_path / "results"
    common = ("--backbone", BACKBONE, "--task", TASK, "--data-root", str(tmp_path / "data"), "--results-dir", str(results),
              "--seeds", "2", "--protocol", PROTOCOL)
    bad = radiobench_cli("run", *common, "--protocol-option", "temperature=warm", env=env_for(pkg))
    assert bad.returncode == 2 and not results.exists()
    assert bad.stderr.strip().startswith("error:") and "centroid.temperature" in bad.stderr and "warm" in bad.stderr
    done = radiobench_cli("run", *common, "--protocol-option", "temperature=0.05", env=env_for(pkg))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((results / f"{BACKBONE}__{TASK}__{PROTOCOL}@temperature=0.05.json").read_text())
    assert result["protocol"]["name"] == PROTOCOL and result["protocol"]["params"] == {"temperature": 0.05}
    assert 0 <= result["main_score"]["mean"] <= 0.5 and len(result["metrics"]["error"]["per_seed"]) == 2

"""A third-party plugin package, pip-installed, shows up and runs like a built-in."""

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import radiobench_cli

PYPROJECT = """
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.2.0"
dependencies = ["radiobench"]

[project.entry-points.radiobench]
{module} = "{module}"
"""

# A minimal backbone plugin on the older `from radiobench import ...` path (still supported; new plugins import
# from radiobench.api). CONTRIBUTING.md's full example, backbone and task, runs in test_contributing.py.
PLUGIN = '''
from radiobench import BackboneSpec, InputContract, hookimpl


@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(
        name="demo_pool",
        factory="{module}.model:DemoPool",
        embed_dim=64,
        input=InputContract(channels=1, size=64, mean=(0.5,), std=(0.25,), interpolation="bilinear"),
        family="demo",
        description="8x8 average-pooled pixels",
    ))
'''

MODEL = """
import torch.nn.functional as F
from radiobench.models.backbone import Backbone


class DemoPool(Backbone):
    def embed(self, images):
        return F.adaptive_avg_pool2d(images, 8).flatten(1)
"""

BROKEN = "raise ImportError('demo plugin needs a library that is not installed')\n"


def build_and_install(tmp_path, dist, module, files):
    src = tmp_path / f"src-{dist}"
    (src / module).mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT.format(dist=dist, module=module))
    for name, text in files.items():
        (src / module / name).write_text(textwrap.dedent(text.format(module=module)))
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(target), str(src)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("thirdparty")
    build_and_install(tmp, "radiobench-demo-plugin", "rb_demo_plugin", {"__init__.py": PLUGIN, "model.py": MODEL})
    return build_and_install(tmp, "radiobench-broken-plugin", "rb_broken_plugin", {"__init__.py": BROKEN})


def test_installed_plugin_appears_in_list_and_plugins(plugin_site):
    env = {"PYTHONPATH": str(plugin_site)}
    listing = json.loads(radiobench_cli("list", "backbones", "--json", env=env).stdout)
    demo = next(b for b in listing["backbones"] if b["name"] == "demo_pool")
    assert demo["plugin"] == "radiobench-demo-plugin"
    plugins = {p["distribution"]: p for p in json.loads(radiobench_cli("plugins", "--json", env=env).stdout)}
    assert plugins["radiobench-demo-plugin"]["version"] == "0.2.0"
    assert plugins["radiobench-demo-plugin"]["hooks"] == ["radiobench_register_backbones"]
    assert not plugins["radiobench-demo-plugin"]["builtin"]


def test_broken_plugin_is_reported_and_the_rest_works(plugin_site):
    done = radiobench_cli("list", "--json", env={"PYTHONPATH": str(plugin_site)})
    assert done.returncode == 0
    assert "radiobench-broken-plugin 0.2.0" in done.stderr and "skipped" in done.stderr
    assert "demo plugin needs a library" in done.stderr
    assert "demo_pool" in done.stdout and "pixels" in done.stdout


def test_strict_mode_fails_on_the_broken_plugin(plugin_site):
    done = radiobench_cli("list", env={"PYTHONPATH": str(plugin_site), "RADIOBENCH_STRICT_PLUGINS": "1"})
    assert done.returncode == 1
    assert "radiobench-broken-plugin 0.2.0" in done.stderr and "Traceback" not in done.stderr


def test_disable_autoload_hides_third_party_plugins(plugin_site):
    done = radiobench_cli("list", "--json", env={"PYTHONPATH": str(plugin_site), "RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 0 and "demo_pool" not in done.stdout and done.stderr == ""


@pytest.mark.slow
def test_installed_plugin_backbone_runs_on_real_data(plugin_site, shared_data, tmp_path):
    done = radiobench_cli(
        "run", "--backbone", "demo_pool", "--task", "mirabest", "--data-root", str(shared_data),
        "--results-dir", str(tmp_path), "--limit", "80", "--seeds", "2",
        env={"PYTHONPATH": str(plugin_site)},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "demo_pool__mirabest__linear.limit80.json").read_text())
    assert result["backbone"]["provided_by"] == {
        "plugin": "rb_demo_plugin", "distribution": "radiobench-demo-plugin", "version": "0.2.0"
    }
    assert result["limit"] == 80 and result["task"]["train_count"] == 80

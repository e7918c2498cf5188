"""A backbone's code identity changes with its code, and only then."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
import sys
import textwrap
import uuid

import pytest

from radiobench.models.identity import backbone_code_identity, describe, identity_key, install_kind, module_file
from radiobench.registry.loader import PluginInfo
from radiobench.registry import get_registry
from radiobench.specs import BackboneSpec

MODEL = """
import torch.nn as nn


def make(spec, **options):
    return nn.Sequential(nn.Linear(4, 8), nn.{activation}())
"""


def local_plugin(distribution: str = "not-an-installed-dist-xyz") -> PluginInfo:
    return PluginInfo(name="mine", distribution=distribution, version="0.3", module="mine", builtin=False)


@pytest.fixture
def backbone_module(tmp_path, monkeypatch):
    """A package ``<pkg>`` with ``models.py`` on sys.path; returns (spec, write(activation))."""
    package = f"rb_identity_{uuid.uuid4().hex[:8]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("raise RuntimeError('identifying must not import the package')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = BackboneSpec(name="mine", factory=f"{package}.models:make", embed_dim=8)

    def write(activation: str) -> None:
        (tmp_path / package / "models.py").write_text(MODEL.format(activation=activation))

    return spec, write


def test_changing_the_factory_module_changes_the_identity(backbone_module):
    spec, write = backbone_module
    write("ReLU")
    relu = backbone_code_identity(spec, local_plugin())
    write("GELU")
    gelu = backbone_code_identity(spec, local_plugin())
    assert relu["install"] == gelu["install"] == "not installed"
    assert relu["source_sha256"] != gelu["source_sha256"] and identity_key(relu) != identity_key(gelu)
    write("ReLU")
    assert backbone_code_identity(spec, local_plugin()) == relu  # same content, same identity


def test_identity_holds_no_machine_specific_path(backbone_module, tmp_path):
    spec, write = backbone_module
    write("ReLU")
    first = backbone_code_identity(spec, local_plugin())
    assert str(tmp_path) not in json.dumps(first)  # no machine-specific paths: keys agree across machines
    assert first["source_sha256"] == hashlib.sha256(module_file(spec.factory.split(":")[0]).read_bytes()).hexdigest()


def test_spec_version_and_distribution_version_are_part_of_the_key(backbone_module):
    spec, write = backbone_module
    write("ReLU")
    base = backbone_code_identity(spec, local_plugin())
    bumped = backbone_code_identity(dataclasses.replace(spec, version="2"), local_plugin())
    info = dataclasses.replace(local_plugin(), version="0.4")
    released = backbone_code_identity(spec, info)
    assert len({identity_key(base), identity_key(bumped), identity_key(released)}) == 3
    assert bumped["version"] == "2" and BackboneSpec(name="x", factory="a:b", embed_dim=1).version == "1"


def test_describe_is_stable_json(backbone_module):
    spec, write = backbone_module
    write("ReLU")
    identity = backbone_code_identity(spec, local_plugin())
    described = describe(identity)
    assert list(described) == sorted(described) and "install" not in described
    assert json.loads(json.dumps(described)) == described
    assert identity_key(identity) == identity_key(dict(reversed(list(identity.items()))))


def test_builtin_backbones_of_the_editable_install_get_a_file_hash():
    registry = get_registry()
    registered = registry.backbone("pixels")
    identity = backbone_code_identity(registered.spec, registered.plugin)
    assert registered.plugin.distribution == "radiobench" and identity["install"] == "editable"
    module = registered.spec.factory.split(":")[0]
    expected = hashlib.sha256(module_file(module).read_bytes()).hexdigest()
    assert identity["source_sha256"] == expected and identity["source_module"] == module


def test_a_wheel_installed_distribution_is_pinned_by_its_version():
    """pytest is installed from a wheel: its module file is in the installer's RECORD."""
    origin = module_file("_pytest.python")
    assert origin is not None and install_kind("pytest", origin) == "wheel"
    spec = BackboneSpec(name="w", factory="_pytest.python:Function", embed_dim=1)
    info = PluginInfo(name="w", distribution="pytest", version=pytest.__version__, module="_pytest", builtin=False)
    assert backbone_code_identity(spec, info)["source_sha256"] is None


def test_identifying_every_registered_backbone_imports_no_torch():
    code = textwrap.dedent("""
        import sys
        from radiobench.models.identity import backbone_code_identity
        from radiobench.registry import get_registry
        registry = get_registry()
        ids = [backbone_code_identity(r.spec, r.plugin) for r in registry.backbones.values()]
        assert ids and all(i["source_sha256"] for i in ids if i["distribution"] == "radiobench"), ids
        heavy = sorted(m for m in ("torch", "timm", "open_clip") if m in sys.modules)
        print("heavy:", heavy)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "heavy: []" in done.stdout

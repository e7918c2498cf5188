"""Plugin discovery and isolation, with throwaway plugin modules on sys.path."""

import json
import re
import textwrap
import warnings
from importlib import metadata

import pytest

from radiobench.registry import loader as plugins
from radiobench.errors import PluginError
from radiobench.registry import build_registry

GOOD = """
from radiobench import BackboneSpec, hookimpl

@hookimpl
def radiobench_register_backbones(register):
    register(BackboneSpec(name="{name}", factory="radiobench.testing:FakeBackbone", embed_dim=16))
"""


@pytest.fixture
def make_plugin(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(module: str, source: str, dist: str = "", version: str = "1.0") -> plugins.PluginEntry:
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        ep = metadata.EntryPoint(name=module, value=module, group=plugins.GROUP)
        return plugins.PluginEntry(ep, dist or module.replace("_", "-"), version)

    return make


def builtins():
    return [e for e in plugins.discover_entry_points() if e.distribution == plugins.CORE_DISTRIBUTION]


def test_builtins_load_through_entry_points():
    reg = build_registry(builtins())
    assert {"pixels", "random_resnet18"} <= set(reg.backbones)
    assert "mirabest" in reg.tasks
    assert reg.backbones["pixels"].plugin.distribution == "radiobench"
    assert all(p.builtin and p.error is None for p in reg.plugins)


def test_timm_style_pattern_listing():
    reg = build_registry(builtins())
    assert reg.list_backbones("dino_mgcls_*") == ["dino_mgcls_resnet50", "dino_mgcls_vitb16", "dino_mgcls_vits8"]
    assert "mirabest" in reg.list_tasks() and reg.list_tasks("zzz*") == []


def test_third_party_plugin_is_registered_and_attributed(make_plugin):
    entry = make_plugin("rb_good", GOOD.format(name="good_net"), version="2.5")
    reg = build_registry(builtins() + [entry])
    assert reg.backbones["good_net"].plugin.label == "rb-good 2.5 (entry point 'rb_good')"
    assert reg.backbones["good_net"].provenance() == {"plugin": "rb_good", "distribution": "rb-good", "version": "2.5"}


def test_plugin_failing_to_import_is_skipped_with_a_named_warning(make_plugin):
    entry = make_plugin("rb_broken", "raise ImportError('needs libfoo')", version="0.3")
    with pytest.warns(plugins.PluginWarning, match=r"rb-broken 0.3 .* skipped: failed to import rb_broken: ImportError: needs libfoo"):
        reg = build_registry(builtins() + [entry], strict=False)
    assert "pixels" in reg.backbones  # the rest keeps working
    assert next(p for p in reg.plugins if p.name == "rb_broken").error


def test_strict_mode_turns_a_broken_plugin_into_an_error(make_plugin, monkeypatch):
    entry = make_plugin("rb_broken2", "raise RuntimeError('boom')")
    monkeypatch.setenv("RADIOBENCH_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="rb-broken2 1.0 .* failed: failed to import .*RuntimeError: boom"):
        build_registry(builtins() + [entry])


def test_unknown_hook_name_is_rejected_naming_the_distribution(make_plugin):
    source = """
    def radiobench_register_backbone(register):  # missing 's'
        pass
    """
    entry = make_plugin("rb_typo", source, dist="rb-typo-dist")
    with pytest.warns(plugins.PluginWarning, match=r"rb-typo-dist 1.0 .*unknown hook\(s\) radiobench_register_backbone; known hooks: radiobench_register_backbones"):
        reg = build_registry(builtins() + [entry], strict=False)
    assert next(p for p in reg.plugins if p.name == "rb_typo").error


def test_unknown_hook_argument_is_rejected(make_plugin):
    source = """
    from radiobench import hookimpl
    @hookimpl
    def radiobench_register_tasks(register, config):
        pass
    """
    entry = make_plugin("rb_badarg", source)
    with pytest.raises(PluginError, match=r"rb-badarg 1.0 .*invalid hook implementation.*config"):
        build_registry(builtins() + [entry], strict=True)


def test_two_plugins_registering_one_name_keep_the_first_and_the_warning_names_both(make_plugin):
    a = make_plugin("rb_one", GOOD.format(name="clash"), dist="pkg-one")
    b = make_plugin("rb_two", GOOD.format(name="clash"), dist="pkg-two")
    with pytest.warns(plugins.PluginWarning, match=r"backbone 'clash' is registered by both pkg-one 1.0 .* and "
                                                  r"pkg-two 1.0 .*; the first is kept .*RADIOBENCH_DISABLE_PLUGINS=rb_two"):
        reg = build_registry(builtins() + [a, b])
    assert reg.backbones["clash"].plugin.distribution == "pkg-one" and "pixels" in reg.backbones
    two = next(p for p in reg.plugins if p.name == "rb_two")
    assert two.error is None and "registered by both" in two.notes[0]  # the plugin itself still loaded
    with pytest.raises(PluginError, match=r"'clash' is registered by both .*RADIOBENCH_STRICT_PLUGINS is set"):
        build_registry(builtins() + [a, b], strict=True)


def test_shadowing_a_builtin_name_keeps_the_builtin(make_plugin):
    entry = make_plugin("rb_shadow", GOOD.format(name="pixels"), dist="shadow-pkg")
    with pytest.warns(plugins.PluginWarning, match=r"'pixels' is registered by both radiobench .* and shadow-pkg"):
        reg = build_registry(builtins() + [entry])
    assert reg.backbones["pixels"].plugin.builtin


PROTOCOL_CLASH = """
from radiobench.api import ProtocolSpec, hookimpl

@hookimpl
def radiobench_register_protocols(register):
    register(ProtocolSpec(name="knn", factory="nowhere:Missing", version="9", kinds=("classification",)))
    register(ProtocolSpec(name="own_probe", factory="nowhere:Missing", version="1", kinds=("classification",)))
"""


def test_a_second_plugin_registering_a_builtin_protocol_name_leaves_the_rest_working(make_plugin):
    """The clash that used to abort every command, `radiobench plugins` included."""
    entry = make_plugin("rb_knn", PROTOCOL_CLASH, dist="knn-pkg")
    with pytest.warns(plugins.PluginWarning, match=r"protocol 'knn' is registered by both radiobench .* and knn-pkg"):
        reg = build_registry(builtins() + [entry])
    assert reg.protocol("knn").plugin.builtin and reg.protocol("knn").spec.version == "1"
    assert reg.protocol("own_probe").plugin.distribution == "knn-pkg"  # its other protocol is registered
    assert "linear" in reg.protocols and "pixels" in reg.backbones


def test_disable_plugins_turns_off_the_named_ones(make_plugin, monkeypatch):
    a = make_plugin("rb_keep", GOOD.format(name="kept_net"))
    b = make_plugin("rb_off", GOOD.format(name="off_net"), dist="off-dist")
    c = make_plugin("rb_off2", "raise ImportError('would fail')", dist="off-dist-2")
    monkeypatch.setenv("RADIOBENCH_DISABLE_PLUGINS", " rb_off , off-dist-2")  # entry-point or distribution names
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # never imported, so no failure to report
        reg = build_registry(builtins() + [a, b, c])
    assert "kept_net" in reg.backbones and "off_net" not in reg.backbones
    off = {p.name: p for p in reg.plugins if p.disabled}
    assert set(off) == {"rb_off", "rb_off2"} and all(p.error is None and not p.hooks for p in off.values())
    assert reg.plugins[-1].to_dict()["disabled"] is True


def test_disable_plugins_can_turn_off_a_builtin_and_names_unknown_names(monkeypatch):
    monkeypatch.setenv("RADIOBENCH_DISABLE_PLUGINS", "protocols,no_such_plugin")
    with pytest.warns(plugins.PluginWarning, match=r"RADIOBENCH_DISABLE_PLUGINS names no_such_plugin, which no plugin "
                                                  r"here is called; plugins .*: .*baselines"):
        reg = build_registry(builtins())
    assert not reg.protocols and "pixels" in reg.backbones


def test_registering_a_protocol_class_still_works_with_a_deprecation_warning(make_plugin):
    source = """
    from dataclasses import dataclass
    import numpy as np
    from radiobench.api import Protocol, hookimpl

    @dataclass
    class Median(Protocol):
        \"\"\"Predicts the training median.\"\"\"
        name = "median_probe"
        version = "2"
        kinds = ("regression",)
        shift: float = 0.0

        def fit_predict(self, task, x_train, y_train, x_test, seed, validation=None):
            return np.full(len(x_test), np.median(y_train) + self.shift), {}

    @hookimpl
    def radiobench_register_protocols(register):
        register(Median)
    """
    entry = make_plugin("rb_old_protocol", source, dist="old-protocol-pkg", version="0.4")
    with pytest.warns(DeprecationWarning, match=r"plugin old-protocol-pkg 0.4 .* registers the protocol class Median; "
                                                r"register a radiobench.api.ProtocolSpec instead"):
        reg = build_registry(builtins() + [entry])
    spec = reg.protocol("median_probe").spec
    assert (spec.version, spec.kinds, spec.defaults, spec.description) == \
        ("2", ("regression",), {"shift": 0.0}, "Predicts the training median.")
    assert spec.build({"shift": 1.5}).describe() == {"shift": 1.5}


def test_plugin_raising_during_registration_loses_only_its_own_specs(make_plugin):
    source = """
    from radiobench import BackboneSpec, hookimpl
    @hookimpl
    def radiobench_register_backbones(register):
        register(BackboneSpec(name="half_done", factory="m:f", embed_dim=4))
        raise ValueError("second spec broke")
    """
    entry = make_plugin("rb_raises", source)
    with pytest.warns(plugins.PluginWarning, match="radiobench_register_backbones raised ValueError: second spec broke"):
        reg = build_registry(builtins() + [entry], strict=False)
    assert "half_done" not in reg.backbones and "pixels" in reg.backbones


def test_registering_the_wrong_type_is_reported(make_plugin):
    source = """
    from radiobench import hookimpl
    @hookimpl
    def radiobench_register_backbones(register):
        register({"name": "dict_spec"})
    """
    entry = make_plugin("rb_dict", source)
    with pytest.warns(plugins.PluginWarning, match="register\\(\\) takes a BackboneSpec, got dict"):
        build_registry(builtins() + [entry], strict=False)


def test_disable_autoload_keeps_builtins_only(make_plugin, monkeypatch):
    entry = make_plugin("rb_extra", GOOD.format(name="extra_net"))
    monkeypatch.setenv("RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = build_registry(builtins() + [entry])
    assert "extra_net" not in reg.backbones and "pixels" in reg.backbones
    assert [p.distribution for p in reg.plugins] == ["radiobench"] * len(reg.plugins)


def test_alias_resolves_to_its_backbone_and_cannot_be_taken_twice(make_plugin):
    source = """
    from radiobench import BackboneSpec, hookimpl
    @hookimpl
    def radiobench_register_backbones(register):
        register(BackboneSpec(name="{name}", factory="m:f", embed_dim=4, aliases=("{alias}",)))
    """
    a = make_plugin("rb_alias", source.format(name="net_v2", alias="net"))
    reg = build_registry(builtins() + [a])
    assert reg.backbone("net").spec.name == "net_v2"
    b = make_plugin("rb_alias2", GOOD.format(name="net"), dist="other-pkg")
    with pytest.warns(plugins.PluginWarning, match="'net' is registered by both rb-alias 1.0 .* and other-pkg"):
        reg = build_registry(builtins() + [a, b])
    assert reg.backbone("net").spec.name == "net_v2" and "net" not in reg.backbones


@pytest.mark.parametrize("call, shown", [("sys.exit(3)", "sys.exit(3)"), ("sys.exit()", "sys.exit()"),
                                         ("sys.exit('no GPU')", "sys.exit('no GPU')")])
def test_plugin_calling_sys_exit_at_import_is_skipped_not_fatal(make_plugin, call, shown):
    """SystemExit is no Exception: uncaught, one plugin's exit ended every command silently."""
    entry = make_plugin("rb_exits", f"import sys\n{call}\n", version="0.1")
    with pytest.warns(plugins.PluginWarning, match=rf"rb-exits 0.1 .* skipped: rb_exits called {re.escape(shown)} at import$"):
        reg = build_registry(builtins() + [entry], strict=False)
    assert "pixels" in reg.backbones
    assert next(p for p in reg.plugins if p.name == "rb_exits").error == f"rb_exits called {shown} at import"
    with pytest.raises(PluginError, match=r"rb-exits 0.1 .* failed: rb_exits called sys.exit"):
        build_registry([entry], strict=True)


def test_plugin_calling_sys_exit_while_registering_loses_only_its_own_specs(make_plugin):
    source = """
    import sys
    from radiobench import BackboneSpec, hookimpl
    @hookimpl
    def radiobench_register_backbones(register):
        register(BackboneSpec(name="exiting_net", factory="m:f", embed_dim=4))
        sys.exit(2)
    """
    entry = make_plugin("rb_exits_late", source)
    with pytest.warns(plugins.PluginWarning, match=r"skipped: radiobench_register_backbones called sys.exit\(2\)$"):
        reg = build_registry(builtins() + [entry], strict=False)
    assert "exiting_net" not in reg.backbones and "pixels" in reg.backbones


# -- the command line, with plugins installed the way pip leaves them (a dist-info on the path) --------------------


def installed(tmp_path, dist: str, module: str, source: str) -> dict:
    """``module`` as the whole of distribution ``dist``, discoverable through importlib.metadata; the env to run with."""
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
    info = tmp_path / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[radiobench]\n{module} = {module}\n")
    return {"PYTHONPATH": str(tmp_path)}


def test_the_plugins_command_survives_a_clashing_and_a_broken_plugin(tmp_path):
    from conftest import radiobench_cli

    env = installed(tmp_path, "knn-pkg", "rb_knn_clash", PROTOCOL_CLASH)
    installed(tmp_path, "broken-pkg", "rb_broken_cli", "raise RuntimeError('boom')")
    done = radiobench_cli("plugins", "--json", env=env)
    assert done.returncode == 0, done.stderr
    found = {p["distribution"]: p for p in json.loads(done.stdout)}
    assert "registered by both radiobench" in found["knn-pkg"]["notes"][0] and found["knn-pkg"]["error"] is None
    assert "RuntimeError: boom" in found["broken-pkg"]["error"]
    assert "protocol 'knn' is registered by both" in done.stderr  # said once, as a warning
    strict = radiobench_cli("plugins", "--json", env={**env, "RADIOBENCH_STRICT_PLUGINS": "1"})
    assert strict.returncode == 0, strict.stderr  # strict mode is for the other commands: here failures are rows
    assert "RuntimeError: boom" in {p["distribution"]: p for p in json.loads(strict.stdout)}["broken-pkg"]["error"]
    table = radiobench_cli("plugins", env={**env, "RADIOBENCH_STRICT_PLUGINS": "1"})
    assert table.returncode == 0 and "failed" in table.stdout and "registered by both" in table.stdout
    listing = radiobench_cli("list", "protocols", "--json", env=env)  # the rest of the tool works too
    assert listing.returncode == 0, listing.stderr
    protocols = {p["name"]: p for p in json.loads(listing.stdout)["protocols"]}
    assert protocols["knn"]["plugin"] == "radiobench" and protocols["own_probe"]["plugin"] == "knn-pkg"
    assert radiobench_cli("list", env={**env, "RADIOBENCH_STRICT_PLUGINS": "1"}).returncode == 1  # strict elsewhere


def test_the_plugins_command_shows_disabled_plugins(tmp_path):
    from conftest import radiobench_cli

    env = installed(tmp_path, "knn-pkg", "rb_knn_off", PROTOCOL_CLASH)
    done = radiobench_cli("plugins", env={**env, "RADIOBENCH_DISABLE_PLUGINS": "knn-pkg"})
    assert done.returncode == 0 and done.stderr == ""
    row = next(line for line in done.stdout.splitlines() if "rb_knn_off" in line)
    assert "disabled" in row

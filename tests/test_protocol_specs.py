"""Protocols are specs like backbones and tasks: typed options, checked before any work, recorded in results."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass

import numpy as np
import pytest

from radiobench.api import ConformanceError, Predicted, Protocol, ProtocolOption, ProtocolSpec, check_protocol
from radiobench.registry import Registered
from radiobench.run import RunOptions, run_pair
from radiobench.run.options import protocol_options_argument
from radiobench.specs import OptionError
from radiobench.testing import _TEST_PLUGIN, registry_with


@dataclass
class Centroid(Protocol):
    """Nearest class centroid in cosine similarity, softened by ``temperature``."""

    temperature: float = 1.0
    normalise: bool = True

    def fit_predict(self, task, x_train, y_train, x_test, seed, validation=None):
        def unit(x):
            return x / np.linalg.norm(x, axis=1, keepdims=True) if self.normalise else x

        classes = np.unique(y_train)
        centroids = unit(np.stack([x_train[y_train == c].mean(0) for c in classes]))
        logits = unit(x_test) @ centroids.T / self.temperature
        proba = np.exp(logits - logits.max(1, keepdims=True))
        proba /= proba.sum(1, keepdims=True)
        return Predicted(classes[proba.argmax(1)], proba.astype(np.float32), classes), {"classes": int(len(classes))}


CENTROID = ProtocolSpec(
    name="centroid", factory=f"{__name__}:Centroid", version="1", kinds=("classification",),
    description="nearest class centroid",
    options={"temperature": ProtocolOption(1.0, help="softmax temperature"), "normalise": True},
)


def registry():
    reg = registry_with()
    reg.protocols["centroid"] = Registered(CENTROID, _TEST_PLUGIN)
    return reg


@pytest.fixture
def opts(tmp_path):
    def make(**kw):
        return RunOptions(**{"results_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "device": "cpu",
                             "protocols": ["centroid"], "data_root": tmp_path, "seeds": 2, **kw})
    return make


# -- the spec -----------------------------------------------------------------------------------------------------


def test_option_types_come_from_the_defaults_or_are_declared():
    spec = ProtocolSpec(name="p", factory="m:C", version="1", kinds=("classification",), options={
        "k": 5, "t": 0.5, "on": False, "how": ProtocolOption("a", choices=("a", "b")), "grid": [0.1, 1],
        "cap": ProtocolOption(None, type="int")})
    assert {n: o.type for n, o in spec.option_specs.items()} == \
        {"k": "int", "t": "float", "on": "bool", "how": "str", "grid": "floats", "cap": "int"}
    assert [spec.parse(n, v) for n, v in [("k", "7"), ("t", "2"), ("on", "yes"), ("how", "b"), ("grid", "1,2.5"),
                                          ("cap", "none")]] == [7, 2.0, True, "b", [1.0, 2.5], None]
    assert spec.values({"k": 3})["k"] == 3 and spec.values()["grid"] == [0.1, 1.0]


@pytest.mark.parametrize("name, text, message", [
    ("k", "five", r"option 'p.k' takes an integer, got 'five'"),
    ("t", "nan", r"option 'p.t' takes a finite number, got nan"),
    ("on", "maybe", r"option 'p.on' takes true or false, got 'maybe'"),
    ("how", "c", r"option 'p.how' takes one of a, b, got c"),
    ("kk", "1", r"protocol 'p' has no option 'kk'; its options: how, k, on, t"),
])
def test_a_bad_value_names_the_option_and_what_it_takes(name, text, message):
    spec = ProtocolSpec(name="p", factory="m:C", version="1", kinds=("classification",),
                        options={"k": 5, "t": 0.5, "on": False, "how": ProtocolOption("a", choices=("a", "b"))})
    with pytest.raises(OptionError, match=f"^{message}$") as caught:
        spec.parse(name, text)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("bad, message", [
    ({"kinds": ("counting",)}, "kinds must be among"),
    ({"kinds": ()}, "kinds must be among"),
    ({"name": "main"}, "'main'"),
    ({"factory": "no_colon"}, "module:callable"),
    ({"options": {"x": None}}, "cannot tell an option's type"),
    ({"options": {"not-an-identifier": 1}}, "Python identifiers"),
    ({"kind_versions": {"ranking": "2"}}, "kind_versions names kinds it does not apply to: ranking"),
])
def test_a_malformed_spec_is_refused_when_made(bad, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CENTROID, **bad)


def test_only_options_other_than_their_defaults_name_the_result():
    assert CENTROID.id_suffix() == CENTROID.id_suffix({"temperature": 1.0}) == ""
    assert CENTROID.id_suffix({"temperature": 0.5, "normalise": False}) == "@normalise=false@temperature=0.5"
    grid = ProtocolSpec(name="g", factory="m:C", version="1", kinds=("regression",), options={"grid": [1.0, 2.0]})
    assert grid.id_suffix({"grid": [1, 3]}).startswith("@") and len(grid.id_suffix({"grid": [1, 3]})) == 11


def test_builtin_specs_agree_with_their_classes_and_import_nothing():
    """The specs carry version, kinds and options so that listing never imports the protocols' code."""
    import subprocess

    code = ("import sys\nfrom radiobench.registry import get_registry\nr = get_registry()\n"
            "print(sorted(r.protocols), 'radiobench.protocols.linear' in sys.modules, 'sklearn' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split("]")[-1].split() == ["False", "False"], done.stderr
    from radiobench.registry import get_registry

    for name, registered in get_registry().protocols.items():
        spec, cls = registered.spec, registered.spec.resolve()
        assert (spec.version, spec.kinds, spec.kind_versions) == (cls.version, tuple(cls.kinds), dict(cls.kind_versions))
        assert spec.build().describe() == cls().describe(), name  # the defaults record as before
        assert set(spec.option_specs) <= set(cls().describe()), name


# -- check_protocol --------------------------------------------------------------------------------------------


def test_check_protocol_passes_the_builtins_and_a_plugin_protocol():
    check_protocol(CENTROID)
    check_protocol(CENTROID, options={"temperature": 0.1})
    for name in ("knn", "knn-distance", "iforest", "detect"):
        check_protocol(name)


@dataclass
class Forgetful(Centroid):
    def describe(self):
        return {"normalise": self.normalise}  # temperature is not recorded


@dataclass
class Noisy(Centroid):
    def fit_predict(self, task, x_train, y_train, x_test, seed, validation=None):
        return np.random.default_rng().integers(0, 2, len(x_test)), {}


@dataclass
class Peeking(Protocol):
    supervised = False

    def fit_predict(self, task, x_train, y_train, x_test, seed, validation=None):
        return x_test[:, 0] + float(np.sum(y_train)), {}


class NotAProtocol:
    pass


@pytest.mark.parametrize("cls, kinds, message", [
    ("Forgetful", ("classification",), r"option 'temperature' was set to 1.0 but describe\(\) records '\(nothing\)'"),
    ("Noisy", ("classification",), r"seed 0 gave different predictions on two runs"),
    ("Peeking", ("ranking",), r"supervised = False, but its predictions change with the training labels"),
    ("NotAProtocol", ("classification",), r"must name a radiobench.api.Protocol \(or MapProtocol\) subclass"),
    ("Centroid", ("detection",), r"a Protocol cannot run on detection tasks"),
    ("Missing", ("classification",), r"does not import: AttributeError"),
])
def test_check_protocol_names_the_broken_rule(cls, kinds, message):
    options = {} if cls == "Peeking" or cls == "NotAProtocol" else CENTROID.options
    spec = dataclasses.replace(CENTROID, factory=f"{__name__}:{cls}", kinds=kinds, options=options)
    with pytest.raises(ConformanceError, match=message):
        check_protocol(spec)


# -- options in a run ------------------------------------------------------------------------------------------


def test_options_are_recorded_and_name_the_result(opts):
    reg = registry()
    (default,) = run_pair(reg, "fake_backbone", "fake_task", opts())
    (cooler,) = run_pair(reg, "fake_backbone", "fake_task", opts(protocol_options={"centroid": {"temperature": 0.25}}))
    assert (default.status, cooler.status) == ("done", "done")
    assert default.path.name == "fake_backbone__fake_task__centroid.json"
    assert cooler.path.name == "fake_backbone__fake_task__centroid@temperature=0.25.json"
    recorded = json.loads(cooler.path.read_text())["protocol"]
    assert recorded["name"] == "centroid" and recorded["id"] == "centroid@temperature=0.25"
    assert recorded["params"] == {"temperature": 0.25, "normalise": True}
    assert json.loads(default.path.read_text())["protocol"]["params"] == {"temperature": 1.0, "normalise": True}
    (again,) = run_pair(reg, "fake_backbone", "fake_task", opts(protocol_options={"centroid": {"temperature": 0.25}}))
    assert again.status == "skipped"  # the same options answer the same request


def test_a_result_with_other_params_does_not_answer(opts):
    """A plugin that changes a default without bumping its version: the recorded params differ, so it refits."""
    reg = registry()
    (first,) = run_pair(reg, "fake_backbone", "fake_task", opts())
    reg.protocols["centroid"] = Registered(dataclasses.replace(CENTROID, options={**CENTROID.options, "normalise": False}),
                                           _TEST_PLUGIN)
    (second,) = run_pair(reg, "fake_backbone", "fake_task", opts())
    assert (first.status, second.status) == ("done", "done") and first.path == second.path
    assert json.loads(second.path.read_text())["protocol"]["params"]["normalise"] is False


def test_programmatic_options_are_checked_before_any_work(tmp_path):
    with pytest.raises(OptionError, match=r"option 'centroid.temperature' takes a finite number, got 'hot'"):
        RunOptions.validated(registry(), ["fake_backbone"], ["fake_task"], protocols=["centroid"],
                             protocol_options={"centroid": {"temperature": "hot"}}, results_dir=tmp_path)


@pytest.mark.parametrize("items, protocols, message", [
    (["temperature"], ["centroid"], r"'temperature': expected NAME=VALUE or PROTOCOL.NAME=VALUE \(options of this run: "
                                    r"centroid.temperature, centroid.normalise\)"),
    (["k=5"], ["centroid"], r"no protocol of this run \(centroid\) has an option 'k'; the options: centroid.temperature"),
    (["centroid.temperature=warm"], ["centroid"], r"'centroid.temperature=warm': option 'centroid.temperature' takes "
                                                  r"a finite number, got 'warm'"),
    (["knn.k=5"], ["centroid"], r"protocol 'knn' is not run here \(the run's protocols: centroid\)"),
    (["knn.k=5.5"], ["knn"], r"option 'knn.k' takes an integer, got '5.5'"),
    (["linear.max_iter=10"], ["main", "knn"], None),
])
def test_protocol_option_arguments(items, protocols, message):
    reg = registry()
    if message is None:
        assert protocol_options_argument(reg, items, protocols, ["fake_task"]) == {"linear": {"max_iter": 10}}
        return
    with pytest.raises(OptionError, match=message) as caught:
        protocol_options_argument(reg, items, protocols, ["fake_task"])
    assert caught.value.exit_code == 2


def test_a_bare_option_name_sets_it_on_every_protocol_of_the_run_that_has_it():
    got = protocol_options_argument(registry(), ["k=7", "metric=euclidean"], ["knn", "knn-distance", "centroid"],
                                    ["fake_task"])
    assert got == {"knn": {"k": 7, "metric": "euclidean"}, "knn-distance": {"k": 7, "metric": "euclidean"}}


def test_unknown_protocol_in_an_option_is_named_with_the_nearest():
    from radiobench.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="Unknown protocol 'centriod'. Did you mean 'centroid'"):
        protocol_options_argument(registry(), ["centriod.temperature=1"], ["centroid"], ["fake_task"])

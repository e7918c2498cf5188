"""Re-runs answer the right question: every identity that decides a number is compared, never trusted.

Each test reproduces a way a re-run used to hand back stale features or an old result
(see the issue "One pair pipeline, a typed result record ...") and fails on the code before it.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from radiobench.run import Progress, RunOptions, run_pair
from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec
from radiobench.tasks.base import Split, Task
from radiobench.testing import registry_with


class Notes(Progress):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


@pytest.fixture(autouse=True)
def clean_checkout(monkeypatch):
    from radiobench.results import provenance

    monkeypatch.setattr(provenance, "git_state", lambda *a: {"git_commit": "0" * 40, "git_dirty": False})


@pytest.fixture
def opts(tmp_path):
    def make(**kw):
        settings = {"results_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "device": "cpu",
                    "protocols": ["linear"], "data_root": tmp_path / "data", "seeds": 2, **kw}
        return RunOptions(**settings)
    return make


PLUGIN_MODULE = '''
import torch
from radiobench.models.backbone import Backbone


class Net(Backbone):
    """Pooled pixels through a fixed random projection and an activation: the code under test."""

    def embed(self, images):
        pooled = torch.nn.functional.adaptive_avg_pool2d(images.mean(1, keepdim=True), 4).flatten(1)
        weight = torch.linspace(-1, 1, 16 * 16).reshape(16, 16)
        return torch.nn.functional.{activation}(pooled @ weight * 8)
'''


def test_a_code_only_backbone_whose_code_changed_does_not_reuse_its_features(tmp_path, opts, monkeypatch):
    """ReLU -> GELU in a weight-free plugin: new features, a replaced result, the score of a fresh cache."""
    module = tmp_path / "code" / "rb_codeplugin.py"
    module.parent.mkdir()
    monkeypatch.syspath_prepend(str(module.parent))
    spec = BackboneSpec(name="code_net", factory="rb_codeplugin:Net", embed_dim=16,
                        input=InputContract(channels=1, size=16, mean=(0.5,), std=(0.25,), interpolation="bilinear"),
                        weights=WeightsSpec(kind="none"))

    def run(activation, **kw):
        module.write_text(PLUGIN_MODULE.format(activation=activation))
        sys.modules.pop("rb_codeplugin", None)  # a new process in real life
        notes = Notes()
        (outcome,) = run_pair(registry_with(spec), "code_net", "fake_task", opts(**kw), notes)
        return outcome, json.loads(outcome.path.read_text()), notes

    first, relu, _ = run("relu")
    again, gelu, notes = run("gelu")
    assert again.status == "done" and "backbone code" in notes.lines[0]
    assert gelu["cache"]["train"]["hit"] is False and gelu["cache"]["train"]["key"] != relu["cache"]["train"]["key"]
    fresh, alone, _ = run("gelu", cache_dir=tmp_path / "fresh-cache", results_dir=tmp_path / "fresh-results")
    assert gelu["metrics"]["error"]["per_seed"] == alone["metrics"]["error"]["per_seed"]
    assert gelu["backbone"]["code"]["source_sha256"] == hashlib.sha256(module.read_bytes()).hexdigest()


class FieldTask(Task):
    """Items read from ``*.npy`` files in the data folder: the data identity covers every file."""

    pixel_range = (0, 255)

    def prepare(self, root, download=False):
        self.files = sorted((Path(root) / "fields").glob("*.npy"))
        digest = hashlib.sha256()
        for path in self.files:
            digest.update(path.name.encode() + path.read_bytes())
        self._sha = digest.hexdigest()

    @property
    def data_sha256(self):
        return self._sha

    def load_split(self, split):
        images = np.concatenate([np.load(p) for p in self.files])
        labels = np.arange(len(images)) % 2
        half = len(images) // 2
        rows = np.arange(half) if split == "train" else np.arange(half, len(images))
        return Split(images[rows], labels[rows], [f"{split}-{i}" for i in rows])


FIELD_TASK = TaskSpec(name="field_task", factory=f"{__name__}:FieldTask", version="1", kind="classification",
                      main_score="error", higher_is_better=False, scaling="uint8 / 255", classes=("a", "b"),
                      options={"beam_deg": None})


@pytest.fixture
def fields(tmp_path):
    folder = tmp_path / "data" / "fields"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        np.save(folder / f"field_{i}.npy", rng.integers(0, 255, (20, 16, 16), dtype=np.uint8))
    return folder


def test_removing_a_field_replaces_the_result(opts, fields):
    reg = registry_with(FIELD_TASK)
    (first,) = run_pair(reg, "fake_backbone", "field_task", opts())
    (fields / "field_2.npy").unlink()
    notes = Notes()
    (again,) = run_pair(reg, "fake_backbone", "field_task", opts(), notes)
    assert first.status == again.status == "done"
    assert notes.lines and "data sha256" in notes.lines[0]
    assert json.loads(again.path.read_text())["task"]["test_count"] == 20  # 40 items left, half tested


def test_other_task_options_replace_the_result(opts, fields):
    reg = registry_with(FIELD_TASK)
    run_pair(reg, "fake_backbone", "field_task", opts())
    notes = Notes()
    (again,) = run_pair(reg, "fake_backbone", "field_task",
                        opts(task_options={"field_task": {"beam_deg": [0.002, 0.002, 0.0]}}), notes)
    assert again.status == "done" and "task options" in notes.lines[0]
    assert json.loads(again.path.read_text())["task"]["options"] == {"beam_deg": [0.002, 0.002, 0.0]}


def test_seeds_are_not_kept_from_a_file_whose_values_do_not_add_up(opts):
    (first,) = run_pair(registry_with(), "fake_backbone", "fake_task", opts())
    res = json.loads(first.path.read_text())
    res["metrics"]["error"]["per_seed"][0] = 0.0  # hand-edited: the mean no longer matches
    first.path.write_text(json.dumps(res))
    notes = Notes()
    (again,) = run_pair(registry_with(), "fake_backbone", "fake_task", opts(seeds=3), notes)
    assert again.status == "done" and "metrics.error" in notes.lines[0]
    rerun = json.loads(again.path.read_text())
    assert rerun["seeds_kept"] == [] and rerun["metrics"]["error"]["per_seed"][0] != 0.0


def test_explicit_weights_follow_an_alias_to_its_backbone(tmp_path, opts):
    """--backbone ALIAS --weights F: the file is looked up under the backbone the alias names."""
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"weights")
    spec = BackboneSpec(name="learned_net", factory="radiobench.testing:FakeBackbone", embed_dim=16,
                        aliases=("ln",), input=InputContract(channels=1, size=16, mean=(0.5,), std=(0.25,),
                                                             interpolation="bilinear"),
                        weights=WeightsSpec(kind="url", url="https://example.invalid/w.bin", filename="w.bin"))
    reg = registry_with(spec)
    options = RunOptions.validated(reg, ["ln"], ["fake_task"], **{**vars(opts()), "weights": {"ln": str(weights)}})
    assert options.weights == {"learned_net": str(weights)}
    (done,) = run_pair(reg, "ln", "fake_task", options)
    recorded = json.loads(done.path.read_text())["backbone"]["weights"]
    assert recorded["identity"] == "sha256:" + hashlib.sha256(b"weights").hexdigest()
    assert recorded["file"]["source"] == "explicit"


def test_overwrite_refits_from_the_cache_and_refresh_features_extracts_again(opts):
    run_pair(registry_with(), "fake_backbone", "fake_task", opts())
    (refit,) = run_pair(registry_with(), "fake_backbone", "fake_task", opts(overwrite=True))
    assert json.loads(refit.path.read_text())["cache"]["train"]["hit"] is True
    (fresh,) = run_pair(registry_with(), "fake_backbone", "fake_task", opts(overwrite=True, refresh_features=True))
    assert json.loads(fresh.path.read_text())["cache"]["train"]["hit"] is False

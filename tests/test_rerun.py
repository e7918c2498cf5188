"""Re-running: a finished result is skipped only when it measured what this run asks for."""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from radiobench.protocols.linear import Linear
from radiobench.run import Progress as Hooks
from radiobench.run import RunOptions, run_pair
from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec
from radiobench.tasks.base import Split, Task
from radiobench.testing import registry_with


class Notes(Hooks):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


@pytest.fixture(autouse=True)
def clean_checkout(monkeypatch):
    """Seeds are only kept across runs of the same clean code; pin what git says either way."""
    from radiobench.results import provenance

    state = {"git_commit": "0" * 40, "git_dirty": False}
    monkeypatch.setattr(provenance, "git_state", lambda *a: dict(state))
    return state


@pytest.fixture
def opts(tmp_path):
    def make(**kw):
        settings = {"results_dir": tmp_path / "results", "cache_dir": tmp_path / "cache", "device": "cpu",
                    "protocols": ["linear"], "data_root": tmp_path / "data", "seeds": 2, **kw}
        return RunOptions(**settings)
    return make


def run(options, hooks=None):
    (outcome,) = run_pair(registry_with(), "fake_backbone", "fake_task", options, hooks)
    return outcome


def test_the_same_request_is_skipped(opts):
    first = run(opts())
    before = first.path.read_text()
    again = run(opts())
    assert (first.status, again.status) == ("done", "skipped") and first.path.read_text() == before


@pytest.mark.parametrize("change, why", [
    ({"seeds": 3}, "seeds [0, 1] -> [0, 1, 2]"),
    ({"precision": "bf16"}, "precision fp32 -> bf16"),
])
def test_a_result_of_other_settings_is_replaced_and_the_reason_said(opts, change, why):
    run(opts())
    notes = Notes()
    again = run(opts(**change), notes)
    assert again.status == "done"
    assert notes.lines[0] == f"replacing fake_backbone__fake_task__linear.json: it does not answer this run ({why})"
    assert json.loads(again.path.read_text())["seeds"] == list(range(change.get("seeds", 2)))


def fits(monkeypatch):
    seen = []
    original = Linear.fit_predict_all

    def counting(self, task, jobs):
        seen.extend(job.seed for job in jobs)
        return original(self, task, jobs)

    monkeypatch.setattr(Linear, "fit_predict_all", counting)
    return seen


def test_more_seeds_fit_only_the_new_ones_and_keep_the_old_numbers(opts, monkeypatch):
    first = json.loads(run(opts()).path.read_text())
    seen, notes = fits(monkeypatch), Notes()
    again = json.loads(run(opts(seeds=4), notes).path.read_text())
    assert notes.lines[-1] == "linear: seeds [0, 1] kept from the earlier result, fitting [2, 3]"
    assert set(seen) == {2, 3}  # seeds 0 and 1 were not refitted (one job per seed here)
    assert again["seeds"] == [0, 1, 2, 3] and again["seeds_kept"] == [0, 1]
    assert again["metrics"]["error"]["per_seed"][:2] == first["metrics"]["error"]["per_seed"]
    assert len(again["metrics"]["error"]["per_seed"]) == 4 and len(again["protocol"]["chosen_per_seed"]) == 4
    fewer = json.loads(run(opts(seeds=1)).path.read_text())
    assert fewer["seeds_kept"] == [0] and fewer["metrics"]["error"]["per_seed"] == first["metrics"]["error"]["per_seed"][:1]


def test_seeds_are_not_kept_from_other_code(opts, monkeypatch, clean_checkout):
    run(opts())
    clean_checkout["git_dirty"] = True  # uncommitted edits: the earlier fits may not be reproducible
    seen = fits(monkeypatch)
    again = json.loads(run(opts(seeds=3)).path.read_text())
    assert sorted(seen) == [0, 1, 2] and again["seeds_kept"] == []


def test_a_result_of_an_older_protocol_version_is_replaced(opts, monkeypatch):
    import dataclasses

    from radiobench.registry import get_registry

    run(opts())
    linear = get_registry().protocols["linear"]  # the spec, not the class, carries the version a result records
    monkeypatch.setitem(get_registry().protocols, "linear", dataclasses.replace(linear, spec=dataclasses.replace(
        linear.spec, version="99")))
    notes = Notes()
    assert run(opts(), notes).status == "done"
    assert "protocol version 4 -> 99" in notes.lines[0]
    assert json.loads((opts().results_dir / "fake_backbone__fake_task__linear.json").read_text())["seeds_kept"] == []
    assert json.loads((opts().results_dir / "fake_backbone__fake_task__linear.json").read_text())["protocol"]["version"] == "99"


def test_an_unseeded_result_is_not_rerun_for_more_seeds(opts):
    # a classical source finder runs once, so its single run answers any --seeds
    path = run(opts(seeds=1)).path
    res = json.loads(path.read_text())
    res.update(seeded=False)
    path.write_text(json.dumps(res))
    assert run(opts(seeds=5)).status == "skipped"


def test_overwrite_reruns_regardless(opts):
    run(opts())
    assert run(opts(overwrite=True)).status == "done"


# Re-runs that answered the wrong question before the pair pipeline: each fails on c6ad17c.

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

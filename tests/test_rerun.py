"""Re-running: a finished result is skipped only when it measured what this run asks for."""

import json

import pytest

from radiobench.protocols.linear import Linear
from radiobench.runner import Hooks, RunOptions, run_pair
from radiobench.testing import registry_with


class Notes(Hooks):
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


@pytest.fixture
def opts(tmp_path):
    def make(**kw):
        return RunOptions(results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", device="cpu",
                          protocols=("linear",), **{"seeds": 2, **kw})
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
    assert notes.lines == [f"replacing fake_backbone__fake_task__linear.json: it does not answer this run ({why})"]
    assert json.loads(again.path.read_text())["seeds"] == list(range(change.get("seeds", 2)))


def test_a_result_of_an_older_protocol_version_is_replaced(opts, monkeypatch):
    run(opts())
    monkeypatch.setattr(Linear, "version", "99")
    notes = Notes()
    assert run(opts(), notes).status == "done"
    assert "protocol.version 3 -> 99" in notes.lines[0]
    assert json.loads((opts().results_dir / "fake_backbone__fake_task__linear.json").read_text())["protocol"]["version"] == "99"


def test_an_unseeded_result_is_not_rerun_for_more_seeds(opts):
    # a classical source finder runs once, so its single run answers any --seeds
    path = run(opts()).path
    res = json.loads(path.read_text())
    res.update(seeded=False, seeds=[0])
    path.write_text(json.dumps(res))
    assert run(opts(seeds=5)).status == "skipped"


def test_overwrite_reruns_regardless(opts):
    run(opts())
    assert run(opts(overwrite=True)).status == "done"

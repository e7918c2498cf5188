"""Re-running: a finished result is skipped only when it measured what this run asks for."""

import json

import pytest

from radiobench.protocols.linear import Linear
from radiobench.run import Progress as Hooks
from radiobench.run import RunOptions, run_pair
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
    run(opts())
    monkeypatch.setattr(Linear, "version", "99")
    notes = Notes()
    assert run(opts(), notes).status == "done"
    assert "protocol version 3 -> 99" in notes.lines[0]
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

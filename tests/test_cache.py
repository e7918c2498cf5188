import numpy as np
import pytest

from radiobench.run.cache import CacheEntry, cache_key
from radiobench.kinds import get_kind
from radiobench.registry import Registered
from radiobench.run import RunOptions
from radiobench.run.pair import Pair
from radiobench.specs import InputContract
from radiobench.testing import _TEST_PLUGIN, FAKE_BACKBONE, FAKE_TASK, FakeTask

import dataclasses


def fields(**changes):
    backbone = changes.pop("backbone", FAKE_BACKBONE)
    task = FakeTask(changes.pop("task", FAKE_TASK), **changes.pop("task_options", {}))
    opts = RunOptions(**changes.pop("opts", {}))
    weights_id = changes.pop("weights_id", "none")
    code = changes.pop("code", {"spec_version": "1", "module_sha256": "0" * 64})
    pair = Pair(Registered(backbone, _TEST_PLUGIN), Registered(task.spec, _TEST_PLUGIN), opts, get_kind(task.spec.kind),
                task, code, weights_id, None, None, channels=changes.pop("channels", 1))
    return pair.cache_fields(changes.pop("split", "train"))


@pytest.mark.parametrize("change", [
    {"backbone": dataclasses.replace(FAKE_BACKBONE, name="other")},
    {"weights_id": "sha256:" + "1" * 64},
    {"code": {"spec_version": "1", "module_sha256": "1" * 64}},  # the backbone's code changed (ReLU -> GELU)
    {"backbone": dataclasses.replace(FAKE_BACKBONE, input=InputContract(channels=1, size=32, mean=(0.5,), std=(0.25,)))},
    {"backbone": dataclasses.replace(FAKE_BACKBONE, options={"arch": "x"})},
    {"task": dataclasses.replace(FAKE_TASK, version="2")},
    {"task": dataclasses.replace(FAKE_TASK, data_sha256="other")},
    {"task": dataclasses.replace(FAKE_TASK, scaling="asinh")},
    {"task_options": {"beam_deg": [0.001, 0.001, 0]}},
    {"split": "test"},
    {"channels": 3},
    {"opts": {"limit": 10}},
    {"opts": {"precision": "bf16"}},
])
def test_every_feature_changing_field_changes_the_key(change):
    assert cache_key(fields(**change)) != cache_key(fields())


def test_key_ignores_what_does_not_change_features():
    assert cache_key(fields(opts={"seeds": 3, "batch_size": 7, "protocols": ["knn"]})) == cache_key(fields())


def test_round_trip_and_mismatch(tmp_path):
    entry = CacheEntry.for_fields(fields(), tmp_path)
    feats, labels = np.random.rand(5, 16).astype(np.float32), np.arange(5)
    assert entry.load(5) is None
    entry.save(feats, labels)
    got = entry.load(5)
    assert got is not None and np.array_equal(got[0], feats)
    with pytest.warns(UserWarning, match="does not match"):
        assert entry.load(6) is None  # wrong row count: a miss, and the entry is dropped
    assert not entry.path.exists()


def test_killed_write_leaves_no_entry(tmp_path, monkeypatch):
    entry = CacheEntry.for_fields(fields(), tmp_path)

    def dies_midway(handle, **arrays):
        handle.write(b"PK\x03\x04 half an npz")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", dies_midway)
    with pytest.raises(KeyboardInterrupt):
        entry.save(np.zeros((2, 16), np.float32), np.zeros(2))
    assert not entry.path.exists()
    assert list(entry.path.parent.iterdir()) == []  # temporary file removed too


def test_corrupt_entry_is_a_miss_not_a_crash(tmp_path):
    entry = CacheEntry.for_fields(fields(), tmp_path)
    entry.path.parent.mkdir(parents=True)
    entry.path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable feature cache entry"):
        assert entry.load(2) is None

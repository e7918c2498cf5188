"""RadioGalaxyDataset on the real release, and a damaged file that must fail cleanly."""

import io
import zipfile

import h5py
import numpy as np
import pytest

from radiobench.errors import ChecksumError, RadiobenchError
from radiobench.registry import get_registry
from radiobench.run import RunOptions, build_task, run_pair


@pytest.fixture(scope="module")
def task(shared_data):
    t = build_task(get_registry().task("rgd"))
    t.prepare(shared_data)
    return t


def test_literature_split_and_classes_match_the_publication(task):
    sizes = {s: len(task.load_split(s)) for s in ("train", "valid", "test")}
    assert sizes == {"train": 1758, "valid": 200, "test": 200}
    assert np.bincount(task.load_split("test").labels).tolist() == [50, 50, 50, 50]
    assert np.bincount(task.load_split("train").labels).tolist() == [395, 824, 291, 248]
    train = task.load_split("train")
    assert train.images.shape[1:] == (300, 300) and train.images.dtype == np.uint8
    assert sum("MiraBest" in i or i.startswith(("100_", "200_")) for i in train.ids) > 0


def test_per_class_recall_is_reported(task):
    y = np.array([0, 1, 2, 3, 3])
    scores = task.score(y, np.array([0, 1, 2, 3, 0]))
    assert scores["recall_Bent"] == 0.5 and scores["recall_FRI"] == 1.0 and "f1_macro" in scores


@pytest.mark.slow
def test_pixels_probe_is_above_chance(shared_data, tmp_path):
    opts = RunOptions(seeds=2, data_root=shared_data, results_dir=tmp_path, limit=600)
    [outcome] = run_pair(get_registry(), "pixels", "rgd", opts)
    assert outcome.status == "done"
    import json

    result = json.loads(outcome.path.read_text())
    assert result["main_score"]["name"] == "f1_macro" and result["main_score"]["higher_is_better"]
    assert result["metrics"]["f1_macro"]["mean"] > 0.35  # chance is 0.25 for four balanced test classes


def _zip_with_h5(path, split_key="Split_literature"):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5:
        g = h5.create_group("data_0")
        g.create_dataset("Img", data=np.zeros((300, 300), np.uint8))
        g.create_dataset("Label_literature", data=0.0)
        g.create_dataset(split_key, data=b"train")
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("galaxy_data_h5.h5", buffer.getvalue())


def test_wrong_split_key_is_a_clear_error_and_nothing_is_cached(tmp_path, monkeypatch):
    folder = tmp_path / "rgd"
    folder.mkdir()
    _zip_with_h5(folder / "galaxy_data_h5.zip", split_key="Split_CDL2")
    t = build_task(get_registry().task("rgd"))
    with pytest.raises(ChecksumError):  # a different file never passes the published checksum
        t.prepare(tmp_path)
    # past the checksum (as a modified release would be), the reader names what is missing
    monkeypatch.setattr("radiobench_plugins.rgd.task.datafiles.read_verified", lambda path, *a, **k: path.read_bytes())
    t.prepare(tmp_path)
    with pytest.raises(RadiobenchError, match=r"source 'data_0' lacks Split_literature/Label_literature/Img"):
        t.load_split("train")
    cache = tmp_path / "cache"
    monkeypatch.setenv("RADIOBENCH_CACHE", str(cache))
    with pytest.raises(RadiobenchError):
        run_pair(get_registry(), "pixels", "rgd", RunOptions(data_root=tmp_path, results_dir=tmp_path / "r", seeds=1))
    assert not cache.exists() and not (tmp_path / "r").exists()


def test_wheel_copy_is_used_when_the_data_root_lacks_the_file(shared_data, tmp_path, monkeypatch):
    monkeypatch.setattr("radiobench_plugins.rgd.task.wheel_copy", lambda name: shared_data / "rgd" / name)
    t = build_task(get_registry().task("rgd"))
    t.prepare(tmp_path)
    assert len(t.load_split("test")) == 200


@pytest.mark.slow
def test_cv_fold_uses_the_fold_file_and_the_cv_test_file(shared_data):
    t = build_task(get_registry().task("rgd_cv2"))
    t.prepare(shared_data)
    train, valid, test = (t.load_split(s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (1405, 353, 400)
    other = build_task(get_registry().task("rgd_cv3"))
    other.prepare(shared_data)
    assert set(other.load_split("valid").ids).isdisjoint(valid.ids)  # folds validate on different sources
    assert set(other.load_split("test").ids) == set(test.ids)  # and share one test file


def test_task_all_leaves_out_the_cv_variants():
    from radiobench.cli.running import select_tasks

    chosen = select_tasks(get_registry(), "all")
    assert {"mirabest", "rgd"} <= set(chosen) and not any(n.startswith("rgd_cv") for n in chosen)
    assert select_tasks(get_registry(), "rgd_cv1,rgd") == ["rgd_cv1", "rgd"]

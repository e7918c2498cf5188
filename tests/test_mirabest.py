"""The real MiraBest Confident benchmark, read from the official batches."""

import numpy as np
import pytest

from radiobench.registry import get_registry
from radiobench.run import build_task


@pytest.fixture(scope="module")
def task(shared_data):
    t = build_task(get_registry().task("mirabest"))
    t.prepare(shared_data)
    return t


def test_split_sizes_and_classes_match_the_published_benchmark(task):
    train, test = task.load_split("train"), task.load_split("test")
    assert (len(train), len(test)) == (729, 104)  # 833 Confident FRI+FRII sources
    assert np.bincount(test.labels).tolist() == [49, 55]  # fine classes 100/102/104 vs 200/201
    assert train.images.shape[1:] == (150, 150) and train.images.dtype == np.uint8
    assert not set(train.ids) & set(test.ids)
    assert test.ids[0].startswith("100_")  # FRI fine class in the file name


def test_scaling_maps_uint8_to_unit_interval(task):
    scaled = task.scale(task.load_split("test").images)
    assert scaled.dtype == np.float32 and scaled.min() == 0.0 and scaled.max() == 1.0


def test_unknown_split_is_a_clear_error(task):
    with pytest.raises(Exception, match="splits train and test, not 'val'"):
        task.load_split("val")

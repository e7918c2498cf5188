"""check_task: the built-in-style tasks pass, and each broken rule is named with the split and the item."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from radiobench.api import ConformanceError, LazyImages, Split, Task, TaskSpec, check_task
from radiobench.errors import UnknownNameError

CLASSIFY = TaskSpec(name="mem", factory="tests:unused", version="1", kind="classification", main_score="error",
                    higher_is_better=False, classes=("FRI", "FRII"))
REGRESS = dataclasses.replace(CLASSIFY, kind="regression", main_score="mse", classes=())
RANK = dataclasses.replace(CLASSIFY, kind="ranking", main_score="average_precision", higher_is_better=True,
                           splits=("all",), classes=())
PARTITION = dataclasses.replace(CLASSIFY, splits=("all",), partition=(0.6, 0.2, 0.2))


def split(n: int = 8, prefix: str = "x", labels=None, side: int = 6, **kw) -> Split:
    images = np.random.default_rng(n).integers(0, 256, (n, side, side), dtype=np.uint8)
    labels = np.arange(n) % 2 if labels is None else np.asarray(labels)
    return Split(images, labels, [f"{prefix}{i}" for i in range(n)], **kw)


class MemTask(Task):
    """Serves whatever splits it was given: one rule broken per test."""

    pixel_range = (0, 255)

    def __init__(self, spec: TaskSpec, splits: dict[str, Split]):
        super().__init__(spec)
        self.splits = splits

    def prepare(self, root: Path, download: bool = False) -> None:
        self.root = Path(root)

    def load_split(self, name: str) -> Split:
        return self.splits[name]


def fixed(train: Split | None = None, test: Split | None = None, spec: TaskSpec = CLASSIFY) -> MemTask:
    return MemTask(spec, {"train": split(prefix="tr") if train is None else train,
                          "test": split(prefix="te") if test is None else test})


def check(task: Task, tmp_path: Path) -> None:
    check_task(task, data_root=tmp_path)


def test_well_formed_tasks_of_every_kind_pass(tmp_path):
    check(fixed(), tmp_path)
    check(fixed(split(labels=np.linspace(0, 1, 8), prefix="a"), split(labels=np.linspace(1, 2, 8), prefix="b"),
                spec=REGRESS), tmp_path)
    check(MemTask(RANK, {"all": split(10, labels=[-1, 1, 2, 5, 4, -1, 3, 1, 5, 2])}), tmp_path)
    check(MemTask(PARTITION, {"all": split(10, groups=np.arange(10) // 2)}), tmp_path)


def test_lazy_images_and_four_dimensional_layouts_pass(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 3, 5, 5), dtype=np.uint8)
    lazy = LazyImages(np.arange(8), (3, 5, 5), np.uint8, lambda rows: pixels[rows])
    test = Split(pixels, np.arange(8) % 2, [f"te{i}" for i in range(8)])
    check(fixed(Split(lazy, np.arange(8) % 2, [f"tr{i}" for i in range(8)]), test), tmp_path)


def test_a_task_with_its_own_scale_is_checked_after_scaling(tmp_path):
    class Asinh(MemTask):
        pixel_range = None

        def scale(self, pixels):
            return (np.arcsinh(pixels.astype(np.float32)) / np.arcsinh(np.float32(255))).astype(np.float32)

    check(Asinh(CLASSIFY, {"train": split(prefix="a"), "test": split(prefix="b")}), tmp_path)

    class Forgot(Asinh):
        def scale(self, pixels):
            return pixels.astype(np.float32)  # forgot to divide

    with pytest.raises(ConformanceError, match=r"split 'train': scale\(\) maps image 'a\d' span \[.*\], outside \[0, 1\]"):
        check(Forgot(CLASSIFY, {"train": split(prefix="a"), "test": split(prefix="b")}), tmp_path)


def test_through_the_registry_by_name(tmp_path, monkeypatch):
    from radiobench import registry
    from radiobench.testing import registry_with

    monkeypatch.setattr(registry, "get_registry", lambda: registry_with())
    check_task("fake_task", data_root=tmp_path)
    with pytest.raises(UnknownNameError, match="fake_tsk"):
        check_task("fake_tsk", data_root=tmp_path)


def bad_images(images: np.ndarray) -> Split:
    s = split(prefix="te")
    s.images = images  # past Split's own check, as a task mutating its split afterwards would be
    return s


class NoMain(MemTask):
    def score(self, y_true, y_pred):
        return {"accuracy": 1.0}


class NaNScore(MemTask):
    def score(self, y_true, y_pred):
        return {"error": float("nan"), "accuracy": 0.5}


class Raises(MemTask):
    def score(self, y_true, y_pred):
        raise ValueError("no positives")


FLOATS = np.random.default_rng(1).random((8, 6, 6)).astype(np.float32)
WITH_NAN = FLOATS.copy()
WITH_NAN[3, 2, 2] = np.nan


class UnitRange(MemTask):
    pixel_range = (0.0, 1.0)


@pytest.mark.parametrize("make, message", [
    (lambda: fixed(test=split(labels=[0, 1, 2, 0, 1, 0, 1, 0], prefix="te")),
     r"split 'test': item 'te2' has label 2, outside the 2 declared classes \(0..1: FRI, FRII\)"),
    (lambda: fixed(split(labels=[0, -1, 1, 0, 1, 0, 1, 0], prefix="tr")), r"split 'train': item 'tr1' has label -1"),
    (lambda: fixed(split(labels=np.arange(8.0) % 2, prefix="tr")), "classification labels must be integer class indices"),
    (lambda: fixed(spec=dataclasses.replace(CLASSIFY, classes=())), "must declare its classes"),
    (lambda: fixed(split(labels=[0.5, np.nan, 1, 2, 3, 4, 5, 6], prefix="tr"), split(labels=np.ones(8), prefix="te"),
                   spec=REGRESS), r"item 'tr1' has regression target nan; targets must be finite"),
    (lambda: fixed(split(labels=np.zeros(8), prefix="tr"), split(labels=[1, 2, np.inf, 0, 1, 2, 3, 4], prefix="te"),
                   spec=REGRESS), r"split 'test': item 'te2' has regression target inf"),
    (lambda: MemTask(RANK, {"all": split(6, labels=[1, 5, np.nan, -1, 4, 2])}),
     r"item 'x2' has ranking label nan; a ranking label is a finite score, or < 0 for an unlabelled item"),
    (lambda: MemTask(RANK, {"all": split(6, labels=[1, 5, np.inf, -1, 4, 2])}), r"item 'x2' has ranking label inf"),
    (lambda: MemTask(RANK, {"all": split(6, labels=[-1] * 6)}), "no item is labelled"),
    (lambda: fixed(Split(np.zeros((3, 4, 4), np.uint8), np.zeros(3, int), ["a", "b", "a"])),
     r"split 'train': id 'a' appears twice in this split"),
    (lambda: fixed(split(prefix="x"), split(prefix="x")), r"split 'test': id 'x0' appears also in split 'train'"),
    (lambda: fixed(Split(np.zeros((2, 4, 4), np.uint8), np.zeros(2, int), [1, 2])), r"ids must be strings, found 1"),
    (lambda: fixed(test=bad_images(np.zeros((8, 36), np.uint8))), r"images must be \(N, H, W\) or \(N, C, H, W\), got shape \(8, 36\)"),
    (lambda: fixed(test=bad_images(np.zeros((8, 2, 6, 6), np.uint8))), r"need 1 or 3 channels .*, got C=2"),
    (lambda: fixed(test=bad_images(np.zeros((8, 6, 6), bool))), "integer .* or floating dtype, got bool"),
    (lambda: UnitRange(CLASSIFY, {"train": Split(WITH_NAN, np.arange(8) % 2, [f"f{i}" for i in range(8)]),
                                  "test": Split(FLOATS, np.arange(8) % 2, [f"g{i}" for i in range(8)])}),
     r"split 'train': image 'f3' contains NaN"),
    (lambda: fixed(Split(np.zeros((0, 6, 6), np.uint8), np.zeros(0, int), [])), r"split 'train' is empty"),
    (lambda: MemTask(PARTITION, {"all": split(10)}), r"declares a grouped partition .* but the split has no groups"),
    (lambda: UnitRange(CLASSIFY, {"train": split(prefix="tr"), "test": split(prefix="te")}),
     r"split 'train': stored pixels of image 'tr0' span \[\d+, \d+\], outside \[0, 1\]; declare a pixel_range"),
    (lambda: fixed(test=Split(np.zeros((4, 3, 6, 6), np.uint8), np.arange(4) % 2, ["t0", "t1", "t2", "t3"])),
     r"splits differ in image channels \(train: 1 channel\(s\), test: 3 channel\(s\)\)"),
    (lambda: NoMain(CLASSIFY, {"train": split(prefix="a"), "test": split(prefix="b")}),
     r"score\(\) returned \['accuracy'\], without the declared main score 'error'"),
    (lambda: NaNScore(CLASSIFY, {"train": split(prefix="a"), "test": split(prefix="b")}),
     r"score\(\) returned error=nan on a trivial prediction; every metric must be a finite number"),
    (lambda: Raises(CLASSIFY, {"train": split(prefix="a"), "test": split(prefix="b")}),
     r"score\(\) failed on a trivial prediction: ValueError: no positives"),
], ids=["class-too-high", "class-negative", "float-classes", "no-classes", "regression-nan", "regression-inf",
        "ranking-nan", "ranking-inf", "ranking-unlabelled", "id-twice", "id-across-splits", "id-not-str", "ndim",
        "channels-2", "dtype", "nan-pixels", "empty", "no-groups", "pixel-range", "channels", "score-no-main", "score-nan",
        "score-raises"])
def test_each_broken_rule_is_named(make, message, tmp_path):
    with pytest.raises(ConformanceError, match=message):
        check(make(), tmp_path)


class Dup(MemTask):
    """Built through the registry (factory "test_check_task:Dup"): every id the same."""

    def __init__(self, spec: TaskSpec):
        super().__init__(spec, {"train": split(prefix="tr"), "test": split(prefix="te")})
        self.splits["train"].ids = ["same"] * 8


def test_messages_name_the_task_and_its_plugin(tmp_path, monkeypatch):
    from radiobench import registry
    from radiobench.testing import registry_with

    spec = dataclasses.replace(CLASSIFY, name="dup_task", factory="test_check_task:Dup")
    monkeypatch.setattr(registry, "get_registry", lambda: registry_with(spec))
    with pytest.raises(ConformanceError, match=r"^task 'dup_task' \(from radiobench-testing 0 \(entry point 'testing'\)\), "
                                               r"split 'train': id 'same' appears twice"):
        check_task("dup_task", data_root=tmp_path)

"""Long steps are visible: task and protocol code reach the run's bars through progress.stage; --limit cuts every split."""

from __future__ import annotations

import io

import numpy as np
import pytest

from radiobench.registry import get_registry
from radiobench.run import build_task
from radiobench.run.progress import Progress, reporting, stage


class Recorder(Progress):
    """Remembers each stage's label, total and the steps reported."""

    def __init__(self) -> None:
        self.stages: dict[str, list[int]] = {}

    def stage(self, label, total, unit):
        steps = self.stages.setdefault(label, [total, 0])
        steps[0] = total

        def advance(n=1):
            steps[1] += n

        return advance


def test_stage_reaches_the_pair_being_run_and_is_silent_outside_one():
    stage("nobody listens", 3)(1)  # outside a run: a no-op, no error
    recorder = Recorder()
    with reporting(recorder):
        step = stage("simulate", 2, "fields")
        step(1)
        step()
    assert recorder.stages == {"simulate": [2, 2]}
    stage("after", 1)(1)
    assert "after" not in recorder.stages


@pytest.mark.slow
def test_simulated_counting_fields_and_their_pybdsf_labels_report_per_field(tmp_path, monkeypatch):
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    recipe = {"n_fields": 2, "size": 512, "n_sources": 40, "pb_radius": 1.0}
    task = build_task(get_registry().task("sim_counts"), {"simulate": recipe, "processes": 1, "crop": 64})
    recorder = Recorder()
    with reporting(recorder):
        task.prepare(tmp_path / "data")
    assert recorder.stages == {"sim_counts: simulate 2 fields (first run only)": [2, 2],
                               "sim_counts: pyBDSF labels, 2 fields (cached after)": [2, 2]}
    assert task.data_present(tmp_path / "data")


def test_limit_cuts_detection_splits_too():
    """--limit 20 on sim_detect (144 train crops) trains on 20: Pair.load_splits limits every split it loads."""
    from radiobench.kinds import get_kind
    from radiobench.run.options import RunOptions
    from radiobench.run.pair import Pair
    from radiobench.tasks.detection import DetectionSplit

    def split(n: int) -> DetectionSplit:
        return DetectionSplit([np.zeros((8, 8), np.float32)] * n, [np.zeros((0, 4), np.float32)] * n,
                              [np.zeros(0, np.int64)] * n, [f"im{i}" for i in range(n)], [None] * n)

    class Crops:
        def load_split(self, name: str) -> DetectionSplit:
            return split({"train": 144, "test": 48}[name])

    pair = object.__new__(Pair)
    pair.task_reg, pair.kind, pair.task = get_registry().task("sim_detect"), get_kind("detection"), Crops()
    pair.opts = RunOptions(limit=20)
    pair.load_splits()
    assert {name: len(s) for name, s in pair.splits.items()} == {"train": 20, "test": 20}


def test_cli_bars_reuse_a_stage_asked_again_and_show_each_bars_unit():
    from rich.console import Console

    from radiobench.run.console import RichProgress

    out = io.StringIO()
    hooks = RichProgress(Console(file=out, width=150, force_terminal=False))
    hooks.extraction("x on t/train", 4)(4)
    for _seed in range(3):
        epoch = hooks.stage("detect head: this seed's epochs", 2, "epochs")
        epoch(1)
        epoch()
    hooks.stage("nothing to do", 0, "fields")(1)
    hooks.done()
    text = out.getvalue()
    assert text.count("detect head: this seed's epochs") == 1 and "2/2 epochs" in text and "4/4 images" in text
    assert "nothing to do" not in text


def test_overall_eta_line_across_pairs():
    from radiobench.run.console import eta

    assert eta(0, 7, 0.0) == "pair 1 of 7"
    assert eta(2, 7, 250.0) == "pair 3 of 7, 4m10s so far, about 10m25s left"
    assert eta(3, 4, 3 * 3600.0) == "pair 4 of 4, 3h00m so far, about 1h00m left"


def test_feature_map_extraction_reports_every_batch():
    import torch

    from radiobench.models.backbone import Backbone
    from radiobench.run.maps import feature_maps
    from radiobench.tasks.detection import DetectionSplit
    from radiobench.testing import FAKE_BACKBONE

    class Maps(Backbone):
        def embed(self, images):
            return images.mean((2, 3))

        def feature_map(self, images):
            return torch.nn.functional.avg_pool2d(images, 4)

    n = 10
    split = DetectionSplit([np.zeros((16, 16), np.float32)] * n, [np.zeros((0, 4), np.float32)] * n,
                           [np.zeros(0, np.int64)] * n, [f"im{i}" for i in range(n)], [None] * n)
    seen: list[int] = []
    maps = feature_maps(Maps(FAKE_BACKBONE), split, 4, "fp32", seen.append)
    assert seen == [4, 4, 2] and maps.shape == (10, 1, 4, 4)

"""sim_galaxies scores resamples with boxes and positions matched once per image, equal to the reference scorers."""

from __future__ import annotations

import numpy as np
import pytest

from radiobench.astro.grouping import completeness_purity
from radiobench.registry import get_registry
from radiobench.run import build_task
from radiobench.tasks.detection import detection_scores


def _images(rng: np.random.Generator, n: int) -> tuple[list[dict], list[dict]]:
    targets, found = [], []
    for _ in range(n):
        k = int(rng.integers(0, 4))
        xy = rng.uniform(0, 400, (k, 2))
        boxes = np.c_[xy, xy + rng.uniform(10, 60, (k, 2))]
        targets.append({"boxes": boxes, "labels": rng.integers(0, 4, k)})
        m = int(rng.integers(0, 6))
        near = boxes[rng.integers(0, max(k, 1), m)] if k else rng.uniform(0, 400, (m, 4))
        guess = np.sort(near.reshape(m, 2, 2) + rng.normal(0, 4, (m, 2, 2)), axis=1).reshape(m, 4)
        found.append({"boxes": guess, "scores": rng.uniform(0, 1, m), "labels": rng.integers(0, 4, m)})
    return targets, found


def test_resampled_scores_equal_torchmetrics_and_the_position_matcher():
    task = build_task(get_registry().task("sim_galaxies"))
    rng = np.random.default_rng(0)
    targets, found = _images(rng, 24)
    for _ in range(4):  # resamples repeat the same dicts, as a bootstrap's rows do
        rows = rng.integers(0, len(targets), len(targets))
        t, f = [targets[i] for i in rows], [found[i] for i in rows]
        fast = task.score(t, f)
        expected = detection_scores(t, f, task.spec.classes)
        by_position = completeness_purity(t, f, float(task.options["match_score"]))
        assert fast.keys() == {*expected, "completeness", "purity"}
        for key, value in expected.items():
            assert fast[key] == pytest.approx(value, abs=1e-6), key  # torchmetrics rounds through float32
        assert (fast["completeness"], fast["purity"]) == (by_position["completeness"], by_position["purity"])

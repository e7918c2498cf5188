"""sim_galaxies: the extended-radio-galaxy simulator, its RadioGalaxyNET layout, the grouping rule, matching."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from radiobench.astro.galaxies import (CLASSES, GalaxyParams, Recipe, image_id, radio_png, render, simulate_cutout,
                                       write_dataset)
from radiobench.astro.grouping import (GroupingRule, box_gap, completeness_purity, galaxies_from_islands,
                                       group_islands, match_by_position, point_island_size)

P = GalaxyParams()
BEAM = P.beam_px


@pytest.fixture(scope="module")
def galaxies():
    """Galaxies of design fields 200, 201, ... until every class has at least six (deterministic)."""
    found: dict[str, list] = {c: [] for c in CLASSES}
    seed = 200
    while min(len(v) for v in found.values()) < 6:
        for k in range(P.images_per_field):
            for g in simulate_cutout(P, seed, k).galaxies:
                found[g.category].append(g)
        seed += 1
        assert seed < 212, "the design fields should hold six galaxies of every class"
    return found


def _own_image(g) -> np.ndarray:
    return render(g.components, (P.size, P.size), g.host[0], g.host[1], P.beam_sigma_px)


def test_a_seed_gives_the_same_cutout_and_another_seed_another():
    a, b = simulate_cutout(P, 200, 3), simulate_cutout(P, 200, 3)
    assert np.array_equal(a.image, b.image) and np.array_equal(a.infrared, b.infrared)
    assert [g.box for g in a.galaxies] == [g.box for g in b.galaxies]
    assert [g.category for g in a.galaxies] == [g.category for g in b.galaxies]
    c = simulate_cutout(P, 201, 3)
    assert not np.array_equal(a.image, c.image)
    assert a.image.shape == (450, 450) and a.image.dtype == np.float32


def test_noise_has_the_stated_rms_and_is_correlated_on_the_beam():
    from radiobench.astro.galaxies import beam_noise

    noise = beam_noise(np.random.default_rng(0), (450, 450), P.beam_sigma_px, P.rms)
    assert noise.std() == pytest.approx(P.rms, rel=0.1)
    lag1 = np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]
    assert lag1 > 0.9  # neighbouring pixels share the beam


def test_fr2_lobes_are_many_beams_apart_and_brightest_at_their_ends(galaxies):
    for g in galaxies["FR-II"]:
        hot = [c for c in g.components if c.part == "hotspot"]
        assert len(hot) == 2
        separation = math.hypot(hot[0].x - hot[1].x, hot[0].y - hot[1].y)
        assert separation >= 0.9 * P.fr2_separation_beams[0] * BEAM  # arms vary by 10 %
        assert g.fr_ratio > 0.5  # Fanaroff-Riley class II: the brightest points far out
        own = _own_image(g)
        y, x = np.unravel_index(np.argmax(own), own.shape)
        assert math.hypot(x - g.host[0], y - g.host[1]) > 0.4 * separation / 2  # not at the core


def test_fr1_is_brightest_near_its_core_and_edge_darkened(galaxies):
    for g in galaxies["FR-I"]:
        own = _own_image(g)
        y, x = np.unravel_index(np.argmax(own), own.shape)
        assert math.hypot(x - g.host[0], y - g.host[1]) <= BEAM
        if g.morphology != "head_tail":
            assert g.fr_ratio < 0.5
        jets = [c for c in g.components if c.part == "jet"]
        for side in (1, 2):
            fluxes = [c.flux for c in jets if c.side == side]
            assert fluxes == sorted(fluxes, reverse=True)  # fading outwards
        assert any(c.part == "plume" for c in g.components)
    morphologies = {g.morphology for g in galaxies["FR-I"]}
    assert {"fr1", "fr1_bent"} <= morphologies or {"fr1", "head_tail"} <= morphologies


def test_frx_has_one_side_of_each_kind_and_r_is_one_resolved_blob(galaxies):
    for g in galaxies["FR-X"]:
        parts = {c.side: {d.part for d in g.components if d.side == c.side} for c in g.components if c.side}
        assert parts[1] == {"jet", "plume"} and parts[2] == {"hotspot", "lobe"}
    for g in galaxies["R"]:
        blob = [c for c in g.components if c.part == "blob"]
        assert len(blob) == 1 and blob[0].sig_major / FWHM_SIGMA >= 0.99 * P.r_fwhm_beams[0] * BEAM


FWHM_SIGMA = 1.0 / 2.3548200450309493


def test_each_box_covers_all_of_its_galaxy_above_the_level_and_every_side_is_above_5_sigma(galaxies):
    for g in (g for gs in galaxies.values() for g in gs):
        own = _own_image(g)
        ys, xs = np.nonzero(own >= P.box_level * P.rms)
        x0, y0, x1, y1 = g.box
        assert xs.min() >= x0 and xs.max() + 1 <= x1 and ys.min() >= y0 and ys.max() + 1 <= y1
        assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (x0, x1, y0, y1)  # and no more
        assert min(g.side_peak_snr) >= P.side_snr_min * 0.999
        for c in g.components:
            if c.part in ("hotspot", "core") and own[int(round(g.host[1] + c.y)), int(round(g.host[0] + c.x))] \
                    >= P.box_level * P.rms:
                assert x0 <= g.host[0] + c.x <= x1 and y0 <= g.host[1] + c.y <= y1
        assert 0 <= x0 < x1 <= P.size and 0 <= y0 < y1 <= P.size


def test_galaxies_in_a_cutout_are_kept_a_beam_apart():
    for k in range(P.images_per_field):
        boxes = [g.box for g in simulate_cutout(P, 202, k).galaxies]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert box_gap(boxes[i], boxes[j]) >= 2 * P.gap_beams * BEAM - 1e-6


def test_design_and_test_seeds_are_disjoint_and_stated_by_value():
    from radiobench_plugins import sim_galaxies as plugin

    sets = [set(plugin.TRAIN_SEEDS), set(plugin.VAL_SEEDS), set(plugin.DESIGN_SEEDS), set(plugin.TEST_SEEDS)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not sets[i] & sets[j]
    assert plugin.TEST_SEEDS == tuple(range(300, 312)) and len(plugin.TEST_SEEDS) >= 8
    assert plugin.DESIGN_SEEDS == tuple(range(200, 212))
    with pytest.raises(ValueError, match="overlap"):
        Recipe((1, 2), (3,), (2,))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim_galaxies")
    recipe = Recipe((0,), (100,), (300,), dataclasses.replace(P, images_per_field=2))
    write_dataset(root, recipe, fits_dir=root / "fits", truth_dir=root / "truth")
    return root, recipe


def test_the_real_radiogalaxynet_loader_reads_the_written_set(written):
    from radiobench_plugins.radiogalaxynet import data

    root, recipe = written
    for split in ("train", "val", "test"):
        coco = data.load_split(root, split)
        assert coco.path == root / "radiogalaxynet" / "annotations" / f"{split}.json"
        assert coco.class_names == CLASSES == data.CLASSES
        [seed] = recipe.seeds(split)
        assert [i.id for i in coco.images] == [image_id(seed, k) for k in range(2)]
        for k, image in enumerate(coco.images):
            cut = simulate_cutout(recipe.params, seed, k)
            assert image.file_name == f"{cut.name}.png" and (image.width, image.height) == (450, 450)
            np.testing.assert_allclose(coco.boxes[image.id], np.array([g.box for g in cut.galaxies]).reshape(-1, 4))
            assert coco.labels[image.id].tolist() == [CLASSES.index(g.category) for g in cut.galaxies]
            radio = data.read_radio(coco.image_path(image))
            np.testing.assert_array_equal(radio, radio_png(cut.image, recipe.params) / np.float32(255))
    doc = json.loads((root / "radiogalaxynet" / "annotations" / "test.json").read_text())
    assert [c["name"] for c in sorted(doc["categories"], key=lambda c: c["id"])] == ["FR-II", "FR-I", "FR-X", "R"]
    for a in doc["annotations"]:
        assert {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation", "keypoints",
                "num_keypoints"} <= set(a)
        assert a["num_keypoints"] == 1 and len(a["keypoints"]) == 3 and a["iscrowd"] == 0
    from PIL import Image

    with Image.open(root / "radiogalaxynet" / "test" / doc["images"][0]["file_name"]) as im:
        assert im.mode == "RGB" and im.size == (450, 450)
    assert (root / "fits" / "test" / doc["images"][0]["file_name"].replace(".png", ".fits")).is_file()


def test_the_task_builds_into_the_cache_and_scores_completeness_and_purity(tmp_path, monkeypatch):
    from radiobench.registry import get_registry
    from radiobench.run import build_task

    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path))
    registered = get_registry().task("sim_galaxies")
    spec = registered.spec
    assert spec.options["simulate"]["test_seeds"] == list(range(300, 312))
    small = {**spec.options["simulate"], "train_seeds": [0], "val_seeds": [100], "test_seeds": [200],
             "params": {**spec.options["simulate"]["params"], "images_per_field": 2}}  # 200: a design seed
    task = build_task(registered, {"simulate": small})
    assert not task.data_present(Path("."))
    task.prepare(Path("."))
    assert task.data_present(Path(".")) and task.folder(Path(".")).name == "radiogalaxynet"
    test = task.load_split("test")
    assert len(test) == 2 and test.raw is not None and test.raw[0].shape == (450, 450)
    assert test.beams[0] == (7.5, 7.5, 0.0)
    truth = [{"boxes": b, "labels": lab} for b, lab in zip(test.boxes, test.labels)]
    perfect = [{"boxes": b, "scores": np.ones(len(b)), "labels": lab} for b, lab in zip(test.boxes, test.labels)]
    scores = task.score(truth, perfect)
    assert scores["map"] == pytest.approx(1.0) and scores["completeness"] == 1.0 and scores["purity"] == 1.0
    assert task.load_split("train").raw is None  # source finders never train


def test_grouping_merges_the_two_lobes_of_a_double_and_keeps_two_galaxies_apart():
    image = np.random.default_rng(0).normal(0, 1.0, (450, 450))
    rule = GroupingRule()
    # a double: two extended lobes half the rule's gap apart (edge to edge), S/N 40 and 25; 20 beams away, an
    # R-like island;
    # and a lone compact island (a point source of S/N 30)
    lobe_a = (100.0, 100.0, 140.0, 125.0)
    shift = rule.gap_beams * BEAM / 2
    lobe_b = (140.0 + shift, 100.0, 180.0 + shift, 125.0)
    other = (300.0, 300.0, 330.0, 330.0)
    point = 2 * point_island_size(30, BEAM) / 2
    compact = (400.0, 50.0, 400.0 + point / 2, 50.0 + point / 2)
    image[300:330, 300:330] += 20.0
    boxes = np.array([lobe_a, lobe_b, other, compact])
    snrs = np.array([40.0, 25.0, 20.0, 30.0])
    assert group_islands(boxes, snrs, BEAM, rule) == [[0, 1], [2]]
    out = galaxies_from_islands(image, boxes, snrs, BEAM, rule)
    assert out["boxes"].tolist() == [[100, 100, 180 + shift, 125], list(other)]
    assert [CLASSES[i] for i in out["labels"]] == ["FR-II", "R"]
    assert out["scores"].tolist() == [40.0, 20.0]
    # the same lobes farther apart than the rule's gap are two galaxies; beyond its flux ratio, too
    far = boxes.copy()
    far[1] += [rule.gap_beams * BEAM + 10, 0, rule.gap_beams * BEAM + 10, 0]
    assert group_islands(far, snrs, BEAM, rule) == [[0], [1], [2]]
    assert group_islands(boxes, np.array([40.0, 40.0 / (rule.flux_ratio * 1.5), 20.0, 30.0]), BEAM, rule) == [[0], [1], [2]]


def test_pybdsf_islands_of_a_simulated_double_are_grouped_into_its_box():
    from radiobench.astro.galaxies import Component, beam_noise
    from radiobench.astro.sourcefinding import PARAMS, find_islands

    # an FR-II 11 beams across: two lobes with hotspots, their 3-sigma islands about half a beam apart, S/N ~60
    comps = []
    for sign in (1, -1):
        comps += [Component("hotspot", 1, sign * 5.4 * BEAM, 0.0, 50 * P.rms, 0.5, 0.5, 0.0),
                  Component("lobe", 1, sign * 3.9 * BEAM, 0.0, 120 * P.rms, 3.2 * BEAM * FWHM_SIGMA, 0.7 * BEAM * FWHM_SIGMA, 0.0)]
    model = render(comps, (225, 225), 112.0, 112.0, P.beam_sigma_px)
    image = (model + beam_noise(np.random.default_rng(1), (225, 225), P.beam_sigma_px, P.rms)).astype(np.float32)
    ys, xs = np.nonzero(model >= 3 * P.rms)
    truth = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=float)
    [(boxes, snrs)] = find_islands([image], (BEAM, BEAM, 0.0), params={**PARAMS, "thresh": "hard"}, processes=1)
    big = snrs >= 20
    assert big.sum() == 2  # pyBDSF sees the two lobes as two islands
    out = galaxies_from_islands(image, boxes, snrs, BEAM, GroupingRule())
    assert match_by_position(truth, out["boxes"], out["scores"], 0.5) == (1, len(out["boxes"]), 1)
    from torchvision.ops import box_iou
    import torch

    best = int(np.argmax(out["scores"]))
    assert float(box_iou(torch.tensor(out["boxes"][best:best + 1]), torch.tensor(truth))[0, 0]) > 0.7
    assert CLASSES[out["labels"][best]] == "FR-II"


def test_completeness_and_purity_on_hand_made_cases():
    a, b = [0, 0, 10, 10], [20, 0, 40, 10]
    truth = np.array([a, b], dtype=float)
    # one centre in a, one in b but below the score threshold, one outside both
    preds = np.array([[2, 2, 8, 8], [25, 2, 35, 8], [50, 50, 60, 60]], dtype=float)
    assert match_by_position(truth, preds, np.array([0.9, 0.1, 0.8]), 0.5) == (2, 2, 1)
    assert match_by_position(truth, preds, np.array([0.9, 0.6, 0.8]), 0.5) == (2, 3, 2)
    # two predictions in one galaxy: it is found once, the second is impure
    twice = np.array([[1, 1, 9, 9], [3, 3, 7, 7]], dtype=float)
    assert match_by_position(truth, twice, np.array([0.9, 0.8]), 0.5) == (2, 2, 1)
    # nested true boxes: a prediction takes the one whose centre is nearest, the other remains to be found
    nested = np.array([[0, 0, 100, 100], [60, 60, 80, 80]], dtype=float)
    assert match_by_position(nested, np.array([[65, 65, 75, 75], [10, 10, 30, 30]], dtype=float),
                             np.array([0.9, 0.8]), 0.5) == (2, 2, 2)
    out = completeness_purity([{"boxes": truth}, {"boxes": np.zeros((0, 4))}],
                              [{"boxes": preds, "scores": np.array([0.9, 0.1, 0.8])},
                               {"boxes": np.array([[1, 1, 2, 2]], dtype=float), "scores": np.array([0.7])}], 0.5)
    assert out["completeness"] == 0.5 and out["purity"] == pytest.approx(1 / 3)
    assert completeness_purity([{"boxes": truth}], [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0)}], 0.5)[
        "purity"] == 0.0

"""Detection: the synthetic COCO task, the frozen-backbone FCOS head, the pyBDSF baseline, the runner."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from radiobench.run.maps import feature_maps, input_frame_targets, to_image_frame, truth
from radiobench.tasks.detection import detection_scores
from radiobench.protocols.detect import Detect, anchor_points, matched_points, upsample_stages
from radiobench.registry import get_registry
from radiobench.run import RunOptions, build_backbone, build_task, run_pair
from radiobench.specs import TaskSpec
from radiobench.testing import registry_with

from conftest import radiobench_cli

# What the default head reaches on sim_detect with random-init ResNet-18 maps, one seed (measured
# 0.17 mAP@.5 on this CPU); the bar leaves room for BLAS differences, not for a broken head.
HEAD_MAP50 = 0.10


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RADIOBENCH_CACHE", str(tmp_path_factory.mktemp("sim_detect")))
        task = build_task(get_registry().task("sim_detect"))
        task.prepare(Path("."))
        return task.folder(Path(".")), task.load_split("train"), task.load_split("test")


@pytest.fixture(scope="module")
def resnet_maps(sim):
    _, train, test = sim
    backbone = build_backbone(get_registry().backbone("random_resnet18"))
    return torch.from_numpy(feature_maps(backbone, train, 32, "fp32")), torch.from_numpy(feature_maps(backbone, test, 32, "fp32"))


def test_sim_detect_is_coco_with_a_box_on_every_bright_source(sim):
    from pycocotools.coco import COCO

    folder, train, test = sim
    assert (len(train), len(test)) == (144, 48)  # crops inside the primary beam of 6 + 2 fields
    coco = COCO(str(folder / "annotations" / "test.json"))  # the reference reader accepts the file
    assert len(coco.getAnnIds()) == sum(len(b) for b in test.boxes)
    widths = np.concatenate([b[:, 2] - b[:, 0] for b in train.boxes])
    assert np.median(widths) == pytest.approx(10.0, abs=0.5)  # point source: 2 beam FWHM of 5 px
    for image, boxes in zip(test.images, test.boxes):
        assert ((boxes >= 0) & (boxes <= 128)).all()
        for x0, y0, x1, y1 in boxes:  # a box sits on a source: its centre is brighter than the crop's median
            cy, cx = int((y0 + y1) / 2), int((x0 + x1) / 2)
            assert image[min(cy, 127), min(cx, 127)] > np.median(image)


@pytest.mark.slow  # ~45 s on 2 cores: two heads trained on every crop
def test_head_finds_sources_and_beats_a_head_trained_on_shuffled_boxes(sim, resnet_maps):
    _, train, test = sim
    train_maps, test_maps = resnet_maps
    targets = input_frame_targets(train, 224)
    predicted, info = Detect().fit_predict(train_maps, targets, test_maps, 1, 224, seed=0)
    real = detection_scores(truth(test), to_image_frame(predicted, test, 224), ("source",))
    shuffled_targets = [targets[i] for i in np.random.default_rng(0).permutation(len(targets))]
    predicted, _ = Detect().fit_predict(train_maps, shuffled_targets, test_maps, 1, 224, seed=0)
    shuffled = detection_scores(truth(test), to_image_frame(predicted, test, 224), ("source",))
    print(f"head mAP@.5 {real['map_50']:.3f} (shuffled {shuffled['map_50']:.3f}), {info['seconds_per_epoch']:.2f} s/epoch")
    assert real["map_50"] >= HEAD_MAP50
    assert real["map_50"] > 2 * shuffled["map_50"]
    assert info["loss_last_epoch"] < info["loss_first_epoch"]


def test_matching_computed_once_gives_torchvisions_loss(sim):
    """The head's loss with the matching done once per fit equals FCOS.compute_loss doing it per step."""
    from torchvision.models.detection.image_list import ImageList

    _, train, _ = sim
    targets = input_frame_targets(train, 224)[:6] + [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64)}]
    torch.manual_seed(0)
    model = Detect().build([32], 1, 8.0, [2], (28, 28))
    with torch.no_grad():
        maps = [model.backbone([torch.randn(len(targets), 32, 7, 7)])]
        outputs = model.head(maps)
    anchors = model.anchor_generator(ImageList(torch.zeros(len(targets), 1, 224, 224), [(224, 224)] * len(targets)), maps)
    matched = matched_points(model, anchors[0], targets)
    assert sum(int((m >= 0).sum()) for m in matched) > 0 and bool((matched[-1] == -1).all())
    expected = model.compute_loss(targets, outputs, anchors, [28 * 28])
    got = model.head.compute_loss(targets, outputs, [anchors[0]] * len(targets), matched)
    assert {k: float(v) for k, v in got.items()} == {k: float(v) for k, v in expected.items()}


@pytest.mark.parametrize("input_size, grid", [(224, 28), (224, 56), (240, 32), (260, 36)])
def test_anchor_points_are_torchvisions_at_integer_strides_and_span_the_image_at_others(input_size, grid):
    from torchvision.models.detection.image_list import ImageList

    points = anchor_points((grid, grid), input_size)
    stride = input_size / grid
    model = Detect().build([16], 1, stride, [2], (grid, grid))
    theirs = model.anchor_generator(ImageList(torch.zeros(1, 1, input_size, input_size), [(input_size, input_size)]),
                                    [torch.zeros(1, 16, grid, grid)])[0]
    assert points.shape == theirs.shape == (grid * grid, 4)
    centres = (points[:, :2] + points[:, 2:]) / 2
    if stride.is_integer():
        assert torch.equal(points, theirs)
    else:  # torchvision's integer stride stops short of the image; ours reaches its last cell
        assert float(centres.max()) == pytest.approx(input_size - stride) and float(theirs.max()) < input_size - stride
    assert torch.equal(centres[grid + 1], torch.tensor([stride, stride]))  # row-major, x fastest, as the head's outputs


@pytest.mark.parametrize("input_size, map_grid, stages, head_grid", [
    (224, 7, 2, 28),  # ResNet, ConvNeXt: stride 32
    (224, 14, 1, 28),  # ViT/16
    (224, 28, 0, 28),  # ViT/8
    (240, 8, 2, 32),  # EfficientNet-Lite1: stride 30 -> 7.5
    (260, 9, 2, 36),  # EfficientNet-Lite2: 28.9 -> 7.2
])
def test_every_backbones_head_works_at_stride_8_or_finer(input_size, map_grid, stages, head_grid):
    """The head's resolution is the protocol's, not the backbone's: a ViT/8 map is not upsampled to stride 2."""
    assert upsample_stages(input_size / map_grid, 8) == stages
    torch.manual_seed(0)
    maps = torch.randn(4, 16, map_grid, map_grid)
    targets = [{"boxes": torch.tensor([[20.0, 30.0, 40.0, 44.0]]), "labels": torch.zeros(1, dtype=torch.int64)}] * 4
    detect = Detect()
    detect.options = {**detect.options, "epochs": 1, "batch_size": 2}
    _, info = detect.fit_predict(maps, targets, maps[:1], 1, input_size, seed=0)
    assert info["upsample"] == stages and info["stride"] == pytest.approx(input_size / head_grid)
    assert 7 <= info["stride"] <= 8


@pytest.mark.slow
def test_pybdsf_baseline_scores_the_same_test_images(sim):
    from radiobench_plugins.baselines.models import SourceFinder

    _, _, test = sim
    finder = SourceFinder(get_registry().backbone("pybdsf").spec)
    found = finder.detect(test.raw, test.beams)
    scores = detection_scores(truth(test), found, ("source",))
    assert 0.2 < scores["map_50"] < 0.8  # islands at 3 sigma are wider than the truth's FWHM boxes
    assert scores["map"] == scores["map_agnostic"]  # one class: nothing to be agnostic about


@pytest.mark.slow
def test_pybdsf_runs_once_whatever_the_seeds_and_is_not_rerun_for_more(sim, tmp_path, monkeypatch):
    folder, _, _ = sim
    monkeypatch.setenv("RADIOBENCH_CACHE", str(folder.parents[2]))  # the fixture's simulated crops
    opts = RunOptions(results_dir=tmp_path, seeds=1, device="cpu", protocols=("detect",), limit=8)
    [first] = run_pair(get_registry(), "pybdsf", "sim_detect", opts)
    result = json.loads(first.path.read_text())
    assert first.status == "done" and result["seeded"] is False and result["seeds"] == [0]
    [again] = run_pair(get_registry(), "pybdsf", "sim_detect", dataclasses.replace(opts, seeds=5))
    assert again.status == "skipped"


@pytest.mark.slow
def test_more_seeds_train_only_the_new_heads(sim, tmp_path, monkeypatch):
    from radiobench.results import provenance

    folder, _, _ = sim
    monkeypatch.setenv("RADIOBENCH_CACHE", str(folder.parents[2]))
    monkeypatch.setattr(provenance, "git_state", lambda *a: {"git_commit": "0" * 40, "git_dirty": False})
    opts = RunOptions(results_dir=tmp_path, seeds=1, device="cpu", protocols=("detect",), limit=12)
    [first] = run_pair(get_registry(), "random_resnet18", "sim_detect", opts)
    trained = []
    original = Detect.fit_predict
    monkeypatch.setattr(Detect, "fit_predict", lambda self, *a, **k: trained.append(a[5]) or original(self, *a, **k))
    [again] = run_pair(get_registry(), "random_resnet18", "sim_detect", dataclasses.replace(opts, seeds=2))
    before, after = json.loads(first.path.read_text()), json.loads(again.path.read_text())
    assert trained == [1] and after["seeds_kept"] == [0] and after["seeds"] == [0, 1]
    assert after["metrics"]["map"]["per_seed"][0] == before["metrics"]["map"]["per_seed"][0]


def test_detection_scores_come_from_coco_map():
    boxes = np.array([[10, 10, 30, 30], [50, 50, 70, 80]], dtype=np.float32)
    targets = [{"boxes": boxes, "labels": np.array([0, 1])}]
    perfect = [{"boxes": boxes, "scores": np.array([0.9, 0.8]), "labels": np.array([0, 1])}]
    swapped = [{**perfect[0], "labels": np.array([1, 0])}]
    nothing = [{"boxes": np.zeros((0, 4)), "scores": np.zeros(0), "labels": np.zeros(0, dtype=int)}]
    classes = ("FR-I", "FR-II")
    assert detection_scores(targets, perfect, classes)["map"] == pytest.approx(1.0)
    assert detection_scores(targets, perfect, classes)["ap_FR-II"] == pytest.approx(1.0)
    assert detection_scores(targets, nothing, classes)["map"] == 0.0
    wrong_class = detection_scores(targets, swapped, classes)
    assert wrong_class["map"] == 0.0 and wrong_class["map_agnostic"] == pytest.approx(1.0)


@pytest.mark.slow  # ~50 s on 2 cores: simulation, extraction and heads through the CLI, twice
def test_cli_detection_run_with_a_label_budget_records_it_and_reuses_cached_maps(tmp_path):
    args = ("run", "--backbone", "random_vits16", "--task", "sim_detect", "--limit", "24", "--seeds", "2",
            "--train-fraction", "0.5", "--results-dir", str(tmp_path), "--device", "cpu")
    done = radiobench_cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "random_vits16__sim_detect__detect-f0.5.limit24.json").read_text())
    assert result["protocol"]["name"] == "detect" and result["protocol"]["train_size_per_seed"] == [12, 12]
    assert len(result["metrics"]["map"]["per_seed"]) == 2 and 0 <= result["main_score"]["mean"] <= 1
    assert result["task"]["simulated"] and result["task"]["data_sha256"]
    assert "(384, 14, 14)" in result["task"]["evaluation"]  # ViT patch tokens back on their 14x14 grid
    assert not result["cache"]["train"]["hit"]
    again = radiobench_cli(*args, "--overwrite")
    assert again.returncode == 0, again.stderr[-2000:]
    rerun = json.loads((tmp_path / "random_vits16__sim_detect__detect-f0.5.limit24.json").read_text())
    assert rerun["cache"]["train"]["hit"] and rerun["cache"]["test"]["hit"]
    assert rerun["metrics"]["map"]["per_seed"] == result["metrics"]["map"]["per_seed"]  # seeded: same numbers


def test_pairs_that_cannot_run_are_not_applicable_not_failures(tmp_path):
    opts = RunOptions(results_dir=tmp_path, seeds=1, device="cpu")
    reg = get_registry()
    [pixels] = run_pair(reg, "pixels", "sim_detect", opts)
    assert pixels.status == "skipped" and "no spatial feature map" in pixels.error
    [finder] = run_pair(registry_with(reg.backbones["pybdsf"].spec), "pybdsf", "fake_task", opts)
    assert finder.status == "skipped" and "detection tasks only" in finder.error


def _coco_task(folder: Path, categories: list[dict]) -> TaskSpec:
    (folder / "images").mkdir(parents=True)
    from PIL import Image

    Image.fromarray(np.zeros((32, 32), dtype=np.uint8)).save(folder / "images" / "a.png")
    for split in ("train", "test"):
        (folder / f"{split}.json").write_text(json.dumps({
            "images": [{"id": 1, "file_name": "a.png", "width": 32, "height": 32}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [4, 4, 8, 8]}],
            "categories": categories}))
    return TaskSpec(name="my_coco", factory="radiobench.tasks.detection:CocoTask", version="1", kind="detection",
                    main_score="map", higher_is_better=True, classes=("source",), data_folder=folder.name,
                    options={"annotations": "{split}.json", "images": "images", "reader": "png"})


@pytest.mark.parametrize("categories, message", [
    ([{"id": 1, "name": "source"}], r"has category id 7, which is not in .categories."),
    ([{"id": 7, "name": "galaxy"}], r"categories \['galaxy'\] differ from the task's classes \['source'\]"),
])
def test_a_bad_coco_set_fails_with_one_line_and_caches_nothing(tmp_path, monkeypatch, categories, message):
    cache = tmp_path / "cache"
    monkeypatch.setenv("RADIOBENCH_CACHE", str(cache))
    spec = _coco_task(tmp_path / "data" / "my_coco", categories)
    opts = RunOptions(results_dir=tmp_path / "results", seeds=1, device="cpu", data_root=tmp_path / "data")
    from radiobench.errors import RadiobenchError

    with pytest.raises(RadiobenchError, match=message) as caught:
        run_pair(registry_with(spec, get_registry().backbones["random_resnet18"].spec), "random_resnet18", "my_coco", opts)
    assert "\n" not in str(caught.value)
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


@pytest.mark.parametrize("input_size, widths, chosen", [
    (224, [112, 56, 28, 14, 7], [28, 7]),  # ResNet: its stride-8 stage and its last map
    (224, [56, 28, 14, 7], [28, 7]),  # ConvNeXt
    (260, [130, 65, 33, 17, 9], [33, 9]),  # EfficientNet-Lite2: 7.9 px per cell
    (224, [14], [14]),  # ViT/16: one grid
    (224, [28], [28]),  # ViT/8, control_image_map: the last map is already at stride 8
])
def test_the_head_reads_the_last_map_and_the_deepest_one_at_stride_8(input_size, widths, chosen):
    from radiobench.run.maps import pyramid

    maps = [torch.zeros(1, 4, w, w) for w in widths]
    assert [m.shape[-1] for m in pyramid(maps, input_size)] == chosen


def test_cnn_backbones_offer_their_stages_shallow_to_deep_ending_with_the_last_map():
    for name in ("random_resnet18", "random_efficientnet_lite0"):
        backbone = build_backbone(get_registry().backbone(name))
        images = torch.rand(1, backbone.spec.input.channels, 224, 224)
        with torch.inference_mode():
            levels, last = backbone.feature_maps(images), backbone.feature_map(images)
        widths = [m.shape[-1] for m in levels]
        assert widths == sorted(widths, reverse=True) and 28 in widths, name
        assert torch.equal(levels[-1], last), name
    vit = build_backbone(get_registry().backbone("random_vits16"))  # one patch grid at every depth
    images = torch.rand(1, vit.spec.input.channels, 224, 224)
    with torch.inference_mode():
        levels = vit.feature_maps(images)
        assert len(levels) == 1 and torch.equal(levels[0], vit.feature_map(images))


def test_two_levels_train_one_head_on_the_finer_grid_even_when_they_do_not_align():
    """EfficientNet-Lite2: a 33-cell stride-8 stage and a 9-cell last map, whose 36 upsampled cells are resized to 33."""
    torch.manual_seed(0)
    levels = [torch.randn(4, 8, 33, 33), torch.randn(4, 16, 9, 9)]
    targets = [{"boxes": torch.tensor([[20.0, 30.0, 40.0, 44.0]]), "labels": torch.zeros(1, dtype=torch.int64)}] * 4
    detect = Detect()
    detect.options = {**detect.options, "epochs": 1, "batch_size": 2}
    predicted, info = detect.fit_predict(levels, targets, [m[:1] for m in levels], 1, 260, seed=0)
    assert info["levels"] == [[8, 33, 33], [16, 9, 9]] and info["upsample_per_level"] == [0, 2]
    assert info["stride"] == pytest.approx(260 / 33) and len(predicted) == 1


def test_a_maps_overall_scale_does_not_change_what_the_head_learns():
    """A random EfficientNet's last map is ~1e-8 in size: standardised on the training maps, it trains as a unit-scale map."""
    torch.manual_seed(0)
    maps = torch.rand(6, 16, 7, 7) + torch.linspace(0, 3, 16)[None, :, None, None]
    targets = [{"boxes": torch.tensor([[20.0, 30.0, 60.0, 64.0]]), "labels": torch.zeros(1, dtype=torch.int64)}] * 6
    detect = Detect()
    detect.options = {**detect.options, "epochs": 2, "batch_size": 3, "score_thresh": 0.0}
    unit, info = detect.fit_predict(maps, targets, maps[:2], 1, 224, seed=0)
    tiny, _ = detect.fit_predict(maps * 1e-8, targets, maps[:2] * 1e-8, 1, 224, seed=0)
    assert info["loss_last_epoch"] < info["loss_first_epoch"]
    for a, b in zip(unit, tiny):
        np.testing.assert_allclose(a["scores"], b["scores"], rtol=1e-3, atol=1e-5)

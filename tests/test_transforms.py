"""Declared input transforms (issue 33) and crops in sky units tied to each task's pixel scale (issue 31)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from radiobench.api import RadiobenchError, TransformError, centre_crop, percentile_clip, zoom
from radiobench.models.preprocess import describe, prepare_batch
from radiobench.registry import Registered, get_registry
from radiobench.run import build_backbone
from radiobench.run.options import RunOptions
from radiobench.run.pipeline import run_pair
from radiobench.specs import InputContract
from radiobench.testing import FAKE_BACKBONE, FAKE_TASK, FakeTask, radio_like_images, registry_with

PLAIN = InputContract(channels=1, size=8, mean=(0.0,), std=(1.0,), interpolation="bilinear")


# -- the maths, on tiny arrays ------------------------------------------------------------------------------------


def test_percentile_clip_matches_numpy_and_rescales_each_image_to_0_1():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 1, 7, 9)).astype(np.float32)
    images[1] *= 0.1  # a faint image is stretched like a bright one: the percentiles are each image's own
    got = percentile_clip(5, 95).apply(torch.from_numpy(images)).numpy()
    for image, out in zip(images, got):
        lo, hi = np.percentile(image, [5, 95])  # numpy's default (linear) interpolation
        np.testing.assert_allclose(out, (np.clip(image, lo, hi) - lo) / (hi - lo), atol=1e-6)
        assert out.min() == 0 and out.max() == pytest.approx(1)


def test_percentile_clip_leaves_a_flat_image_at_zero_and_refuses_bad_bounds():
    assert torch.equal(percentile_clip(1, 99).apply(torch.full((1, 1, 4, 4), 0.3)), torch.zeros(1, 1, 4, 4))
    for low, high in ((50, 50), (-1, 99), (1, 101)):
        with pytest.raises(ValueError, match="percentile_clip"):
            percentile_clip(low, high)


def test_centre_crop_in_task_pixels_fraction_and_sky_units():
    image = torch.arange(100.0).view(1, 1, 10, 10)
    assert torch.equal(centre_crop(pixels=4).apply(image), image[..., 3:7, 3:7])
    assert torch.equal(centre_crop(pixels=3).apply(image), image[..., 3:6, 3:6])  # odd remainder below-right
    assert torch.equal(centre_crop(fraction=0.6).apply(image), image[..., 2:8, 2:8])
    # 12" at 2"/px is 6 task pixels; 3 pixels of 4" each is the same 12"
    assert torch.equal(centre_crop(arcsec=12).apply(image, 2.0), image[..., 2:8, 2:8])
    assert torch.equal(centre_crop(pixels=3, native_scale_arcsec=4).apply(image, 2.0), image[..., 2:8, 2:8])


def test_centre_crop_refusals():
    with pytest.raises(ValueError, match="exactly one"):
        centre_crop(pixels=3, arcsec=5)
    with pytest.raises(ValueError, match="exactly one"):
        centre_crop()
    with pytest.raises(ValueError, match="native_scale_arcsec goes with pixels"):
        centre_crop(arcsec=5, native_scale_arcsec=1.8)
    with pytest.raises(TransformError, match=r"needs 20x20 pixels at 1.8\"/px, more than the task's 10x10"):
        centre_crop(arcsec=36).apply(torch.zeros(1, 1, 10, 10), 1.8)
    with pytest.raises(TransformError, match="declares no pixel scale"):
        centre_crop(arcsec=36).apply(torch.zeros(1, 1, 10, 10))


def test_zoom_keeps_the_middle_one_over_factor_of_each_side():
    image = torch.arange(150.0 * 150).view(1, 1, 150, 150)
    zoomed = zoom(1.2).apply(image)
    assert zoomed.shape[-2:] == (125, 125) and torch.equal(zoomed, image[..., 12:137, 12:137])
    assert zoom(1.2).apply(torch.zeros(1, 1, 300, 300)).shape[-2:] == (250, 250)
    with pytest.raises(ValueError, match="at least 1"):
        zoom(0.8)


def test_zoom_1_2_then_resize_is_galaxy_datasets_test_view():
    """Zoobot's inference view (galaxy-datasets' minimal_view_config): RandomAffine(scale=(1.2, 1.2)) at the
    cutout's size, then a bilinear resize to 224. The declared zoom(1.2) gives the same pixels up to resampling."""
    import torchvision.transforms.v2.functional as TF

    zoobot = get_registry().backbone("zoobot_convnext_nano").spec
    assert zoobot.input.transforms == (zoom(1.2),) and zoobot.version == "2"
    images = torch.from_numpy(radio_like_images(3, side=150))[:, None]
    upstream = TF.affine(images, angle=0.0, translate=[0, 0], scale=1.2, shear=[0.0, 0.0],
                         interpolation=TF.InterpolationMode.BILINEAR)
    upstream = TF.resize(upstream, [224, 224], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    ours = prepare_batch(images, zoobot.input)[:, :1]  # mean 0, std 1: the [0, 1] pixels themselves
    whole = prepare_batch(images, replace(zoobot.input, transforms=()))[:, :1]  # version 1's view
    assert ours.shape == upstream.shape == (3, 1, 224, 224)
    # the same view up to resampling (one resample instead of two; measured 0.986-0.993, the whole cutout 0.83-0.93)
    assert correlation(ours, upstream).min() > 0.98 and correlation(whole, upstream).max() < 0.95
    assert (ours - upstream).abs().max() < 0.15 < (whole - upstream).abs().max()  # measured 0.10 and 0.56


def correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image, the Pearson correlation of two batches' pixels."""
    a, b = a.flatten(1) - a.flatten(1).mean(1, keepdim=True), b.flatten(1) - b.flatten(1).mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


# -- crops in sky units on tasks with different cutouts -------------------------------------------------------------


def test_rgz_byol_sees_the_same_126_arcsec_on_mirabest_and_rgd():
    """MiraBest's 150 px and RGD's 300 px cutouts are both FIRST at 1.8"/px: the crop is 70 native pixels on each."""
    reg = get_registry()
    contract = reg.backbone("rgz_byol_resnet18").spec.input
    assert reg.backbone("rgz_byol_resnet18").spec.version == "2" and contract.crop_fraction == 1.0
    scales = {name: reg.task(name).spec.pixel_scale_arcsec for name in ("mirabest", "rgd", "rgd_cv3")}
    assert scales == {"mirabest": 1.8, "rgd": 1.8, "rgd_cv3": 1.8}
    sky = torch.from_numpy(radio_like_images(2, side=300))[:, None]  # a 9' FIRST cutout (RGD's)
    mirabest_cutout = sky[..., 75:225, 75:225]  # the same sources' 4.5' (MiraBest's), same centre
    on_rgd, on_mirabest = prepare_batch(sky, contract, 1.8), prepare_batch(mirabest_cutout, contract, 1.8)
    assert on_rgd.shape == on_mirabest.shape == (2, 1, 70, 70)
    assert torch.equal(on_rgd, on_mirabest)
    assert describe(contract, 1, 1.8)["transforms"] == [{
        "name": "centre_crop", "pixels": 70, "native_scale_arcsec": 1.8, "arcsec": 126.0,
        "task_pixel_scale_arcsec": 1.8, "task_pixels": 70}]


def test_rgz_byol_on_real_mirabest_and_rgd_cutouts_of_the_same_sources(shared_data):
    """Real data: the 745 RGD sources from MiraBest, cropped for RGZ BYOL on each task, are the same pixels
    (version 1's fraction crop took 140 of RGD's 300 px and shrank them 2x)."""
    from radiobench.run import build_task

    reg = get_registry()
    contract = reg.backbone("rgz_byol_resnet18").spec.input
    tasks = {}
    for name in ("mirabest", "rgd"):
        tasks[name] = build_task(reg.task(name))
        tasks[name].prepare(shared_data)
    mirabest = tasks["mirabest"].load_split("test")
    by_id = dict(zip(mirabest.ids, mirabest.images))
    rgd = [(by_id[i.removesuffix(".png")], image) for split in ("train", "valid", "test")
           for i, image in zip(tasks["rgd"].load_split(split).ids, tasks["rgd"].load_split(split).images)
           if i.removesuffix(".png") in by_id][:24]
    assert len(rgd) >= 10
    mb = torch.from_numpy(np.stack([m for m, _ in rgd]).astype(np.float32) / 255)
    rg = torch.from_numpy(np.stack([r for _, r in rgd]).astype(np.float32) / 255)
    now = float(correlation(prepare_batch(mb, contract, 1.8), prepare_batch(rg, contract, 1.8)).mean())
    old = replace(contract, transforms=(), crop_fraction=70 / 150)
    before = float(correlation(prepare_batch(mb, old), prepare_batch(rg, old)).mean())
    assert now > 0.9 and before < 0.75, (now, before)


def test_a_crop_in_sky_units_on_a_task_without_a_pixel_scale_is_one_line_before_extraction(tmp_path):
    sky = replace(FAKE_BACKBONE, name="sky_backbone",
                  input=replace(FAKE_BACKBONE.input, transforms=(centre_crop(arcsec=40),)))
    assert FAKE_TASK.pixel_scale_arcsec is None
    opts = RunOptions(results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", seeds=1, device="cpu")
    with pytest.raises(RadiobenchError) as caught:
        run_pair(registry_with(sky), "sky_backbone", "fake_task", opts)
    message = str(caught.value)
    assert "\n" not in message and "'sky_backbone'" in message and "'fake_task'" in message
    assert "arcsec=40" in message and "declares no pixel scale (TaskSpec.pixel_scale_arcsec)" in message
    assert not list(tmp_path.rglob("*.npy")) and not list(tmp_path.rglob("*.json"))  # nothing extracted or written
    with pytest.raises(ValueError, match="pixel_scale_arcsec must be a positive"):
        replace(FAKE_TASK, pixel_scale_arcsec=0.0)


def test_declared_transforms_are_recorded_in_the_result_resolved_for_the_task(tmp_path):
    declared = (percentile_clip(1, 99), centre_crop(arcsec=40))
    spec = replace(FAKE_BACKBONE, name="clipped", input=replace(FAKE_BACKBONE.input, transforms=declared))
    task = replace(FAKE_TASK, name="fake_sky", pixel_scale_arcsec=2.0)  # 32 px of 2": the crop is 20 px
    opts = RunOptions(results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", seeds=1, device="cpu")
    (outcome,) = run_pair(registry_with(spec, task), "clipped", "fake_sky", opts)
    assert outcome.status == "done", outcome.error
    recorded = json.loads(outcome.path.read_text())["backbone"]["input"]
    assert recorded["transforms"] == [
        {"name": "percentile_clip", "low": 1.0, "high": 99.0, "per": "image, over all its channels and pixels",
         "then": "rescaled to [0, 1]"},
        {"name": "centre_crop", "arcsec": 40.0, "task_pixel_scale_arcsec": 2.0, "task_pixels": 20}]
    assert recorded["order"].startswith("declared transforms")
    # a contract without transforms records exactly what it did before (its feature-cache keys unchanged)
    assert "transforms" not in FAKE_BACKBONE.input.to_dict() and "transforms" not in describe(FAKE_BACKBONE.input, 1)
    assert describe(FAKE_BACKBONE.input, 1)["order"] == "centre crop, resize, channel adapt, normalise"


# -- every forward path sees the declared transforms ----------------------------------------------------------------


def clipped_resnet():
    """random_resnet18 (a timm CNN with feature_map, feature_maps and depth_maps) with a declared percentile clip."""
    registered = get_registry().backbone("random_resnet18")
    contract = replace(registered.spec.input, size=64, transforms=(percentile_clip(2, 98),))
    return build_backbone(Registered(replace(registered.spec, input=contract), registered.plugin))


def test_a_backbone_with_a_percentile_clip_keeps_every_forward_path():
    from radiobench.api import check_backbone

    backbone = clipped_resnet()
    assert backbone.has_feature_map
    check_backbone(backbone, n_images=2)
    raw = torch.from_numpy(radio_like_images(2, side=48))
    by_hand = percentile_clip(2, 98).apply(raw[:, None])
    prepared = prepare_batch(raw, backbone.spec.input)
    assert torch.allclose(prepared, prepare_batch(by_hand, replace(backbone.spec.input, transforms=())))
    assert not torch.allclose(prepared, prepare_batch(raw, replace(backbone.spec.input, transforms=())))
    with torch.inference_mode():
        assert backbone.embed(prepared).shape == (2, 512)
        assert backbone.feature_map(prepared).ndim == 4
        assert [m.shape[1] for m in backbone.feature_maps(prepared)] == [64, 64, 128, 256, 512]
        assert [m.shape[1] for m in backbone.depth_maps(prepared)] == [64, 64, 128, 256]


def test_the_map_and_depth_paths_apply_the_declared_transforms():
    """Detection's maps (feature_map, feature_maps) and every-depth extraction (depth_maps) get clipped pixels."""
    from radiobench.models.extract import extract
    from radiobench.run.maps import feature_maps, map_levels

    backbone = clipped_resnet()
    plain = replace(backbone.spec.input, transforms=())
    raw = radio_like_images(3, side=48)

    class Split:  # the two things the map path reads of a DetectionSplit
        images = list(raw)

        def __len__(self):
            return len(raw)

    clipped = percentile_clip(2, 98).apply(torch.from_numpy(raw)[:, None])
    with torch.inference_mode():
        expected = backbone.feature_map(prepare_batch(clipped, plain)).numpy()
        expected_levels = [m.numpy() for m in backbone.feature_maps(prepare_batch(clipped, plain))]
    np.testing.assert_allclose(feature_maps(backbone, Split(), 2, "fp32"), expected, rtol=1e-4, atol=1e-5)
    levels = map_levels(backbone, Split(), 2, "fp32")
    np.testing.assert_allclose(levels[-1], expected_levels[-1], rtol=1e-4, atol=1e-5)

    task = FakeTask(FAKE_TASK)
    task.prepare(".")
    task.every_depth = True
    split = task.load_split("train").subset(np.arange(6))
    got = extract(backbone, task, split, owner="test", batch_size=8).features
    pixels = torch.from_numpy(task.scale(split.images)).float()
    with torch.inference_mode():
        want = backbone.depth_embedding(prepare_batch(percentile_clip(2, 98).apply(pixels[:, None]), plain)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_a_dense_task_leaves_out_crops_and_says_so():
    contract = replace(PLAIN, transforms=(percentile_clip(1, 99), centre_crop(arcsec=10)))
    images = torch.from_numpy(radio_like_images(2, side=16))
    dense = prepare_batch(images, contract, None, dense=True)  # no pixel scale needed: the crop is left out
    assert torch.allclose(dense, prepare_batch(percentile_clip(1, 99).apply(images[:, None]), PLAIN))
    recorded = describe(contract, 1, None, dense=True)
    assert [t["name"] for t in recorded["transforms"]] == ["percentile_clip"]
    assert [t["name"] for t in recorded["transforms_left_out"]] == ["centre_crop"]


def test_transforms_are_exported_and_a_contract_refuses_anything_else():
    import radiobench.api as api

    assert {"percentile_clip", "centre_crop", "zoom", "Transform", "TransformError"} <= set(api.__all__)
    with pytest.raises(ValueError, match="tuple of radiobench.api transforms"):
        InputContract(transforms=[zoom(1.2)])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tuple of radiobench.api transforms"):
        InputContract(transforms=(lambda x: x,))  # type: ignore[arg-type]

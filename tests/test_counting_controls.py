"""The counting controls of issue 32: noise_stats sees a crop's noise and not its sources; pixels_128 keeps every pixel."""

from __future__ import annotations

import numpy as np
import torch

from radiobench.api import check_backbone
from radiobench.registry import get_registry
from radiobench.run import build_backbone


def _noise(sigma: float, seed: int, n: int = 4) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(0.3, sigma, (n, 1, 128, 128))).float()


def test_noise_stats_measures_the_noise_and_ignores_a_few_bright_sources():
    model = build_backbone(get_registry().backbone("noise_stats"))
    quiet, deep = model.embed(_noise(0.01, 0)), model.embed(_noise(0.02, 0))
    assert quiet.shape == (4, 9)
    assert np.allclose(quiet[:, -1], 0.01, rtol=0.05) and np.allclose(deep[:, -1], 0.02, rtol=0.05)  # the robust rms
    assert np.allclose(quiet[:, 4], 0.3, atol=0.001)  # the median
    with_sources = _noise(0.01, 0)
    for y, x in [(20, 30), (64, 64), (100, 17), (40, 110), (90, 90)]:  # five beams of ~5 px, far above the noise
        with_sources[:, :, y - 3:y + 3, x - 3:x + 3] += 0.5
    moved = model.embed(with_sources) - quiet
    assert float(moved.abs().max()) < 0.01  # five bright sources move no feature by a noise sigma
    assert float((deep - quiet)[:, -1].min()) > 0.009  # a field twice as deep moves the rms by the full difference


def test_pixels_128_keeps_the_crop_unresampled():
    model = build_backbone(get_registry().backbone("pixels_128"))
    crop = _noise(0.01, 1, n=2)
    assert torch.equal(model.embed(crop), crop.flatten(1))


def test_both_controls_conform_and_apply_only_to_counting():
    reg = get_registry()
    for name in ("noise_stats", "pixels_128"):
        spec = reg.backbone(name).spec
        assert spec.kinds == ("regression",) and spec.family in ("control", "baseline")
        check_backbone(name)

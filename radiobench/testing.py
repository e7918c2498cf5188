"""Helpers for plugin authors' own test suites.

``check_backbone`` is the conformance check every built-in backbone passes, and
``check_task`` (from ``radiobench.conformance``, torch-free) its counterpart for tasks:
call them from your plugin's tests (both are exported by ``radiobench.api``).
``FakeTask`` and ``FakeBackbone`` are tiny, file-free stand-ins so a backbone or a task
can be exercised end to end in seconds, and ``registry_with`` builds a registry holding
them plus your own specs.

    from radiobench.testing import check_backbone
    def test_my_backbone():
        check_backbone("my_backbone")
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from radiobench.registry import loader as plugins
from radiobench.models.backbone import Backbone
from radiobench.conformance import ConformanceError, check_task  # noqa: F401 - check_task: beside check_backbone
from radiobench.models.extract import check_output
from radiobench.models.preprocess import prepare_batch
from radiobench.registry import Registered, Registry, get_registry
from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec
from radiobench.tasks.base import Split, Task


def radio_like_images(n: int, side: int = 64, seed: int = 0) -> np.ndarray:
    """(n, side, side) float32 in [0, 1]: noise plus one or two Gaussian lobes, like survey cutouts."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    images = rng.normal(0.05, 0.02, (n, side, side))
    for i in range(n):
        for _ in range(1 + i % 2):
            cy, cx = rng.uniform(0.3, 0.7, 2)
            images[i] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(0.02, 0.08) ** 2))
    return np.clip(images / images.max(axis=(1, 2), keepdims=True), 0, 1).astype(np.float32)


def check_backbone(
    backbone: str | Backbone,
    *,
    n_images: int = 5,
    atol: float = 1e-4,
    rtol: float = 1e-3,
) -> None:
    """Raise ``ConformanceError`` unless the backbone keeps the ``Backbone`` contract.

    Checks: the spec is a ``BackboneSpec``; ``embed`` returns a finite floating tensor of
    shape (B, spec.embed_dim); two calls give the same output (determinism); each image's
    embedding does not depend on the rest of its batch (batch-size independence; a model
    left in training mode with batch norm fails this). A backbone with ``feature_map`` must
    return a finite (B, D, h, w) map; a source finder (``embed_dim`` 0) must have ``detect``.
    """
    if isinstance(backbone, str):
        from radiobench.run import build_backbone

        registered = get_registry().backbone(backbone)
        owner = registered.plugin.label
        backbone = build_backbone(registered)
    else:
        owner = "the object under test"
    spec = getattr(backbone, "spec", None)
    if not isinstance(spec, BackboneSpec):
        raise ConformanceError(f"backbone.spec must be a BackboneSpec, got {type(spec).__name__}")
    if spec.embed_dim == 0:  # a source finder: no embedding, a detect() instead
        if not callable(getattr(backbone, "detect", None)):
            raise ConformanceError(f"backbone {spec.name!r} has embed_dim 0 but no detect(images, beams) method")
        return
    images = prepare_batch(torch.from_numpy(radio_like_images(n_images)), spec.input).to(
        getattr(backbone, "device", "cpu")
    )
    if getattr(backbone, "has_feature_map", False):
        _check_feature_map(backbone, images, owner)
    try:
        with torch.inference_mode():
            first = check_output(backbone.embed(images), n_images, spec.name, spec.embed_dim, owner)
            again = check_output(backbone.embed(images), n_images, spec.name, spec.embed_dim, owner)
            alone = np.concatenate(
                [check_output(backbone.embed(images[i : i + 1]), 1, spec.name, spec.embed_dim, owner) for i in range(n_images)]
            )
    except Exception as exc:
        raise ConformanceError(str(exc)) from exc
    if not np.allclose(first, again, atol=atol, rtol=rtol):
        raise ConformanceError(
            f"backbone {spec.name!r} is not deterministic: two calls on the same images differ by up to "
            f"{np.abs(first - again).max():.3g} (is dropout active? call .eval())"
        )
    if not np.allclose(first, alone, atol=atol, rtol=rtol):
        raise ConformanceError(
            f"backbone {spec.name!r} depends on batch size: embeddings differ by up to "
            f"{np.abs(first - alone).max():.3g} between a batch of {n_images} and single images (batch norm in training mode?)"
        )


def _check_feature_map(backbone: Backbone, images: torch.Tensor, owner: str) -> None:
    with torch.inference_mode():
        maps = backbone.feature_map(images)
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4 or len(maps) != len(images):
        raise ConformanceError(f"backbone {backbone.spec.name!r} (from {owner}): feature_map must return (B, D, h, w) "
                               f"for {len(images)} images, got {getattr(maps, 'shape', type(maps).__name__)}")
    if min(maps.shape[2:]) < 2 or not torch.isfinite(maps).all():
        raise ConformanceError(f"backbone {backbone.spec.name!r} (from {owner}): feature_map must be finite and at "
                               f"least 2x2, got {tuple(maps.shape)}")


FAKE_BACKBONE = BackboneSpec(
    name="fake_backbone",
    factory="radiobench.testing:FakeBackbone",
    embed_dim=16,
    input=InputContract(channels=1, size=16, mean=(0.5,), std=(0.25,), interpolation="bilinear"),
    weights=WeightsSpec(kind="none"),
    family="test",
    description="4x4 average-pooled pixels plus their max: a fast, deterministic stand-in",
)


class FakeBackbone(Backbone):
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        pooled = torch.nn.functional.adaptive_avg_pool2d(images.mean(1, keepdim=True), 4).flatten(1)
        return torch.cat([pooled[:, :15], images.amax(dim=(1, 2, 3))[:, None]], dim=1)


FAKE_TASK = TaskSpec(
    name="fake_task",
    factory="radiobench.testing:FakeTask",
    version="1",
    kind="classification",
    main_score="error",
    higher_is_better=False,
    data_sha256="synthetic",
    scaling="uint8 / 255",
    classes=("single", "double"),
    description="synthetic 32x32 cutouts with one lobe (class 0) or two (class 1); no files",
)


class FakeTask(Task):
    """Made in memory from a fixed seed, so it needs no data root and never changes."""

    pixel_range = (0, 255)

    def prepare(self, root: Path, download: bool = False) -> None:
        self.root = Path(root)

    def load_split(self, split: str) -> Split:
        n, seed = {"train": (60, 1), "test": (30, 2)}[split]
        images = (radio_like_images(n, side=32, seed=seed) * 255).astype(np.uint8)
        labels = np.arange(n) % 2  # radio_like_images alternates one and two lobes
        return Split(images, labels, [f"{split}-{i}" for i in range(n)])



_TEST_PLUGIN = plugins.PluginInfo(
    name="testing", distribution="radiobench-testing", version="0", module="radiobench.testing", builtin=False
)


def registry_with(*specs: BackboneSpec | TaskSpec, plugin: plugins.PluginInfo | None = None) -> Registry:
    """A registry holding the fake backbone and task plus ``specs`` (attributed to ``plugin``)."""
    plugin = plugin or _TEST_PLUGIN
    reg = Registry(plugins=[plugin])
    for spec in (FAKE_BACKBONE, FAKE_TASK, *specs):
        table = reg.backbones if isinstance(spec, BackboneSpec) else reg.tasks
        table[spec.name] = Registered(spec, plugin)  # type: ignore[index]
        reg.aliases.update({alias: spec.name for alias in getattr(spec, "aliases", ())})
    builtin = get_registry().protocols  # the protocols every installation has, from radiobench_plugins.protocols
    reg.protocols.update(builtin)
    return reg

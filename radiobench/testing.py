"""Helpers for plugin authors' own test suites: file-free stand-ins and a registry holding them.

``FakeTask`` and ``FakeBackbone`` are tiny, file-free stand-ins so a backbone or a task
can be exercised end to end in seconds, and ``registry_with`` builds a registry holding
them plus your own specs. The conformance checks (``check_backbone``, ``check_task``,
``check_protocol``) live in ``radiobench.conformance``; import them from ``radiobench.api``:

    from radiobench.api import check_backbone
    def test_my_backbone():
        check_backbone("my_backbone")

(``radiobench.testing.check_backbone`` and ``.check_task`` still work until radiobench 0.3, with a
``DeprecationWarning``.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import importlib
import warnings
from typing import Any

from radiobench.registry import loader
from radiobench.models.backbone import Backbone
from radiobench.conformance import ConformanceError, radio_like_images  # noqa: F401 - re-exported for tests
from radiobench.registry import Registered, Registry, get_registry
from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec
from radiobench.tasks.base import Split, Task


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



_TEST_PLUGIN = loader.PluginInfo(
    name="testing", distribution="radiobench-testing", version="0", module="radiobench.testing", builtin=False
)


def registry_with(*specs: BackboneSpec | TaskSpec, plugin: loader.PluginInfo | None = None) -> Registry:
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


_MOVED = {"check_backbone", "check_task"}  # to radiobench.conformance (exported by radiobench.api)


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(f"radiobench.testing.{name} moved to radiobench.conformance (the old name works until "
                      f"radiobench 0.3); import it from radiobench.api", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("radiobench.conformance"), name)
    raise AttributeError(f"module 'radiobench.testing' has no attribute {name!r}")

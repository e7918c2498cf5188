"""The Backbone interface: a spec and ``embed(images) -> Tensor[B, D]``.

``embed`` receives images already prepared by the core to the spec's input contract
(size, channels, mean/std), so a backbone never re-implements preprocessing and two
backbones with the same contract see identical pixels.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from radiobench.errors import BackboneOutputError
from radiobench.specs import BackboneSpec


class Backbone(abc.ABC):
    """Built by the spec's factory as ``factory(spec, weights=<Path or None>, **spec.options)``.

    ``weights`` is the resolved, checksummed weights file (None for weight-free and
    random-init backbones); the core finds it, so a backbone only has to load it.
    """

    def __init__(self, spec: BackboneSpec, weights: Path | None = None):
        self.spec = spec
        self.weights = weights
        self.device = torch.device("cpu")

    @abc.abstractmethod
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) float tensor on ``self.device`` -> (B, spec.embed_dim) features."""

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) prepared images -> (B, D, h, w) spatial features, for dense tasks (detection).

        Optional: a backbone that has no spatial map (a pooled embedding, raw pixels) keeps this
        default, and dense tasks report it as not applicable rather than failed.
        """
        raise NotImplementedError

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Spatial maps from every depth the backbone offers, shallow to deep; the last is ``feature_map``'s.

        A CNN's last map is at stride 32, too coarse to place a source a few pixels wide, while its
        earlier stages keep that detail (sim_detect: an ImageNet EfficientNet-Lite0 read at its last
        map scored mAP 0.004, its last stride-8 block 0.72; ``benchmarks/detect_stride.py``). Dense
        probes may therefore read an earlier depth too. A backbone with one map (a ViT's patch grid)
        keeps this default.
        """
        return [self.feature_map(images)]

    def depth_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """(B, D, h, w) maps from the depths before the last, for ``depth_embedding``: by default the
        finer maps ``feature_maps`` gives (a CNN's stages); a ViT's come from its blocks (TimmBackbone)."""
        return self.feature_maps(images)[:-1] if self.has_feature_map else []

    def depth_embedding(self, images: torch.Tensor) -> torch.Tensor:
        """``embed``'s features, then the spatial mean of each of ``depth_maps``.

        A pooled last layer keeps what an image shows, not how many small things it holds: on
        sim_counts' design fields, ridge on an ImageNet EfficientNet-Lite0's embedding reached R² 0.52
        and on this 0.61, a random ResNet-18's 0.29 and 0.56 (``benchmarks/count_depths.py``). A
        backbone without maps (pixels, hand-made features) gives its embedding alone.
        """
        maps = self.depth_maps(images)
        for m in maps:  # a plugin's own depth_maps: refuse a wrong shape by name, not with a torch traceback
            if not isinstance(m, torch.Tensor) or m.ndim != 4 or len(m) != len(images):
                raise BackboneOutputError(
                    f"backbone {self.spec.name!r}: depth_maps must return (B, D, h, w) tensors for {len(images)} "
                    f"images, got {tuple(getattr(m, 'shape', ())) or type(m).__name__}; fix its depth_maps or "
                    "feature_maps")
        return torch.cat([self.embed(images)] + [m.float().mean(dim=(2, 3)) for m in maps], dim=1)

    @property
    def has_feature_map(self) -> bool:
        return type(self).feature_map is not Backbone.feature_map

    def to(self, device: torch.device | str) -> Backbone:
        self.device = torch.device(device)
        return self


class ModuleBackbone(Backbone):
    """A backbone whose features are the output of one ``torch.nn.Module`` in eval mode."""

    def __init__(self, spec: BackboneSpec, module: torch.nn.Module, weights: Path | None = None):
        super().__init__(spec, weights)
        self.module = module.eval()

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.module(images)

    def to(self, device: torch.device | str) -> Backbone:
        super().to(device)
        self.module.to(self.device)
        if self.device.type == "cuda":  # convolutions run fastest on NHWC tensors there; extract feeds NHWC
            self.module.to(memory_format=torch.channels_last)
        return self


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Build a model under a fixed torch seed without disturbing the caller's RNG state.

    Random-init twins are only a control if every build gives the same weights.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0 if seed is None else seed)
        yield

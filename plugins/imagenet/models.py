"""timm hub weights: a safetensors state dict of the full classifier; the head is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from radiobench.api import BackboneSpec, TimmBackbone


class TimmHub(TimmBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = "", drop: Sequence[str] = ()):
        super().__init__(spec, weights, arch=arch, drop=tuple(drop))

"""Zoobot hub files hold the encoder's timm state dict with ``num_classes=0``: keys match directly."""

from __future__ import annotations

from pathlib import Path

from radiobench.api import BackboneSpec, TimmBackbone


class ZoobotEncoder(TimmBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = ""):
        super().__init__(spec, weights, arch=arch)

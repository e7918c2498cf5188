"""Backbones for ``radiobench pretrain`` outputs and their random-init twins.

``PretrainedTeacher`` reads the run's ``teacher.pth`` with the dino_mgcls plugin's converter
(the DINO teacher layout: ``teacher`` -> ``backbone.``/``head.`` keys), into the timm architecture
built at the run's image size. ``RandomTwin`` is the same architecture at the same size with its
default initialisation under the spec's seed: what the pretraining is measured against.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from radiobench.models.timm_backbone import TimmBackbone, plain_state_dict
from radiobench.specs import BackboneSpec


class PretrainedTeacher(TimmBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = "",
                 model_kwargs: Mapping[str, Any] | None = None):
        from radiobench_plugins.dino_mgcls.model import teacher_state_dict

        super().__init__(spec, weights, arch=arch, converter=teacher_state_dict, model_kwargs=model_kwargs)


class RandomTwin(TimmBackbone):
    def __init__(self, spec: BackboneSpec, weights: Path | None = None, arch: str = "",
                 model_kwargs: Mapping[str, Any] | None = None):
        super().__init__(spec, weights, arch=arch, converter=plain_state_dict, model_kwargs=model_kwargs)

"""Import paths of radiobench 0.1, kept working for one release (plugins written against them still load).

The core was 36 flat modules; it is now grouped by job (``models/``, ``tasks/``, ``astro/``,
``io/``, ``run/``, ``results/``, ``board/``, ``registry/``). ``import radiobench.backbone`` still
works: a finder on ``sys.meta_path`` hands back the module at its new home, under both names,
with a ``DeprecationWarning`` naming it. New code imports from ``radiobench.api``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from types import ModuleType

MOVED = {
    "radiobench.backbone": "radiobench.models.backbone",
    "radiobench.timm_backbone": "radiobench.models.timm_backbone",
    "radiobench.checkpoints": "radiobench.models.checkpoints",
    "radiobench.weights": "radiobench.models.weights",
    "radiobench.identity": "radiobench.models.identity",
    "radiobench.preprocess": "radiobench.models.preprocess",
    "radiobench.extract": "radiobench.models.extract",
    "radiobench.memory": "radiobench.run.memory",
    "radiobench.cache": "radiobench.run.cache",
    "radiobench.runner": "radiobench.run",
    "radiobench.provenance": "radiobench.results.provenance",
    "radiobench.task": "radiobench.tasks.base",
    "radiobench.detection": "radiobench.tasks.detection",
    "radiobench.coco": "radiobench.tasks.coco",
    "radiobench.fitsimage": "radiobench.astro.fitsimage",
    "radiobench.simulate": "radiobench.astro.simulate",
    "radiobench.sourcefinding": "radiobench.astro.sourcefinding",
    "radiobench.catalogues": "radiobench.astro.catalogues",
    "radiobench.crops": "radiobench.astro.crops",
    "radiobench.atomic": "radiobench.io.atomic",
    "radiobench.download": "radiobench.io.download",
    "radiobench.archives": "radiobench.io.archives",
    "radiobench.safe_pickle": "radiobench.io.safe_pickle",
    "radiobench.datafiles": "radiobench.io.datafiles",
    "radiobench.leaderboard": "radiobench.board.collect",
    "radiobench.render": "radiobench.board.render",
    "radiobench.plugins": "radiobench.registry.loader",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module at its new home (one object, two names)."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new} (the old path works until radiobench 0.3); "
                      "import from radiobench.api or the new module", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        self._spec = module.__spec__  # importlib stamps the alias spec on the module; exec_module restores it
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._spec


def install() -> None:
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())

"""The public API for plugin authors: import everything a backbone or task plugin needs from here.

Everything else in ``radiobench`` is the core's own business and may move (the run machinery
is being reorganised as you read this); names listed in ``__all__`` stay.

Importing this module must not import torch, nor even numpy: a plugin's registration module
imports from here, and ``radiobench list`` loads every registration module before it prints a
line. So only the specs, the hook markers and the errors are imported eagerly; every other
name is imported on first access (PEP 562 ``__getattr__``). The torch-free ones (``Task``,
``Split``, the safe readers, ``check_task``) import numpy at most; ``Backbone``,
``ModuleBackbone``, ``TimmBackbone``, ``seeded``, ``read_checkpoint``, ``load_into`` and
``check_backbone`` import torch, so use them only in the module your spec's ``factory`` names
(and in tests).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from radiobench.errors import (
    BackboneOutputError,
    ChecksumError,
    DatasetNotFoundError,
    PluginError,
    RadiobenchError,
    UnsafeDataError,
)
from radiobench.hookspecs import hookimpl, hookspec
from radiobench.specs import BackboneSpec, InputContract, TaskSpec, WeightsSpec

# name -> (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    # tasks (numpy, no torch)
    "Task": ("radiobench.task", "Task"),
    "Split": ("radiobench.task", "Split"),
    "LazyImages": ("radiobench.task", "LazyImages"),
    "linear_scale": ("radiobench.task", "linear_scale"),
    "CocoTask": ("radiobench.detection", "CocoTask"),
    "DetectionTask": ("radiobench.detection", "DetectionTask"),
    "DetectionSplit": ("radiobench.detection", "DetectionSplit"),
    # finding, fetching and reading data files without trusting them (no torch)
    "data_root": ("radiobench.datafiles", "data_root"),
    "cache_root": ("radiobench.datafiles", "cache_root"),
    "read_verified": ("radiobench.datafiles", "read_verified"),
    "require_file": ("radiobench.datafiles", "require_file"),
    "verify_file": ("radiobench.datafiles", "verify_file"),
    "download": ("radiobench.download", "download"),
    "sha256_file": ("radiobench.download", "sha256_file"),
    "read_tar_members": ("radiobench.archives", "read_tar_members"),
    "check_member_name": ("radiobench.archives", "check_member_name"),
    "safe_pickle": ("radiobench.safe_pickle", None),
    # conformance of a task (no torch)
    "check_task": ("radiobench.conformance", "check_task"),
    "ConformanceError": ("radiobench.conformance", "ConformanceError"),
    # backbones and their weights (torch)
    "Backbone": ("radiobench.backbone", "Backbone"),
    "ModuleBackbone": ("radiobench.backbone", "ModuleBackbone"),
    "seeded": ("radiobench.backbone", "seeded"),
    "TimmBackbone": ("radiobench.timm_backbone", "TimmBackbone"),
    "plain_state_dict": ("radiobench.timm_backbone", "plain_state_dict"),
    "read_checkpoint": ("radiobench.checkpoints", "read_checkpoint"),
    "load_into": ("radiobench.checkpoints", "load_into"),
    "CheckpointError": ("radiobench.checkpoints", "CheckpointError"),
    "check_backbone": ("radiobench.testing", "check_backbone"),
    # evaluation protocols (radiobench_register_protocols)
    "Protocol": ("radiobench.protocols.base", "Protocol"),
    "MapProtocol": ("radiobench.protocols.base", "MapProtocol"),
    "Kind": ("radiobench.kinds", "Kind"),
    "Metric": ("radiobench.kinds", "Metric"),
    "ResultRecord": ("radiobench.results.record", "ResultRecord"),
}

__all__ = sorted({
    # registration
    "BackboneSpec", "InputContract", "TaskSpec", "WeightsSpec", "hookimpl", "hookspec",
    # errors a plugin raises (CheckpointError and ConformanceError are lazy, below)
    "RadiobenchError", "PluginError", "DatasetNotFoundError", "ChecksumError", "UnsafeDataError",
    "BackboneOutputError",
    *_LAZY,
})


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'radiobench.api' has no attribute {name!r}") from None
    value = importlib.import_module(module)
    if attribute is not None:
        value = getattr(value, attribute)
    globals()[name] = value  # the next access is a plain lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what static checkers and IDEs see; at run time these come from __getattr__
    from radiobench import safe_pickle
    from radiobench.archives import check_member_name, read_tar_members
    from radiobench.backbone import Backbone, ModuleBackbone, seeded
    from radiobench.checkpoints import CheckpointError, load_into, read_checkpoint
    from radiobench.conformance import ConformanceError, check_task
    from radiobench.datafiles import cache_root, data_root, read_verified, require_file, verify_file
    from radiobench.detection import CocoTask, DetectionSplit, DetectionTask
    from radiobench.download import download, sha256_file
    from radiobench.protocols.base import Protocol
    from radiobench.task import LazyImages, Split, Task, linear_scale
    from radiobench.testing import check_backbone
    from radiobench.timm_backbone import TimmBackbone, plain_state_dict

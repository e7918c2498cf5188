"""The public API for plugin authors: import everything a backbone, task or protocol plugin needs from here.

Everything else in ``radiobench`` is the core's own business and may move (the run machinery
is being reorganised as you read this); names listed in ``__all__`` stay.

Importing this module must not import torch, nor even numpy: a plugin's registration module
imports from here, and ``radiobench list`` loads every registration module before it prints a
line. So only the specs, the hook markers and the errors are imported eagerly; every other
name is imported on first access (PEP 562 ``__getattr__``). The torch-free ones (``Task``,
``Split``, the safe readers, ``check_task``, ``check_protocol``, ``Protocol``) import numpy at most;
``Backbone``, ``ModuleBackbone``, ``TimmBackbone``, ``seeded``, ``read_checkpoint`` and ``load_into``
import torch, and so does calling ``check_backbone``, so use them only in the module your spec's
``factory`` names (and in tests).
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
from radiobench.specs import BackboneSpec, InputContract, ProtocolOption, ProtocolSpec, TaskSpec, WeightsSpec

# name -> (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    # tasks (numpy, no torch)
    "Task": ("radiobench.tasks.base", "Task"),
    "Split": ("radiobench.tasks.base", "Split"),
    "LazyImages": ("radiobench.tasks.base", "LazyImages"),
    "linear_scale": ("radiobench.tasks.base", "linear_scale"),
    "CocoTask": ("radiobench.tasks.detection", "CocoTask"),
    "DetectionTask": ("radiobench.tasks.detection", "DetectionTask"),
    "DetectionSplit": ("radiobench.tasks.detection", "DetectionSplit"),
    # finding, fetching and reading data files without trusting them (no torch)
    "data_root": ("radiobench.io.datafiles", "data_root"),
    "cache_root": ("radiobench.io.datafiles", "cache_root"),
    "read_verified": ("radiobench.io.datafiles", "read_verified"),
    "require_file": ("radiobench.io.datafiles", "require_file"),
    "verify_file": ("radiobench.io.datafiles", "verify_file"),
    "download": ("radiobench.io.download", "download"),
    "sha256_file": ("radiobench.io.download", "sha256_file"),
    "read_tar_members": ("radiobench.io.archives", "read_tar_members"),
    "check_member_name": ("radiobench.io.archives", "check_member_name"),
    "safe_pickle": ("radiobench.io.safe_pickle", None),
    # progress bars for long steps inside a task's prepare (no torch): progress_stage(label, total, unit)
    "progress_stage": ("radiobench.run.progress", "stage"),
    # conformance checks, one module: a task's and a protocol's need no torch, a backbone's imports it when called
    "check_task": ("radiobench.conformance", "check_task"),
    "check_protocol": ("radiobench.conformance", "check_protocol"),
    "check_backbone": ("radiobench.conformance", "check_backbone"),
    "ConformanceError": ("radiobench.conformance", "ConformanceError"),
    # declared input transforms (InputContract.transforms; no torch until applied)
    "percentile_clip": ("radiobench.models.transforms", "percentile_clip"),
    "centre_crop": ("radiobench.models.transforms", "centre_crop"),
    "zoom": ("radiobench.models.transforms", "zoom"),
    "Transform": ("radiobench.models.transforms", "Transform"),
    "TransformError": ("radiobench.models.transforms", "TransformError"),
    # backbones and their weights (torch)
    "Backbone": ("radiobench.models.backbone", "Backbone"),
    "ModuleBackbone": ("radiobench.models.backbone", "ModuleBackbone"),
    "seeded": ("radiobench.models.backbone", "seeded"),
    "TimmBackbone": ("radiobench.models.timm_backbone", "TimmBackbone"),
    "plain_state_dict": ("radiobench.models.timm_backbone", "plain_state_dict"),
    "read_checkpoint": ("radiobench.models.checkpoints", "read_checkpoint"),
    "load_into": ("radiobench.models.checkpoints", "load_into"),
    "CheckpointError": ("radiobench.models.checkpoints", "CheckpointError"),
    # evaluation protocols (radiobench_register_protocols registers a ProtocolSpec whose factory names one)
    "Protocol": ("radiobench.protocols.base", "Protocol"),
    "MapProtocol": ("radiobench.protocols.base", "MapProtocol"),
    "Predicted": ("radiobench.protocols.base", "Predicted"),  # labels with class probabilities, from fit_predict
    "Kind": ("radiobench.kinds", "Kind"),
    "Metric": ("radiobench.kinds", "Metric"),
    "ResultRecord": ("radiobench.results.record", "ResultRecord"),
}

__all__ = sorted({
    # registration
    "BackboneSpec", "InputContract", "ProtocolOption", "ProtocolSpec", "TaskSpec", "WeightsSpec", "hookimpl", "hookspec",
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
    from radiobench.models.transforms import Transform, TransformError, centre_crop, percentile_clip, zoom
    from radiobench.io import safe_pickle
    from radiobench.io.archives import check_member_name, read_tar_members
    from radiobench.models.backbone import Backbone, ModuleBackbone, seeded
    from radiobench.models.checkpoints import CheckpointError, load_into, read_checkpoint
    from radiobench.conformance import ConformanceError, check_backbone, check_protocol, check_task
    from radiobench.io.datafiles import cache_root, data_root, read_verified, require_file, verify_file
    from radiobench.tasks.detection import CocoTask, DetectionSplit, DetectionTask
    from radiobench.io.download import download, sha256_file
    from radiobench.protocols.base import Protocol
    from radiobench.run.progress import stage as progress_stage
    from radiobench.tasks.base import LazyImages, Split, Task, linear_scale
    from radiobench.models.timm_backbone import TimmBackbone, plain_state_dict

"""Running a frozen backbone over a task split: scaling, input contract, forward pass.

Every batch the backbone returns is checked against its declared interface (a 2-D
float tensor of ``embed_dim`` columns, finite), and a violation names the plugin that
shipped the backbone, because that is where the fix belongs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from radiobench.backbone import Backbone
from radiobench.errors import BackboneOutputError, RadiobenchError
from radiobench.preprocess import prepare_batch
from radiobench.task import Split, Task

PRECISIONS = ("fp32", "bf16")


@dataclass
class Extraction:
    features: np.ndarray
    seconds: float

    @property
    def images_per_second(self) -> float:
        return len(self.features) / self.seconds if self.seconds > 0 else float("nan")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RadiobenchError("--device cuda was requested but torch sees no CUDA GPU; use --device cpu")
    return torch.device(device)


def extract(
    backbone: Backbone,
    task: Task,
    split: Split,
    *,
    owner: str,
    batch_size: int = 64,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
) -> Extraction:
    if precision not in PRECISIONS:
        raise RadiobenchError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    device = backbone.device
    spec = backbone.spec
    chunks: list[np.ndarray] = []
    start = time.perf_counter()
    for first in range(0, len(split), batch_size):
        raw = split.images[first : first + batch_size]
        scaled = task.scale(raw)
        if not np.isfinite(scaled).all() or scaled.min() < -1e-6 or scaled.max() > 1 + 1e-6:
            raise RadiobenchError(
                f"task {task.spec.name!r} scaled pixels outside [0, 1] or to NaN "
                f"(batch starting at {split.ids[first]!r}); its scale() must map survey pixels to [0, 1]"
            )
        batch = prepare_batch(torch.from_numpy(np.ascontiguousarray(scaled)).to(device), spec.input)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            out = backbone.embed(batch)
        chunks.append(check_output(out, len(batch), spec.name, spec.embed_dim, owner))
        if on_batch is not None:
            on_batch(len(batch))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return Extraction(np.concatenate(chunks), time.perf_counter() - start)


def check_output(out: object, rows: int, name: str, dim: int, owner: str) -> np.ndarray:
    where = f"backbone {name!r} (from {owner})"
    if not isinstance(out, torch.Tensor):
        raise BackboneOutputError(f"{where} returned {type(out).__name__} from embed(); it must return a torch.Tensor")
    if tuple(out.shape) != (rows, dim):
        raise BackboneOutputError(
            f"{where} returned shape {tuple(out.shape)} for {rows} images; expected ({rows}, {dim}) "
            "(batch, declared embed_dim): fix the plugin's embed() or its spec"
        )
    if not out.is_floating_point():
        raise BackboneOutputError(f"{where} returned dtype {out.dtype}; embeddings must be floating point")
    array = out.detach().float().cpu().numpy()
    if not np.isfinite(array).all():
        raise BackboneOutputError(f"{where} returned NaN or infinite embeddings")
    return array

"""Running a frozen backbone over a task split: scaling, input contract, forward pass.

Every batch the backbone returns is checked against its declared interface (a 2-D
float tensor of ``embed_dim`` columns, finite), and a violation names the plugin that
shipped the backbone, because that is where the fix belongs.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def host_batches(task: Task, split: Split, batch_size: int, *, pin: bool = False, workers: int = 1,
                 prefetch: int = 2) -> Iterator[torch.Tensor]:
    """The host half of extraction, in order: each batch read (lazy images decode here), scaled,
    range-checked and, for CUDA, pinned, ``prefetch`` batches ahead on ``workers`` threads.

    Separate from :func:`extract` so that it overlaps the forward pass and so the benchmark can
    time it alone: it is what bounds the harness on a fast accelerator.
    """
    starts = list(range(0, len(split), batch_size))

    def one(first: int) -> torch.Tensor:
        scaled = task.scale(split.images[first : first + batch_size])
        low, high = (scaled.min(), scaled.max()) if scaled.size else (0.0, 0.0)
        if not (low >= -1e-6 and high <= 1 + 1e-6):  # False for NaN too: no separate isfinite pass
            raise RadiobenchError(
                f"task {task.spec.name!r} scaled pixels outside [0, 1] or to NaN "
                f"(batch starting at {split.ids[first]!r}); its scale() must map survey pixels to [0, 1]"
            )
        tensor = torch.from_numpy(np.ascontiguousarray(scaled, dtype=np.float32))
        return tensor.pin_memory() if pin else tensor

    prefetch = max(prefetch, 2 * workers)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="radiobench-prefetch") as pool:
        queued = deque(pool.submit(one, first) for first in starts[:prefetch])
        try:
            for k in range(len(starts)):
                tensor = queued.popleft().result()
                if k + len(queued) + 1 < len(starts):
                    queued.append(pool.submit(one, starts[k + len(queued) + 1]))
                yield tensor
        finally:
            for future in queued:
                future.cancel()


def extract(
    backbone: Backbone,
    task: Task,
    split: Split,
    *,
    owner: str,
    batch_size: int = 64,
    precision: str = "fp32",
    on_batch: Callable[[int], None] | None = None,
    prefetch: int = 2,
    host_threads: int = 1,
) -> Extraction:
    """Features of every image of ``split``, in order.

    The host half (:func:`host_batches`) runs ahead on worker threads so that it overlaps the
    forward pass instead of adding to it. One host thread by default: on this project's 2-core CPU
    machines two threads were slower than one (``benchmarks/extraction.py --host-workers`` measures
    it on yours). On CUDA, outputs stay on the device until the end
    (a per-batch copy back would synchronise every batch) and inputs go channels-last.
    """
    if precision not in PRECISIONS:
        raise RadiobenchError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    device = backbone.device
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input size: let cuDNN pick its fastest kernels once
    spec = backbone.spec
    outputs: list[torch.Tensor] = []
    start = time.perf_counter()
    for tensor in host_batches(task, split, batch_size, pin=cuda, workers=host_threads, prefetch=prefetch):
        batch = prepare_batch(tensor.to(device, non_blocking=True), spec.input)
        if cuda:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            out = backbone.embed(batch)
        check_tensor(out, len(batch), spec.name, spec.embed_dim, owner)
        outputs.append(out.detach().float() if cuda else torch.from_numpy(check_output(out, len(batch), spec.name, spec.embed_dim, owner)))
        if on_batch is not None:
            on_batch(len(batch))
    features = torch.cat(outputs) if outputs else torch.empty(0, spec.embed_dim)
    if cuda:
        features = torch.from_numpy(check_output(features, len(split), spec.name, spec.embed_dim, owner))
        torch.cuda.synchronize(device)
    return Extraction(features.numpy(), time.perf_counter() - start)


def check_tensor(out: object, rows: int, name: str, dim: int, owner: str) -> None:
    """The checks that need no copy from the device: type, shape, dtype."""
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


def check_output(out: object, rows: int, name: str, dim: int, owner: str) -> np.ndarray:
    """Every check, then the features as float32 numpy on the host."""
    check_tensor(out, rows, name, dim, owner)
    assert isinstance(out, torch.Tensor)
    where = f"backbone {name!r} (from {owner})"
    array = out.detach().float().cpu().numpy()
    if not np.isfinite(array).all():
        raise BackboneOutputError(f"{where} returned NaN or infinite embeddings")
    return array

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

from radiobench.models.backbone import Backbone
from radiobench.errors import BackboneOutputError, RadiobenchError
from radiobench.models import transforms
from radiobench.models.preprocess import prepare_batch
from radiobench.specs import BackboneSpec, TaskSpec
from radiobench.tasks.base import Split, Task, linear_scale

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


RANGE_SLACK = 1e-6  # rounding a scaled pixel may overshoot [0, 1] by, as a fraction of the range


def scales_on_device(task: Task, device: torch.device) -> bool:
    """Whether :func:`extract` ships ``task``'s stored pixels and scales them on ``device`` by default:
    on CUDA, for a task whose map is declared (``pixel_range``) rather than code only the host runs."""
    return device.type == "cuda" and not task.overrides_scale


def host_batches(task: Task, split: Split, batch_size: int, *, pin: bool = False, workers: int = 1,
                 prefetch: int = 2, raw: bool = False) -> Iterator[torch.Tensor]:
    """The host half of extraction, in order: each batch read (lazy images decode here), scaled,
    range-checked and, for CUDA, pinned, ``prefetch`` batches ahead on ``workers`` threads.
    With ``raw`` the batch stays as stored (the device scales it, see :func:`extract`).

    Separate from :func:`extract` so that it overlaps the forward pass and so the benchmark can
    time it alone: it is what bounds the harness on a fast accelerator.
    """
    starts = list(range(0, len(split), batch_size))

    def one(first: int) -> torch.Tensor:
        pixels = split.images[first : first + batch_size]
        if raw:
            tensor = torch.from_numpy(np.ascontiguousarray(pixels))
        else:
            scaled = task.scale(pixels)
            low, high = (scaled.min(), scaled.max()) if scaled.size else (0.0, 0.0)
            if not (low >= -RANGE_SLACK and high <= 1 + RANGE_SLACK):  # False for NaN too: no separate isfinite pass
                raise out_of_range(task, split.ids[first])
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


def out_of_range(task: Task, first_id: str) -> RadiobenchError:
    fix = "its scale() must map survey pixels to [0, 1]" if task.overrides_scale else \
        f"its pixel_range {tuple(task.pixel_range or ())} must cover the stored pixels"
    return RadiobenchError(
        f"task {task.spec.name!r} scaled pixels outside [0, 1] or to NaN (batch starting at {first_id!r}); {fix}"
    )


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
    scale_on_device: bool | None = None,
) -> Extraction:
    """Features of every image of ``split``, in order: ``embed``'s, or ``depth_embedding``'s for a task that
    reads every depth (``Task.every_depth``; its width is the backbone's, known from the first batch).

    The host half (:func:`host_batches`) runs ahead on worker threads so that it overlaps the
    forward pass instead of adding to it. One host thread by default: on this project's 2-core CPU
    machines two threads were slower than one (``benchmarks/extraction.py --host-workers`` measures
    it on yours). On CUDA, outputs stay on the device until the end
    (a per-batch copy back would synchronise every batch) and inputs go channels-last.

    ``scale_on_device`` (default: on CUDA, for tasks that declare ``pixel_range``) ships the
    stored pixels and scales them on the device: one H100 forward pass of ResNet-18 outpaces a
    host thread's float32 scaling and pinning tenfold, and uint8 is a quarter of the bytes.
    The range check then runs there too, as per-batch minima and maxima read back once at the end.
    """
    if precision not in PRECISIONS:
        raise RadiobenchError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    device = backbone.device
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input size: let cuDNN pick its fastest kernels once
    if scale_on_device is None:
        scale_on_device = scales_on_device(task, device)
    elif scale_on_device and task.overrides_scale:
        raise RadiobenchError(f"task {task.spec.name!r} scales with its own scale(), which runs on the host only")
    spec = backbone.spec
    scale = task.spec.pixel_scale_arcsec
    check_transforms(spec, task.spec)  # before any batch: a crop in arcsec on a task with no pixel scale
    method, dim = (backbone.depth_embedding, None) if task.every_depth else (backbone.embed, spec.embed_dim)
    outputs: list[torch.Tensor] = []
    ranges: list[torch.Tensor] = []
    firsts = split.ids[::batch_size]
    start = time.perf_counter()
    for tensor in host_batches(task, split, batch_size, pin=cuda, workers=host_threads, prefetch=prefetch,
                               raw=scale_on_device):
        pixels = tensor.to(device, non_blocking=True)
        if scale_on_device:
            ranges.append(torch.stack(torch.aminmax(pixels)).double())
            if not cuda:  # no sync to save: fail before NaN pixels become NaN features
                check_ranges(task, firsts[len(ranges) - 1 :], ranges[-1][None])
            pixels = linear_scale(pixels, *task.pixel_range)  # type: ignore[misc]
        batch = prepare_batch(pixels, spec.input, scale)
        if cuda:
            batch = batch.contiguous(memory_format=torch.channels_last)
        with torch.inference_mode(), torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16"):
            out = method(batch)
        if dim is None:
            dim = out.shape[-1] if isinstance(out, torch.Tensor) and out.ndim == 2 else spec.embed_dim
        check_tensor(out, len(batch), spec.name, dim, owner)
        outputs.append(owned(out) if cuda else torch.from_numpy(check_output(out, len(batch), spec.name, dim, owner)))
        if on_batch is not None:
            on_batch(len(batch))
    if ranges:
        check_ranges(task, firsts, torch.stack(ranges).cpu())
    dim = spec.embed_dim if dim is None else dim
    features = torch.cat(outputs) if outputs else torch.empty(0, dim)
    if cuda:
        features = torch.from_numpy(check_output(features, len(split), spec.name, dim, owner))
        torch.cuda.synchronize(device)
    return Extraction(features.numpy(), time.perf_counter() - start)


def check_transforms(spec: BackboneSpec, task: TaskSpec, dense: bool = False) -> None:
    """Refuse, in one line naming both, a backbone whose declared transforms cannot run on ``task`` (a crop
    stated in arcseconds where the task declares no pixel scale); a crop larger than the images stops at the
    first batch, naming both sizes."""
    try:
        transforms.check_all(spec.input.transforms, task.pixel_scale_arcsec, dense)
    except transforms.TransformError as exc:
        raise transforms.TransformError(f"backbone {spec.name!r} cannot run on task {task.name!r}: {exc}") from None


def check_ranges(task: Task, firsts: list[str], ranges: torch.Tensor) -> None:
    """Per-batch (min, max) of the stored pixels against ``pixel_range`` (NaN fails: it compares False);
    ``firsts`` are the batches' first ids."""
    low, high = task.pixel_range  # type: ignore[misc]
    slack = RANGE_SLACK * (high - low)  # the host check's tolerance, in stored units
    ok = (ranges[:, 0] >= low - slack) & (ranges[:, 1] <= high + slack)
    if not bool(ok.all()):
        raise out_of_range(task, firsts[int((~ok).nonzero()[0, 0])])


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


def owned(out: torch.Tensor) -> torch.Tensor:
    """The embeddings as float32 in storage of their own, not a view into a larger tensor.

    A ViT's class-token embedding is ``tokens[:, 0]``: a view that keeps the batch's whole token
    tensor alive (ViT-S/8, batch 64: 77 MB for 98 KB of features). Kept until the last batch,
    those views grew a 6161-image random_vits8 extraction by about 7 GB.
    """
    out = out.detach().float()
    if out.untyped_storage().nbytes() > out.numel() * out.element_size():
        out = out.clone(memory_format=torch.contiguous_format)
    return out


def check_output(out: object, rows: int, name: str, dim: int, owner: str) -> np.ndarray:
    """Every check, then the features as float32 numpy on the host."""
    check_tensor(out, rows, name, dim, owner)
    assert isinstance(out, torch.Tensor)
    where = f"backbone {name!r} (from {owner})"
    array = owned(out).cpu().numpy()
    if not np.isfinite(array).all():
        raise BackboneOutputError(f"{where} returned NaN or infinite embeddings")
    return array

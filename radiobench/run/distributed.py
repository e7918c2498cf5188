"""One pair's extraction spread over processes started by ``torchrun``: shard, extract, gather on rank 0.

``torchrun --nproc-per-node N -m radiobench run ...`` starts N copies of the same command.
Each rank extracts a contiguous block of every split's images (:func:`shard_rows`, the same
blocks on every run), rank 0 gathers the blocks in rank order, so its features are the
single-process features row for row, and only rank 0 writes the cache entry, fits the
protocols and writes the result. Every decision that changes which collective calls follow
(a cache hit, a finished result) is rank 0's, broadcast to the others (:meth:`World.agree`),
so ranks never wait on each other for a step one of them skipped.

Outside torchrun (no ``WORLD_SIZE`` above 1) :func:`current` is a world of one and nothing
here imports ``torch.distributed``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from radiobench.errors import RadiobenchError

S = TypeVar("S")


def shard_rows(n: int, rank: int, size: int) -> np.ndarray:
    """The rows rank ``rank`` of ``size`` extracts: contiguous, balanced, in order; all on rank 0 when
    there are fewer rows than ranks (an empty shard has no feature width to gather)."""
    if size <= 1 or n < size:
        return np.arange(n) if rank == 0 else np.arange(0)
    return np.array_split(np.arange(n), size)[rank]


@dataclass(frozen=True)
class World:
    """This process's place among the ranks of one run (a world of one outside torchrun)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def leader(self) -> bool:
        """Rank 0: the rank that holds the cache lock, writes entries and results, and prints."""
        return self.rank == 0

    def shard(self, split: S) -> S:
        """This rank's block of ``split`` (the whole split in a world of one)."""
        if self.size == 1:
            return split
        return split.subset(shard_rows(len(split), self.rank, self.size))  # type: ignore[attr-defined]

    def agree(self, value: Any) -> Any:
        """Rank 0's ``value`` on every rank (picklable values)."""
        if self.size == 1:
            return value
        import torch.distributed as dist

        box = [value if self.leader else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_rows(self, block: np.ndarray | None) -> np.ndarray | None:
        """Every rank's block stacked in rank order on rank 0 (None on the others; a rank without rows
        sends None)."""
        if self.size == 1:
            return block
        import torch.distributed as dist

        blocks: list[Any] | None = [None] * self.size if self.leader else None
        dist.gather_object(block, blocks, dst=0)
        if not self.leader:
            return None
        assert blocks is not None
        return np.concatenate([b for b in blocks if b is not None and len(b)], axis=0)


_CURRENT = World()


def current() -> World:
    """The world of the run in progress (set by :func:`session`)."""
    return _CURRENT


def from_env(environ: dict[str, str] | None = None) -> World:
    """The world torchrun describes in the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``)."""
    env = os.environ if environ is None else environ
    try:
        size = int(env.get("WORLD_SIZE", "1"))
        rank = int(env.get("RANK", "0"))
        local = int(env.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise RadiobenchError(f"WORLD_SIZE/RANK/LOCAL_RANK are not integers ({exc}); start with torchrun") from None
    if size < 1 or not 0 <= rank < size:
        raise RadiobenchError(f"RANK {rank} does not fit WORLD_SIZE {size}; start with torchrun")
    return World(rank, size, local)


def device_for(world: World, device: str) -> str:
    """Each rank on its own GPU (``cuda:LOCAL_RANK``) when the run asked for auto or cuda and there is one."""
    if world.size == 1 or device not in ("auto", "cuda"):
        return device
    import torch

    if torch.cuda.is_available():
        return f"cuda:{world.local_rank % torch.cuda.device_count()}"
    return "cpu" if device == "auto" else device


@contextmanager
def session(device: str) -> Iterator[World]:
    """Join the process group torchrun set up (NCCL on GPUs, gloo on CPUs) for the block; a world of one
    outside torchrun. ``device`` is the run's device after :func:`device_for`."""
    global _CURRENT
    world = from_env()
    if world.size == 1:
        yield world
        return
    import torch
    import torch.distributed as dist

    backend = "nccl" if device.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group(backend)
    _CURRENT = world
    try:
        yield world
    finally:
        _CURRENT = World()
        dist.destroy_process_group()

"""Keeping freed memory in the process, so that each batch's large tensors are not faulted in anew.

glibc hands every allocation above its mmap threshold (at most 32 MiB unless raised) straight
back to the kernel when it is freed. A ViT-S/8 forward pass at batch 64 allocates blocks of
hundreds of MB at every batch, so each batch faulted millions of zeroed pages in again: 1280
mgcls_anomaly images took 383 s with glibc's defaults (132 s system time) and 297 s with the
thresholds raised (3 s system time). Memory that was freed is kept up to the thresholds instead
of being returned to the system: peak RSS 3.7 GB against 2.0 GB there, flat in the number of
batches as long as nothing holds a batch's blocks (see ``extract.owned``: a kept class-token view
pinned each batch's tokens, and the heap grew to 18 GB on the full set).
"""

from __future__ import annotations

import ctypes
import os

KEEP_BYTES = 1 << 30  # blocks up to 1 GiB come from (and go back to) the heap
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; False where the C library is not glibc or the user set them."""
    if any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")):
        return False  # the user's own allocator settings win
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library this process already runs on
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES))

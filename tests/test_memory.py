"""The run command keeps freed memory: a large block freed and allocated again is not faulted in anew."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys
import torch
if sys.argv[1] == "keep":
    from radiobench.run.memory import keep_freed_memory
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    block = torch.ones(64 << 20, dtype=torch.uint8)  # 64 MiB, above glibc's default mmap ceiling
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt thresholds are glibc's")
def test_a_freed_large_block_is_reused_not_faulted_in_again():
    default, kept = faults("default"), faults("keep")
    pages = 40 * (64 << 20) // 4096
    assert default > 0.8 * pages  # every allocation faults all its pages in again
    assert kept < 0.3 * pages  # only the first few do


def test_the_users_own_allocator_settings_win(monkeypatch):
    from radiobench.run.memory import keep_freed_memory

    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    assert keep_freed_memory() is False

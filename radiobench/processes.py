"""Worker processes and process ids: pools whose workers end with the run, and whether a pid still runs.

One small module at the bottom of the package (it imports nothing of radiobench), so the source
finder's pool (:mod:`radiobench.astro.sourcefinding`), the linear probe's loky pool
(:mod:`radiobench.protocols.linear`) and the sweep's job bookkeeping (:mod:`radiobench.run.executor`)
share one copy instead of borrowing from each other.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

PARENT_POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this process as soon as ``parent_pid`` (the run that started it) is gone.

    A run killed with ``kill -9`` cannot shut its pools down, and their workers (~180 MB each)
    then sat in their queues for 15 minutes and more. A daemon thread watches the parent pid,
    which changes once the parent has died (the orphan is re-parented). Not Linux's
    PR_SET_PDEATHSIG: that fires when the *thread* that spawned the worker ends, and loky
    respawns idle-timed-out workers from its own manager thread, so live workers could be
    killed mid-run. Polling works on every platform and changes nothing a worker computes.
    """
    if os.getppid() != parent_pid:  # the parent died before this worker even started
        os._exit(1)
    threading.Thread(target=_exit_when_orphaned, args=(parent_pid,), name="radiobench-parent-watch", daemon=True).start()


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)  # at once: no one is left to take the work, and cleanup handlers could block on the dead parent


def in_processes(function: Callable[[Any], Any], jobs: Sequence[Any], processes: int | None) -> Iterator[Any]:
    """``function`` over ``jobs``, results in order, on spawned worker processes of one BLAS thread each.

    ``processes`` defaults to ``$RADIOBENCH_PROCESSES`` or the CPU count; 1 runs in this process.
    Leaving the loop early (an error in a job or in the caller) cancels the jobs not yet started.
    """
    workers = max(1, min(len(jobs), processes or int(os.environ.get("RADIOBENCH_PROCESSES", 0)) or os.cpu_count() or 1))
    if workers == 1:
        yield from map(function, jobs)
        return
    import multiprocessing

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start,
                             initargs=(os.getpid(),)) as pool:
        try:
            yield from pool.map(function, jobs)
        finally:
            pool.shutdown(cancel_futures=True)


def _worker_start(parent_pid: int) -> None:
    """Initializer of ``in_processes``'s workers: one BLAS thread each, and gone when the run is gone."""
    die_with_parent(parent_pid)
    _one_thread()


def _one_thread() -> None:
    """In a pool, each worker keeps to one BLAS/OpenMP thread: the processes are the parallelism."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (a zombie, finished but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    try:  # a zombie (finished, not yet reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True

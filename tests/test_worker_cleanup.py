"""Worker processes end with the run that started them, even when it is killed with SIGKILL.

Each case starts a fresh interpreter that opens one of the project's pools (the pyBDSF
``in_processes`` pool, the linear probe's joblib/loky pool) on jobs that block, kills that
interpreter with ``kill -9``, and checks that its workers are gone within seconds (they
used to wait in their queues for 15 minutes and more, ~180 MB each).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

POOLS = {
    "pybdsf_pool": "import time; from radiobench.astro.sourcefinding import in_processes\n"
                   "list(in_processes(time.sleep, [600, 600], processes=2))",
    "linear_probe_pool": "import time; from joblib import delayed; from radiobench.protocols.linear import in_workers\n"
                         "in_workers(delayed(time.sleep)(600) for _ in range(2))",
}

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds worker processes through /proc (Linux)")


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (zombies excluded: they are already dead)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended while we looked
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_workers_die_with_a_killed_run(pool):
    run = subprocess.Popen([sys.executable, "-c", POOLS[pool]], cwd=ROOT, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    workers: list[int] = []
    try:
        # the two workers (and any helper such as a resource tracker) are children of the run
        assert wait_for(lambda: len(children(run.pid)) >= 2, 120), f"{pool}: no workers started: {run.poll()=}"
        time.sleep(2)  # let the workers reach their blocking job, past their initializer
        workers = children(run.pid)
        os.kill(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
        assert wait_for(lambda: not any(alive(p) for p in workers), 10), (
            f"{pool}: workers {[p for p in workers if alive(p)]} outlived the killed run")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in workers:  # only the ones this test started, so a failure leaves nothing behind
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        if run.stderr:
            run.stderr.close()

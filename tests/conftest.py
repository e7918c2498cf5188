from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(condition: bool, reason: str) -> None:
    """Skip when a resource is absent on a developer machine; in CI, absence is a failure."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    need(SHARED_DATA.is_dir(), f"real survey data not found at {SHARED_DATA} (the shared/ folder beside the project)")
    return SHARED_DATA


def pytest_configure(config):
    """A throw-away RADIOBENCH_CACHE for the whole session, set before collection.

    ``isolated_env`` below gives each test its own cache, but module- and session-scoped
    fixtures (and code run at import) come before it; without this they would write features,
    weights or simulated fields into the user's ~/.cache/radiobench, or wherever the shell's
    RADIOBENCH_CACHE points. Fixtures that share a cache on purpose still set their own.
    """
    config._radiobench_cache = (os.environ.get("RADIOBENCH_CACHE"), tempfile.mkdtemp(prefix="radiobench-test-cache-"))
    os.environ["RADIOBENCH_CACHE"] = config._radiobench_cache[1]
    share_the_cores(os.environ.get("PYTEST_XDIST_WORKER_COUNT"))


def share_the_cores(workers: str | None) -> None:
    """Under pytest-xdist, each worker (and the runs it starts) gets its share of the cores.

    Two workers each spinning torch's and BLAS's default of one thread per core would ask for
    twice the machine; the runs a test starts in a subprocess inherit the same share.
    """
    if not workers:
        return
    threads = str(max(1, (os.cpu_count() or 1) // int(workers)))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = threads
    import torch

    torch.set_num_threads(int(threads))


def pytest_unconfigure(config):
    previous, session_cache = getattr(config, "_radiobench_cache", (None, None))
    if session_cache is None:
        return
    shutil.rmtree(session_cache, ignore_errors=True)
    if previous is None:
        os.environ.pop("RADIOBENCH_CACHE", None)
    else:
        os.environ["RADIOBENCH_CACHE"] = previous


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Every test gets its own feature cache and no inherited plugin switches (a test that shares a
    cache on purpose sets RADIOBENCH_CACHE itself, after this)."""
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    for var in ("RADIOBENCH_DATA", "RADIOBENCH_STRICT_PLUGINS", "RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD", "RADIOBENCH_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)


def radiobench_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 600):
    """Run the installed CLI in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "radiobench", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd or ROOT, timeout=timeout,
    )


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

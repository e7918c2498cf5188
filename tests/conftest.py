from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory, monkeypatch):
    """Every test gets its own feature cache and no inherited plugin switches."""
    monkeypatch.setenv("RADIOBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    for var in ("RADIOBENCH_DATA", "RADIOBENCH_STRICT_PLUGINS", "RADIOBENCH_DISABLE_PLUGIN_AUTOLOAD"):
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

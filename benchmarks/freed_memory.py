"""Extraction with glibc's defaults against kept freed memory (``radiobench.run.memory``), in fresh processes.

    python benchmarks/freed_memory.py [--backbone random_vits8] [--task mgcls_anomaly] [--limit 1280] [--repeat 1]

Each measurement is a ``radiobench run`` (linear, one seed, ``--limit`` images, an empty cache) in
its own process; the defaults side sets ``GLIBC_TUNABLES``, which makes radiobench leave the
allocator alone. Reports wall and system seconds and peak RSS per setting, alternating them
``--repeat`` times so the ratio comes from one run of this script.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def measure(args: argparse.Namespace, keep: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RADIOBENCH_CACHE": os.path.join(tmp, "cache")}
        env.pop("GLIBC_TUNABLES", None)
        if not keep:
            env["GLIBC_TUNABLES"] = "glibc.malloc.check=0"  # any tunable: radiobench then keeps glibc's defaults
        command = [sys.executable, "-m", "radiobench", "run", "--backbone", args.backbone, "--task", args.task,
                   "--protocol", "linear", "--seeds", "1", "--limit", str(args.limit), "--device", "cpu",
                   "--data-root", args.data_root, "--results-dir", os.path.join(tmp, "results")]
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        output = proc.stdout.read().decode() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        if status:
            sys.exit(f"run failed (status {status}):\n{output[-2000:]}")
    return {"wall": wall, "system": usage.ru_stime, "peak_gb": usage.ru_maxrss / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="random_vits8")
    parser.add_argument("--task", default="mgcls_anomaly")
    parser.add_argument("--limit", type=int, default=1280)
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"glibc defaults": [], "kept freed memory": []}
    for _ in range(args.repeat):
        runs["glibc defaults"].append(measure(args, keep=False))
        runs["kept freed memory"].append(measure(args, keep=True))
    print(f"{args.backbone} on {args.task}, {args.limit} images per split, CPU")
    print(f"{'setting':<20}{'wall s':>9}{'system s':>10}{'peak GB':>9}")
    best = {}
    for name, rs in runs.items():
        r = min(rs, key=lambda r: r["wall"])
        best[name] = r["wall"]
        print(f"{name:<20}{r['wall']:>9.1f}{r['system']:>10.1f}{r['peak_gb']:>9.2f}")
    print(f"speed-up {best['glibc defaults'] / best['kept freed memory']:.2f}x (best of {args.repeat})")


if __name__ == "__main__":
    main()

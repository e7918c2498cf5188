"""Cold versus cached wall time of a full ``radiobench run`` (5 seeds by default).

    python benchmarks/cached_run.py --backbone random_resnet18 --task mirabest --data-root ../shared/data

The cold run starts from an empty feature cache; the cached run repeats it with
``--overwrite`` so every protocol refits, but features come from the cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "radiobench", "run", *args], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backbone", default="random_resnet18")
    parser.add_argument("--task", default="mirabest")
    parser.add_argument("--protocol", default="all")
    parser.add_argument("--seeds", default="5")
    parser.add_argument("--data-root", default="../shared/data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RADIOBENCH_CACHE": os.path.join(tmp, "cache")}
        common = ["--backbone", args.backbone, "--task", args.task, "--protocol", args.protocol, "--seeds", args.seeds,
                  "--data-root", args.data_root, "--results-dir", os.path.join(tmp, "results")]
        cold = timed(common, env)
        cached = timed([*common, "--overwrite"], env)
    print(f"{args.backbone} on {args.task}, protocol {args.protocol}, {args.seeds} seeds")
    print(f"cold   {cold:7.2f} s")
    print(f"cached {cached:7.2f} s  ({cached / cold:.1%} of cold)")


if __name__ == "__main__":
    main()

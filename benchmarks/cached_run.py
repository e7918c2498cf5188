"""Cold versus cached wall time of a full ``radiobench run``, and where the cached time goes.

    python benchmarks/cached_run.py --backbone random_resnet18 [--task all] [--seeds 5] [--data-root ../shared/data]

The cold run starts from an empty cache (features, simulated fields, pyBDSF catalogues);
the cached run repeats it with ``--overwrite`` so every protocol refits, but nothing is
extracted again (the issue's measure); a last run without ``--overwrite`` finds every result
answered and skips it (the cost of re-running a finished command). Per result: extraction
seconds (cold), probe-fitting seconds over all seeds (cached run), and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(args: list[str], env: dict[str, str]) -> float:
    """Wall time of one run; a pair that fails (e.g. a task without data here) is reported, not fatal."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "radiobench", "run", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        failed = [line for line in done.stdout.splitlines() if "failed" in line]
        print(f"note: some pairs failed (exit {done.returncode}); timings cover the rest:\n" + "\n".join(failed))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="random_resnet18")
    parser.add_argument("--task", default="all")
    parser.add_argument("--protocol", default="all")
    parser.add_argument("--seeds", default="5")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RADIOBENCH_CACHE": os.path.join(tmp, "cache")}
        results = Path(tmp) / "results"
        common = ["--backbone", args.backbone, "--task", args.task, "--protocol", args.protocol, "--seeds", args.seeds,
                  "--data-root", args.data_root, "--results-dir", str(results), "--device", "cpu"]
        cold = timed(common, env)
        extraction = {p.name: sum(json.loads(p.read_text())["timings"]["extraction_seconds"].values())
                      for p in results.glob("*.json")}
        cached = timed([*common, "--overwrite"], env)
        fits = {p.name: json.loads(p.read_text())["timings"]["fit_seconds"] for p in results.glob("*.json")}
        skipped = timed(common, env)
    print(f"{args.backbone} on {args.task}, protocol {args.protocol}, {args.seeds} seeds (CPU)")
    print(f"cold   {cold:7.1f} s")
    print(f"cached {cached:7.1f} s  ({cached / cold:.1%} of cold; features cached, every probe refitted)")
    print(f"again  {skipped:7.1f} s  ({skipped / cold:.1%} of cold; results present, every pair skipped)")
    print(f"{'result':55} {'extract s (cold)':>16} {'fit s, all seeds':>17} {'fit/extract':>11}")
    rows = []
    for name in sorted(fits):
        ext = extraction.get(name) or float("nan")
        rows.append({"result": name, "extraction_seconds": ext, "fit_seconds": fits[name]})
        print(f"{name:55} {ext:16.1f} {fits[name]:17.1f} {fits[name] / ext:11.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cold": cold, "cached": cached, "skipped": skipped, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()

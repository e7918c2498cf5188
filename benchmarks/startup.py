"""Wall time of the commands that must stay light (no torch/timm/bdsf import).

    python benchmarks/startup.py [--repeat 10]

Runs each command in a fresh interpreter, as a shell would, and prints the median and
the fastest wall time with ``python -c pass`` in the same run as the baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "radiobench --help": [sys.executable, "-m", "radiobench", "--help"],
    "radiobench list": [sys.executable, "-m", "radiobench", "list"],
    "radiobench plugins": [sys.executable, "-m", "radiobench", "plugins"],
    "python -c 'import torch' (for scale)": [sys.executable, "-c", "import torch"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    rows = {}
    for label, cmd in COMMANDS.items():
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        rows[label] = {"median_s": statistics.median(times), "min_s": min(times)}
    base = rows["python -c pass (baseline)"]["median_s"]
    print(f"{'command':40} {'median s':>9} {'min s':>7} {'x baseline':>10}")
    for label, r in rows.items():
        print(f"{label:40} {r['median_s']:9.3f} {r['min_s']:7.3f} {r['median_s'] / base:10.1f}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()

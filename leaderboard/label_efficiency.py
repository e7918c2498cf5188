"""Label-efficiency runs and figure: the linear probe at several label budgets, then the curve from the result files.

    python leaderboard/label_efficiency.py --task mirabest --backbones pixels,random_resnet18 \
        [--budgets 10,25,50,100,145] [--data-root ../shared/data] [--seeds 5] [--plot-only]

Each budget is one ``radiobench run --train-labels N`` (results ``<b>__<task>__linear-nN.json`` in
``leaderboard/results/``; finished ones are skipped, features come from the cache); the full
training set is the board's own ``linear`` result. The figure
``leaderboard/label-efficiency-<task>.png/.svg`` is drawn from the result files alone (one colour per backbone
family, a marker and line style per member); ``leaderboard.html`` draws the same curves from its boards.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True, help="a classification task, e.g. mirabest or rgd")
    parser.add_argument("--backbones", default="", help="comma-separated; default: those with a linear result")
    parser.add_argument("--budgets", default="10,25,50,100,145", help="training labels per seed (stratified)")
    parser.add_argument("--data-root", default=str(HERE.parent.parent / "shared" / "data"))
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--plot-only", action="store_true", help="draw the figure from the results present")
    args = parser.parse_args()
    if not args.plot_only:
        backbones = args.backbones or ",".join(sorted({p.name.split("__")[0] for p in
                                                      Path(args.results_dir).glob(f"*__{args.task}__linear.json")}))
        for budget in args.budgets.split(","):
            cmd = [sys.executable, "-m", "radiobench", "run", "--backbone", backbones, "--task", args.task,
                   "--protocol", "linear", "--train-labels", budget.strip(), "--seeds", str(args.seeds),
                   "--data-root", args.data_root, "--results-dir", args.results_dir, "--device", args.device,
                   "--offline"]
            print("$", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=False)
    from radiobench.board.efficiency import collect_curves, write_figure

    for path in write_figure(collect_curves(Path(args.results_dir), args.task), HERE):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

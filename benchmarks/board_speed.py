"""How long the board's statistics take: resamples as weight matrices against one scorer call per resample.

    python benchmarks/board_speed.py [--results-dir leaderboard/results] [--resamples 2000]

For each committed task column of the linear (and detect) board, one row's bootstrap
distribution of its main score is computed twice on the same draws: once the way intervals
and paired tests used to be computed, calling the scorer on each resample's list of rows
(:func:`radiobench.results.weighted.by_rows`), and once as a matrix of item weights
(:func:`radiobench.results.weighted.metric_matrix`). Both must give the same numbers; the
ratio is the speed-up. Then the whole column's tests (every pair, Holm), each committed page
end to end from the result files, as the CLI renders them, and the HTML page of every protocol
with its boards and charts in one process against one worker per core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def column(results: Path, task: str, protocol: str):
    from radiobench.board.ranks import read_rows
    from radiobench.kinds import get_kind
    from radiobench.results import ResultRecord
    from radiobench.results.scoring import default_scorer

    entries = {}
    for path in sorted(results.glob(f"*__{task}__{protocol}.json")):
        record = ResultRecord.read(path)
        entries[record.backbone.name] = (path, record, record.main_score.mean)
    record = next(iter(entries.values()))[1]
    target, score = get_kind(record.task.kind).target, default_scorer(record)
    rows, _ = read_rows(entries, target, score)
    return rows, target, score, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results-dir", type=Path, default=Path("leaderboard/results"))
    parser.add_argument("--resamples", type=int, default=2000)
    args = parser.parse_args()
    from radiobench.board.ranks import column_tests
    from radiobench.results.resample import design_for
    from radiobench.results.weighted import by_rows, metric_matrix

    print(f"{'task':<14} {'rows':>4} {'per-resample s':>15} {'weights s':>10} {'speed-up':>9} {'max |diff|':>11} "
          f"{'column tests s':>15}")
    for task, protocol in (("mirabest", "linear"), ("rgd", "linear"), ("mgcls_anomaly", "linear"),
                           ("sim_counts", "linear"), ("sim_detect", "detect")):
        rows, target, score, record = column(args.results_dir, task, protocol)
        items = next(iter(rows[0].items.values()))
        weights = design_for(items, target).weights(args.resamples, np.random.default_rng(0))
        metric = record.main_score.name
        metric_matrix(items, target, metric, weights[:2], score)  # detection: match boxes before timing
        start = time.perf_counter()
        slow = by_rows(score, items, metric, weights)
        per_resample = time.perf_counter() - start
        start = time.perf_counter()
        fast = metric_matrix(items, target, metric, weights, score)
        matrix = time.perf_counter() - start
        start = time.perf_counter()
        column_tests(rows, target, metric, record.main_score.higher_is_better, score, args.resamples)
        tests = time.perf_counter() - start
        print(f"{task:<14} {len(rows):>4} {per_resample:>15.2f} {matrix:>10.3f} {per_resample / matrix:>8.0f}x "
              f"{np.nanmax(np.abs(slow - fast)):>11.1e} {tests:>15.2f}")
    with tempfile.TemporaryDirectory() as cache:
        env = {"RADIOBENCH_CACHE": cache, "PATH": "/usr/bin:/bin"}
        html = ["--protocol", "all", "--format", "html", "--output", str(Path(cache) / "board.html")]
        for extra in ([], ["--protocol", "knn"], ["--protocol", "detect"], html):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "radiobench", "leaderboard", "--results-dir", str(args.results_dir),
                            *extra], env=env, check=True, capture_output=True)
            print(f"radiobench leaderboard {' '.join(extra[:-2]) or '(linear, markdown)'}: "
                  f"{time.perf_counter() - start:.1f} s from an empty cache")
        # the full page's boards and charts in one process (the baseline) against one worker per core
        seconds = {}
        for processes in ("1", ""):
            workers = {"RADIOBENCH_PROCESSES": processes} if processes else {}
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "radiobench", "leaderboard", "--results-dir", str(args.results_dir),
                            *html], env={**env, **workers}, check=True, capture_output=True)
            seconds[processes] = time.perf_counter() - start
        print(f"HTML page, every protocol: {seconds['1']:.1f} s in one process, {seconds['']:.1f} s on "
              f"{os.cpu_count()} workers ({seconds['1'] / seconds['']:.2f}x)")


if __name__ == "__main__":
    main()

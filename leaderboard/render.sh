#!/usr/bin/env bash
# Every committed page, rendered from leaderboard/results alone (run from the repository root, after committing code).
# The Markdown pages are independent one-board renders: they run side by side, then the HTML page (which shares
# its own boards and charts over the cores). A failed render fails the script, and no page is written half.
set -euo pipefail
cd "$(dirname "$0")/.."
rb=${RADIOBENCH:-.venv/bin/radiobench}
results=${RESULTS:-leaderboard/results}  # another folder of the same files: a snapshot while a run still writes here
pids=()
"$rb" leaderboard --results-dir "$results" --output leaderboard/leaderboard.md & pids+=($!)
for protocol in knn knn-distance detect; do
    "$rb" leaderboard --results-dir "$results" --protocol "$protocol" --output "leaderboard/leaderboard-$protocol.md" & pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
"$rb" leaderboard --results-dir "$results" --protocol all --format html --output leaderboard/leaderboard.html

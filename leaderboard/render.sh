#!/usr/bin/env bash
# Every committed page, rendered from leaderboard/results alone (run from the repository root, after committing code).
set -euo pipefail
cd "$(dirname "$0")/.."
rb=${RADIOBENCH:-.venv/bin/radiobench}
results=leaderboard/results
"$rb" leaderboard --results-dir "$results" --output leaderboard/leaderboard.md
for protocol in knn knn-distance detect; do
    "$rb" leaderboard --results-dir "$results" --protocol "$protocol" --output "leaderboard/leaderboard-$protocol.md"
done
"$rb" leaderboard --results-dir "$results" --protocol all --format html --output leaderboard/leaderboard.html

#!/usr/bin/env bash
# The overhead benchmark in one command: prepares bench/.venvs, the release wheel and the
# release collector, runs every workload for every contender and writes bench/results/latest.json
# and docs/Benchmarks.md. Options are run.py's (--quick, --reps N, --skip-setup, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"

#!/usr/bin/env bash
# Creates .venv with the agent built from this checkout (release build, as `pip install .`;
# with --dev an editable debug build via `maturin develop`)
# and the tools and libraries the tests and the demo use. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -r requirements-test.txt
if [ "${1:-}" = "--dev" ]; then
  maturin develop          # editable, debug build: fast to rebuild after a change
else
  python -m pip install --quiet .
fi
echo "setup: skywalking-rs installed into .venv ($(python -c 'import skywalking._core as c; print(c.__version__, c.build_profile)'))"

#!/usr/bin/env bash
# Sets everything up and runs every check and test: rustfmt, clippy, cargo tests, ruff,
# the native-module stub check, generated docs, pytest (unit and end-to-end), and the plugin
# scenarios on the oldest and newest library version each plugin declares.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "local servers"
bash scripts/services.sh

step "rustfmt"
cargo fmt --all --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "python setup (pip install .)"
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate

step "ruff"
ruff check python tests tools bench
ruff format --check python tests tools bench

step "stub check (_core.pyi)"
python -m mypy.stubtest skywalking._core --allowlist python/skywalking/_core.stubtest-allowlist

step "generated docs are current"
python tools/gen_docs.py --check

step "headless Chromium for the web page tests"
bash scripts/browser.sh

step "pytest"
# Run from a directory where `skywalking` resolves to the installed package, not the source.
python -m pytest tests -q -p no:cacheprovider --ignore=tests/plugins

step "plugin scenarios on the oldest and newest declared library versions"
bash scripts/system-deps.sh
# Every declared version: python tools/plugin_matrix.py --all (docs/dev/ARCHITECTURE.md).
python tools/plugin_matrix.py

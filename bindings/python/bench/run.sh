#!/usr/bin/env bash
# Builds the package in release into the test venv and runs bench.py (both sides, one run).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
venv="${FAULTLINE_VENV:-$HOME/.cache/faultline-venv}"
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release --quiet
"$venv/bin/python" bench/bench.py "$@"

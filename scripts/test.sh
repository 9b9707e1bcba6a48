#!/usr/bin/env bash
# Runs every check and test of the project: formatting, clippy (warnings are errors), unit,
# integration, snapshot, property and doc tests of the whole workspace, then the Python and
# Node packages (their scripts install a venv with pip and node modules with npm), the server's
# PostgreSQL store against a throwaway cluster and the incident room in headless Chromium
# (those two scripts install Debian's postgresql / chromium with apt-get when missing and
# running as root, and otherwise skip only their leg with the reason printed).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export INSTA_UPDATE=no   # snapshots are checked, never rewritten, by this script
# The target dir is shared by every checkout that runs this script (CI's clean clone and a
# developer's tree), and cargo reuses a test binary across checkouts when the sources match:
# paths must come from the run, not from the build. insta reads this at run time; the tests
# read CARGO_MANIFEST_DIR at run time too.
export INSTA_WORKSPACE_ROOT="$PWD"

for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$comp" >/dev/null 2>&1 || echo "note: could not install $comp; skipping it" >&2
  fi
done

step() { printf '\n== %s\n' "$*"; }

if cargo fmt --version >/dev/null 2>&1; then
  step "cargo fmt --check"
  cargo fmt --all -- --check
fi
if cargo clippy --version >/dev/null 2>&1; then
  step "cargo clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  cargo clippy --locked -p faultline-remediate -p faultline-rca --all-targets --all-features -- -D warnings
fi
step "cargo test"
# The bindings are cdylibs linked by their own toolchains (maturin, napi) and tested below.
cargo test --workspace --locked --exclude faultline-python --exclude faultline-node
# Optional integrations off by default are tested too.
step "cargo test (optional features)"
cargo test --locked -p faultline-remediate --all-features
cargo test --locked -p faultline-rca --all-features
# The Python and Node packages: each script installs what it needs (venv + pip, npm ci), builds
# the extension with its own toolchain (maturin, napi) and runs its tests (pytest, node --test).
step "Python package (scripts/test-python.sh)"
./scripts/test-python.sh
step "Node package (scripts/test-node.sh)"
./scripts/test-node.sh
step "PostgreSQL store (scripts/test-postgres.sh)"
./scripts/test-postgres.sh
step "Incident room in headless Chromium (scripts/test-browser.sh)"
./scripts/test-browser.sh

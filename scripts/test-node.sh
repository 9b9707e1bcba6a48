#!/usr/bin/env bash
# The Node package (@faultline/node, bindings/node): installs its node modules (npm ci), builds
# the addon (dev profile), checks that the committed index.d.ts and index.js match what the
# build generates, and runs the tests of the package and of examples/node with `node --test`.
# Needs Node >= 18 and npm; CARGO_TARGET_DIR defaults to the one scripts/test.sh uses.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

cd bindings/node
step "npm ci (bindings/node)"
npm ci --no-audit --no-fund --loglevel=error

step "napi build (dev profile)"
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
npx napi build --platform --output-dir "$gen"
cp "$gen"/*.node .

step "index.d.ts / index.js drift"
drift=0
for f in index.d.ts index.js; do
  if ! diff -u "$f" "$gen/$f"; then
    echo "bindings/node/$f is out of date: run \`npx napi build --platform\` in bindings/node and commit it" >&2
    drift=1
  fi
done
[ "$drift" -eq 0 ] || exit 1
echo "index.d.ts and index.js match the sources"

step "node --test"
node --test test/ "$root/examples/node/test/"

#!/usr/bin/env bash
# Builds the addon and the Rust baseline in release and runs both benchmarks:
#   bench/mine.mjs        mining 1M lines from a JS array vs the same facade calls in Rust (floor 1.5x)
#   bench/event-loop.mjs  timer drift while long analyses run (floor < 10 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx napi build --platform --release --target "$triple" --output-dir "$out" --no-js --dts "$out/index.d.ts" >/dev/null
cargo build --release --target "$triple" -p faultline-node --example mine_baseline
addon="$(ls "$out"/*.node)"
export FAULTLINE_ADDON="$addon"
export FAULTLINE_MINE_BASELINE="$CARGO_TARGET_DIR/$triple/release/examples/mine_baseline"
status=0
node bench/mine.mjs || status=1
node bench/event-loop.mjs || status=1
exit "$status"

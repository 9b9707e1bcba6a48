#!/usr/bin/env bash
# The incident room, end to end in headless Chromium: finds Debian's chromium (installs it with
# apt-get when missing and running as root; otherwise skips this leg with the reason), installs
# playwright-core with `npm ci` (no browser download), builds the `faultline` binary (the
# workspace test build of scripts/test.sh, same CARGO_TARGET_DIR), starts `faultline serve` on a temporary
# database and a free loopback port with operator and approver API keys, runs the tests in
# crates/server/e2e with `node --test`, and always stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

step() { printf '\n== %s\n' "$*"; }
skip() {
  echo "SKIPPED browser leg (incident room e2e): $*"
  exit 0
}

step "chromium"
chromium="${CHROMIUM:-}"
if [ -z "$chromium" ]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -x "$c" ]; then chromium="$c"; break; fi
  done
fi
if [ -z "$chromium" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || skip "apt-get update failed"
    apt-get install -y -qq --no-install-recommends chromium >/dev/null || skip "apt-get install chromium failed"
    chromium=/usr/bin/chromium
    [ -x "$chromium" ] || skip "chromium installed but /usr/bin/chromium is missing"
  else
    skip "no chromium at /usr/bin/chromium and not root with apt-get to install it (set CHROMIUM=/path/to/chromium)"
  fi
fi
"$chromium" --version 2>/dev/null || true
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

step "npm ci (crates/server/e2e)"
(cd crates/server/e2e && npm ci --no-audit --no-fund --loglevel=error)

step "faultline binary (the workspace test build's, so nothing is compiled twice)"
# The same package selection as scripts/test.sh's `cargo test`, so cargo resolves the same
# features and reuses that build (a plain `cargo build -p faultline-cli` would resolve other
# features and recompile much of the tree).
cargo test --workspace --exclude faultline-python --exclude faultline-node --no-run
bin="$CARGO_TARGET_DIR/debug/faultline"

step "faultline serve"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

export E2E_OPERATOR_KEY="op-$RANDOM$RANDOM-key"
export E2E_APPROVER_KEY="ap-$RANDOM$RANDOM-key"
cat >"$work/keys.yaml" <<EOF
keys:
  - {name: olivia, key: "$E2E_OPERATOR_KEY", role: operator}
  - {name: alice, key: "$E2E_APPROVER_KEY", role: approver}
EOF
cat >"$work/server.yaml" <<EOF
listen_addr: 127.0.0.1:0
database_path: $work/faultline.db
api_keys_file: $work/keys.yaml
log_format: none
EOF
"$bin" serve --config "$work/server.yaml" >"$work/stdout.log" 2>"$work/stderr.log" &
server_pid=$!
url=""
for _ in $(seq 1 600); do
  url="$(grep -o 'http://[0-9.:]*/room' "$work/stderr.log" | head -n1 || true)"
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/stderr.log" >&2; echo "faultline serve exited early" >&2; exit 1; }
  sleep 0.2
done
[ -n "$url" ] || { cat "$work/stderr.log" >&2; echo "faultline serve printed no URL within 120 s" >&2; exit 1; }
echo "incident room at $url"
export FAULTLINE_ROOM_URL="$url"
export CHROMIUM="$chromium"

step "node --test (crates/server/e2e)"
cd "$root/crates/server/e2e"
node --test --test-concurrency=1 room.test.mjs

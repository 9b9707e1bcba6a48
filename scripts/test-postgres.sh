#!/usr/bin/env bash
# The PostgreSQL leg of the server's tests: starts a throwaway PostgreSQL cluster (Debian's
# packages) on a free loopback port, runs the server's `postgres` tests against it (`cargo test
# --workspace … --test postgres -- --include-ignored`), and always stops and deletes the cluster.
#
# When PostgreSQL is not installed it is installed with apt-get (as root); when that is not
# possible the leg is skipped with the reason printed, and the script exits 0.
#
#   scripts/test-postgres.sh [extra cargo test args...]   (the tests are #[ignore]d in a plain
#   `cargo test`; this script runs them with `-- --include-ignored`)
#
# Environment: CARGO_TARGET_DIR (default $HOME/.cache/faultline-target), PG_BINDIR (a
# PostgreSQL bin directory to use instead of the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/faultline-target}"

skip() {
    echo "test-postgres: SKIPPED the PostgreSQL leg: $*" >&2
    exit 0
}

find_bindir() {
    if [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/initdb" ]]; then
        echo "$PG_BINDIR"
        return 0
    fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then
        echo "$d"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [[ -n "$d" && -x "$d/initdb" ]]; then
            echo "$d"
            return 0
        fi
    fi
    return 1
}

BINDIR=$(find_bindir || true)
if [[ -z "$BINDIR" ]]; then
    if [[ $(id -u) -ne 0 ]]; then
        skip "PostgreSQL (initdb) is not installed and this user cannot install it (not root); apt-get install postgresql"
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        skip "PostgreSQL is not installed and there is no apt-get to install it"
    fi
    echo "test-postgres: installing PostgreSQL from Debian's packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q postgresql >/dev/null 2>&1; then
        apt-get update -q >/dev/null 2>&1 || true
        apt-get install -y -q postgresql >/dev/null 2>&1 || skip "apt-get install postgresql failed"
    fi
    BINDIR=$(find_bindir || true)
    [[ -n "$BINDIR" ]] || skip "postgresql installed but no initdb found under /usr/lib/postgresql/*/bin"
fi

# PostgreSQL refuses to run as root: run the cluster as `postgres` (Debian's package creates
# it) or, failing that, as a dedicated user created here.
AS=()
if [[ $(id -u) -eq 0 ]]; then
    PGUSER_OS=postgres
    if ! id "$PGUSER_OS" >/dev/null 2>&1; then
        PGUSER_OS=faultline-pg
        if ! id "$PGUSER_OS" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS" 2>/dev/null \
                || skip "running as root and cannot create a non-root user for PostgreSQL"
        fi
    fi
    if command -v runuser >/dev/null 2>&1; then
        AS=(runuser -u "$PGUSER_OS" --)
    else
        AS=(su -s /bin/sh "$PGUSER_OS" -c)
    fi
fi
as_pg() {
    if [[ ${#AS[@]} -eq 0 ]]; then
        "$@"
    elif [[ "${AS[0]}" == su ]]; then
        "${AS[@]}" "$(printf '%q ' "$@")"
    else
        "${AS[@]}" "$@"
    fi
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/faultline-pg.XXXXXX")
DATA="$TMP/data"
STARTED=0
cleanup() {
    if [[ $STARTED -eq 1 ]]; then
        as_pg "$BINDIR/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
chmod 700 "$TMP"
if [[ ${#AS[@]} -gt 0 ]]; then
    chown "$PGUSER_OS" "$TMP"
fi

# A random password per run, so the tests can check that it never reaches a log.
PASSWORD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$PASSWORD" >"$TMP/pw"
if [[ ${#AS[@]} -gt 0 ]]; then
    chown "$PGUSER_OS" "$TMP/pw"
fi
as_pg "$BINDIR/initdb" -D "$DATA" -U faultline --pwfile="$TMP/pw" --auth=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$TMP/initdb.log" 2>&1 \
    || as_pg "$BINDIR/initdb" -D "$DATA" -U faultline --pwfile="$TMP/pw" --auth=scram-sha-256 \
        -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 \
    || { cat "$TMP/initdb.log" >&2; skip "initdb failed (log above)"; }
rm -f "$TMP/pw"

# A free loopback port: try random ones until the server starts (another process may take
# a port between a check and the bind, so starting is the only real check).
PORT=""
for _ in $(seq 1 20); do
    p=$((20000 + RANDOM % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        continue # in use
    fi
    if as_pg "$BINDIR/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $p -k $TMP -c fsync=off -c max_connections=100" \
        start >/dev/null 2>&1; then
        PORT=$p
        STARTED=1
        break
    fi
done
if [[ -z "$PORT" ]]; then
    cat "$TMP/server.log" >&2 || true
    skip "could not start PostgreSQL on a loopback port (server log above)"
fi

PGPASSWORD="$PASSWORD" "$BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U faultline faultline_test
echo "test-postgres: PostgreSQL $("$BINDIR/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (database faultline_test, password not shown)" >&2

export FAULTLINE_TEST_DATABASE_URL="postgres://faultline:$PASSWORD@127.0.0.1:$PORT/faultline_test?sslmode=disable"
set +e
# The same package selection as scripts/test.sh's `cargo test` (the CLI's default `postgres`
# feature turns the server's on), so this reuses that build instead of resolving other features.
cargo test --workspace --exclude faultline-python --exclude faultline-node --test postgres "$@" -- --include-ignored
rc=$?
set -e
exit $rc

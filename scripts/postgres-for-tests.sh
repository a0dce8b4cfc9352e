#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL server on loopback, for the tests that need one.
#
#   scripts/postgres-for-tests.sh make test
#
# Installs Debian's postgresql when no server binaries are found (apt-get; as root or with
# sudo), starts a fresh cluster in a temporary folder on 127.0.0.1 at a free port, creates a
# database, runs the command with CODESIGN_TEST_POSTGRES_URL pointing at it, then stops the
# server and removes the folder whatever the command's outcome (its exit status is kept).
# When no server can be had, it says why and runs the command anyway: those tests then skip.
set -euo pipefail

log() { echo "postgres-for-tests: $*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}

install_postgres() {
    log "no PostgreSQL server binaries: installing Debian's postgresql"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
}

if [ "$#" -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]   (e.g. $0 make test)" >&2
    exit 2
fi

BIN="$(pg_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    install_postgres || true
    BIN="$(pg_bin)"
fi
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    log "no PostgreSQL server available (install failed): PostgreSQL tests will skip"
    exec "$@"
fi

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DIR="$(mktemp -d "${TMPDIR:-/tmp}/codesign-pg.XXXXXX")"
RUN=()
if [ "$(id -u)" = 0 ]; then
    # the server refuses to run as root: run it as the postgres user the package creates
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown postgres "$DIR"
    RUN=(runuser -u postgres --)
fi

stop() {
    status=$?
    "${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    exit "$status"
}
trap stop EXIT
trap 'exit 130' INT TERM

"${RUN[@]}" "$BIN/initdb" -D "$DIR/data" -U codesign --auth=trust -E UTF8 --no-sync >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off" start >/dev/null
"${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U codesign codesign_test

export CODESIGN_TEST_POSTGRES_URL="postgresql+psycopg://codesign@127.0.0.1:$PORT/codesign_test"
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT for the tests"
"$@"

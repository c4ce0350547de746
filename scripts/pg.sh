#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the HQ tests (issue 21): initdb into a fresh temp dir,
# listening on a Unix socket in that dir and on a random loopback port, stopped by its PID.
#   scripts/pg.sh start [INFO_FILE]  — prints (and writes to INFO_FILE) shell lines:
#                                      PGDIR=… PGHOST=… PGPORT=… PGPID=… PGUSER=…
#   scripts/pg.sh stop PGDIR         — stops the cluster started there (by its PID) and
#                                      removes the dir
#   scripts/pg.sh restart PGDIR      — starts a stopped (or killed) cluster again, same port
# With PG_WATCH_PID set, a watcher stops the cluster once that process is gone (the test
# helper sets it to the test binary, so a killed test run leaves no server behind).
# Local (socket) connections trust the OS user; TCP ones need a SCRAM password, so the
# tills' roles are tested with real credentials over loopback.
set -euo pipefail
self=$(realpath "$0")

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  # Debian keeps the server binaries out of PATH; elsewhere they are on it.
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bindir" ] && command -v pg_ctl >/dev/null 2>&1; then bindir=$(dirname "$(command -v pg_ctl)"); fi
fi
[ -x "$bindir/initdb" ] || { echo "PostgreSQL not found (scripts/deps.sh test installs it)" >&2; exit 1; }

# initdb refuses to run as root: as root the cluster belongs to the postgres user.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_on() {
  as_owner "$bindir/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c fsync=off -c max_connections=100" \
    start >/dev/null 2>&1
}

case "${1:-}" in
start)
  info=${2:-}
  dir=$(mktemp -d "${TMPDIR:-/tmp}/redeemdesk-pg.XXXXXX")
  chmod 0755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust \
    --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # A random free loopback port; a clash at start is retried with another.
  for _ in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 40000 ))
    if start_on "$dir" "$port"; then
      echo "$port" >"$dir/port"
      if [ -n "${PG_WATCH_PID:-}" ]; then
        setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" stop "$3"' \
          _ "$PG_WATCH_PID" "$self" "$dir" </dev/null >/dev/null 2>&1 &
      fi
      pid=$(head -1 "$dir/data/postmaster.pid")
      lines="PGDIR=$dir
PGHOST=$dir
PGPORT=$port
PGPID=$pid
PGUSER=postgres
PGBINDIR=$bindir"
      echo "$lines"
      [ -n "$info" ] && echo "$lines" >"$info"
      exit 0
    fi
  done
  cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1
  ;;
stop)
  dir=${2:?usage: scripts/pg.sh stop PGDIR}
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -1 "$dir/data/postmaster.pid")
    # SIGINT: PostgreSQL's fast shutdown. Wait for the PID to go.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  case "$dir" in *redeemdesk-pg.*) rm -rf "$dir" ;; esac
  ;;
restart)
  dir=${2:?usage: scripts/pg.sh restart PGDIR}
  start_on "$dir" "$(cat "$dir/port")" || { tail -20 "$dir/server.log" >&2; exit 1; }
  head -1 "$dir/data/postmaster.pid"
  ;;
*)
  echo "usage: scripts/pg.sh start [INFO_FILE] | stop PGDIR | restart PGDIR" >&2; exit 2 ;;
esac

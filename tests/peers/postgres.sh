#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's server binaries), on a free loopback
# port, run as `nobody` when the tests run as root (the server refuses root).
#   tests/peers/postgres.sh start DIR   creates and starts a cluster in DIR; prints its admin URL
#   tests/peers/postgres.sh stop DIR    stops it
# Tests make one database per test from the admin URL (GAZETTE_TEST_POSTGRES).
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "postgres.sh: no /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; }
as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown nobody "$dir"
  as_user "$bin/initdb" -D "$dir/data" -U gazette --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off: the tests kill gazette, never the server (PG_FSYNC=on for benchmarks).
  as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${PG_FSYNC:-off} -c max_connections=200" start >/dev/null
  echo "postgres://gazette@127.0.0.1:$port/postgres"
  ;;
stop)
  as_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  ;;
esac

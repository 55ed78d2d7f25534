#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's server binaries), on a free loopback
# port, run as `nobody` when the tests run as root (the server refuses root).
#   tests/peers/postgres.sh start DIR   creates and starts a cluster in DIR; prints its admin URL
#                                       (with openssl, it offers TLS: a certificate for 127.0.0.1
#                                       signed by a throwaway root, DIR/tls/ca.pem)
#   tests/peers/postgres.sh stop DIR    stops it
# Tests make one database per test from the admin URL (GAZETTE_TEST_POSTGRES).
set -euo pipefail
cmd=${1:?start|stop} dir=${2:?DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "postgres.sh: no /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; }
as_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
# A root and a certificate for 127.0.0.1 signed by it, in $1; fails if any step fails.
make_tls() {
  mkdir -p "$1" &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
      -subj /CN=gazette-test-root -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$1/ca.key" -out "$1/ca.pem" 2>/dev/null &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
      -keyout "$1/server.key" -out "$1/server.csr" 2>/dev/null &&
    printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$1/ext" &&
    openssl x509 -req -in "$1/server.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial \
      -days 7 -extfile "$1/ext" -out "$1/server.crt" 2>/dev/null &&
    chmod 600 "$1/server.key"
}
case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown nobody "$dir"
  as_user "$bin/initdb" -D "$dir/data" -U gazette --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log"
  # TLS with a throwaway root when openssl is here; without it (or if it fails) the server
  # runs in plain and the TLS test says so.
  tls=()
  t=$dir/tls
  if command -v openssl >/dev/null 2>&1 && make_tls "$t"; then
    [ "$(id -u)" = 0 ] && chown nobody "$t/server.key"
    tls=(-c ssl=on -c "ssl_cert_file=$t/server.crt" -c "ssl_key_file=$t/server.key")
  else
    echo "postgres.sh: the server offers no TLS (openssl missing or failed)" >&2
    rm -rf "$t"
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  # fsync off: the tests kill gazette, never the server (PG_FSYNC=on for benchmarks).
  as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=${PG_FSYNC:-off} -c max_connections=200 ${tls[*]}" start >/dev/null
  echo "postgres://gazette@127.0.0.1:$port/postgres"
  ;;
stop)
  as_user "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  ;;
esac

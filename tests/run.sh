#!/usr/bin/env bash
# Runs gazette's whole test suite, installing the test peers it needs first:
#   - a Python venv (tests/.venv) with aiosmtpd (a real SMTP server) and dkimpy with PyNaCl (a
#     DKIM verifier, RSA and Ed25519),
#   - Debian's chromium for the browser tests, when missing (needs root and apt-get),
#   - Debian's dovecot-imapd for the bounce-mailbox tests, when missing (the tests start their
#     own throwaway, unprivileged instance on a loopback port: tests/peers/dovecot.sh),
#   - Debian's postgresql server binaries, when missing; a throwaway cluster is started on a
#     loopback port as an unprivileged user (tests/peers/postgres.sh) and stopped at the end,
# then `cargo test` on SQLite, and again on PostgreSQL for the tests that exercise the store:
# the lib tests, the e2e delivery tests, and the integration tests of readers, review, bounces,
# the web app and the scheduler
# (GAZETTE_TEST_POSTGRES: each test gets a new database on that server).
# Usage: bash tests/run.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

venv=tests/.venv
if ! "$venv/bin/python" -c 'import aiosmtpd, dkim, nacl' 2>/dev/null; then
  echo "tests/run.sh: creating $venv with aiosmtpd, dkimpy and PyNaCl (Ed25519 DKIM)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check aiosmtpd dkimpy pynacl
fi

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing Debian's chromium and chromium-driver for the browser tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "tests/run.sh: chromium not found and cannot install it here; browser tests will skip" >&2
  fi
fi
if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/lib/dovecot/dovecot-lda ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing Debian's dovecot-imapd for the bounce-mailbox tests" >&2
    apt-get update -qq
    # The package's own service is not started (no init here); the tests run their own.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null
  else
    echo "tests/run.sh: dovecot not found and cannot install it here; the IMAP bounce test will skip" >&2
  fi
fi
if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing Debian's postgresql for the PostgreSQL store tests" >&2
    apt-get update -qq
    # The package's own cluster is not started (no init here); the tests run their own.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "tests/run.sh: postgresql not found and cannot install it here" >&2
  fi
fi
pgdir=$(mktemp -d /tmp/gazette-pg.XXXXXX)
trap 'bash tests/peers/postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
if pg=$(bash tests/peers/postgres.sh start "$pgdir"); then
  export GAZETTE_TEST_POSTGRES_SERVER=$pg
  # The server offers TLS, its certificate signed by this root (tests/peers/postgres.sh).
  [ -f "$pgdir/tls/ca.pem" ] && export GAZETTE_TEST_POSTGRES_CA=$pgdir/tls/ca.pem
else
  echo "tests/run.sh: could not start PostgreSQL; its tests will fail (GAZETTE_REQUIRE_PEERS=1)" >&2
fi

export GAZETTE_REQUIRE_PEERS=1
cargo test --locked "$@"
if [ $# = 0 ] && [ -n "${GAZETTE_TEST_POSTGRES_SERVER:-}" ]; then
  echo "tests/run.sh: the store and delivery tests again, on PostgreSQL" >&2
  export GAZETTE_TEST_POSTGRES=$GAZETTE_TEST_POSTGRES_SERVER
  cargo test --locked --lib
  # The e2e delivery tests; the slower readers, review, serve and webhook ones (all green on
  # PostgreSQL too) stay on SQLite to keep CI short.
  cargo test --locked --test e2e -- delivery:: exactly_once:: relays:: send:: bounces::
  cargo test --locked --test it -- subscribers:: readers:: review:: bounces:: web:: schedule:: \
    relays::
fi

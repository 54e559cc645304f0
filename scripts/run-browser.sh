#!/usr/bin/env bash
# The browser suite (tests/browser, node's test runner driving Debian's
# chromium through puppeteer-core): its own PostgreSQL cluster under
# var/browser-pg-<pid>, a migrated database, the asan server with the
# payment sandbox on, then `node --test`. The server must exit 0 on SIGTERM
# and log no sanitizer report, as in the API suite.
#
# A test may stop the server and start it again (the shopper app's
# "server unreachable" path): tests/browser/support.js's stopServer() and
# startServer() touch `stop` or `start` in the folder $GB_SERVER_CTL, and
# this script, which owns the server process, does it and answers with
# `stopped` or `started` there. Every run of the server is checked as
# above.
#
# GB_SCREENSHOTS=1 (make screenshots) lets the tests write their
# screenshots into docs/; otherwise they write none. Arguments name test
# files to run instead of all of tests/browser/.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${GROUPBUYD_BIN:-$ROOT/build/asan/groupbuyd}
CL=$ROOT/var/browser-pg-$$
LOG=$ROOT/var/browser-server-$$.log
CTL=$ROOT/var/browser-ctl-$$
export PG_EXTRA_CONF=$'fsync = off\nsynchronous_commit = off\nfull_page_writes = off'
export PG_INITDB_OPTS=--no-sync GROUPBUYD_DBNAME=groupbuyd
server=""
tests=""
bad=0
cleanup() {
  if [ -n "$tests" ] && kill -0 "$tests" 2>/dev/null; then kill -TERM "$tests"; fi
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then kill -TERM "$server"; fi
  scripts/pg.sh stop "$CL" >/dev/null 2>&1
  rm -rf "$CL" "$CTL"
}
trap cleanup EXIT
# The suite's tools (puppeteer-core, axe-core) from the committed lockfile,
# into node_modules/, when missing or older than the lockfile. Only this
# suite needs them, so `make deps` (and with it `make run`) does not.
if [ ! -d node_modules/puppeteer-core ] || [ ! -d node_modules/axe-core ] ||
   [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "browser: npm ci (puppeteer-core, axe-core)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || { echo "browser: npm ci failed"; exit 1; }
fi
scripts/pg.sh start "$CL" >/dev/null || { echo "browser: cannot start PostgreSQL"; exit 1; }
URL=$(scripts/pg.sh url "$CL")
GROUPBUYD_DATABASE_URL=$URL "$BIN" migrate >/dev/null || { echo "browser: migrate failed"; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PLATFORM=browser-platform-token-$$-$RANDOM$RANDOM
CONF=$ROOT/var/browser-$$.conf
# cheap hashes, and a per-address allowance of logins the suite, all from
# 127.0.0.1, never reaches (the API tests check the limit itself)
printf 'password_iterations = 1000\nclient_auth_attempts_per_minute = 100000\n' > "$CONF"
mkdir -p "$CTL"

start_server() {
  GROUPBUYD_DATABASE_URL=$URL GROUPBUYD_LISTEN=127.0.0.1:$PORT GROUPBUYD_PLATFORM_TOKEN=$PLATFORM \
    GROUPBUYD_PAYMENT_SANDBOX=1 GROUPBUYD_WEBHOOK_ALLOW_HOSTS=127.0.0.1 \
    ASAN_OPTIONS=detect_leaks=1:exitcode=99 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BIN" -c "$CONF" serve >>"$LOG" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/readyz', timeout=1)" 2>/dev/null && break
    sleep 0.1
  done
}

stop_server() {
  kill -TERM "$server"
  wait "$server"
  local src=$?
  server=""
  if [ $src -ne 0 ]; then echo "browser: server exited $src"; tail -50 "$LOG"; bad=1; fi
}

TESTS=("$@")
[ ${#TESTS[@]} -eq 0 ] && TESTS=(tests/browser/)
start_server
GB_BASE=http://127.0.0.1:$PORT GB_DATABASE_URL=$URL GB_PLATFORM_TOKEN=$PLATFORM GB_SERVER_CTL=$CTL \
  node --test --test-concurrency=1 "${TESTS[@]}" &
tests=$!
# the server's keeper, while the tests run
while kill -0 "$tests" 2>/dev/null; do
  if [ -e "$CTL/stop" ]; then
    rm -f "$CTL/stop" "$CTL/started"
    [ -n "$server" ] && stop_server
    touch "$CTL/stopped"
  fi
  if [ -e "$CTL/start" ]; then
    rm -f "$CTL/start" "$CTL/stopped"
    [ -z "$server" ] && start_server
    touch "$CTL/started"
  fi
  sleep 0.1
done
wait "$tests"
rc=$?
tests=""
[ -z "$server" ] && start_server # a test that stopped it and failed before starting it
stop_server
[ $bad -ne 0 ] && rc=1
if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$LOG"; then
  echo "browser: sanitizer report in $LOG"; rc=1
fi
rm -f "$CONF"
[ $rc -eq 0 ] && rm -f "$LOG"
exit $rc

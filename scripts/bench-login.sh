#!/usr/bin/env bash
# Logins per second, and /healthz latency while 50 clients log in at once:
# password hashing runs on the worker pool, so the event loop stays free.
# Uses its own cluster (var/bench-pg) and the release build with the default
# 600,000 PBKDF2 iterations. Loopback only; stops by itself.
#   scripts/bench-login.sh [SECONDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${1:-10}
command -v wrk >/dev/null || GROUPBUYD_DEPS_EXTRA=wrk scripts/deps.sh
make -s all
scripts/pg.sh start var/bench-pg >/dev/null
URL=$(GROUPBUYD_DBNAME=groupbuyd scripts/pg.sh url var/bench-pg)
GROUPBUYD_DATABASE_URL=$URL build/groupbuyd migrate 2>/dev/null
PORT=18081
GROUPBUYD_DATABASE_URL=$URL GROUPBUYD_LISTEN=127.0.0.1:$PORT GROUPBUYD_LOG_LEVEL=warn \
  build/groupbuyd serve & PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; scripts/pg.sh stop var/bench-pg' EXIT
for _ in $(seq 100); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.1; done
curl -s -o /dev/null -XPOST localhost:$PORT/v1/customers \
  -d '{"login":"bench-login@example.com","password":"bench-password","display_name":"bench"}'

echo "healthz alone:"
wrk -t1 -c2 -d3s --latency http://127.0.0.1:$PORT/healthz | grep -E "Requests/sec|99%"
echo "50 clients logging in for ${SECS}s, healthz measured meanwhile:"
wrk -t2 -c50 -d${SECS}s --timeout 30s -s tests/bench/login.lua http://127.0.0.1:$PORT/v1/sessions > /tmp/gbd-login.$$ &
WRK=$!
sleep 1
wrk -t1 -c2 -d$((SECS - 2))s --latency http://127.0.0.1:$PORT/healthz | grep -E "Requests/sec|50%|99%"
wait $WRK
grep -E "Requests/sec|login:|Non-2xx" /tmp/gbd-login.$$ | sed 's/Requests\/sec/logins\/sec/'
rm -f /tmp/gbd-login.$$

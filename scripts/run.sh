#!/usr/bin/env bash
# `make run`: the var/ cluster (unless GROUPBUYD_DATABASE_URL is set),
# migrations, the server, demo data loaded through its API (scripts/demo.py,
# once), then the server stays in the foreground. Ctrl-C stops the server;
# `make db-stop` stops the cluster.
#
# Unset secrets get development values, printed with a warning: the demo
# needs the platform API and the payment webhook. Hints follow
# GROUPBUYD_LISTEN.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

DEV_PLATFORM_TOKEN=dev-platform-token-not-secret
DEV_WEBHOOK_SECRET=dev-webhook-secret-not-secret
dev_values=()
if [ -z "${GROUPBUYD_PLATFORM_TOKEN:-}" ]; then
  export GROUPBUYD_PLATFORM_TOKEN=$DEV_PLATFORM_TOKEN
  dev_values+=("GROUPBUYD_PLATFORM_TOKEN=$DEV_PLATFORM_TOKEN")
fi
if [ -z "${GROUPBUYD_PAYMENT_WEBHOOK_SECRET:-}" ]; then
  export GROUPBUYD_PAYMENT_WEBHOOK_SECRET=$DEV_WEBHOOK_SECRET
  dev_values+=("GROUPBUYD_PAYMENT_WEBHOOK_SECRET=$DEV_WEBHOOK_SECRET")
fi
warn_dev_values() {
  [ ${#dev_values[@]} -eq 0 ] && return 0
  echo "WARNING: development values, for trying groupbuyd on this machine only;"
  echo "         anyone who reads them can create distributors or fake payments:"
  printf '           %s\n' "${dev_values[@]}"
  echo "         Set these variables yourself for anything else."
}
warn_dev_values
# The web app's checkout page needs a payment provider: the sandbox one.
export GROUPBUYD_PAYMENT_SANDBOX=${GROUPBUYD_PAYMENT_SANDBOX:-1}
sandbox_note() {
  [ "$GROUPBUYD_PAYMENT_SANDBOX" = 1 ] &&
    echo "run: payment sandbox ON (GROUPBUYD_PAYMENT_SANDBOX=1): shoppers confirm payments themselves"
  return 0
}
sandbox_note

# Where clients reach the server: a wildcard listen address is reached on
# loopback.
LISTEN=${GROUPBUYD_LISTEN:-127.0.0.1:8080}
case "$LISTEN" in
  0.0.0.0:*) GB="http://127.0.0.1:${LISTEN##*:}" ;;
  "[::]:"*) GB="http://[::1]:${LISTEN##*:}" ;;
  *) GB="http://$LISTEN" ;;
esac
export GB

if [ -z "${GROUPBUYD_DATABASE_URL:-}" ]; then
  scripts/pg.sh start
  GROUPBUYD_DATABASE_URL=$(scripts/pg.sh url)
  export GROUPBUYD_DATABASE_URL
fi
build/groupbuyd migrate

# A background job of a script ignores SIGINT, so Ctrl-C reaches the
# server through this trap (it finishes requests in flight and exits 0).
build/groupbuyd serve &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM
stop_server() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
ready=0
for _ in $(seq 300); do
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  if curl -fsS -o /dev/null "$GB/readyz" 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
if [ $ready -eq 0 ]; then
  echo "run: the server did not become ready on $GB (see its log above)" >&2
  stop_server
  exit 1
fi
if ! /usr/bin/python3 scripts/demo.py; then
  stop_server
  exit 1
fi

PW=${GROUPBUYD_DEMO_PASSWORD:-demo-password}
cat <<MSG

groupbuyd serves on $GB   (Ctrl-C stops it; make db-stop stops PostgreSQL)
$(warn_dev_values)
$(sandbox_note)

Demo logins, password "$PW":
  staff     curl -s -XPOST $GB/v1/admin/sessions -d '{"login":"owner@demo.example","password":"$PW"}'
            (also operator@demo.example and finance@demo.example)
  shopper   curl -s -XPOST $GB/v1/sessions -d '{"login":"13800138000","password":"$PW"}'
            (shoppers 13800138000 to 13800138007)
Next: the walkthrough in docs/walkthrough.md, the domain rules in docs/domain.md.

MSG

set +e
wait "$pid"
rc=$?
# wait returns early when the trap ran; wait again for the server's exit.
while kill -0 "$pid" 2>/dev/null; do
  wait "$pid"
  rc=$?
done
exit $rc

#!/usr/bin/env bash
# `make run`: the var/ cluster (unless GROUPBUYD_DATABASE_URL is set),
# migrations, demo data, then the server in the foreground. Ctrl-C stops the
# server; `make db-stop` stops the cluster.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

if [ -z "${GROUPBUYD_DATABASE_URL:-}" ]; then
  scripts/pg.sh start
  GROUPBUYD_DATABASE_URL=$(scripts/pg.sh url)
  export GROUPBUYD_DATABASE_URL
fi
build/groupbuyd migrate
if [ -x scripts/demo.sh ]; then
  scripts/demo.sh
fi
# The web app's checkout page needs a payment provider: the sandbox one.
export GROUPBUYD_PAYMENT_SANDBOX=${GROUPBUYD_PAYMENT_SANDBOX:-1}
[ "$GROUPBUYD_PAYMENT_SANDBOX" = 1 ] && echo "run: payment sandbox ON (GROUPBUYD_PAYMENT_SANDBOX=1): shoppers confirm payments themselves"
exec build/groupbuyd serve

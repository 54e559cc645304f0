#!/usr/bin/env bash
# Joins per second through HTTP: one hot campaign, then 100 campaigns.
# Own durable cluster (var/bench-pg, fsync on), the release build, customers
# and session tokens seeded straight into the database (setup, not the
# measured part), wrk on loopback with 64 connections. Stops by itself.
#   scripts/bench-joins.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECS=${1:-10}
CONNS=${2:-64}
command -v wrk >/dev/null || GROUPBUYD_DEPS_EXTRA=wrk scripts/deps.sh
make -s all
scripts/pg.sh stop var/bench-pg >/dev/null 2>&1 || true
rm -rf "$(readlink -f var/bench-pg 2>/dev/null || echo var/bench-pg)" var/bench-pg
scripts/pg.sh start var/bench-pg >/dev/null
URL=$(scripts/pg.sh url var/bench-pg)
GROUPBUYD_DATABASE_URL=$URL build/groupbuyd migrate 2>/dev/null
NCUST=${NCUST:-300000}
TOKENS=$(mktemp /tmp/gbd-tokens.XXXXXX)
psql "$URL" -q -v ON_ERROR_STOP=1 -v n="$NCUST" <<'SQL'
INSERT INTO distributors (name, commission_bp) VALUES ('bench', 500);
INSERT INTO products (distributor_id, sku, name, list_price_cents, cost_price_cents, stock)
VALUES (1, 'BENCH', 'bench product', 10000, 5000, 1000000000);
INSERT INTO customers (login, password_hash, display_name)
SELECT 'bench' || g || '@example.com', 'x', 'bench' FROM generate_series(1, :n) g;
CREATE TEMP TABLE tok AS
SELECT c.id, rtrim(translate(encode(sha256(('bench-token-' || c.id)::bytea), 'base64'), '+/', '-_'), '=') AS token
  FROM customers c;
INSERT INTO sessions (token_sha256, customer_id, expires_at)
SELECT sha256(token::bytea), id, now() + interval '1 day' FROM tok;
SQL
psql "$URL" -qAt -c "SELECT rtrim(translate(encode(sha256(('bench-token-' || c.id)::bytea), 'base64'), '+/', '-_'), '=') FROM customers c ORDER BY c.id" > "$TOKENS"

mkcampaigns() { # count -> comma-separated ids
  psql "$URL" -qAt -v ON_ERROR_STOP=1 -v k="$1" <<'SQL' | paste -sd, -
INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
  tier_basis, tiers, min_participants, max_quantity, per_customer_limit, deposit_policy)
SELECT 1, 1, 'bench ' || g, 'open', now() - interval '1 minute', now() + interval '1 day',
  'participants', '[{"threshold": 1, "unit_price_cents": 9000}, {"threshold": 1000, "unit_price_cents": 8000}]',
  1, 1000000, 1, '[{"min_score": 0, "deposit_percent": 0}]'
FROM generate_series(1, :k) g RETURNING id;
SQL
}
HOT=$(mkcampaigns 1)
SPREAD=$(mkcampaigns 100)

PORT=18082
GROUPBUYD_DATABASE_URL=$URL GROUPBUYD_LISTEN=127.0.0.1:$PORT GROUPBUYD_LOG_LEVEL=warn \
  build/groupbuyd serve & PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$TOKENS"; scripts/pg.sh stop var/bench-pg' EXIT
for _ in $(seq 100); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.1; done

run() { # name campaigns token-offset
  local name=$1 cids=$2 skip=$3
  tail -n +"$skip" "$TOKENS" > "$TOKENS.part"
  local out
  out=$(TOKENS="$TOKENS.part" CAMPAIGNS="$cids" THREADS=2 \
        wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s -s tests/bench/join.lua \
        "http://127.0.0.1:$PORT" | grep RESULT)
  local joins
  joins=$(psql "$URL" -qAt -c "SELECT count(*) FROM participations WHERE campaign_id = ANY('{$cids}'::bigint[])")
  echo "$name: $out joins=$joins joins_per_s=$(echo "scale=0; $joins / $SECS" | bc)"
  rm -f "$TOKENS.part"
}
run hot "$HOT" 1
run spread "$SPREAD" $((NCUST / 2))

#!/usr/bin/env bash
# The settlements CSV export at scale: rows per second and the server's peak
# memory (VmHWM of /proc/PID/status) while one client downloads ROWS
# settlement lines (default 1,000,000) seeded straight into the database.
# The export streams, so the peak should stay near the idle server's.
# Uses its own cluster (var/export-pg) and the release build; loopback only.
#   scripts/bench-export.sh [ROWS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROWS=${1:-1000000}
PG=var/export-pg
TOKEN=bench-export-platform-token
make -s all
scripts/pg.sh start $PG >/dev/null
URL=$(GROUPBUYD_DBNAME=groupbuyd scripts/pg.sh url $PG)
GROUPBUYD_DATABASE_URL=$URL build/groupbuyd migrate 2>/dev/null
PORT=18082
GROUPBUYD_DATABASE_URL=$URL GROUPBUYD_LISTEN=127.0.0.1:$PORT GROUPBUYD_LOG_LEVEL=warn \
  GROUPBUYD_PLATFORM_TOKEN=$TOKEN build/groupbuyd serve & PID=$!
OUT=$(mktemp)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f $OUT; scripts/pg.sh stop $PG' EXIT
for _ in $(seq 100); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.1; done

LOGIN="bench-export-$(date +%s%N)@example.com"
DIST=$(curl -sf -XPOST localhost:$PORT/v1/platform/distributors \
  -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: $LOGIN" \
  -d "{\"name\":\"Bench $LOGIN\",\"commission_bp\":500,\"owner\":{\"login\":\"$LOGIN\",\"password\":\"bench-password\"}}" |
  sed -E 's/.*"distributor" *: *\{ *"id" *: *([0-9]+).*/\1/')
STAFF=$(curl -sf -XPOST localhost:$PORT/v1/admin/sessions \
  -d "{\"login\":\"$LOGIN\",\"password\":\"bench-password\"}" | sed -E 's/.*"token" *: *"([^"]+)".*/\1/')

echo "seeding $ROWS settlement lines for distributor $DIST ..."
psql -q -X -v ON_ERROR_STOP=1 "$URL" -v d="$DIST" -v n="$ROWS" <<'SQL'
INSERT INTO customers (login, password_hash, display_name)
  VALUES ('bench-export-' || :d || '@example.com', 'x', 'Bench') RETURNING id AS cust \gset
INSERT INTO products (distributor_id, sku, name, list_price_cents, cost_price_cents, stock)
  VALUES (:d, 'bench-export', 'Bench', 2999, 1000, 1000000000) RETURNING id AS prod \gset
INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
                       tier_basis, tiers, min_participants, max_quantity, per_customer_limit,
                       deposit_policy, final_unit_price_cents, closed_at)
  VALUES (:d, :prod, '团购 "Bench", export', 'settled', now() - interval '3 days',
          now() - interval '1 day', 'participants', '[{"threshold":1,"unit_price_cents":1999}]',
          1, 1000000, 1000000, '[]', 1999, now()) RETURNING id AS camp \gset
INSERT INTO settlements (campaign_id, distributor_id, unit_price_cents, unit_cost_cents,
                         commission_bp, lines, quantity, gross_cents, forfeited_cents,
                         commission_cents, manufacturer_cents, distributor_net_cents,
                         received_cents, refunded_cents)
  VALUES (:camp, :d, 1999, 0, 500, 0, 0, 0, 0, 0, 0, 0, 0, 0);
WITH p AS (
  INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status,
                              score_at_join, p_complete_at_join, deposit_percent, deposit_cents,
                              unit_price_cents)
  SELECT :d, :camp, :cust, 1 + i % 3, 'paid', 50, 0.5, 0, 0, 1999
    FROM generate_series(1, :n) i RETURNING id, quantity)
INSERT INTO settlement_lines (participation_id, campaign_id, distributor_id, customer_id, status,
                              quantity, unit_price_cents, gross_cents, forfeited_cents,
                              commission_cents, manufacturer_cents, distributor_net_cents)
SELECT id, :camp, :d, :cust, 'paid', quantity, 1999, quantity * 1999, 0,
       quantity * 1999 * 5 / 100, quantity * 1999 / 2,
       quantity * 1999 - quantity * 1999 * 5 / 100 - quantity * 1999 / 2 FROM p;
UPDATE settlements s SET lines = t.n, quantity = t.q, gross_cents = t.g,
       commission_cents = t.c, manufacturer_cents = t.m, distributor_net_cents = t.net,
       received_cents = t.g
  FROM (SELECT count(*)::int n, sum(quantity) q, sum(gross_cents) g, sum(commission_cents) c,
               sum(manufacturer_cents) m, sum(distributor_net_cents) net
          FROM settlement_lines WHERE campaign_id = :camp) t
 WHERE s.campaign_id = :camp;
ANALYZE settlement_lines;
SQL

hwm() { awk '/^VmHWM/ {print $2}' /proc/$PID/status; }
echo "server peak RSS before the export: $(hwm) kB"
cpu() { awk '{print $14 + $15}' /proc/$PID/stat; }
CPU0=$(cpu)
START=$(date +%s.%N)
TTFB=$(curl -sf -o "$OUT" -w '%{time_starttransfer}' -H "Authorization: Bearer $STAFF" \
  "localhost:$PORT/v1/admin/exports/settlements.csv")
END=$(date +%s.%N)
echo "first byte after $TTFB s; server CPU $(echo "($(cpu) - $CPU0) / $(getconf CLK_TCK)" | bc -l | cut -c1-5) s"
LINES=$(($(wc -l <"$OUT") - 1))
BYTES=$(stat -c %s "$OUT")
echo "exported $LINES rows, $BYTES bytes in $(echo "$END - $START" | bc) s:" \
  "$(echo "$LINES / ($END - $START)" | bc) rows/s"
echo "server peak RSS (VmHWM) after the export: $(hwm) kB"
[ "$LINES" -eq "$ROWS" ] || { echo "expected $ROWS rows" >&2; exit 1; }

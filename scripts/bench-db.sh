#!/usr/bin/env bash
# The database alone: gb_join_batches (functions/join.sql) called by
# pgbench, one client, durable commits, batches of BATCH new joins on one
# open campaign of zero deposit, for SECONDS. What the server's join costs
# PostgreSQL, without HTTP, the session lookup or the read of scores.
#   scripts/bench-db.sh URL SECONDS [BATCH]   -> "db_only joins_per_s=... ..."
# Needs customers 1..N in the database (make bench seeds them) and a
# distributor 1 with product 1; makes its own campaign and sequence. Past
# the last customer it starts again (those joins are refused already_joined
# and not counted): make bench seeds (BENCH_SECONDS + 2) x 40,000.
set -euo pipefail
URL=$1 SECS=$2 BATCH=${3:-100}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
sql() { psql "$URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
ncust=$(sql -c "SELECT count(*) FROM customers")
read -r cid version <<<"$(sql -F ' ' <<'SQL'
INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
  tier_basis, tiers, min_participants, max_quantity, per_customer_limit, deposit_policy)
VALUES (1, 1, 'bench db only', 'open', now() - interval '1 minute', now() + interval '1 day',
  'participants', '[{"threshold": 1, "unit_price_cents": 9000}, {"threshold": 1000, "unit_price_cents": 8000}]',
  1, 1000000, 1, '[{"min_score": 0, "deposit_percent": 0}]')
RETURNING id, version;
SQL
)"
sql -c "DROP SEQUENCE IF EXISTS bench_db_batch" \
    -c "CREATE SEQUENCE bench_db_batch INCREMENT BY $BATCH MAXVALUE $((ncust - BATCH + 1)) CYCLE"
WORK=$(mktemp -d /tmp/gbd-benchdb.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# Each transaction: BATCH customers never joined to this campaign, the
# arrays the server sends (functions/join.sql, gb_join_batches).
cat >"$WORK/batch.sql" <<SQL
SELECT nextval('bench_db_batch') AS b \gset
SELECT count(*) FILTER (WHERE o_reason IS NULL)
  FROM gb_join_batches(array_fill(:c::bigint, ARRAY[:n::integer]), array_fill(:v::integer, ARRAY[:n::integer]),
                       ARRAY(SELECT g::bigint FROM generate_series(:b::bigint, :b::bigint + :n::integer - 1) g),
                       array_fill(1::bigint, ARRAY[:n::integer]), array_fill(75, ARRAY[:n::integer]),
                       array_fill(0.75::double precision, ARRAY[:n::integer]),
                       array_fill(0, ARRAY[:n::integer]), array_fill(0::bigint, ARRAY[:n::integer]),
                       array_fill(NULL::bigint, ARRAY[:n::integer]), array_fill(NULL::text, ARRAY[:n::integer]),
                       array_fill(NULL::text, ARRAY[:n::integer]), false);
SQL
sql -c CHECKPOINT
host=$(sed -nE 's/.*host=([^ ]+).*/\1/p' <<<"$URL")
db=$(sed -nE 's/.*dbname=([^ ]+).*/\1/p' <<<"$URL")
# CPU seconds of this cluster's processes (the postmaster, its backends,
# WAL writer, checkpointer...): on a shared machine the wall-clock rate
# moves with the neighbours, the CPU spent per join much less. A backend
# that has exited (pgbench's, by the second reading) is counted in the
# postmaster's children's times.
pm=$(head -n 1 "$(sql -c "SELECT current_setting('data_directory')")/postmaster.pid" 2>/dev/null || true)
pgcpu() {
  local t=0 f st
  [ -n "$pm" ] || { echo 0; return; }
  for f in /proc/[0-9]*/stat; do
    { read -r -a st <"$f"; } 2>/dev/null || continue
    if [ "${st[0]}" = "$pm" ] || [ "${st[3]}" = "$pm" ]; then
      t=$((t + st[13] + st[14] + st[15] + st[16]))
    fi
  done
  echo "$t"
}
cpu0=$(pgcpu)
"$PGBIN/pgbench" -n -M prepared -c 1 -j 1 -T "$SECS" -f "$WORK/batch.sql" \
  -D c="$cid" -D v="$version" -D n="$BATCH" -h "$host" -U postgres "$db" >"$WORK/out" 2>&1 ||
  { cat "$WORK/out" >&2; exit 1; }
cpu1=$(pgcpu)
joins=$(sql -c "SELECT count(*) FROM participations WHERE campaign_id = $cid")
lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$WORK/out")
awk -v j="$joins" -v s="$SECS" -v b="$BATCH" -v l="$lat" -v c="$cid" -v cpu=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {
  printf "db_only joins_per_s=%.1f joins=%d duration_s=%d batch=%d batch_ms=%s us_per_join=%.1f cpu_us_per_join=%.1f campaign=%d\n",
         j / s, j, s, b, l, l * 1000 / b, cpu / hz * 1e6 / j, c }'

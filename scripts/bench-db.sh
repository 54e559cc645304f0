#!/usr/bin/env bash
# The database alone: gb_join_batches (functions/join.sql) called by
# pgbench, one client, durable commits, batches of BATCH new joins on one
# open campaign of zero deposit, for SECONDS. What the server's join costs
# PostgreSQL, without HTTP, the session lookup or the read of scores.
#   scripts/bench-db.sh URL SECONDS [BATCH]   -> "db_only joins_per_s=... ..."
# BENCH_DB_PICKUP=1: a pickup campaign, every join naming its one pickup
# point (the line starts "db_only_pickup").
# BENCH_DB_FLOOR=rows: instead of the join, the plain INSERT of the same
# participations (their indexes, checks and the counter trigger: what the
# rows cost whatever decides them; "db_floor_rows"); =events: the same with
# each row's two outbox events as the join writes them ("db_floor_events").
# Against these, db_only's figure splits into the rows, their events and
# the decision. BENCH_DB_NAME names the line otherwise (make bench runs
# db_only again in batches of 10 as db_only_b10).
# Needs customers 1..N in the database (make bench seeds them) and a
# distributor 1 with product 1; makes its own campaign and sequence. Past
# the last customer it starts again (those joins are refused already_joined
# and not counted): make bench seeds (BENCH_SECONDS + 2) x 40,000.
set -euo pipefail
URL=$1 SECS=$2 BATCH=${3:-100}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
sql() { psql "$URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
ncust=$(sql -c "SELECT count(*) FROM customers")
NAME=${BENCH_DB_NAME:-db_only} POINT=NULL
if [ "${BENCH_DB_PICKUP:-0}" = 1 ]; then
  NAME=${BENCH_DB_NAME:-db_only_pickup}
  POINT=$(sql -c "INSERT INTO pickup_points (distributor_id, name, address, leader_name, leader_phone, commission_bp)
                  VALUES (1, 'bench point', 'bench address', 'bench leader', '1', 100) RETURNING id")
fi
read -r cid version <<<"$(sql -F ' ' -v point="$POINT" <<'SQL'
INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
  tier_basis, tiers, min_participants, max_quantity, per_customer_limit, deposit_policy,
  fulfilment, pickup_point_ids)
VALUES (1, 1, 'bench db only', 'open', now() - interval '1 minute', now() + interval '1 day',
  'participants', '[{"threshold": 1, "unit_price_cents": 9000}, {"threshold": 1000, "unit_price_cents": 8000}]',
  1, 1000000, 1, '[{"min_score": 0, "deposit_percent": 0}]',
  CASE WHEN :point::bigint IS NULL THEN 'delivery' ELSE 'pickup' END,
  CASE WHEN :point::bigint IS NULL THEN '{}'::bigint[] ELSE ARRAY[:point::bigint] END)
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
                       array_fill($POINT::bigint, ARRAY[:n::integer]), array_fill(NULL::text, ARRAY[:n::integer]),
                       array_fill(NULL::text, ARRAY[:n::integer]), false);
SQL
case "${BENCH_DB_FLOOR:-}" in
'') ;;
rows | events)
  NAME=${BENCH_DB_NAME:-db_floor_${BENCH_DB_FLOOR}}
  # no decision refuses a customer twice here: customer ids that never
  # repeat (a participation names its customer without a foreign key)
  sql -c "DROP SEQUENCE bench_db_batch" -c "CREATE SEQUENCE bench_db_batch INCREMENT BY $BATCH"
  events=""
  [ "$BENCH_DB_FLOOR" = rows ] || events=", o AS (
  INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id, participation_id, payload)
  SELECT ins.distributor_id, k.kind, ins.customer_id, ins.campaign_id, ins.id, gb_join_event_payload(k.kind, ins)
    FROM ins CROSS JOIN gb_join_event_kinds() k
   WHERE gb_join_event_due(k.kind, ins.status, ins.referred_by_customer_id) ORDER BY ins.id, k.ord)"
  cat >"$WORK/batch.sql" <<SQL
SELECT nextval('bench_db_batch') AS b \gset
WITH ins AS (
  INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status, score_at_join,
                              p_complete_at_join, deposit_percent, deposit_cents, pickup_point_id)
  SELECT 1, :c, g, 1, 'active', 75, 0.75, 0, 0, $POINT
    FROM generate_series(:b::bigint, :b::bigint + :n::integer - 1) g RETURNING *)$events
SELECT count(*) FROM ins;
SQL
  ;;
*) echo "bench-db: BENCH_DB_FLOOR must be rows or events" >&2; exit 2 ;;
esac
sql -c CHECKPOINT
host=$(sed -nE 's/.*host=([^ ]+).*/\1/p' <<<"$URL")
db=$(sed -nE 's/.*dbname=([^ ]+).*/\1/p' <<<"$URL")
# What is counted: the CPU seconds (user + system, /proc/PID/stat) and
# the minor page faults of exactly the backend that ran the batches,
# between two readings taken
# while it runs (one second after the start, and SECS seconds later), and
# the joins committed between the same two readings (the campaign's
# live_quantity: quantity 1 a join). Reading a backend's times after it
# has exited would count nothing (a backend's times reach the postmaster
# only once it is reaped), hence the window inside the run. The cluster's
# other processes (WAL writer, checkpointer, ...) over the same window are
# printed apart, each counted from its first reading (or from 0 when it
# started inside the window); one that exited inside the window took its
# share with it, and others_cpu_exited says how many did (the figure is
# then a lower bound). A figure that could not be read is printed
# "unmeasured" with the reason, never as a number.
pm=$(head -n 1 "$(sql -c "SELECT current_setting('data_directory')")/postmaster.pid" 2>/dev/null || true)
proc_cpu() { # PID -> "TICKS MINFLT": clock ticks (utime + stime) and
  local st  #       minor page faults, empty when unreadable
  { read -r -a st <"/proc/$1/stat"; } 2>/dev/null || return 0
  echo "$((st[13] + st[14])) ${st[9]}"
}
others_cpu() { # the postmaster and its children but BACKEND -> "PID:TICKS ..."
  local f st out=""
  for f in /proc/[0-9]*/stat; do
    { read -r -a st <"$f"; } 2>/dev/null || continue
    [ "${st[0]}" != "$1" ] || continue
    if [ "${st[0]}" = "$pm" ] || [ "${st[3]}" = "$pm" ]; then out+="${st[0]}:$((st[13] + st[14])) "; fi
  done
  echo "$out"
}
# "TICKS EXITED" between two others_cpu readings: each process's ticks
# since the first (all of them for one started since), and how many
# processes of the first reading were gone at the second
others_delta() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); for (i = 1; i <= n; i++) { split(x[i], p, ":"); t0[p[1]] = p[2] }
    m = split(b, y, " "); for (i = 1; i <= m; i++) { split(y[i], p, ":"); d += p[2] - t0[p[1]]; seen[p[1]] = 1 }
    for (k in t0) if (!(k in seen)) gone++
    printf "%d %d", d, gone }'
}
live_q() { sql -c "SELECT live_quantity FROM campaigns WHERE id = $cid"; }
"$PGBIN/pgbench" -n -M prepared -c 1 -j 1 -T $((SECS + 2)) -f "$WORK/batch.sql" \
  -D c="$cid" -D v="$version" -D n="$BATCH" -h "$host" -U postgres "$db" >"$WORK/out" 2>&1 &
pgb=$!
bpid="" why=""
for _ in $(seq 50); do
  bpid=$(sql -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = current_database() LIMIT 1")
  [ -z "$bpid" ] || break
  sleep 0.1
done
sleep 1
b0="" b1="" o0="" o1=""
if [ -z "$bpid" ]; then why=backend_not_in_pg_stat_activity
elif [ -z "$pm" ]; then why=postmaster_pid_unreadable
else b0=$(proc_cpu "$bpid"); o0=$(others_cpu "$bpid"); fi
j0=$(live_q)
t0=$(date +%s.%N)
sleep "$SECS"
[ -z "$bpid" ] || { b1=$(proc_cpu "$bpid"); o1=$(others_cpu "$bpid"); }
j1=$(live_q)
t1=$(date +%s.%N)
if [ -z "$why" ] && { [ -z "$b0" ] || [ -z "$b1" ]; }; then why=backend_stat_unreadable; fi
wait "$pgb" || { cat "$WORK/out" >&2; exit 1; }
read -r o ogone <<<"$(others_delta "$o0" "$o1")"
lat=$(sed -nE 's/^latency average = ([0-9.]+) ms/\1/p' "$WORK/out")
awk -v j=$((j1 - j0)) -v t0="$t0" -v t1="$t1" -v b="$BATCH" -v l="$lat" -v c="$cid" \
    -v b0="$b0" -v b1="$b1" -v o="$o" -v og="$ogone" -v why="$why" -v name="$NAME" -v hz="$(getconf CLK_TCK)" 'BEGIN {
  s = t1 - t0
  split(b0, x, " "); split(b1, y, " ")
  printf "%s joins_per_s=%.1f joins=%d duration_s=%.2f batch=%d batch_ms=%s us_per_join=%.1f", name, j / s, j, s, b, l, l * 1000 / b
  if (why != "" || j <= 0) printf " cpu_us_per_join=unmeasured cpu_unmeasured_why=%s", (why != "" ? why : "no_join_in_the_window")
  else printf " cpu_us_per_join=%.1f backend_cpu_s=%.2f others_cpu_us_per_join=%.1f others_cpu_exited=%d minflt_per_join=%.2f", (y[1] - x[1]) / hz * 1e6 / j, (y[1] - x[1]) / hz, o / hz * 1e6 / j, og, (y[2] - x[2]) / j
  printf " cpu_hz=%d campaign=%d\n", hz, c }'

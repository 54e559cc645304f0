#!/usr/bin/env bash
# `make bench`: the performance figures, in one bounded run that
# stops by itself and cleans up after itself.
#
# Set-up (not measured): its own durable cluster (BENCH_PG, default
# var/bench-pg, made afresh: fsync and synchronous_commit on, as shipped),
# the release build, customers and session tokens seeded straight into the
# database, the server on a loopback port. Measured, through HTTP with wrk
# (BENCH_CONNECTIONS=64 connections, BENCH_THREADS=2 threads, BENCH_SECONDS=10
# per workload), after a warm-up of the hot load on a campaign of its own
# (not reported):
#   hot       every request joins one campaign (distinct customers,
#             quantity 1, zero deposit, max_quantity too large to fill);
#   spread    the same round-robin over 100 campaigns;
#   sellout   exactly 5,000 attempts on a campaign with max_quantity 500:
#             accepted quantity, oversold (sum of live quantities against
#             max_quantity and against the live_quantity counter), statuses;
#   view      GET /v1/campaigns/{id} of the hot campaign alone, then again
#             (on a second hot campaign) while a second wrk runs the hot join
#             load on it;
#   baseline  pgbench on the same database, same clients and seconds, with
#             the plain per-request join transaction (guarded update of the
#             campaign row, insert of the participation, commit), and a bare
#             single-threaded evhttp hello-world (tests/bench/hello.c)
#             answering a JSON body of the view's size, under the same wrk,
#             run next to each workload it divides (hello_hot after hot,
#             hello_spread after spread, hello after view); each ratio is
#             printed with its denominator;
#   inside    for hot and spread: the p99 of the join rounds and of each
#             part of a join in the server (/metrics histograms read before
#             and after), joins per read and per write statement and
#             session look-up statements per join (/metrics counters), the
#             wait events of the server's backends (pg_stat_activity
#             sampled every 10 ms), and PostgreSQL's CPU seconds and minor
#             page faults over the load;
#   db_only   gb_join_batches alone through pgbench (scripts/bench-db.sh):
#             one client, durable, batches of 100 new joins on one campaign;
#             joins/s and PostgreSQL's CPU per join; then the same with
#             every join naming a pickup point (db_only_pickup), and the
#             floors: the same rows inserted plainly, without and with
#             their events (db_floor_rows, db_floor_events); and db_only
#             again in batches of 10 (db_only_b10): with those of 100, a
#             statement's fixed CPU and each join's own;
#   ladder    the ladder planner with an audience of 100,000
#             (scripts/bench-ladder.sh): 20 sequential requests with
#             audience_size given, 4 with the audience scored by the server;
#   sse       BENCH_SSE_STREAMS=10000 live-progress streams open at once
#             (build/bench/sse_hold, tests/bench/sse_hold.c, run at nice 19;
#             its own CPU seconds are reported), the server's RSS with them;
#             then the hot load on a fresh campaign without streams
#             (hot_ref) and on one that BENCH_SSE_WATCHERS=1000 streams
#             watch, side by side (sse.* in results.json), with the server's
#             CPU seconds and its SSE counters (events, reads) from /metrics.
#             Then the same pair with each stream following 20 campaigns
#             (GET /v1/campaigns/events?ids=), the load on the first.
#             For each kind of pair, what the streams cost apart from the
#             ratio: the server's CPU per stream event beyond what the
#             same joins cost it without streams, and the streams'
#             clients' share of the machine's CPU (tests/bench/figures.py,
#             stream_cost). BENCH_ONLY=sse runs only hot and these
#             (BENCH_SSE_ROUNDS=3 rounds of each pair, in turn first and
#             second) and writes build/bench/results-sse.json instead.
# BENCH_STATEMENTS=1 loads pg_stat_statements (track = all) into the
# bench cluster and prints, for the hot load, each statement's execution
# time per join, top-level and nested (the statements a function runs,
# inside its own figure): where a join's database time goes, by statement.
# It slows every statement a little, so its runs are compared with each
# other, not with runs without it.
# BENCH_READ_REPLICA=1 adds a hot standby of the bench cluster (streaming,
# asynchronous, on this machine) and gives it to the server as
# GROUPBUYD_READ_DATABASE_URL: public views and exports read it.
# For each: requests/s, joins/s (rows counted in the database), p50/p99,
# statuses, the server's peak RSS (VmHWM, reset before each workload); then
# the RSS with 1,000 open idle connections (before and after the load). One
# summary line per workload on stdout, every figure in
# build/bench/results.json; the server's log in build/bench/server.log.
#   BENCH_SECONDS=10 scripts/bench.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
PG=${BENCH_PG:-var/bench-pg}
PORT=${BENCH_PORT:-18090}
HELLO_PORT=$((PORT + 1))
IDLE_CONNS=${BENCH_IDLE_CONNECTIONS:-1000}
SELL_ATTEMPTS=5000
SELL_MAX=500
# Every join needs a customer not used before on that campaign; the same
# customers serve every campaign. 40,000 joins/s is enough headroom; a
# shortage shows as 401s in the statuses.
NCUST=${BENCH_CUSTOMERS:-$(((SECS + 2) * 40000))}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OUT=build/bench
BIN=build/groupbuyd

ONLY=${BENCH_ONLY:-}
STATEMENTS=${BENCH_STATEMENTS:-0}
case "$STATEMENTS" in 0 | 1) ;; *) echo "bench: BENCH_STATEMENTS must be 0 or 1" >&2; exit 2 ;; esac
case "$ONLY" in '' | sse) ;; *) echo "bench: BENCH_ONLY must be empty or sse" >&2; exit 2 ;; esac
case "$SECS" in '' | *[!0-9]*) echo "bench: BENCH_SECONDS must be a whole number" >&2; exit 2 ;; esac
[ "$SECS" -ge 3 ] || { echo "bench: BENCH_SECONDS must be at least 3" >&2; exit 2; }

if ! command -v wrk >/dev/null || ! [ -x "$PGBIN/pgbench" ]; then
  GROUPBUYD_DEPS_EXTRA="wrk postgresql-contrib" scripts/deps.sh
fi
PGBENCH=$PGBIN/pgbench
make -s --no-print-directory all build/bench/sse_hold
mkdir -p "$OUT"
rm -f "$OUT/hot-statements.tsv"
# 1,000 idle connections and 2 x 64 load connections need descriptors.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true

WORK=$(mktemp -d /tmp/gbd-bench.XXXXXX)
PID="" HELLO="" BG=""
cleanup() {
  for p in $BG $HELLO $PID; do kill "$p" 2>/dev/null || true; done
  for p in $BG $HELLO $PID; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
  if [ -n "${STANDBY:-}" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$STANDBY" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$STANDBY_SOCK"
  fi
  scripts/pg.sh stop "$PG" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "bench: $(date -u +%T) $*" >&2; }
FIG=$OUT/figures.txt # lines "workload key=value ..." for the report at the end
: >"$FIG"
fig() { echo "$*" >>"$FIG"; }

# --- database -------------------------------------------------------------
log "fresh durable cluster in $PG, $NCUST customers with session tokens"
scripts/pg.sh stop "$PG" >/dev/null 2>&1 || true
rm -rf "$(readlink -f "$PG" 2>/dev/null || echo "$PG")" "$PG"
if [ "$STATEMENTS" = 1 ]; then
  export PG_EXTRA_CONF="${PG_EXTRA_CONF:-}
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all"
fi
scripts/pg.sh start "$PG" >/dev/null
URL=$(scripts/pg.sh url "$PG")
SOCK=$(sed -E 's/^host=([^ ]+) .*/\1/' <<<"$URL")
READ_URL=""
if [ "${BENCH_READ_REPLICA:-0}" = 1 ]; then
  # The standby lives in the cluster's own folder (the postgres user's),
  # with a socket folder of its own; PostgreSQL 15's defaults already
  # allow it (wal_level replica, local replication connections trusted).
  as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
  REAL=$(readlink -f "$PG")
  STANDBY=$REAL/standby
  STANDBY_SOCK=/tmp/gbd-bench-standby-$$
  mkdir -p "$STANDBY_SOCK"
  [ "$(id -u)" -ne 0 ] || chown postgres "$STANDBY_SOCK"
  log "read replica: pg_basebackup of $PG into $STANDBY"
  as_pg "$PGBIN/pg_basebackup" -D "$STANDBY" -R -X stream -c fast -d "host=$SOCK user=postgres"
  printf "\nunix_socket_directories = '%s'\nhot_standby = on\n" "$STANDBY_SOCK" \
    | as_pg tee -a "$STANDBY/postgresql.conf" >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$STANDBY" -l "$REAL/standby.log" -w -t 60 start >/dev/null
  READ_URL="host=$STANDBY_SOCK dbname=groupbuyd user=postgres"
fi
GROUPBUYD_DATABASE_URL=$URL "$BIN" migrate >/dev/null 2>&1
sql() { psql "$URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
[ "$STATEMENTS" = 0 ] || sql -c "CREATE EXTENSION pg_stat_statements"
sql -v n="$NCUST" <<'SQL'
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
CREATE SEQUENCE bench_baseline_customer;
SQL
TOKENS=$WORK/tokens
sql -c "SELECT rtrim(translate(encode(sha256(('bench-token-' || c.id)::bytea), 'base64'), '+/', '-_'), '=') FROM customers c ORDER BY c.id" >"$TOKENS"
head -n $((SELL_ATTEMPTS + 1000)) "$TOKENS" >"$WORK/tokens-sell"

mkcampaigns() { # count max_quantity -> comma-separated ids
  sql -v k="$1" -v m="$2" <<'SQL' | paste -sd, -
INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
  tier_basis, tiers, min_participants, max_quantity, per_customer_limit, deposit_policy)
SELECT 1, 1, 'bench ' || g, 'open', now() - interval '1 minute', now() + interval '1 day',
  'participants', '[{"threshold": 1, "unit_price_cents": 9000}, {"threshold": 1000, "unit_price_cents": 8000}]',
  1, :m, 1, '[{"min_score": 0, "deposit_percent": 0}]'
FROM generate_series(1, :k) g RETURNING id;
SQL
}
HOT=$(mkcampaigns 1 1000000)
SPREAD=$(mkcampaigns 100 1000000)
SELL=$(mkcampaigns 1 "$SELL_MAX")
HOT2=$(mkcampaigns 1 1000000)
BASE=$(mkcampaigns 1 1000000)
SSE_STREAMS=${BENCH_SSE_STREAMS:-10000}
SSE_WATCHERS=${BENCH_SSE_WATCHERS:-1000}
# BENCH_ONLY=sse takes 3 rounds by default: it is the run for this figure
SSE_ROUNDS=${BENCH_SSE_ROUNDS:-$([ "$ONLY" = sse ] && echo 3 || echo 1)}
sql -c "VACUUM ANALYZE" >/dev/null

joins_of() { sql -c "SELECT count(*) FROM participations WHERE campaign_id = ANY('{$1}'::bigint[])"; }
checkpoint() { sql -c CHECKPOINT >/dev/null; }

# --- server ---------------------------------------------------------------
# the stream holder is one client address holding thousands of streams
GROUPBUYD_DATABASE_URL=$URL GROUPBUYD_READ_DATABASE_URL=$READ_URL \
  GROUPBUYD_LISTEN=127.0.0.1:$PORT GROUPBUYD_LOG_LEVEL=warn \
  GROUPBUYD_SSE_MAX_STREAMS_PER_CLIENT=1000000 \
  "$BIN" serve 2>"$OUT/server.log" &
PID=$!
for _ in $(seq 100); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
curl -sf "127.0.0.1:$PORT/readyz" >/dev/null || { log "server not ready"; tail "$OUT/server.log" >&2; exit 1; }

mib() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
peak_reset() { echo 5 >"/proc/$PID/clear_refs" 2>/dev/null || true; }
# the server's CPU seconds so far (utime + stime)
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$PID/stat"; }
# "MACHINE PG PGFAULTS": CPU seconds so far of the whole machine (busy,
# all cores) and of this cluster's PostgreSQL processes (the postmaster's
# children), and those processes' minor page faults (a backend faults
# each page of shared memory it touches for the first time: on a virtual
# machine that can cost several microseconds each, docs/operations.md)
cpu_more() {
  local pm m hz
  pm=$(head -1 "$PG/data/postmaster.pid" 2>/dev/null || echo 0)
  hz=$(getconf CLK_TCK)
  m=$(awk -v hz="$hz" '$1 == "cpu" { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz; exit }' /proc/stat)
  # processes come and go while they are read: cat skips the gone
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk -v hz="$hz" -v pm="$pm" -v m="$m" '{ sub(/^.*\) /, ""); if ($2 == pm) { p += ($12 + $13) / hz; f += $8 } }
      END { printf "%s %.2f %d", m, p, f }'
}
cpu_delta() { # BEFORE AFTER -> "machine_cpu_s=.. pg_cpu_s=.. pg_minflt=.."
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "machine_cpu_s=%.2f pg_cpu_s=%.2f pg_minflt=%d", y[1] - x[1], y[2] - x[2], y[3] - x[3] }'
}
alive() { kill -0 "$PID" 2>/dev/null || { log "the server died"; tail "$OUT/server.log" >&2; exit 1; }; }

# What the server's database connections do while a workload runs:
# pg_stat_activity sampled 100 times a second by one psql (\watch), each
# active backend of the server counted under its wait event ("CPU" when it
# waits on nothing). waits_stop prints "waits=EVENT:SHARE;... backends=N"
# (N: active backends on average; shares of the backend-time).
waits_start() {
  printf '%s\n' "SELECT 'tick' UNION ALL SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
     FROM pg_stat_activity WHERE application_name = 'groupbuyd' AND state = 'active'" '\watch 0.01' |
    psql "$URL" -X -qAt >"$WORK/waits" 2>/dev/null &
  WAITS=$!
}
waits_stop() {
  kill "$WAITS" 2>/dev/null || true
  wait "$WAITS" 2>/dev/null || true
  awk '$0 == "tick" { t++; next } NF { n[$0]++; a++ }
       END { if (!t) { print "waits=unmeasured backends=unmeasured"; exit }
             s = ""; for (k in n) s = s sprintf("%s%s:%.3f", s == "" ? "" : ";", k, n[k] / a)
             printf "waits=%s backends=%.2f\n", (s == "" ? "none" : s), a / t }' "$WORK/waits"
}
# The server's /metrics, for the join histograms (before and after a load).
metrics_snap() { curl -sf "127.0.0.1:$PORT/metrics" >"$1" || : >"$1"; }
# join_tails NAME BEFORE AFTER: the p99 of a round and of each part of a
# join over the load (tests/bench/figures.py, join_tails).
# With them, how the joins went to PostgreSQL: joins per read and per write
# statement, session look-ups per join (figures.py, join_rounds).
join_tails() {
  python3 -c 'import sys; sys.path.insert(0, "tests/bench"); from figures import join_rounds, join_tails; print(join_tails(*sys.argv[1:]), join_rounds(*sys.argv[1:]))' "$@"
}
# hello_ref NAME: the hello-world under the same wrk for SECS, run next to
# the workload whose ratio it divides (the machine is shared: a hello-world
# measured elsewhere in the run would divide by another machine).
hello_ref() {
  local r
  r=$(wrk_get "http://127.0.0.1:$HELLO_PORT/" "$SECS")
  fig "$1 $r body_bytes=$BODY_BYTES"
}

# wrk_join NAME CAMPAIGNS SECONDS [env...]: one RESULT line (join.lua)
wrk_join() {
  local cids=$1 secs=$2
  shift 2
  env TOKENS="$TOKENS" CAMPAIGNS="$cids" THREADS="$THREADS" "$@" \
    timeout $((secs + 60)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --timeout 10s \
    -s tests/bench/join.lua "http://127.0.0.1:$PORT" | sed -n 's/^RESULT //p'
}
wrk_get() { # URL SECONDS
  timeout $(($2 + 60)) wrk -t"$THREADS" -c"$CONNS" -d"$2s" --timeout 10s \
    -s tests/bench/get.lua "$1" | sed -n 's/^RESULT //p'
}

# idle RSS: open IDLE_CONNS connections, hold them (well within
# http_timeout_s, which closes idle connections after 10 s), read VmRSS.
idle_rss() { # NAME
  local before rss open
  before=$(mib VmRSS)
  python3 - "$PORT" "$IDLE_CONNS" >"$WORK/idle.out" 2>&1 <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
print("open", len(socks), flush=True)
time.sleep(6)
PY
  local holder=$!
  BG="$holder"
  for _ in $(seq 50); do grep -q '^open' "$WORK/idle.out" && break; sleep 0.1; done
  sleep 1.5
  rss=$(mib VmRSS)
  open=$(ss -Htn state established "( sport = :$PORT )" | wc -l)
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  BG=""
  fig "$1 rss_mib=$rss rss_before_mib=$before connections_open=$open"
}

# sse: SSE_STREAMS live-progress streams held open on one campaign, the
# server's RSS with them; then the hot join load on a campaign that
# SSE_WATCHERS streams watch (each join a change, coalesced per 100 ms).
# The holder is C at nice 19: a Python one took a good part of the two
# cores from the server it measured. Its own CPU time is reported.
sse_hold() { # CAMPAIGN N SECONDS -> the holder's pid in BG, its output in sse.out
  nice -n 19 build/bench/sse_hold "$PORT" "$1" "$2" "$3" >"$WORK/sse.out" 2>&1 &
  BG=$!
  for _ in $(seq 900); do grep -q '^open' "$WORK/sse.out" && break; sleep 0.1; done
}
sse_metric() { # NAME: the sum of a counter's samples in /metrics
  curl -sf "127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n || index($1, n "{") == 1 { s += $2 } END { print s + 0 }'
}
sse_ref() { # NAME: the hot load on a fresh campaign, no streams
  local cid c0 c1 m0 m1 r
  cid=$(mkcampaigns 1 1000000)
  log "$1: ${SECS}s on campaign $cid, no streams"
  checkpoint; peak_reset
  c0=$(cpu_s) m0=$(cpu_more)
  r=$(wrk_join "$cid" "$SECS")
  c1=$(cpu_s) m1=$(cpu_more)
  alive
  fig "$1 $r joins=$(joins_of "$cid") peak_rss_mib=$(mib VmHWM) server_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') $(cpu_delta "$m0" "$m1")"
}
# NAME [K]: the hot load on a fresh campaign SSE_WATCHERS streams watch;
# with K > 1, K fresh campaigns, the load on the first and every stream
# following all K on one connection (GET /v1/campaigns/events?ids=).
sse_watched() {
  local k=${2:-1} ids cid c0 c1 m0 m1 e0 e1 q0 q1 r events bytes hcpu
  ids=$(mkcampaigns "$k" 1000000)
  cid=${ids%%,*}
  log "$1: ${SECS}s on campaign $cid while $SSE_WATCHERS streams watch it (each following $k campaigns)"
  checkpoint; peak_reset
  sse_hold "$ids" "$SSE_WATCHERS" $((SECS + 2))
  e0=$(sse_metric groupbuyd_sse_events_total)
  q0=$(sse_metric 'groupbuyd_db_statements_total{statement="sse_state"}')
  c0=$(cpu_s) m0=$(cpu_more)
  r=$(wrk_join "$cid" "$SECS")
  c1=$(cpu_s) m1=$(cpu_more)
  e1=$(sse_metric groupbuyd_sse_events_total)
  q1=$(sse_metric 'groupbuyd_db_statements_total{statement="sse_state"}')
  wait "$BG" || true
  BG=""
  alive
  read -r _ events _ bytes <<<"$(grep '^events' "$WORK/sse.out")"
  hcpu=$(awk '/^cpu/ { print $3 + $5 }' "$WORK/sse.out")
  fig "$1 $r joins=$(joins_of "$cid") peak_rss_mib=$(mib VmHWM) watchers=$SSE_WATCHERS events=$events event_bytes=$bytes server_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') server_events=$((e1 - e0)) state_reads=$((q1 - q0)) holder_cpu_s=$hcpu campaigns_followed=$k $(cpu_delta "$m0" "$m1")"
}
# The streams' cost: the server's RSS with SSE_STREAMS streams, then
# SSE_ROUNDS rounds of the hot load without and with SSE_WATCHERS
# watching, side by side (in turn first and second), each on a fresh
# campaign: "hot" ran at the start, before other workloads grew the
# tables, and the machine is shared, so the ratio that says what the
# streams cost is the one against these neighbours (hot_ref).
sse_workloads() {
  log "sse: $SSE_STREAMS open streams"
  local before rss opened first refused hcpu i
  before=$(mib VmRSS)
  sse_hold "$HOT" "$SSE_STREAMS" 3
  sleep 1
  rss=$(mib VmRSS)
  read -r _ opened _ first _ refused <<<"$(grep '^open' "$WORK/sse.out")"
  wait "$BG" || true
  BG=""
  alive
  hcpu=$(awk '/^cpu/ { print $3 + $5 }' "$WORK/sse.out")
  fig "sse_streams rss_mib=$rss rss_before_mib=$before streams=$opened first_events=$first refused=$refused holder_cpu_s=$hcpu"
  for i in $(seq "$SSE_ROUNDS"); do
    local suffix=""
    [ "$i" -eq 1 ] || suffix="_$i"
    if [ $((i % 2)) -eq 1 ]; then
      sse_ref "hot_ref$suffix"
      sse_watched "hot_under_sse$suffix"
    else
      sse_watched "hot_under_sse$suffix"
      sse_ref "hot_ref$suffix"
    fi
  done
  # the shopper app's list: each page one stream following 20 campaigns
  for i in $(seq "$SSE_ROUNDS"); do
    local suffix=""
    [ "$i" -eq 1 ] || suffix="_$i"
    if [ $((i % 2)) -eq 1 ]; then
      sse_ref "hot_ref_many$suffix"
      sse_watched "hot_under_sse_many$suffix" 20
    else
      sse_watched "hot_under_sse_many$suffix" 20
      sse_ref "hot_ref_many$suffix"
    fi
  done
}

# --- workloads --------------------------------------------------------------
[ "$ONLY" = sse ] || idle_rss idle_fresh

# Warm-up, not reported: the hot load itself, as long, on a campaign of
# its own, with the same tokens; then a vacuum, and a pause longer than
# the server's session cache (session_cache_ttl_ms, 2 s), so that hot
# still looks every session up in the database. The first load on a fresh
# cluster otherwise pays for its backends' first touch of the shared
# buffers (a page fault each, slow on a VM: docs/operations.md), which a
# server that has run a while has paid long ago: a 3 s warm-up on other
# tokens left hot at 4,057 joins/s and 1.5 minor page faults a join in
# PostgreSQL, the same load later in that run at 5,236 and 5,719; with
# this one, 4,080 and 0.3 faults a join, the later loads 4,075 and 4,982.
WARM=$(mkcampaigns 1 1000000)
log "warm-up: ${SECS}s of joins on campaign $WARM, not reported"
wrk_join "$WARM" "$SECS" >/dev/null
sql -c "VACUUM ANALYZE" >/dev/null
sleep 3

log "hot: ${SECS}s on campaign $HOT"
checkpoint; peak_reset
[ "$STATEMENTS" = 0 ] || sql -c "SELECT pg_stat_statements_reset()" >/dev/null
c0=$(cpu_s) m0=$(cpu_more)
metrics_snap "$WORK/m0"; waits_start
r=$(wrk_join "$HOT" "$SECS")
wt=$(waits_stop); metrics_snap "$WORK/m1"
c1=$(cpu_s) m1=$(cpu_more)
alive
# each statement over the hot load: calls, execution ms, rows, top-level,
# its text on one line (tests/bench/figures.py, read_statements)
[ "$STATEMENTS" = 0 ] || sql -F $'\t' -c "SELECT calls, total_exec_time, rows, toplevel,
    left(regexp_replace(query, '\s+', ' ', 'g'), 100) FROM pg_stat_statements
    WHERE calls > 0 ORDER BY total_exec_time DESC" >"$OUT/hot-statements.tsv"
fig "hot $r joins=$(joins_of "$HOT") peak_rss_mib=$(mib VmHWM) server_cpu_s=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') $(cpu_delta "$m0" "$m1") $wt $(join_tails "$WORK/m0" "$WORK/m1")"

# the hello-world (tests/bench/hello.c) answers a body of the view's size;
# it runs next to each workload whose ratio it divides (hello_ref)
BODY_BYTES=$(curl -sf "127.0.0.1:$PORT/v1/campaigns/$HOT" | wc -c)
[ "$BODY_BYTES" -gt 2 ] || { log "GET /v1/campaigns/$HOT failed"; exit 1; }
if [ "$ONLY" != sse ]; then
  cc -std=c11 -O2 -o "$OUT/hello" tests/bench/hello.c $(pkg-config --cflags --libs libevent)
  "$OUT/hello" 127.0.0.1 "$HELLO_PORT" "$BODY_BYTES" &
  HELLO=$!
  for _ in $(seq 50); do curl -sf "127.0.0.1:$HELLO_PORT/" >/dev/null && break; sleep 0.1; done
  log "hello-world next to hot: ${SECS}s, $BODY_BYTES-byte JSON body"
  hello_ref hello_hot
fi

if [ "$ONLY" = sse ]; then
  sse_workloads
  STMT_FILE=""
  [ "$STATEMENTS" = 0 ] || STMT_FILE=$OUT/hot-statements.tsv
  python3 - "$FIG" "$OUT/results-sse.json" "$SECS" "$STMT_FILE" <<'PY'
import json, os, sys

sys.path.insert(0, "tests/bench")
from figures import read_figures, read_statements, sse_pairs, statements_text, stream_cost, stream_cost_text

w = read_figures(sys.argv[1])
for name, d in w.items():
    if "joins" in d and d.get("duration_s"):
        d["joins_per_s"] = round(d["joins"] / d["duration_s"], 1)
        d["server_cpu_ms_per_join"] = round(1000 * d["server_cpu_s"] / d["joins"], 3) if d["joins"] else None
rounds = sse_pairs(w)
hot, ss = w["hot"], w["sse_streams"]
cost = stream_cost(rounds)
res = {"seconds": int(sys.argv[3]), "hot": hot, "streams": ss, "rss_mib_10k_streams": ss["rss_mib"],
       "rounds": [{"hot_ref": r, "hot_under_sse": s} for r, s in rounds],
       "cost": cost,
       "hot_joins_ratio_under_sse_vs_ref": cost["ratio"],
       "hot_joins_ratio_under_sse": round(rounds[0][1]["joins_per_s"] / hot["joins_per_s"], 3) if hot["joins_per_s"] else None}
with open(sys.argv[2], "w") as f:
    json.dump(res, f, indent=2, sort_keys=True)
    f.write("\n")

def cpu(d):
    return (f"server CPU {d['server_cpu_s']} s ({d['server_cpu_ms_per_join']} ms/join), postgres {d.get('pg_cpu_s')} s,"
            f" machine {d.get('machine_cpu_s')} s of {os.cpu_count() * d['duration_s']:.0f}")

print(f"hot (first): {hot['joins_per_s']:.0f} joins/s, p99 {hot['p99_ms']:.2f} ms, {cpu(hot)}")
if sys.argv[4]:
    res["hot_statements"] = read_statements(sys.argv[4], hot.get("joins", 0))
    print(statements_text(res["hot_statements"]))
for n, (r, s) in enumerate(rounds, 1):
    secs = s["duration_s"]
    print(f"round {n}: no streams {r['joins_per_s']:.0f} joins/s (p99 {r['p99_ms']:.2f} ms; {cpu(r)})")
    print(f"round {n}: {s['watchers']} streams {s['joins_per_s']:.0f} joins/s (p99 {s['p99_ms']:.2f} ms; {cpu(s)});"
          f" {s['server_events'] / secs:.0f} stream events/s and {s['state_reads'] / secs:.1f} state reads/s sent,"
          f" {s['events']} events ({s['event_bytes']} B) delivered, holder CPU {s['holder_cpu_s']} s (its whole run);"
          f" ratio {s['joins_per_s'] / r['joins_per_s']:.3f}")
print(f"hot under {rounds[0][1]['watchers']} streams against no streams, all rounds:"
      f" {res['hot_joins_ratio_under_sse_vs_ref']}x (round 1 against the first hot: {res['hot_joins_ratio_under_sse']}x);"
      f" {stream_cost_text(res['cost'])}")
print(f"sse: RSS {ss['rss_mib']} MiB with {ss['streams']} open streams ({ss['first_events']} first events,"
      f" {ss['refused']} refused; {ss['rss_before_mib']} MiB before), holder CPU {ss['holder_cpu_s']} s")
many = sse_pairs(w, many=True)
mr, mw = many[0]
res["many"] = dict(stream_cost(many), hot_ref=mr, hot_under_sse=mw,
                   rounds=[{"hot_ref": r, "hot_under_sse": s} for r, s in many])
with open(sys.argv[2], "w") as f:
    json.dump(res, f, indent=2, sort_keys=True)
    f.write("\n")
for n, (r, s) in enumerate(many, 1):
    print(f"sse many, round {n}: {s['watchers']} streams each following {s['campaigns_followed']} campaigns:"
          f" {s['joins_per_s']:.0f} joins/s against {r['joins_per_s']:.0f} without streams next to it,"
          f" ratio {s['joins_per_s'] / r['joins_per_s']:.3f}; {cpu(s)}")
print(f"sse many, all rounds: ratio {res['many']['ratio']}x; {stream_cost_text(res['many'])}")
print(f"results: {sys.argv[2]}")
PY
  exit 0
fi

log "spread: ${SECS}s on 100 campaigns"
checkpoint; peak_reset
metrics_snap "$WORK/m0"; waits_start
m0=$(cpu_more)
r=$(wrk_join "$SPREAD" "$SECS")
wt=$(waits_stop); metrics_snap "$WORK/m1"
m1=$(cpu_more)
alive
fig "spread $r joins=$(joins_of "$SPREAD") peak_rss_mib=$(mib VmHWM) campaigns=100 $(cpu_delta "$m0" "$m1") $wt $(join_tails "$WORK/m0" "$WORK/m1")"
log "hello-world next to spread: ${SECS}s"
hello_ref hello_spread

log "sellout: $SELL_ATTEMPTS attempts on campaign $SELL (max_quantity $SELL_MAX)"
checkpoint; peak_reset
mkdir -p "$WORK/done"
env TOKENS="$WORK/tokens-sell" CAMPAIGNS="$SELL" THREADS="$THREADS" LIMIT=$SELL_ATTEMPTS DONE_DIR="$WORK/done" \
  timeout 120 wrk -t"$THREADS" -c"$CONNS" -d60s --timeout 10s \
  -s tests/bench/join.lua "http://127.0.0.1:$PORT" >"$WORK/sell.out" &
BG=$!
# wrk sleeps its whole duration: interrupt it once every thread is done.
while kill -0 "$BG" 2>/dev/null && [ "$(find "$WORK/done" -type f | wc -l)" -lt "$THREADS" ]; do
  sleep 0.1
done
kill -INT "$BG" 2>/dev/null || true
wait "$BG" || true
BG=""
alive
r=$(sed -n 's/^RESULT //p' "$WORK/sell.out")
s=$(sql -F ' ' -c "SELECT coalesce(sum(p.quantity) FILTER (WHERE p.status IN ('pending_deposit', 'active')), 0),
                          count(p.id), c.max_quantity, c.live_quantity
                     FROM campaigns c LEFT JOIN participations p ON p.campaign_id = c.id
                    WHERE c.id = $SELL GROUP BY c.id")
read -r live rows maxq counter <<<"$s"
fig "sellout $r attempts=$SELL_ATTEMPTS accepted=$live joins=$rows max_quantity=$maxq live_quantity=$counter peak_rss_mib=$(mib VmHWM)"

log "view: ${SECS}s of GET /v1/campaigns/$HOT"
checkpoint; peak_reset
r=$(wrk_get "http://127.0.0.1:$PORT/v1/campaigns/$HOT" "$SECS")
alive
fig "view $r body_bytes=$BODY_BYTES peak_rss_mib=$(mib VmHWM)"

log "hello-world next to view: ${SECS}s"
hello_ref hello
kill "$HELLO"; wait "$HELLO" 2>/dev/null || true
HELLO=""

log "view under hot: ${SECS}s of GET /v1/campaigns/$HOT2 while joins hit it"
checkpoint; peak_reset
wrk_join "$HOT2" $((SECS + 2)) >"$WORK/hot2.out" &
BG=$!
sleep 1
r=$(wrk_get "http://127.0.0.1:$PORT/v1/campaigns/$HOT2" "$SECS")
wait "$BG" || true
BG=""
alive
fig "view_under_hot $r peak_rss_mib=$(mib VmHWM)"
fig "hot_under_view $(cat "$WORK/hot2.out") joins=$(joins_of "$HOT2")"

sse_workloads

log "baseline: pgbench, per-request join transaction, $CONNS clients, ${SECS}s on campaign $BASE"
cat >"$WORK/join.sql" <<'SQL'
SELECT nextval('bench_baseline_customer') AS cust \gset
BEGIN;
UPDATE campaigns SET updated_at = now()
 WHERE id = :c AND live_quantity + 1 <= max_quantity;
INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status,
                            score_at_join, p_complete_at_join, deposit_percent, deposit_cents)
VALUES (1, :c, :cust, 1, 'active', 75, 0.75, 0, 0);
COMMIT;
SQL
checkpoint
mkdir -p "$WORK/pgb"
(cd "$WORK/pgb" && timeout $((SECS + 60)) "$PGBENCH" -n -M prepared -c "$CONNS" -j "$THREADS" -T "$SECS" \
  -f "$WORK/join.sql" -D c="$BASE" -l --log-prefix="$WORK/pgb/tx" -h "$SOCK" -U postgres groupbuyd) \
  >"$WORK/pgb.out" 2>&1 || { cat "$WORK/pgb.out" >&2; exit 1; }
cat "$WORK"/pgb/tx.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n >"$WORK/pgb.lat"
n=$(wc -l <"$WORK/pgb.lat")
pct() { [ "$n" -gt 0 ] && awk -v q="$1" -v n="$n" 'NR == int((n - 1) * q / 100) + 1 { printf "%.3f", $1 / 1000 }' "$WORK/pgb.lat" || echo 0; }
tps=$(sed -nE 's/^tps = ([0-9.]+) \(without initial connection time\)/\1/p' "$WORK/pgb.out")
failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$WORK/pgb.out")
fig "baseline requests=$n duration_s=$SECS p50_ms=$(pct 50) p99_ms=$(pct 99) tps=$tps failed=${failed:-0} clients=$CONNS joins=$(joins_of "$BASE")"

# db_only: the join statement alone, without HTTP (scripts/bench-db.sh):
# pgbench, one client, durable, batches of 100 new joins on one campaign.
log "db only: gb_join_batches, batches of 100, one client, ${SECS}s"
checkpoint
fig "$(scripts/bench-db.sh "$URL" "$SECS" 100)"
# the same in batches of 10: with the batches of 100, a statement's fixed
# cost and each join's own (the report's "db only, per statement" line)
log "db only: batches of 10"
checkpoint
fig "$(BENCH_DB_NAME=db_only_b10 scripts/bench-db.sh "$URL" "$SECS" 10)"
log "db only, pickup: the same with every join naming a pickup point"
checkpoint
fig "$(BENCH_DB_PICKUP=1 scripts/bench-db.sh "$URL" "$SECS" 100)"
log "db floor: the same rows inserted plainly, without and with their events"
for floor in rows events; do
  checkpoint
  fig "$(BENCH_DB_FLOOR=$floor scripts/bench-db.sh "$URL" "$SECS" 100)"
done

# ladder: the planner with an audience of 100,000 (scripts/bench-ladder.sh):
# sequential requests, with the audience given and counted and scored.
log "ladder: POST /v1/admin/forecasts/ladder, audience 100,000"
fig "$(scripts/bench-ladder.sh "$URL" "$PORT" 20 100000)"

idle_rss idle_after_load
fig "server final_peak_rss_mib=$(mib VmHWM)"

# --- report -----------------------------------------------------------------
STMT_FILE=""
[ "$STATEMENTS" = 0 ] || STMT_FILE=$OUT/hot-statements.tsv
python3 - "$FIG" "$OUT/results.json" "$SECS" "$CONNS" "$THREADS" "${BENCH_READ_REPLICA:-0}" "$STMT_FILE" <<'PY'
import json, sys, time

sys.path.insert(0, "tests/bench")
from figures import read_figures, read_statements, sse_pairs, statements_text, stream_cost, stream_cost_text

fig_path, out_path, secs, conns, threads, replica = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
stmt_path = sys.argv[7]
w = read_figures(fig_path)

def rate(d, key):
    return round(d[key] / d["duration_s"], 1) if d.get("duration_s") else 0.0

def status_text(d):
    st = d.get("statuses", {})
    return ",".join(f"{s}:{n}" for s, n in sorted(st.items())) or "none"

def finish(d, joins=True):
    d["requests_per_s"] = rate(d, "requests")
    if joins:
        d["joins_per_s"] = rate(d, "joins")
    d["status_5xx"] = sum(n for s, n in d.get("statuses", {}).items() if s.startswith("5"))

for name in ("hot", "spread", "sellout", "hot_under_view"):
    finish(w[name])
sse_rounds, many_rounds = sse_pairs(w), sse_pairs(w, many=True)
sse_cost = stream_cost(sse_rounds)
for r, s in sse_rounds + many_rounds:
    finish(r)
    finish(s)
for name in ("view", "view_under_hot", "hello", "hello_hot", "hello_spread"):
    finish(w[name], joins=False)
base = w["baseline"]
base["joins_per_s"] = rate(base, "joins")
base["requests_per_s"] = base.pop("tps", 0.0)
hot, view, sell, hello = w["hot"], w["view"], w["sellout"], w["hello"]
hot["ratio_vs_baseline"] = round(hot["joins_per_s"] / base["joins_per_s"], 2) if base["joins_per_s"] else None
sell["oversold"] = max(0, sell["accepted"] - sell["max_quantity"])
sell["counter_mismatch"] = sell["live_quantity"] - sell["accepted"]
sell["accepted_http"] = sell.get("statuses", {}).get("201", 0)
vuh = w["view_under_hot"]
# each ratio against the hello-world run next to it, its denominator kept
def ratio(d, rate, ref):
    den = w[ref]["requests_per_s"]
    d["ratio_vs_hello"] = round(d[rate] / den, 3) if den else None
    d["ratio_vs_hello_denominator"] = {"workload": ref, "requests_per_s": den}

ratio(view, "requests_per_s", "hello")
view["p99_ms_under_hot"] = vuh["p99_ms"]
view["p50_ms_under_hot"] = vuh["p50_ms"]
view["requests_per_s_under_hot"] = vuh["requests_per_s"]
view["hot_joins_per_s_meanwhile"] = w["hot_under_view"]["joins_per_s"]
ratio(hot, "joins_per_s", "hello_hot")
ratio(w["spread"], "joins_per_s", "hello_spread")
many_ref, many = many_rounds[0]
many["ratio_vs_ref"] = round(many["joins_per_s"] / many_ref["joins_per_s"], 3) if many_ref["joins_per_s"] else None
dbo = w["db_only"]
lad = w.get("ladder", {})

res = {
    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    "seconds": secs, "connections": conns, "wrk_threads": threads,
    "read_replica": bool(replica),
    "hot": hot, "spread": w["spread"], "sellout": sell, "view": view,
    "view_under_hot": vuh, "hot_under_view": w["hot_under_view"],
    "baseline_pgbench": base, "hello": hello, "hello_hot": w["hello_hot"],
    "hello_spread": w["hello_spread"], "db_only": dbo, "db_only_pickup": w.get("db_only_pickup"),
    "db_only_b10": w.get("db_only_b10"),
    "db_floor_rows": w.get("db_floor_rows"), "db_floor_events": w.get("db_floor_events"),
    "ladder": lad,
    "idle_rss_mib": w["idle_after_load"]["rss_mib"],
    "idle_rss_fresh_mib": w["idle_fresh"]["rss_mib"],
    "idle": {"after_load": w["idle_after_load"], "fresh": w["idle_fresh"]},
    "server_peak_rss_mib": w["server"]["final_peak_rss_mib"],
    "sse": {
        "streams": w["sse_streams"],
        "rss_mib_10k_streams": w["sse_streams"]["rss_mib"],
        "hot_under_sse": w["hot_under_sse"],
        "hot_ref": w["hot_ref"],
        "many": dict(stream_cost(many_rounds), hot_ref=many_ref, hot_under_sse=many,
                     rounds=[{"hot_ref": r, "hot_under_sse": s} for r, s in many_rounds]),
        "rounds": [{"hot_ref": r, "hot_under_sse": s} for r, s in sse_rounds],
        "cost": sse_cost,
        "hot_joins_ratio_under_sse": round(w["hot_under_sse"]["joins_per_s"] / hot["joins_per_s"], 3)
        if hot["joins_per_s"] else None,
        # against the same load without streams, run next to it
        "hot_joins_ratio_under_sse_vs_ref": sse_cost["ratio"],
    },
}
# a statement's fixed cost and each join's own, from the batches of 10
# and of 100: CPU a batch = fixed + joins x own
d10, fit = w.get("db_only_b10", {}), None
if all(isinstance(d.get("cpu_us_per_join"), float) for d in (dbo, d10)) and dbo["batch"] > d10["batch"]:
    b1, b2 = d10["batch"], dbo["batch"]
    own = (dbo["cpu_us_per_join"] * b2 - d10["cpu_us_per_join"] * b1) / (b2 - b1)
    fit = (b1, b2, d10["cpu_us_per_join"] * b1 - own * b1, own)
    res["db_only_per_statement"] = {"fixed_us": round(fit[2], 1), "own_us_per_join": round(own, 1)}
stmts = read_statements(stmt_path, w["hot"].get("joins", 0)) if stmt_path else None
if stmt_path:
    res["hot_statements"] = stmts
with open(out_path, "w") as f:
    json.dump(res, f, indent=2, sort_keys=True)
    f.write("\n")

def join_line(name, d, extra=""):
    print(f"{name}: {d['requests_per_s']:.0f} req/s, {d['joins_per_s']:.0f} joins/s ({d['joins']} joins),"
          f" p50 {d['p50_ms']:.2f} ms, p99 {d['p99_ms']:.2f} ms, statuses {status_text(d)},"
          f" socket errors {d['socket_errors']}, peak RSS {d['peak_rss_mib']} MiB{extra}")

print(f"== make bench: {conns} connections, {threads} wrk threads, {secs} s per workload"
      f"{', public reads on a local hot standby' if replica else ''} ==")
def of_hello(d):
    den = d["ratio_vs_hello_denominator"]
    return f"{d['ratio_vs_hello']}x hello-world ({den['requests_per_s']:.0f} req/s, {den['workload']}, run next to it)"

def inside(name, d):
    """where a join's time went: the server's rounds and parts (p99, bucket
    upper bounds) and what the server's backends waited on (sampled)"""
    tails = ", ".join(f"{k[4:-3]} {d[k]:g}" for k in sorted(d) if k.startswith("p99_") and k.endswith("_ms")
                      and k not in ("p99_ms",))
    waits = d.get("waits", "unmeasured")
    if waits not in ("unmeasured", "none"):
        waits = ", ".join(f"{e} {100 * float(x):.0f}%" for e, x in
                          sorted((p.rsplit(":", 1) for p in waits.split(";")), key=lambda t: -float(t[1])))
    print(f"{name} inside: p99 ms (bucket upper bounds) {tails or 'unmeasured'};"
          f" the server's backends: {waits} of their time, {d.get('backends')} active on average")

join_line("hot", hot, f", {hot['ratio_vs_baseline']}x baseline, {of_hello(hot)}")
inside("hot", hot)
join_line("spread", w["spread"], f", 100 campaigns, {of_hello(w['spread'])}")
inside("spread", w["spread"])
print(f"sellout: {sell['attempts']} attempts, accepted {sell['accepted']} (HTTP 201: {sell['accepted_http']},"
      f" max_quantity {sell['max_quantity']}, live_quantity {sell['live_quantity']}), oversold {sell['oversold']},"
      f" statuses {status_text(sell)}, 5xx {sell['status_5xx']}, p99 {sell['p99_ms']:.2f} ms,"
      f" peak RSS {sell['peak_rss_mib']} MiB")
print(f"view: {view['requests_per_s']:.0f} req/s, p50 {view['p50_ms']:.2f} ms, p99 {view['p99_ms']:.2f} ms,"
      f" statuses {status_text(view)}, {view['body_bytes']} B body, peak RSS {view['peak_rss_mib']} MiB,"
      f" {100 * (view['ratio_vs_hello'] or 0):.0f}% of hello-world ({hello['requests_per_s']:.0f} req/s, run next to it);"
      f" under hot: {vuh['requests_per_s']:.0f} req/s, p50 {vuh['p50_ms']:.2f} ms, p99 {vuh['p99_ms']:.2f} ms,"
      f" statuses {status_text(vuh)}, peak RSS {vuh['peak_rss_mib']} MiB"
      f" (hot meanwhile: {w['hot_under_view']['joins_per_s']:.0f} joins/s,"
      f" p99 {w['hot_under_view']['p99_ms']:.2f} ms, statuses {status_text(w['hot_under_view'])})")
print(f"baseline pgbench: {base['joins_per_s']:.0f} joins/s ({base['joins']} joins, {base['clients']} clients,"
      f" per-request join transaction), p50 {base['p50_ms']:.2f} ms, p99 {base['p99_ms']:.2f} ms,"
      f" failed {base['failed']}")
print(f"baseline hello-world: {hello['requests_per_s']:.0f} req/s, p50 {hello['p50_ms']:.2f} ms,"
      f" p99 {hello['p99_ms']:.2f} ms, statuses {status_text(hello)}, {hello['body_bytes']} B body")
for label, d in (("db only", dbo), ("db only, pickup", w.get("db_only_pickup"))):
    if not d:
        continue
    gone = d.get("others_cpu_exited", 0)
    cpu = (f"PostgreSQL CPU {d['cpu_us_per_join']} us a join (the backend that ran the batches;"
           f" the cluster's other processes {d['others_cpu_us_per_join']} us"
           f"{f', at least: {gone} exited meanwhile' if gone else ''})"
           if d.get("cpu_us_per_join") != "unmeasured" else
           f"PostgreSQL CPU unmeasured: {d.get('cpu_unmeasured_why')}")
    print(f"{label}: {d['joins_per_s']:.0f} joins/s (gb_join_batches, batches of {d['batch']}, one client,"
          f" {d['batch_ms']} ms a batch, {d['us_per_join']} us a join; {cpu})")
if fit:
    b1, b2, fixed, own = fit
    per = hot.get("joins_per_write_round")
    at_hot = (f"; at hot's {per} joins a write statement, {fixed / per + own:.0f} us a join"
              if isinstance(per, float) else "")
    print(f"db only, per statement: {fixed / 1000:.2f} ms fixed and {own:.1f} us a join"
          f" (PostgreSQL CPU, batches of {b1} and {b2}){at_hot}")
else:
    print("db only, per statement: unmeasured (a batch's CPU could not be read)")
if isinstance(hot.get("pg_cpu_s"), float) and hot["joins"]:
    print(f"hot in PostgreSQL: {1e6 * hot['pg_cpu_s'] / hot['joins']:.0f} us of CPU a join (all its processes),"
          f" {hot.get('pg_minflt', 0) / hot['joins']:.1f} minor page faults a join;"
          f" {hot.get('joins_per_read_round', 'unmeasured')} joins a read statement,"
          f" {hot.get('joins_per_write_round', 'unmeasured')} a write statement,"
          f" {hot.get('session_lookups_per_join', 'unmeasured')} session look-up statements a join")
if stmt_path:
    print(statements_text(stmts))
fr, fe = w.get("db_floor_rows", {}), w.get("db_floor_events", {})
if all(isinstance(d.get("cpu_us_per_join"), float) for d in (dbo, fr, fe)):
    print(f"db only, split: of {dbo['cpu_us_per_join']} us a join, the rows cost {fr['cpu_us_per_join']} us"
          f" inserted plainly (indexes, checks, counters, commit), their two events"
          f" {fe['cpu_us_per_join'] - fr['cpu_us_per_join']:.1f} us, the decision and the answer"
          f" {dbo['cpu_us_per_join'] - fe['cpu_us_per_join']:.1f} us")
else:
    print("db only, split: unmeasured (a floor's CPU could not be read)")
if lad:
    print(f"ladder: audience {lad['audience']}: given {lad['given_p50_ms']:.1f} ms p50,"
          f" {lad['given_max_ms']:.1f} ms max ({lad['requests']} requests, statuses {lad['given_statuses']});"
          f" scored by the server {lad['scored_p50_ms']:.1f} ms p50, {lad['scored_max_ms']:.1f} ms max"
          f" ({lad['scored_requests']} requests, statuses {lad['scored_statuses']})")
i, f0 = w["idle_after_load"], w["idle_fresh"]
print(f"idle: RSS {i['rss_mib']} MiB with {i['connections_open']} open idle connections after the load"
      f" ({i['rss_before_mib']} MiB without them); fresh server: {f0['rss_mib']} MiB"
      f" ({f0['rss_before_mib']} MiB without); server peak RSS over the run {res['server_peak_rss_mib']} MiB")
ss, hs = w["sse_streams"], w["hot_under_sse"]
print(f"sse: RSS {ss['rss_mib']} MiB with {ss['streams']} open streams ({ss['first_events']} first events,"
      f" {ss['refused']} refused; {ss['rss_before_mib']} MiB before); hot under {hs['watchers']} streams:"
      f" {hs['joins_per_s']:.0f} joins/s ({res['sse']['hot_joins_ratio_under_sse_vs_ref']}x the same load without"
      f" streams next to it, {w['hot_ref']['joins_per_s']:.0f} joins/s; {res['sse']['hot_joins_ratio_under_sse']}x hot),"
      f" p99 {hs['p99_ms']:.2f} ms,"
      f" statuses {status_text(hs)}, {hs['events']} events delivered,"
      f" {hs['server_events'] / hs['duration_s']:.0f} stream events/s and {hs['state_reads'] / hs['duration_s']:.1f}"
      f" state reads/s sent, server CPU {hs['server_cpu_s']} s (without streams: {w['hot_ref']['server_cpu_s']} s),"
      f" holder CPU {hs['holder_cpu_s']} s")
print(f"sse cost: {stream_cost_text(res['sse']['cost'])}")
print(f"sse many: hot under {many['watchers']} streams each following {many['campaigns_followed']} campaigns:"
      f" {many['joins_per_s']:.0f} joins/s, {many['ratio_vs_ref']}x the same load without streams next to it"
      f" ({many_ref['joins_per_s']:.0f} joins/s), p99 {many['p99_ms']:.2f} ms, {many['events']} events delivered,"
      f" server CPU {many['server_cpu_s']} s (without streams: {many_ref['server_cpu_s']} s);"
      f" {stream_cost_text(res['sse']['many'])}")
print(f"results: {out_path}")
PY

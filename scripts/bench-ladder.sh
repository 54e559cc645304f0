#!/usr/bin/env bash
# The ladder planner, POST /v1/admin/forecasts/ladder, with an audience of
# 100,000 (the figure API.md bounds at 200 ms). Set-up, not measured: a
# distributor of its own whose AUDIENCE customers (ids 1..AUDIENCE, which
# make bench seeds) each took part in one of its 100 past campaigns, a
# fifth of them with a default in their history, and an owner session.
# Measured: sequential requests on one connection, their times (p50, max)
# and statuses:
#   given   REQUESTS with "audience_size": AUDIENCE in the body (the
#           arrivals and the ladder's distribution: the model's own cost);
#   scored  REQUESTS / 5 with the audience counted and scored by the server
#           ("min_score": 60: every customer's history read from SQL and
#           scored; status 0: the server closed the
#           connection at its http_timeout_s).
#   scripts/bench-ladder.sh URL PORT [REQUESTS] [AUDIENCE] -> "ladder ..."
set -euo pipefail
URL=$1 PORT=$2 REQUESTS=${3:-20} AUDIENCE=${4:-100000}
sql() { psql "$URL" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
have=$(sql -c "SELECT count(*) FROM customers WHERE id <= $AUDIENCE")
[ "$have" -eq "$AUDIENCE" ] || { echo "bench-ladder: needs customers 1..$AUDIENCE" >&2; exit 1; }
TOKEN=$(python3 -c "import secrets; print(secrets.token_urlsafe(32))")
read -r did pid <<<"$(sql -F ' ' -v n="$AUDIENCE" -v tok="$TOKEN" <<'SQL'
WITH d AS (INSERT INTO distributors (name, commission_bp) VALUES ('bench planner', 500) RETURNING id),
     s AS (INSERT INTO staff (distributor_id, login, password_hash, role)
           SELECT id, 'planner-' || id || '@bench', 'x', 'owner' FROM d RETURNING id, distributor_id),
     t AS (INSERT INTO sessions (token_sha256, staff_id, expires_at)
           SELECT sha256(convert_to(:'tok', 'UTF8')), id, now() + interval '1 hour' FROM s),
     p AS (INSERT INTO products (distributor_id, sku, name, list_price_cents, cost_price_cents, stock)
           SELECT id, 'PLAN-' || id, 'planner product', 10000, 5200, 1000000 FROM d RETURNING id, distributor_id)
SELECT p.distributor_id, p.id FROM p;
SQL
)"
sql -v n="$AUDIENCE" -v d="$did" -v p="$pid" <<'SQL' >/dev/null
CREATE TEMP TABLE past AS
WITH ins AS (
  INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, ends_at,
    tier_basis, tiers, min_participants, max_quantity, per_customer_limit, deposit_policy)
  SELECT :d, :p, 'planner past ' || g, 'draft', now() - interval '60 days', now() - interval '50 days',
    'participants', '[{"threshold": 1, "unit_price_cents": 9000}]', 1, 1000000, 1,
    '[{"min_score": 0, "deposit_percent": 0}]'
  FROM generate_series(0, 99) g RETURNING id)
SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM ins;
INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity, status,
  score_at_join, p_complete_at_join, deposit_percent, deposit_cents, created_at)
SELECT :d, past.id, c, 1, CASE WHEN c % 5 = 0 THEN 'defaulted' ELSE 'paid' END, 75, 0.75, 0, 0,
       now() - interval '55 days'
  FROM generate_series(1, :n) c JOIN past ON past.k = c % 100;
INSERT INTO customer_events (customer_id, distributor_id, participation_id, kind, occurred_at)
SELECT p.customer_id, :d, p.id, CASE WHEN p.status = 'paid' THEN 'completed' ELSE 'defaulted' END,
       now() - interval '45 days'
  FROM participations p WHERE p.distributor_id = :d;
ANALYZE participations;
ANALYZE customer_events;
SQL
python3 - "$PORT" "$TOKEN" "$pid" "$REQUESTS" "$AUDIENCE" <<'PY'
import http.client, json, sys, time
port, token, pid, n, audience = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
now = time.time()
iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
base = {"product_id": pid, "starts_at": iso(now + 3600), "ends_at": iso(now + 7 * 86400),
        "min_participants": 2000, "max_quantity": 20000, "per_customer_limit": 2,
        "tiers": [{"threshold": 1, "unit_price_cents": 9900}, {"threshold": 1000, "unit_price_cents": 8900},
                  {"threshold": 3000, "unit_price_cents": 7900}, {"threshold": 6000, "unit_price_cents": 6900}],
        "deposit_policy": [{"min_score": 0, "deposit_percent": 0}]}
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
def run(body, count):
    """count requests: the sorted times, the last answer, the statuses"""
    ms, last, statuses = [], None, {}
    for _ in range(count):
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/v1/admin/forecasts/ladder", json.dumps(body),
                         {"Authorization": "Bearer " + token,
                          "Content-Type": "application/json"})
            r = conn.getresponse()
            status, data = r.status, r.read()
        except (http.client.HTTPException, OSError):  # the server's http_timeout_s
            conn.close()
            status, data = 0, b""
        ms.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 200:
            last = json.loads(data)
    ms.sort()
    return ms, last, statuses
given, a, gst = run(dict(base, audience_size=audience), n)
if a is None:
    sys.exit("bench-ladder: no answer: statuses %s" % gst)
# each scored request reads every customer's history: fewer of them
scored, b, sst = run(dict(base, min_score=60), max(1, n // 5))
st = lambda d: ",".join("%d:%d" % kv for kv in sorted(d.items()))
pct = lambda v, q: v[min(len(v) - 1, int((len(v) - 1) * q / 100 + 0.5))]
print("ladder audience=%d requests=%d given_p50_ms=%.2f given_max_ms=%.2f given_statuses=%s"
      " scored_requests=%d scored_p50_ms=%.2f scored_max_ms=%.2f scored_statuses=%s"
      " scored_audience=%d success=%.4f expected_participants=%.1f"
      % (audience, n, pct(given, 50), given[-1], st(gst), len(scored), pct(scored, 50),
         scored[-1], st(sst), b["audience_size"] if b else -1, a["success_probability"],
         a["expected_participants"]))
PY

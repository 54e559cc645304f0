"""Joining, withdrawing and reading participations (API.md "Shoppers";
DESIGN.md "Campaign rules", "Lifecycles", deposits of "Customer
reliability"), and the issue's concurrency test: 64 clients, 5,000 join
attempts on one campaign of 500 units, on one and on two server processes.
"""
import http.client
import json
import random
import threading
import time

import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403
from helpers import statement_executions


@pytest.fixture
def t(app):
    return new_tenant(app)


def participation_row(db, pid):
    with db.cursor() as cur:
        cur.execute("SELECT status, quantity, score_at_join, p_complete_at_join,"
                    " deposit_percent, deposit_cents, deposit_due_by IS NOT NULL,"
                    " extract(epoch FROM deposit_due_by - created_at)"
                    " FROM participations WHERE id = %s", (pid,))
        return cur.fetchone()


def outbox_kinds(db, pid):
    with db.cursor() as cur:
        cur.execute("SELECT kind FROM outbox WHERE participation_id = %s ORDER BY id", (pid,))
        return [r[0] for r in cur.fetchall()]


PART_KEYS = {"id", "campaign_id", "customer_id", "quantity", "status", "deposit_cents",
             "deposit_paid_cents", "deposit_due_by", "unit_price_cents",
             "amount_due_cents", "pay_by", "created_at"}


# ---------------------------------------------------------------- joining

def test_join_new_customer_pays_the_middle_band(app, db, t):
    cid = make_campaign(app, db, t)
    c = http_customer(app)
    r = join(app, c.token, cid, 2)
    assert r.status == 201, r
    p = r.json
    assert PART_KEYS <= set(p), p
    assert p["campaign_id"] == cid and p["customer_id"] == c.id and p["quantity"] == 2
    # score 75 -> band >= 50 -> 10 % of 2 x 99.00
    assert p["status"] == "pending_deposit"
    assert p["deposit_cents"] == 1980 and p["deposit_paid_cents"] == 0
    assert p["amount_due_cents"] == 1980
    assert p["unit_price_cents"] == 9900 and p["pay_by"] is None
    parse_time(p["created_at"])
    parse_time(p["deposit_due_by"])
    row = participation_row(db, p["id"])
    assert row[:6] == ("pending_deposit", 2, 75, 0.75, 10, 1980)
    assert abs(row[7] - 900) < 2  # default deposit window
    assert outbox_kinds(db, p["id"]) == ["participation.created"]
    assert campaign_row(db, cid)[:2] == (1, 2)


def test_deposit_bands_by_score(app, db, t):
    """>= 80: nothing down, active at once; >= 50: 10 %; below: 30 %, with
    the deposit rounded up to the cent."""
    tiers = [{"threshold": 1, "unit_price_cents": 9999},
             {"threshold": 5, "unit_price_cents": 9000}]
    cid = make_campaign(app, db, t, tiers=tiers)
    vip, plain, flaky = http_customer(app), http_customer(app), http_customer(app)
    # vip: one earlier participation makes the customer visible to staff
    add_event(db, t.id, vip.id, "completed", age_days=400)
    r = app.request("PUT", "/v1/admin/customers/%d/vip" % vip.id, body={"vip_level": 1},
                    token=t.token)
    assert r.status == 200, r
    for _ in range(3):
        add_event(db, t.id, flaky.id, "defaulted")

    r = join(app, vip.token, cid, 3)
    assert r.status == 201, r
    assert (r.json["status"], r.json["deposit_cents"], r.json["deposit_due_by"],
            r.json["amount_due_cents"]) == ("active", 0, None, 0)
    assert participation_row(db, r.json["id"])[4] == 0
    assert outbox_kinds(db, r.json["id"]) == ["participation.created",
                                             "participation.activated"]

    r = join(app, plain.token, cid, 1)
    assert r.status == 201, r
    assert (r.json["status"], r.json["deposit_cents"]) == ("pending_deposit", 1000)  # 999.9 up

    r = join(app, flaky.token, cid, 1)  # 3 fresh defaults: 3 / 7 -> 43
    assert r.status == 201, r
    assert (r.json["status"], r.json["deposit_cents"]) == ("pending_deposit", 3000)  # 2999.7 up
    row = participation_row(db, r.json["id"])
    assert row[2] == 43 and row[4] == 30 and abs(row[3] - 3.0 / 7.0) < 1e-6, row


def test_join_refusals(app, db, t):
    c = http_customer(app)
    assert_error(join(app, c.token, 999999), 404, "not_found")
    draft = make_campaign(app, db, t, status="draft")
    assert_error(join(app, c.token, draft), 404, "not_found")
    other = new_tenant(app)
    # another tenant's campaign is just as public: joining works by id
    sched = make_campaign(app, db, other, status="scheduled")
    assert_error(join(app, c.token, sched), 409, "campaign_not_open")

    cid = make_campaign(app, db, t, max_quantity=5, per_customer_limit=3,
                        pending_share_bp=10000)  # the cap, not the deposit bound
    assert_error(join(app, c.token, cid, 4), 409, "per_customer_limit")
    r = join(app, c.token, cid, 3)
    assert r.status == 201, r
    assert_error(join(app, c.token, cid, 1), 409, "already_joined")
    d = http_customer(app)
    assert_error(join(app, d.token, cid, 3), 409, "campaign_full")
    assert join(app, d.token, cid, 2).status == 201  # exactly what is left
    e = http_customer(app)
    assert_error(join(app, e.token, cid, 1), 409, "campaign_full")
    assert campaign_row(db, cid)[:2] == (2, 5)

    # ended by the database clock, even before any close ran
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET starts_at = now() - interval '2 hours',"
                    " ends_at = now() - interval '1 second' WHERE id = %s", (cid,))
    f = http_customer(app)
    assert_error(join(app, f.token, cid, 1), 409, "campaign_not_open")


def test_join_min_score(app, db, t):
    cid = make_campaign(app, db, t, min_score=76)
    c = http_customer(app)
    err = assert_error(join(app, c.token, cid, 1), 403, "reliability_too_low")
    assert "75" in err["message"]
    assert count_rows(db, "participations", "campaign_id = %s", (cid,)) == 0
    add_event(db, t.id, c.id, "completed")  # (3 + 1) / (4 + 1) = 80
    r = join(app, c.token, cid, 1)
    assert r.status == 201, r
    assert r.json["deposit_cents"] == 0


@pytest.mark.parametrize("body", [
    {}, {"quantity": 0}, {"quantity": -1}, {"quantity": 1.5}, {"quantity": "2"},
    {"quantity": None}, {"quantity": 1, "extra": 1}, {"quantity": True},
])
def test_join_invalid_body(shared, body):
    c = db_customers(shared.db, 1)[0]
    r = join(shared.srv, c.token, 1, body=body)
    assert_error(r, 400, "invalid_field", "quantity" if "extra" not in body else None)


def test_join_auth(app, db, t):
    cid = make_campaign(app, db, t)
    assert_error(join(app, None, cid), 401, "unauthenticated")
    assert_error(join(app, t.token, cid), 403, "forbidden")
    assert_error(json_post(app, "/v1/campaigns/%d/participations" % cid, b"{",
                           token=db_customers(db, 1)[0].token), 400, "invalid_json")


def test_join_idempotent_replay(app, db, t):
    cid = make_campaign(app, db, t)
    c = http_customer(app)
    r1 = join(app, c.token, cid, 2, key="join-1")
    assert r1.status == 201, r1
    r2 = join(app, c.token, cid, 2, key="join-1")
    assert r2.status == 201 and r2.body == r1.body, r2
    assert header(r2, "Idempotent-Replayed") == "true"
    assert_error(join(app, c.token, cid, 1, key="join-1"), 409, "idempotency_conflict")
    assert count_rows(db, "participations", "campaign_id = %s", (cid,)) == 1
    assert count_rows(db, "outbox", "participation_id = %s", (r1.json["id"],)) == 1
    assert campaign_row(db, cid)[:2] == (1, 2)
    # a refusal is not stored: a new key answers from the current state
    assert_error(join(app, c.token, cid, 2, key="join-2"), 409, "already_joined")


BUMPING_HISTORY = """
CREATE TABLE bump_once (campaign_id bigint);
CREATE OR REPLACE FUNCTION gb_customer_history(p_customer_id bigint,
                                               p_half_life_days double precision)
    RETURNS TABLE (completed bigint, completed_w double precision,
                   withdrawn bigint, withdrawn_w double precision,
                   defaulted bigint, defaulted_w double precision,
                   deposit_expired bigint, deposit_expired_w double precision)
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE v bigint;
BEGIN
    DELETE FROM bump_once WHERE ctid = (SELECT ctid FROM bump_once LIMIT 1)
    RETURNING campaign_id INTO v;
    IF v IS NOT NULL THEN
        UPDATE campaigns SET version = version + 1 WHERE id = v;
    END IF;
    RETURN QUERY SELECT 0::bigint, 0::float8, 0::bigint, 0::float8,
                        0::bigint, 0::float8, 0::bigint, 0::float8;
END $$;
"""


@pytest.mark.expect_5xx(503)
def test_join_starts_over_when_the_campaign_changes(app, db, t):
    """Staff editing the campaign between the join's read and its decision
    (here: the read itself bumps the version) makes the join read again;
    a second change in a row answers 503, retryable, with nothing written."""
    with db.cursor() as cur:
        cur.execute(BUMPING_HISTORY)
    cid = make_campaign(app, db, t)
    with db.cursor() as cur:
        cur.execute("SELECT version FROM campaigns WHERE id = %s", (cid,))
        v0 = cur.fetchone()[0]
        cur.execute("INSERT INTO bump_once VALUES (%s)", (cid,))
    c = http_customer(app)
    r = join(app, c.token, cid, 1)
    assert r.status == 201, r
    assert count_rows(db, "bump_once") == 0
    with db.cursor() as cur:
        cur.execute("SELECT version FROM campaigns WHERE id = %s", (cid,))
        assert cur.fetchone()[0] == v0 + 1
        cur.execute("INSERT INTO bump_once VALUES (%s), (%s)", (cid, cid))
    d = http_customer(app)
    assert_error(join(app, d.token, cid, 1), 503, "unavailable")
    assert count_rows(db, "bump_once") == 0
    assert count_rows(db, "participations", "campaign_id = %s", (cid,)) == 1


# ---------------------------------------------------------------- reading

def test_participation_views_and_current_price(app, db, t):
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 2, "unit_price_cents": 8000}]
    cid = make_campaign(app, db, t, tiers=tiers)
    a, b = http_customer(app), http_customer(app)
    pa = join(app, a.token, cid, 1).json
    assert pa["unit_price_cents"] == 9900
    pb = join(app, b.token, cid, 1).json
    assert pb["unit_price_cents"] == 8000  # the count includes b's own join
    r = app.get("/v1/participations/%d" % pa["id"], token=a.token)
    assert r.status == 200 and r.json["unit_price_cents"] == 8000, r
    assert set(r.json) >= PART_KEYS
    assert_error(app.get("/v1/participations/%d" % pa["id"], token=b.token), 404, "not_found")
    assert_error(app.get("/v1/participations/999999", token=b.token), 404, "not_found")
    assert_error(app.get("/v1/participations/%d" % pa["id"], token=t.token), 403, "forbidden")

    # after close: the final price, fixed on the campaign
    close_campaign_in_db(db, cid, "succeeded", 7000)
    r = app.get("/v1/participations/%d" % pa["id"], token=a.token)
    assert r.json["unit_price_cents"] == 7000, r
    close_campaign_in_db(db, cid, "failed", None)
    r = app.get("/v1/participations/%d" % pa["id"], token=a.token)
    assert r.json["unit_price_cents"] is None, r


def test_my_participations_list(app, db, t):
    c, other = http_customer(app), http_customer(app)
    ids = []
    for _ in range(3):
        cid = make_campaign(app, db, t)
        ids.append(join(app, c.token, cid, 1).json["id"])
        assert join(app, other.token, cid, 1).status == 201
    r = app.get("/v1/me/participations", token=c.token)
    assert r.status == 200, r
    assert [p["id"] for p in r.json["items"]] == ids and r.json["next_after"] is None
    r = app.get("/v1/me/participations?limit=2", token=c.token)
    assert [p["id"] for p in r.json["items"]] == ids[:2] and r.json["next_after"] == ids[1]
    r = app.get("/v1/me/participations?limit=2&after=%d" % ids[1], token=c.token)
    assert [p["id"] for p in r.json["items"]] == ids[2:] and r.json["next_after"] is None
    assert_error(app.get("/v1/me/participations?limit=0", token=c.token), 400, "invalid_field")
    assert_error(app.get("/v1/me/participations"), 401, "unauthenticated")


def test_staff_participations_list(app, db, t):
    cid = make_campaign(app, db, t)
    a, b = http_customer(app), http_customer(app)
    add_event(db, t.id, b.id, "defaulted")
    pa = join(app, a.token, cid, 1).json
    pb = join(app, b.token, cid, 2).json
    r = app.get("/v1/admin/campaigns/%d/participations" % cid, token=t.token)
    assert r.status == 200, r
    items = r.json["items"]
    assert [p["id"] for p in items] == [pa["id"], pb["id"]]
    assert [p["score"] for p in items] == [75, 60]
    assert items[0]["unit_price_cents"] == 9900 and set(items[0]) >= PART_KEYS
    r = app.get("/v1/admin/campaigns/%d/participations?limit=1" % cid, token=t.token)
    assert r.status == 200 and r.json["next_after"] == pa["id"], r
    empty = make_campaign(app, db, t)
    r = app.get("/v1/admin/campaigns/%d/participations" % empty, token=t.token)
    assert r.json == {"items": [], "next_after": None}, r
    other = new_tenant(app)
    assert_error(app.get("/v1/admin/campaigns/%d/participations" % cid, token=other.token),
                 404, "not_found")
    assert_error(app.get("/v1/admin/campaigns/%d/participations" % cid, token=a.token),
                 403, "forbidden")


# ---------------------------------------------------------------- withdrawing

def test_withdraw_returns_units(app, db, t):
    cid = make_campaign(app, db, t)
    a, b = http_customer(app), http_customer(app)
    pa = join(app, a.token, cid, 3).json
    assert join(app, b.token, cid, 2).status == 201
    assert campaign_row(db, cid)[:2] == (2, 5)
    r = withdraw(app, a.token, pa["id"])
    assert r.status == 200, r
    assert r.json["status"] == "withdrawn" and r.json["amount_due_cents"] == 0
    assert campaign_row(db, cid)[:2] == (1, 2) == live_sum(db, cid)
    prog = progress_of(app, cid)
    assert (prog["participants"], prog["quantity"]) == (1, 2), prog
    assert count_rows(db, "customer_events",
                      "participation_id = %s AND kind = 'withdrawn'", (pa["id"],)) == 1
    assert outbox_kinds(db, pa["id"]) == ["participation.created",
                                          "participation.withdrawn"]
    assert count_rows(db, "ledger_entries", "participation_id = %s", (pa["id"],)) == 0
    # the history now counts it: 3 / (4 + 0.5) -> 67
    r = app.get("/v1/me", token=a.token)
    assert r.json["reliability"]["score"] == 67, r
    # and the customer may join again
    r = join(app, a.token, cid, 1)
    assert r.status == 201 and r.json["deposit_cents"] == 990, r


def test_withdraw_refunds_a_paid_deposit(app, db, t):
    cid = make_campaign(app, db, t)
    a = http_customer(app)
    p = join(app, a.token, cid, 2).json
    with db.cursor() as cur:  # as the deposit webhook would leave it
        cur.execute("UPDATE participations SET status = 'active',"
                    " deposit_paid_cents = deposit_cents WHERE id = %s", (p["id"],))
    r = withdraw(app, a.token, p["id"], key="w-1")
    assert r.status == 200, r
    assert r.json["deposit_paid_cents"] == 1980
    r2 = withdraw(app, a.token, p["id"], key="w-1")
    assert r2.status == 200 and r2.body == r.body
    key = "refund:participation:%d:withdrawn" % p["id"]
    with db.cursor() as cur:
        cur.execute("SELECT kind, amount_cents, campaign_id FROM ledger_entries"
                    " WHERE movement_key = %s", (key,))
        assert cur.fetchall() == [("refund_issued", 1980, cid)]
        cur.execute("SELECT payload->>'amount_cents' FROM outbox"
                    " WHERE kind = 'participation.refunded'"
                    " AND idempotency_key = %s", (key,))
        assert cur.fetchall() == [("1980",)]
    assert outbox_kinds(db, p["id"])[-2:] == ["participation.withdrawn",
                                              "participation.refunded"]
    assert_error(withdraw(app, a.token, p["id"]), 409, "invalid_state")
    assert count_rows(db, "ledger_entries", "participation_id = %s", (p["id"],)) == 1


def test_withdraw_refusals(app, db, t):
    cid = make_campaign(app, db, t)
    a, b = http_customer(app), http_customer(app)
    p = join(app, a.token, cid, 1).json
    assert_error(withdraw(app, b.token, p["id"]), 404, "not_found")
    assert_error(withdraw(app, a.token, 999999), 404, "not_found")
    assert_error(withdraw(app, t.token, p["id"]), 403, "forbidden")
    assert_error(withdraw(app, None, p["id"]), 401, "unauthenticated")
    with db.cursor() as cur:  # an expired one is no longer live
        cur.execute("UPDATE participations SET status = 'expired' WHERE id = %s", (p["id"],))
    assert_error(withdraw(app, a.token, p["id"]), 409, "invalid_state")
    q = join(app, b.token, cid, 1).json
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET starts_at = now() - interval '2 hours',"
                    " ends_at = now() - interval '1 second' WHERE id = %s", (cid,))
    assert_error(withdraw(app, b.token, q["id"]), 409, "campaign_not_open")
    close_campaign_in_db(db, cid, "failed")
    assert_error(withdraw(app, b.token, q["id"]), 409, "campaign_not_open")
    assert count_rows(db, "customer_events", "participation_id = %s", (q["id"],)) == 0


# ---------------------------------------------------------------- concurrency

def _hammer(servers, cid, shoppers, seed, threads=64):
    """Each shopper tries once, with a quantity of 1 to 3, from 64 client
    threads spread over the servers. Returns [(status, quantity, body)]."""
    rnd = random.Random(seed)
    work = [(s, rnd.randint(1, 3)) for s in shoppers]
    results = [None] * len(work)
    index = iter(range(len(work)))
    lock = threading.Lock()

    def worker(wid):
        srv = servers[wid % len(servers)]
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            s, q = work[i]
            body = json.dumps({"quantity": q})
            for attempt in range(3):
                try:
                    conn.request("POST", "/v1/campaigns/%d/participations" % cid, body=body,
                                 headers={"Authorization": "Bearer " + s.token,
                                          "Content-Type": "application/json"})
                    resp = conn.getresponse()
                    results[i] = (resp.status, q, resp.read())
                    break
                except (http.client.HTTPException, OSError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.close()

    ths = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return results


def _check_no_oversell(db, srv, cid, results, max_quantity=500):
    assert all(r is not None for r in results), "some requests never got an answer"
    statuses = {}
    for st, _, _ in results:
        statuses[st] = statuses.get(st, 0) + 1
    assert not [st for st in statuses if st >= 500], statuses
    accepted = [(q, body) for st, q, body in results if st == 201]
    refused = [(q, body) for st, q, body in results if st != 201]
    assert all(st in (201, 409) for st, _, _ in results), statuses
    for q, body in refused:
        assert json.loads(body)["error"]["code"] == "campaign_full", body
    total = sum(q for q, _ in accepted)
    assert total <= max_quantity
    # "or the most that fits": every refused attempt asked more than was left
    left = max_quantity - total
    assert all(q > left for q, _ in refused), (left, sorted({q for q, _ in refused}))
    count, qsum = live_sum(db, cid)
    lp, lq, mq, _ = campaign_row(db, cid)
    assert (count, qsum) == (len(accepted), total) == (lp, lq)
    prog = progress_of(srv, cid)
    assert (prog["participants"], prog["quantity"]) == (lp, lq), prog
    assert prog["remaining_quantity"] == mq - lq
    return total, statuses


def _hot_campaign(app, db, t):
    # everyone scores 75 -> a 10 % deposit; per-customer limit 3
    # (deposits everywhere: no bound on the units pending them here)
    return make_campaign(app, db, t, max_quantity=500, per_customer_limit=3,
                         pending_share_bp=10000)


def test_concurrent_joins_never_oversell(app, db, t, seed):
    cid = _hot_campaign(app, db, t)
    shoppers = db_customers(db, 5000)
    start = time.time()
    results = _hammer([app], cid, shoppers, seed)
    elapsed = time.time() - start
    total, statuses = _check_no_oversell(db, app, cid, results)
    assert total >= 498, total  # most that fits: at most 2 units can stay free
    print("5000 joins in %.1f s (%.0f/s): %s" % (elapsed, 5000 / elapsed, statuses))


def test_concurrent_joins_two_servers(make_server, dbname, db, seed):
    a = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    b = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    t = new_tenant(a)
    cid = _hot_campaign(a, db, t)
    shoppers = db_customers(db, 5000)
    results = _hammer([a, b], cid, shoppers, seed)
    total, statuses = _check_no_oversell(db, b, cid, results)
    assert total >= 498, total


def _hammer_keyed(srv, cid, work, threads=64):
    """work: [(shopper, quantity, key)], sent from 64 client threads, each
    with its Idempotency-Key. Returns [(status, body, replayed)]."""
    results = [None] * len(work)
    index = iter(range(len(work)))
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                break
            s, q, key = work[i]
            conn.request("POST", "/v1/campaigns/%d/participations" % cid,
                         body=json.dumps({"quantity": q}),
                         headers={"Authorization": "Bearer " + s.token,
                                  "Content-Type": "application/json",
                                  "Idempotency-Key": key})
            resp = conn.getresponse()
            results[i] = (resp.status, resp.read(),
                          resp.getheader("Idempotent-Replayed") == "true")
        conn.close()

    ths = [threading.Thread(target=worker) for _ in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return results


def test_concurrent_keyed_joins_never_oversell(app, db, t, seed):
    """The Idempotency-Key join goes through the same decision as the
    coalesced one, inside the transaction that stores its answer: 64
    clients, every join with its own key, some keys sent again (replays,
    while other joins still run): exactly the cap is taken, a replay answers
    what the first request was answered and changes nothing, the counters
    are the rows, nothing answers 5xx."""
    cid = _hot_campaign(app, db, t)
    shoppers = db_customers(db, 900)
    writes0 = statement_executions(app, "join_batches_write_keyed")
    rnd = random.Random(seed)
    firsts = [(s, rnd.randint(1, 3), "join-%d" % s.id) for s in shoppers]
    # phase 1: the first 450 fill most of the campaign (about 900 units asked)
    first = _hammer_keyed(app, cid, firsts[:450])
    # phase 2: every third of those again (same key, same body) among the
    # other 450 first requests
    replayed = list(range(0, 450, 3))
    mixed = [(firsts[i], i) for i in replayed] + [(w, None) for w in firsts[450:]]
    rnd.shuffle(mixed)
    second = _hammer_keyed(app, cid, [w for w, _ in mixed])
    answers = {}
    for (s, q, key), res in zip(firsts[:450], first):
        answers[key] = (q, res)
    for ((s, q, key), orig), res in zip(mixed, second):
        if orig is None:
            answers[key] = (q, res)
            continue
        st0, body0, _ = first[orig]
        st, body, rep = res
        if st0 == 201:  # stored: replayed byte for byte
            assert (st, body, rep) == (201, body0, True), (res, first[orig])
        else:  # a refusal is not stored: decided again, still full
            assert (st, rep) == (409, False), res
            assert json.loads(body)["error"]["code"] == "campaign_full", body
    statuses = {}
    for q, (st, body, rep) in answers.values():
        statuses[st] = statuses.get(st, 0) + 1
        assert not rep
        if st != 201:
            assert st == 409 and json.loads(body)["error"]["code"] == "campaign_full", body
    assert set(statuses) <= {201, 409}, statuses
    accepted = [(q, json.loads(body)) for q, (st, body, _) in answers.values() if st == 201]
    total = sum(q for q, _ in accepted)
    assert total == 500, (total, statuses)
    assert len({p["id"] for _, p in accepted}) == len(accepted)
    count, qsum = live_sum(db, cid)
    lp, lq, _, _ = campaign_row(db, cid)
    assert (count, qsum) == (len(accepted), 500) == (lp, lq)
    assert count_rows(db, "participations", "campaign_id = %s", (cid,)) == len(accepted)
    # participation.created each, participation.activated for those owing
    # no deposit
    assert count_rows(db, "outbox", "campaign_id = %s AND participation_id IS NOT NULL",
                      (cid,)) == len(accepted) + sum(p["status"] == "active"
                                                     for _, p in accepted)
    assert count_rows(db, "idempotency_keys", "key LIKE 'join-%%'") == len(accepted)
    # one decision statement per request that was not a stored replay: the
    # same statement as the coalesced joins, in the key's transaction
    replays = sum(1 for _, _, rep in second if rep)
    assert statement_executions(app, "join_batches_write_keyed") - writes0 == 900 + len(replayed) - replays

"""The waitlist of a full campaign (API.md "Waitlist when a campaign is
full"; schema/functions/waitlist.sql, server/engine/promote.c).

Entries in arrival order with their position; checked at once by the join's
rules that do not depend on the room; promoted through the one join
decision when units free up (a withdrawal, an expired deposit), first fit,
within a second, while a join in the instant after is refused (the freed
units are the queue's); skipped with the reason; expired at the close; the
events reach a webhook. Then the issue's two tests: cap 100 full, 50
waiting, 30 withdrawals racing through two server processes -> exactly 30
units promoted, never over the cap; and a randomized run of withdrawals,
expiries, direct joins and waitlist joins and leaves over two processes (a
fixed seed and a fresh one, the suite's; SEED=n replays one) where the cap
always holds, no entry is promoted twice, and once quiet no waiting entry
fits the units free.
"""
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers import *
from campaign_helpers import open_campaign, scheduled_campaign, create_campaign, create_product
from join_helpers import add_event, db_customers, http_customer, join, make_campaign, withdraw

ZERO = [{"min_score": 0, "deposit_percent": 0}]
PROMOTE_SLACK = 1.0  # the promise: within one second of the commit that freed units
ENV = dict(APP_ENV, GROUPBUYD_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
CONFIG = FAST_CONFIG + "webhooks.poll_ms = 50\n"


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=ENV, config=CONFIG)


def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def wait(srv, token, cid, quantity=1, key=None, **extra):
    body = dict({"quantity": quantity}, **extra)
    return srv.post("/v1/campaigns/%d/waitlist" % cid, body, token=token, headers=idem(key))


def entry(db, eid):
    return q(db, "SELECT status, reason, participation_id FROM waitlist_entries WHERE id = %s",
             (eid,))[0]


def full_campaign(srv, db, t, cap, per_customer_limit=3, **kw):
    """An open campaign of cap units, filled by cap customers of 1 unit;
    returns (campaign id, [(shopper, participation id)])."""
    c = open_campaign(srv, t.token, max_quantity=cap,
                      per_customer_limit=min(per_customer_limit, cap),
                      min_participants=1, deposit_policy=kw.pop("deposit_policy", ZERO), **kw)
    held = []
    for s in db_customers(db, cap):
        r = join(srv, s.token, c["id"])
        assert r.status == 201, r
        held.append((s, r.json["id"]))
    return c["id"], held


def live(db, cid):
    return q(db, "SELECT live_quantity, max_quantity, waitlist_held FROM campaigns"
                 " WHERE id = %s", (cid,))[0]


# ---------------------------------------------------------------- entries

def test_entries_wait_in_order_and_can_leave(srv, db):
    t = new_tenant(srv)
    cid, held = full_campaign(srv, db, t, 2)
    a, b, c = db_customers(db, 3)
    ra = wait(srv, a.token, cid, 2)
    assert ra.status == 201, ra
    assert (ra.json["status"], ra.json["position"], ra.json["quantity"]) == ("waiting", 1, 2)
    rb, rc = wait(srv, b.token, cid), wait(srv, c.token, cid, key="w-c")
    assert (rb.json["position"], rc.json["position"]) == (2, 3)
    assert wait(srv, c.token, cid, key="w-c").json == rc.json  # replayed
    assert_error(wait(srv, a.token, cid), 409, "duplicate")
    assert_error(wait(srv, held[0][0].token, cid), 409, "invalid_state")
    stats = srv.get("/v1/admin/campaigns/%d" % cid, token=t.token).json["stats"]
    assert (stats["waiting"], stats["waiting_quantity"]) == (3, 4)
    # leaving: own only, once; those behind move up
    assert_error(srv.request("DELETE", "/v1/waitlist/%d" % ra.json["id"], token=b.token),
                 404, "not_found")
    r = srv.request("DELETE", "/v1/waitlist/%d" % ra.json["id"], token=a.token)
    assert r.status == 200 and r.json["status"] == "left" and r.json["position"] is None, r
    assert_error(srv.request("DELETE", "/v1/waitlist/%d" % ra.json["id"], token=a.token),
                 409, "invalid_state")
    mine = srv.get("/v1/me/waitlist", token=c.token).json["items"]
    assert [(e["id"], e["position"], e["status"]) for e in mine] == [(rc.json["id"], 2, "waiting")]
    assert srv.get("/v1/me/waitlist", token=b.token).json["items"][0]["position"] == 1
    # after leaving, one may queue again, at the back
    again = wait(srv, a.token, cid)
    assert again.status == 201 and again.json["position"] == 3, again
    stats = srv.get("/v1/admin/campaigns/%d" % cid, token=t.token).json["stats"]
    assert (stats["waiting"], stats["waiting_quantity"]) == (3, 3)


def test_an_entry_is_checked_by_the_joins_rules(srv, db):
    t = new_tenant(srv)
    s = http_customer(srv)
    sched = scheduled_campaign(srv, t.token)
    assert_error(wait(srv, s.token, sched["id"]), 409, "campaign_not_open")
    draft = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    assert_error(wait(srv, s.token, draft["id"]), 404, "not_found")
    assert_error(wait(srv, s.token, 999999999), 404, "not_found")
    c = open_campaign(srv, t.token, per_customer_limit=2, min_score=50)
    assert_error(wait(srv, s.token, c["id"], 3), 409, "per_customer_limit")
    assert_error(wait(srv, s.token, c["id"], share_code="abcdefghjkmn"), 400, "invalid_field",
                 "share_code")
    assert_error(wait(srv, s.token, c["id"], pickup_point_id=1), 400, "invalid_field",
                 "pickup_point_id")
    assert_error(wait(srv, s.token, c["id"], 1, colour="red"), 400, "invalid_field")
    assert_error(srv.post("/v1/campaigns/%d/waitlist" % c["id"], {"quantity": 0},
                          token=s.token), 400, "invalid_field", "quantity")
    for _ in range(3):
        add_event(db, t.id, s.id, "defaulted")
    assert_error(wait(srv, s.token, c["id"]), 403, "reliability_too_low")
    assert count_rows(db, "waitlist_entries") == 0
    assert_error(wait(srv, t.token, c["id"]), 403, "forbidden")


# ---------------------------------------------------------------- promotion

def test_a_withdrawal_promotes_the_first_entry_that_fits_within_a_second(srv, db):
    t = new_tenant(srv)
    cid, held = full_campaign(srv, db, t, 5)
    a, b, c, x = db_customers(db, 4)
    ea = wait(srv, a.token, cid, 3).json["id"]
    eb = wait(srv, b.token, cid, 1).json["id"]
    ec = wait(srv, c.token, cid, 2).json["id"]
    assert withdraw(srv, held[0][0].token, held[0][1]).status == 200
    freed = time.time()
    # the freed unit is the queue's: a join in the same instant is refused
    assert_error(join(srv, x.token, cid), 409, "campaign_full")
    wait_for("b promoted", lambda: entry(db, eb)[0] == "promoted", step=0.01)
    assert time.time() - freed < PROMOTE_SLACK
    assert entry(db, ea)[0] == "waiting" and entry(db, ec)[0] == "waiting"
    pid = entry(db, eb)[2]
    assert q(db, "SELECT customer_id, campaign_id, quantity, status FROM participations"
                 " WHERE id = %s", (pid,))[0] == (b.id, cid, 1, "active")
    mine = srv.get("/v1/me/waitlist", token=b.token).json["items"][0]
    assert (mine["status"], mine["participation_id"]) == ("promoted", pid)
    # two more units: a (3) does not fit, c (2) does
    for s, p in held[1:3]:
        assert withdraw(srv, s.token, p).status == 200
    wait_for("c promoted", lambda: entry(db, ec)[0] == "promoted")
    assert entry(db, ea)[0] == "waiting"
    assert live(db, cid) == (5, 5, 0)
    wait_for("the hold released", lambda: live(db, cid)[2] == 0)


def test_a_raised_cap_serves_the_queue_first(srv, db):
    t = new_tenant(srv)
    cid, _ = full_campaign(srv, db, t, 5)
    a, b, x = db_customers(db, 3)
    ea = wait(srv, a.token, cid, 2).json["id"]
    eb = wait(srv, b.token, cid, 1).json["id"]
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % cid, {"max_quantity": 8}, token=t.token)
    assert r.status == 200, r
    raised = time.time()
    # the new units are the queue's first: a join in the same instant is refused
    assert_error(join(srv, x.token, cid), 409, "campaign_full")
    wait_for("both promoted", lambda: entry(db, ea)[0] == entry(db, eb)[0] == "promoted",
                step=0.01)
    assert time.time() - raised < PROMOTE_SLACK
    wait_for("the hold released", lambda: live(db, cid) == (8, 8, 0))


def test_units_held_for_the_queue_are_not_offered_to_others(srv, db):
    t = new_tenant(srv)
    cid, held = full_campaign(srv, db, t, 2)
    a = db_customers(db, 1)[0]
    ea = wait(srv, a.token, cid, 1).json["id"]
    # the promotion waits on the entry's lock: the freed unit stays held
    blocker = psycopg2_connect_like(db)
    try:
        blocker.autocommit = False
        with blocker.cursor() as cur:
            cur.execute("SELECT 1 FROM waitlist_entries WHERE id = %s FOR UPDATE", (ea,))
            assert withdraw(srv, held[0][0].token, held[0][1]).status == 200
            wait_for("the unit held", lambda: live(db, cid) == (1, 2, 1))
            progress = srv.get("/v1/campaigns/%d" % cid).json["progress"]
            assert (progress["quantity"], progress["remaining_quantity"]) == (1, 0)
        blocker.rollback()
    finally:
        blocker.close()
    wait_for("a promoted", lambda: entry(db, ea)[0] == "promoted")
    assert srv.get("/v1/campaigns/%d" % cid).json["progress"]["remaining_quantity"] == 0


def test_entries_that_no_longer_qualify_are_skipped_with_the_reason(srv, db):
    t = new_tenant(srv)
    cid, held = full_campaign(srv, db, t, 3, min_score=50)
    low, joined, ok = db_customers(db, 3)
    e_low = wait(srv, low.token, cid, 1).json["id"]
    e_joined = wait(srv, joined.token, cid, 2).json["id"]
    e_ok = wait(srv, ok.token, cid, 1).json["id"]
    # low's score falls below min_score while it waits
    for _ in range(3):
        add_event(db, t.id, low.id, "defaulted")
    # joined gets a unit by joining directly once a unit is free and its
    # 2-unit entry does not fit: first the queue takes the freed unit...
    assert withdraw(srv, held[0][0].token, held[0][1]).status == 200
    wait_for("low skipped", lambda: entry(db, e_low)[0] == "skipped")
    assert entry(db, e_low)[1] == "reliability_too_low"
    wait_for("ok promoted", lambda: entry(db, e_ok)[0] == "promoted")
    # ... then a unit nobody waiting fits is open to a direct join
    assert withdraw(srv, held[1][0].token, held[1][1]).status == 200
    wait_for("the hold released", lambda: live(db, cid)[2] == 0)
    assert join(srv, joined.token, cid).status == 201
    # two units free: joined's entry fits, but joined holds a participation
    assert withdraw(srv, held[2][0].token, held[2][1]).status == 200
    assert withdraw(srv, ok.token, entry(db, e_ok)[2]).status == 200
    wait_for("joined skipped", lambda: entry(db, e_joined)[0] == "skipped")
    assert entry(db, e_joined)[1] == "already_joined"


def test_an_expired_deposit_promotes(srv, db):
    t = new_tenant(srv)
    # everyone pays a deposit; the bound on pending units out of the way
    cid, held = full_campaign(srv, db, t, 2, deposit_policy=[{"min_score": 0,
                                                             "deposit_percent": 10}])
    q(db, "UPDATE campaigns SET max_pending_share_bp = 10000 WHERE id = %s", (cid,))
    w = db_customers(db, 1)[0]
    e = wait(srv, w.token, cid).json["id"]
    q(db, "UPDATE participations SET deposit_due_by = now() WHERE id = %s", (held[0][1],))
    wait_for("promoted", lambda: entry(db, e)[0] == "promoted", timeout=3 * PROMOTE_SLACK)
    assert q(db, "SELECT status FROM participations WHERE id = %s", (held[0][1],))[0][0] == "expired"
    p = q(db, "SELECT status, deposit_cents FROM participations WHERE id = %s", (entry(db, e)[2],))
    assert p[0][0] == "pending_deposit" and p[0][1] > 0  # priced as any join


def test_a_new_entry_takes_units_already_free(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, max_quantity=3, per_customer_limit=3, min_participants=1,
                      deposit_policy=ZERO)
    s = db_customers(db, 1)[0]
    e = wait(srv, s.token, c["id"], 2).json["id"]
    wait_for("promoted", lambda: entry(db, e)[0] == "promoted")


class Receiver:
    """A webhook receiver on loopback that answers 200 to everything."""

    def __init__(self):
        self.got = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rec.got.append(json.loads(raw))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_close_expires_the_queue_and_the_events_reach_webhooks(srv, db):
    t = new_tenant(srv)
    rec = Receiver()
    try:
        r = srv.post("/v1/admin/webhooks", {"url": rec.url, "events": ["waitlist.*"]},
                     token=t.token)
        assert r.status == 201, r
        cid, held = full_campaign(srv, db, t, 1)
        a, b = db_customers(db, 2)
        ea = wait(srv, a.token, cid).json["id"]
        eb = wait(srv, b.token, cid).json["id"]
        assert withdraw(srv, held[0][0].token, held[0][1]).status == 200
        wait_for("a promoted", lambda: entry(db, ea)[0] == "promoted")
        q(db, "UPDATE campaigns SET ends_at = now() WHERE id = %s", (cid,))
        wait_for("b expired", lambda: entry(db, eb)[0] == "expired", timeout=5)
        wait_for("two deliveries", lambda: len(rec.got) >= 2, timeout=10)
        got = sorted((ev["type"], ev["data"]["id"]) for ev in rec.got)
        assert got == [("waitlist.expired", eb), ("waitlist.promoted", ea)]
        promoted = next(ev for ev in rec.got if ev["type"] == "waitlist.promoted")
        assert promoted["data"]["participation_id"] == entry(db, ea)[2]
        assert promoted["data"]["customer_id"] == a.id
        assert_error(srv.request("DELETE", "/v1/waitlist/%d" % eb, token=b.token),
                     409, "invalid_state")
    finally:
        rec.close()


def test_cancel_expires_the_queue(srv, db):
    t = new_tenant(srv)
    cid, _ = full_campaign(srv, db, t, 1)
    s = db_customers(db, 1)[0]
    e = wait(srv, s.token, cid).json["id"]
    assert srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=t.token).status == 200
    assert entry(db, e)[0] == "expired"
    assert count_rows(db, "outbox", "kind = 'waitlist.expired'") == 1


# ---------------------------------------------------------------- two processes

def test_thirty_withdrawals_racing_on_two_processes_promote_exactly_thirty(make_server, dbname,
                                                                           db):
    one = make_server(dbname, env=ENV, config=CONFIG)
    two = make_server(dbname, env=ENV, config=CONFIG)
    t = new_tenant(one)
    cid, held = full_campaign(one, db, t, 100, per_customer_limit=1)
    waiters = db_customers(db, 50)
    entries = []
    for i, w in enumerate(waiters):
        r = wait(one if i % 2 else two, w.token, cid)
        assert r.status == 201, r
        entries.append(r.json["id"])
    leaving = random.Random(25).sample(held, 30)
    over, stop = [], threading.Event()

    def watch():  # the cap, sampled all through the race
        conn = psycopg2_connect_like(db)
        with conn.cursor() as cur:
            while not stop.is_set():
                cur.execute("SELECT live_quantity, max_quantity FROM campaigns WHERE id = %s",
                            (cid,))
                lq, mq = cur.fetchone()
                if lq > mq:
                    over.append(lq)
        conn.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    gate = threading.Barrier(30)
    results = []

    def leave(i, s, pid):
        gate.wait()
        results.append(withdraw(one if i % 2 else two, s.token, pid).status)

    threads = [threading.Thread(target=leave, args=(i, s, p)) for i, (s, p) in enumerate(leaving)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [200] * 30
    wait_for("30 promoted", lambda: count_rows(db, "waitlist_entries",
                                               "campaign_id = %s AND status = 'promoted'",
                                               (cid,)) >= 30)
    # quiet: both promoters have looked again and nothing more moves
    wait_for("the hold released", lambda: live(db, cid)[2] == 0)
    time.sleep(0.6)  # two poll intervals of both promoters: a 31st would show now
    stop.set()
    watcher.join()
    assert over == []
    rows = q(db, "SELECT id, status, participation_id FROM waitlist_entries"
                 " WHERE campaign_id = %s ORDER BY id", (cid,))
    promoted = [r for r in rows if r[1] == "promoted"]
    assert len(promoted) == 30 and [r[0] for r in promoted] == entries[:30]  # arrival order
    assert all(r[1] == "waiting" for r in rows[30:])
    assert len({r[2] for r in promoted}) == 30
    assert live(db, cid) == (100, 100, 0)
    assert count_rows(db, "outbox", "kind = 'waitlist.promoted' AND campaign_id = %s",
                      (cid,)) == 30
    assert q(db, "SELECT count(*), sum(quantity) FROM participations WHERE campaign_id = %s"
                 " AND status IN ('pending_deposit', 'active')", (cid,))[0] == (100, 100)


def psycopg2_connect_like(db):
    import psycopg2
    conn = psycopg2.connect(db.dsn)
    conn.autocommit = True
    return conn


# ---------------------------------------------------------------- randomized

# seed: the suite's fixed seed and a fresh one (tests/api/conftest.py);
# SEED=n replays one.
def test_random_withdrawals_expiries_and_entries_keep_the_cap(make_server, dbname, db, seed):
    print("test_random_withdrawals_expiries_and_entries_keep_the_cap SEED=%d" % seed)
    rng = random.Random(seed)
    servers = [make_server(dbname, env=ENV, config=CONFIG),
               make_server(dbname, env=ENV, config=CONFIG)]
    t = new_tenant(servers[0])
    cap = 12
    # scores of new customers are 75: half the customers pay a deposit
    # (VIP 1 scores 83: no deposit), so that deposits can expire
    policy = [{"min_score": 80, "deposit_percent": 0}, {"min_score": 0, "deposit_percent": 10}]
    cid = make_campaign(servers[0], db, t, max_quantity=cap, per_customer_limit=3,
                        policy=policy, pending_share_bp=10000)
    people = db_customers(db, 40)
    for s in people[::2]:
        q(db, "INSERT INTO customer_vip (distributor_id, customer_id, vip_level)"
              " VALUES (%s, %s, 1)", (t.id, s.id))
    ops = []
    for step in range(120):
        srv = rng.choice(servers)
        s = rng.choice(people)
        op = rng.choice(["join", "join", "wait", "wait", "leave", "withdraw", "withdraw",
                         "expire"])
        if op == "join":
            r = join(srv, s.token, cid, rng.randint(1, 3))
            assert r.status in (201, 409), (seed, step, r)
        elif op == "wait":
            r = wait(srv, s.token, cid, rng.randint(1, 3))
            assert r.status in (201, 409), (seed, step, r)
        elif op == "leave":
            rows = q(db, "SELECT id, customer_id FROM waitlist_entries WHERE campaign_id = %s"
                         " AND status = 'waiting'", (cid,))
            if rows:
                eid, cust = rng.choice(rows)
                owner = next(p for p in people if p.id == cust)
                r = srv.request("DELETE", "/v1/waitlist/%d" % eid, token=owner.token)
                assert r.status in (200, 409), (seed, step, r)
        elif op == "withdraw":
            rows = q(db, "SELECT id, customer_id FROM participations WHERE campaign_id = %s"
                         " AND status IN ('pending_deposit', 'active')", (cid,))
            if rows:
                pid, cust = rng.choice(rows)
                owner = next(p for p in people if p.id == cust)
                r = withdraw(srv, owner.token, pid)
                assert r.status in (200, 409), (seed, step, r)
        else:
            rows = q(db, "SELECT id FROM participations WHERE campaign_id = %s"
                         " AND status = 'pending_deposit'", (cid,))
            if rows:
                q(db, "UPDATE participations SET deposit_due_by = now() WHERE id = %s",
                  (rng.choice(rows)[0],))
        ops.append(op)
        check_invariants(db, cid, seed, step)
        if rng.random() < 0.1:
            time.sleep(0.3)  # let promotions and expiries land mid-run too
    # quiet: no hold, no deposit due, nothing moving
    wait_for("quiet", lambda: live(db, cid)[2] == 0 and count_rows(
        db, "participations", "campaign_id = %s AND status = 'pending_deposit'"
        " AND deposit_due_by <= now()", (cid,)) == 0, timeout=10)
    time.sleep(0.6)  # two polls of the promoter (250 ms): whatever was due has run
    check_invariants(db, cid, seed, "end")
    lq, mq, _ = live(db, cid)
    fits = q(db, "SELECT id, quantity FROM waitlist_entries WHERE campaign_id = %s"
                 " AND status = 'waiting' AND quantity <= %s", (cid, mq - lq))
    assert fits == [], (seed, "a waiting entry fits the units free", fits, mq - lq)
    assert count_rows(db, "waitlist_entries", "campaign_id = %s AND status = 'promoted'",
                      (cid,)) > 0, (seed, "the run promoted nobody", ops)


def check_invariants(db, cid, seed, step):
    """One statement, one snapshot: the counters, the rows and the queue agree."""
    (lq, mq, held, total, live_twice, promoted, events, bad) = q(db, """
        SELECT c.live_quantity, c.max_quantity, c.waitlist_held,
               (SELECT coalesce(sum(p.quantity), 0) FROM participations p
                 WHERE p.campaign_id = c.id AND p.status IN ('pending_deposit', 'active')),
               (SELECT count(*) FROM (SELECT p.customer_id FROM participations p
                 WHERE p.campaign_id = c.id AND p.status IN ('pending_deposit', 'active')
                 GROUP BY p.customer_id HAVING count(*) > 1) x),
               (SELECT count(*) FROM waitlist_entries w
                 WHERE w.campaign_id = c.id AND w.status = 'promoted'),
               (SELECT count(*) FROM outbox o
                 WHERE o.campaign_id = c.id AND o.kind = 'waitlist.promoted'),
               (SELECT array_agg(w.id) FROM waitlist_entries w
                  JOIN participations p ON p.id = w.participation_id
                 WHERE w.campaign_id = c.id
                   AND (p.customer_id <> w.customer_id OR p.campaign_id <> w.campaign_id
                        OR p.quantity <> w.quantity))
          FROM campaigns c WHERE c.id = %s""", (cid,))[0]
    assert 0 <= lq <= mq and 0 <= held <= mq - lq, (seed, step, lq, mq, held)
    assert total == lq, (seed, step, total, lq)
    assert live_twice == 0, (seed, step)
    assert promoted == events, (seed, step, promoted, events)
    assert bad is None, (seed, step, bad)

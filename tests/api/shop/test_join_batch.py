"""Coalesced joins (server/engine/joinbatch.c, gb_join_batches in functions/join.sql): the
joins of one campaign that arrive while its batches are in flight are
decided and written together, in one transaction, each answered with its
own outcome.

To make a batch deterministic, the test holds the campaign's row lock from
its own transaction: the first joins' batches then wait for it inside
gb_join_batches (as many as the server keeps in flight per campaign,
JOINBATCH_MAX_INFLIGHT: FILLERS below), every later join queues behind them,
and on release the queue becomes one batch, in arrival order.
Rows written by one transaction share their xmin.

Nothing here waits for a time: the server's /metrics show the coalesced
joins' state (groupbuyd_join_submitted_total counts the joins handed to
them, in arrival order; groupbuyd_join_queued, groupbuyd_join_batches and
groupbuyd_join_rounds what waits where), and each step waits for the
state it needs: a join is started only once the one before it arrived.
"""
import re
import threading
import time

import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403
from helpers import APP_ENV, FAST_CONFIG, statement_executions, metrics, wait_metrics

SUBMITTED = "groupbuyd_join_submitted_total"
QUEUED = "groupbuyd_join_queued"
TO_WRITE = 'groupbuyd_join_batches{step="to_write"}'
TO_READ = 'groupbuyd_join_batches{step="to_read"}'
READS_IN_FLIGHT = 'groupbuyd_join_rounds{kind="read"}'


def _max_inflight():
    """JOINBATCH_MAX_INFLIGHT of the server under test (server/engine/joinbatch.h)."""
    import os
    import re
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "server", "engine",
                           "joinbatch.h")) as f:
        return int(re.search(r"#define JOINBATCH_MAX_INFLIGHT\s+(\d+)", f.read()).group(1))


FILLERS = _max_inflight()  # joins that fill the batches in flight


@pytest.fixture
def t(app):
    return new_tenant(app)


class Held:
    """The campaign row locked FOR UPDATE by a transaction of the test."""

    def __init__(self, cluster, dbname, cid):
        self.conn = cluster.connect(dbname)
        self.conn.autocommit = False
        with self.conn.cursor() as cur:
            cur.execute("SELECT 1 FROM campaigns WHERE id = %s FOR UPDATE", (cid,))

    def release(self):
        self.conn.rollback()
        self.conn.close()


def waiting_batches(db):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE '%gb_join_batch%'")
        return cur.fetchone()[0]


class Joins:
    """Joins sent from threads, in this order: each is started once the
    one before it has reached the coalesced joins (the server's count of
    joins submitted went up); results by key."""

    def __init__(self, srv):
        self.srv = srv
        self.threads = []
        self.results = {}
        self.submitted = metrics(srv)[SUBMITTED]

    def start(self, key, token, cid, quantity=1):
        def run():
            self.results[key] = join(self.srv, token, cid, quantity)
        th = threading.Thread(target=run)
        th.start()
        self.threads.append(th)
        self.submitted += 1
        n = self.submitted
        wait_metrics(self.srv, lambda m: m[SUBMITTED] >= n or key in self.results,
                     "join %r to arrive" % (key,))

    def queued(self, n):
        """Waits until n joins wait for a batch (behind the one in flight)."""
        wait_metrics(self.srv, lambda m: m[QUEUED] == n, "%d joins queued" % n)

    def wait(self):
        for th in self.threads:
            th.join(60)
        assert all(r.status < 500 for r in self.results.values()), \
            {k: (r.status, r.body) for k, r in self.results.items()}
        return self.results


def block(app, db, cluster, dbname, cid, joins):
    """Holds cid's row and puts FILLERS filler joins in flight behind it."""
    held = Held(cluster, dbname, cid)
    for i, s in enumerate(db_customers(db, FILLERS)):
        joins.start(("filler", i), s.token, cid)
    wait_for("the fillers' batches waiting on the held row",
             lambda: waiting_batches(db) >= FILLERS)
    return held


def xmins(db, ids):
    with db.cursor() as cur:
        cur.execute("SELECT id, xmin::text FROM participations WHERE id = ANY(%s)", (ids,))
        return dict(cur.fetchall())


def test_batch_with_one_customer_twice(app, db, cluster, dbname, t):
    cid = make_campaign(app, db, t, max_quantity=100, per_customer_limit=3)
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)
    a, b, c = db_customers(db, 3)
    joins.start("a", a.token, cid, 1)
    joins.start("b1", b.token, cid, 2)
    joins.start("c", c.token, cid, 1)
    joins.start("b2", b.token, cid, 1)
    joins.queued(4)
    held.release()
    res = joins.wait()
    assert res["a"].status == 201 and res["c"].status == 201, res
    assert res["b1"].status == 201 and res["b1"].json["quantity"] == 2, res["b1"]
    assert_error(res["b2"], 409, "already_joined")
    ids = [res[k].json["id"] for k in ("a", "b1", "c")]
    # one transaction for the whole queued batch, rows in arrival order
    assert len(set(xmins(db, ids).values())) == 1
    assert ids == sorted(ids)
    assert live_sum(db, cid) == (FILLERS + 3, FILLERS + 4) == campaign_row(db, cid)[:2]
    with db.cursor() as cur:
        cur.execute("SELECT kind FROM outbox WHERE participation_id = %s ORDER BY id",
                    (res["b1"].json["id"],))
        assert [r[0] for r in cur.fetchall()] == ["participation.created"]
    # the deposit of each row is its own: score 75 -> 10 % of 2 x 99.00
    assert res["b1"].json["deposit_cents"] == 1980
    assert res["a"].json["deposit_cents"] == 990


def test_batch_crossing_the_cap(app, db, cluster, dbname, t):
    """Rows are decided in arrival order against the units left: earlier
    arrivals accepted, a later one that does not fit refused with
    campaign_full, a still later smaller one that fits accepted."""
    cid = make_campaign(app, db, t, max_quantity=10, per_customer_limit=3,
                        pending_share_bp=10000)  # the cap, not the deposit bound
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)  # 1 unit each
    shoppers = db_customers(db, 6)
    quantities = [3, 3, 3, 2, 1, 1]
    for i, (s, q) in enumerate(zip(shoppers, quantities)):
        joins.start(i, s.token, cid, q)
    joins.queued(6)
    held.release()
    res = joins.wait()
    ids = [res[i].json["id"] for i in range(6) if res[i].status == 201]
    assert ids and len(set(xmins(db, ids).values())) == 1  # one batch
    # a second filler may be written before the batch or after it
    fillers = [res[("filler", i)] for i in range(FILLERS)]
    before = sum(1 for f in fillers if f.status == 201 and f.json["id"] < min(ids))
    left = 10 - before
    expected = []
    for q in quantities:
        expected.append(201 if q <= left else 409)
        left -= q if q <= left else 0
    got = [res[i].status for i in range(6)]
    assert got == expected, [(r.status, r.body) for r in res.values()]
    assert 409 in got and got.index(201) < got.index(409)
    for i in range(6):
        if got[i] == 409:
            assert_error(res[i], 409, "campaign_full")
    accepted = sum(q for q, st in zip(quantities, got) if st == 201)
    accepted += sum(1 for f in fillers if f.status == 201)
    assert accepted == 10
    assert campaign_row(db, cid)[:2] == live_sum(db, cid)
    assert campaign_row(db, cid)[1] == 10


def test_batch_price_counts_earlier_rows(app, db, cluster, dbname, t):
    """Each answer's current price counts the joins counted before it, its
    own included. Batches of one campaign insert side by side and are
    counted in the order they take the campaign's lock (functions/join.sql), so
    the second filler may be counted before or after the batch of a and b:
    a and b are counted 2nd and 3rd, or 3rd and 4th, never the same."""
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 3, "unit_price_cents": 8000},
             {"threshold": 4, "unit_price_cents": 7000}]
    cid = make_campaign(app, db, t, tiers=tiers)
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)
    a, b = db_customers(db, 2)
    joins.start("a", a.token, cid)
    joins.start("b", b.token, cid)
    joins.queued(2)
    held.release()
    res = joins.wait()
    assert campaign_row(db, cid)[:2] == (FILLERS + 2, FILLERS + 2)
    assert res["a"].json["id"] < res["b"].json["id"]
    prices = (res["a"].json["unit_price_cents"], res["b"].json["unit_price_cents"])
    assert prices in ((9900, 8000), (8000, 7000)), prices


def test_batches_of_mixed_campaigns(app, db, cluster, dbname, t):
    """A campaign held up does not hold up the joins of another; each
    campaign's batch counts only its own rows."""
    hot = make_campaign(app, db, t, max_quantity=100)
    other = make_campaign(app, db, t, max_quantity=3, per_customer_limit=3)
    joins = Joins(app)
    held = block(app, db, cluster, dbname, hot, joins)
    s = db_customers(db, 6)
    joins.start("h0", s[0].token, hot, 2)
    joins.start("o0", s[1].token, other, 2)
    joins.start("h1", s[2].token, hot, 1)
    joins.start("o1", s[3].token, other, 2)   # full: 1 left
    joins.start("o2", s[0].token, other, 1)   # same customer as h0: fine here
    wait_for("the other campaign's joins answered",
             lambda: all(k in joins.results for k in ("o0", "o1", "o2")))
    assert "h0" not in joins.results and "h1" not in joins.results
    held.release()
    res = joins.wait()
    assert res["h0"].status == 201 and res["h1"].status == 201
    assert res["o0"].status == 201 and res["o2"].status == 201
    assert_error(res["o1"], 409, "campaign_full")
    assert campaign_row(db, hot)[:2] == (FILLERS + 2, FILLERS + 3) == live_sum(db, hot)
    assert campaign_row(db, other)[:2] == (2, 3) == live_sum(db, other)


def test_batch_refusals_do_not_fail_the_others(app, db, cluster, dbname, t):
    cid = make_campaign(app, db, t, max_quantity=100, per_customer_limit=2, min_score=70)
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)
    a, low, big, b = db_customers(db, 4)
    for _ in range(3):
        add_event(db, t.id, low.id, "defaulted")
    joins.start("a", a.token, cid)
    joins.start("low", low.token, cid)
    joins.start("big", big.token, cid, 3)
    joins.start("b", b.token, cid)
    joins.queued(4)
    held.release()
    res = joins.wait()
    assert res["a"].status == 201 and res["b"].status == 201
    assert_error(res["low"], 403, "reliability_too_low")
    assert_error(res["big"], 409, "per_customer_limit")
    # closed while the batch waited: every join of it refused, none lost
    held = block(app, db, cluster, dbname, cid, joins := Joins(app))
    with held.conn.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() - interval '1 second',"
                    " starts_at = now() - interval '1 hour' WHERE id = %s", (cid,))
    c = db_customers(db, 1)[0]
    joins.start("c", c.token, cid)
    joins.queued(1)
    held.conn.commit()
    held.release()
    res = joins.wait()
    for r in res.values():
        assert_error(r, 409, "campaign_not_open")
    assert campaign_row(db, cid)[:2] == (FILLERS + 2, FILLERS + 2)


@pytest.mark.expect_5xx(500)
@pytest.mark.expect_log_errors(r"database error P0001: ERROR:  boom")
def test_batch_failing_as_a_whole_is_retried_join_by_join(app, db, cluster, dbname, t):
    """An error of the batch statement itself (here a trigger refusing one
    customer's row) must not fail the other joins of the batch: each is
    retried in a batch of its own."""
    cid = make_campaign(app, db, t, max_quantity=100)
    a, bad, b = db_customers(db, 3)
    with db.cursor() as cur:
        cur.execute("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$"
                    " BEGIN IF NEW.customer_id = %d THEN RAISE EXCEPTION 'boom'; END IF;"
                    " RETURN NEW; END $$" % bad.id)
        cur.execute("CREATE TRIGGER boom BEFORE INSERT ON participations"
                    " FOR EACH ROW EXECUTE FUNCTION boom()")
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)
    joins.start("a", a.token, cid)
    joins.start("bad", bad.token, cid)
    joins.start("b", b.token, cid)
    joins.queued(3)
    held.release()
    for th in joins.threads:
        th.join(60)
    res = joins.results
    assert res["a"].status == 201 and res["b"].status == 201, res
    assert_error(res["bad"], 500, "internal")
    assert campaign_row(db, cid)[:2] == (FILLERS + 2, FILLERS + 2) == live_sum(db, cid)


def test_one_customer_in_concurrent_batches_of_two_processes(app, make_server, db, cluster,
                                                              dbname, t):
    """Batches of one campaign insert side by side and take its lock only
    to count (functions/join.sql): a customer joining through two processes at once
    is caught by participations_one_live in the later batch, which is then
    decided again under the lock. One join, one already_joined, an innocent
    join of the other process written, and the counters agree."""
    other = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    cid = make_campaign(app, db, t, max_quantity=100)
    held = Held(cluster, dbname, cid)
    s, x = db_customers(db, 2)
    ja, jb = Joins(app), Joins(other)
    ja.start("a", s.token, cid)
    wait_for("a's batch waiting on the held row", lambda: waiting_batches(db) >= 1)
    jb.start("b", s.token, cid)
    wait_for("b's batch waiting on a's row", lambda: waiting_batches(db) >= 2)
    jb.start("x", x.token, cid)
    # x: a batch of its own in flight when the server keeps two, else
    # queued in b's process behind b's batch
    wait_for("x's batch waiting", lambda: waiting_batches(db) >= 1 + min(FILLERS, 2))
    jb.queued(0 if FILLERS >= 2 else 1)
    held.release()
    ra, rb = ja.wait(), jb.wait()
    assert ra["a"].status == 201, ra
    assert_error(rb["b"], 409, "already_joined")
    assert rb["x"].status == 201, rb
    assert campaign_row(db, cid)[:2] == (2, 2) == live_sum(db, cid)


def test_campaign_edited_while_a_batch_waits_is_read_again(app, db, cluster, dbname, t):
    """A batch priced from tiers that staff change before it is counted is
    not written as it was: the change (a new version) sends it back to be
    read again, and the join is answered at the new price."""
    tiers = [{"threshold": 1, "unit_price_cents": 9900}]
    cid = make_campaign(app, db, t, tiers=tiers, max_quantity=100)
    held = Held(cluster, dbname, cid)
    s = db_customers(db, 1)[0]
    joins = Joins(app)
    joins.start("s", s.token, cid)
    wait_for("the join's batch waiting on the held row", lambda: waiting_batches(db) >= 1)
    with held.conn.cursor() as cur:
        cur.execute("UPDATE campaigns SET version = version + 1, tiers ="
                    " '[{\"threshold\": 1, \"unit_price_cents\": 5000}]' WHERE id = %s", (cid,))
    held.conn.commit()
    held.release()
    r = joins.wait()["s"]
    assert r.status == 201, r
    assert r.json["unit_price_cents"] == 5000, r.json
    assert campaign_row(db, cid)[:2] == (1, 1) == live_sum(db, cid)


def test_batches_of_many_campaigns_share_one_statement(make_server, db, cluster, dbname):
    """Batches that are ready while the write statements in flight are at
    their bound (join_rounds, here 4) go together in one statement
    (gb_join_batches), each campaign decided by its own rules: here one
    campaign is full, one join asks for more than its limit, the rest are
    written."""
    app = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "join_rounds = 4\n")
    t = new_tenant(app)
    held_ids = [make_campaign(app, db, t, max_quantity=100) for _ in range(4)]
    spread = [make_campaign(app, db, t, max_quantity=100) for _ in range(8)]
    full = make_campaign(app, db, t, max_quantity=1, per_customer_limit=1)
    limited = make_campaign(app, db, t, max_quantity=100, per_customer_limit=1)
    first = db_customers(db, 1)[0]
    assert join(app, first.token, full, 1).status == 201
    holds = [Held(cluster, dbname, cid) for cid in held_ids]
    joins = Joins(app)
    people = db_customers(db, 4 + 8 + 2)
    for i, cid in enumerate(held_ids):  # a round each (see the test below)
        joins.start(("held", i), people[i].token, cid)
        wait_for("%d held batches waiting" % (i + 1), lambda: waiting_batches(db) >= i + 1)
    before = statement_executions(app, "join_batches_write")
    for i, cid in enumerate(spread):
        joins.start(("spread", i), people[4 + i].token, cid)
    joins.start("full", people[12].token, full)
    joins.start("limited", people[13].token, limited, 2)
    # read, priced, each waiting for a write statement
    wait_metrics(app, lambda m: m[TO_WRITE] == 10, "10 batches waiting for a write")
    for h in holds:
        h.release()
    res = joins.wait()
    assert all(res[("held", i)].status == 201 for i in range(4)), res
    assert all(res[("spread", i)].status == 201 for i in range(8)), res
    assert_error(res["full"], 409, "campaign_full")
    assert_error(res["limited"], 409, "per_customer_limit")
    assert statement_executions(app, "join_batches_write") - before == 1
    for cid in held_ids + spread:
        assert campaign_row(db, cid)[:2] == (1, 1) == live_sum(db, cid)
    assert campaign_row(db, full)[:2] == (1, 1) == live_sum(db, full)
    assert live_sum(db, limited) == (0, 0)


@pytest.mark.expect_5xx(503)
def test_connections_killed_under_join_load(make_server, db, cluster, dbname):
    """The database drops every connection of the server while write
    rounds of several campaigns wait in it (their campaigns held; four
    rounds in flight, join_rounds = 4) and more batches queue: every join is
    answered (written, or 503 with nothing written), the counters equal the
    rows, and the server goes on taking joins."""
    app = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "join_rounds = 4\n")
    t = new_tenant(app)
    cids = [make_campaign(app, db, t, max_quantity=1000) for _ in range(5)]
    holds = [Held(cluster, dbname, cid) for cid in cids]
    people = db_customers(db, 60)
    joins = Joins(app)
    # one round each: a new write round starts once the one in flight has
    # waited its patience (joinbatch.h), so they go one after the other
    for k in range(4):
        joins.start(k, people[k].token, cids[k])
        wait_for("%d write rounds waiting" % (k + 1), lambda: waiting_batches(db) >= k + 1)
    joins.start(4, people[4].token, cids[4])
    for k in range(5, 60):
        joins.start(k, people[k].token, cids[k % 5])
    # the fifth campaign's batch waits for a write round, the rest queue
    wait_metrics(app, lambda m: m[TO_WRITE] == 1 and m[QUEUED] == 55,
                 "a batch waiting for a write round and 55 joins queued")
    with db.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'groupbuyd'")
    for h in holds:
        h.release()
    for th in joins.threads:
        th.join(60)
    out = joins.results
    assert len(out) == 60
    statuses = {r.status for r in out.values()}
    assert statuses <= {201, 503}, {k: (r.status, r.body) for k, r in out.items()}
    assert 503 in statuses  # the rounds in flight were cut
    for i, cid in enumerate(cids):
        assert campaign_row(db, cid)[:2] == live_sum(db, cid)
        written = [k for k, r in out.items() if k % 5 == i and r.status == 201]
        assert live_sum(db, cid)[0] == len(written)
    late = db_customers(db, 1)[0]
    wait_for("a join taken again", lambda: join(app, late.token, cids[0]).status == 201,
             timeout=20)


def test_short_reads_wait_ahead_of_heavier_work(make_server, db, cluster, dbname):
    """With every connection busy, a public view's query waits ahead of
    the work queued before it (DB_STMT_URGENT): here the only connection is
    held by a join blocked on its campaign, a staff cancel of another held
    campaign queues (its transaction would keep the connection while it
    waits), then a view; when the join ends, the view is answered while the
    cancel, which ran after it, still waits."""
    srv = make_server(dbname, env=APP_ENV,
                      config=FAST_CONFIG + "db_pool_size = 1\nsession_cache_ttl_ms = 60000\n")
    t = new_tenant(srv)
    a = make_campaign(srv, db, t, max_quantity=100)
    b = make_campaign(srv, db, t, max_quantity=100)
    c = make_campaign(srv, db, t, max_quantity=100)
    assert srv.get("/v1/me", token=t.token).status == 200  # staff session cached
    h1, h2 = Held(cluster, dbname, a), Held(cluster, dbname, b)
    joins = Joins(srv)
    joins.start("a", db_customers(db, 1)[0].token, a)
    wait_for("a's batch waiting on the held row", lambda: waiting_batches(db) >= 1)
    out = {}

    def edit():
        out["edit"] = srv.post("/v1/admin/campaigns/%d/cancel" % b, token=t.token,
                               headers={"Idempotency-Key": uniq("k")})

    def view():
        out["view"] = srv.get("/v1/campaigns/%d" % c)
    # Requests in flight (the /metrics request asking is one): a request's
    # first statement is queued for the connection in the callback that
    # reads it (the session is cached), so in flight is queued. The pool's
    # own count would mix in the scheduler's waits.
    flight = "groupbuyd_http_requests_in_flight"
    te = threading.Thread(target=edit)
    te.start()
    wait_metrics(srv, lambda m: m[flight] == 3, "the cancel waiting for the connection")
    tv = threading.Thread(target=view)
    tv.start()
    wait_metrics(srv, lambda m: m[flight] == 4, "the view waiting for the connection")
    assert not out  # both wait for the one connection
    h1.release()
    tv.join(10)
    assert "view" in out and out["view"].status == 200, out
    assert "edit" not in out  # behind the view, now blocked on b
    h2.release()
    te.join(30)
    assert out["edit"].status == 200, out["edit"]
    assert joins.wait()["a"].status == 201


ROUND = "groupbuyd_join_round_seconds"
PHASE = "groupbuyd_join_phase_seconds"
PHASES = ("queue", "read", "wait", "write", "total")


def histograms(srv):
    """The join timings of srv's /metrics, each checked to be a Prometheus
    histogram (bounds ascending up to +Inf, counts cumulative, the +Inf
    bucket its count), with the rounds sent: ({kind: h}, {phase: h},
    {kind: rounds sent}), h = {"le": [(bound, count)], "sum", "count"}."""
    r = srv.get("/metrics")
    assert r.status == 200, r
    text = r.body.decode()
    for name in (ROUND, PHASE):
        assert "# TYPE %s histogram\n" % name in text
        assert "# HELP %s " % name in text
    sample = re.compile(r'(\w+)_(bucket|sum|count)\{(\w+)="(\w+)"(?:,le="([^"]+)")?\} (\S+)$')
    out = {ROUND: {}, PHASE: {}}
    sent = {}
    for line in text.splitlines():
        m = re.match(r'groupbuyd_join_rounds_total\{kind="(\w+)"\} (\d+)$', line)
        if m:
            sent[m.group(1)] = int(m.group(2))
        m = sample.match(line)
        if not m or m.group(1) not in out:
            continue
        name, part, label, value, le, v = m.groups()
        assert label == ("kind" if name == ROUND else "phase"), line
        h = out[name].setdefault(value, {"le": [], "sum": None, "count": None})
        if part == "bucket":
            h["le"].append((float(le), int(v)))
        elif part == "sum":
            h["sum"] = float(v)
        else:
            h["count"] = int(v)
    assert set(out[ROUND]) == {"read", "write"}, out[ROUND].keys()
    assert set(out[PHASE]) == set(PHASES), out[PHASE].keys()
    for hs in out.values():
        for key, h in hs.items():
            bounds = [b for b, _ in h["le"]]
            counts = [n for _, n in h["le"]]
            assert bounds == sorted(set(bounds)) and bounds[0] == 0.0001, (key, bounds)
            assert bounds[-2] == 10 and bounds[-1] == float("inf"), (key, bounds)
            assert counts == sorted(counts), (key, counts)  # cumulative
            assert counts[-1] == h["count"] and h["sum"] >= 0, (key, h)
    return out[ROUND], out[PHASE], sent


def grown(before, after):
    """Per histogram: the observations made between two scrapes, count and
    sum, and how many of them were above each bound."""
    out = {}
    for key, h in after.items():
        b = before[key]
        above = {bound: (h["count"] - n) - (b["count"] - nb)
                 for (bound, n), (_, nb) in zip(h["le"], b["le"])}
        out[key] = {"count": h["count"] - b["count"], "sum": h["sum"] - b["sum"],
                    "above": above}
    return out


def test_join_times_by_round_and_part(app, db, t):
    """/metrics holds the coalesced joins' timings as histograms: each
    round's time by kind (read, write), one per round sent, and each
    answered join's parts. A join answered at the read (no such campaign)
    counts in queue, read and total only; the parts of a join add up to no
    more than its total."""
    cid = make_campaign(app, db, t, max_quantity=100)
    rounds0, phases0, sent0 = histograms(app)
    people = db_customers(db, 4)
    for p in people:
        assert join(app, p.token, cid).status == 201
    assert_error(join(app, people[0].token, 2 ** 40), 404, "not_found")
    rounds1, phases1, sent1 = histograms(app)
    rounds, phases = grown(rounds0, rounds1), grown(phases0, phases1)
    assert {p: phases[p]["count"] for p in PHASES} == \
        {"queue": 5, "read": 5, "wait": 4, "write": 4, "total": 5}
    for kind in ("read", "write"):
        assert rounds[kind]["count"] == sent1[kind] - sent0[kind] >= 1
    assert phases["total"]["sum"] >= phases["write"]["sum"] > 0
    parts = sum(phases[p]["sum"] for p in ("queue", "read", "wait", "write"))
    assert phases["total"]["sum"] >= parts - 1e-8  # sums printed to the ns
    assert phases["read"]["sum"] > 0 and rounds["read"]["sum"] > 0


def test_join_times_show_where_a_held_campaign_waited(app, db, cluster, dbname, t):
    """A campaign's row held by another transaction: the batch in flight
    waits in its write round, the join behind it in the queue, and the
    histograms put that time there."""
    cid = make_campaign(app, db, t, max_quantity=100)
    rounds0, phases0, _ = histograms(app)
    joins = Joins(app)
    held = block(app, db, cluster, dbname, cid, joins)
    joins.start("late", db_customers(db, 1)[0].token, cid)
    joins.queued(1)
    # a time on purpose: the histograms must show it in the parts that waited
    time.sleep(0.35)
    held.release()
    res = joins.wait()
    assert all(r.status == 201 for r in res.values()), res
    rounds1, phases1, _ = histograms(app)
    rounds, phases = grown(rounds0, rounds1), grown(phases0, phases1)
    assert phases["total"]["count"] == FILLERS + 1
    assert phases["total"]["above"][0.3] == FILLERS + 1
    assert phases["write"]["above"][0.3] >= FILLERS  # the batch held in its write
    assert rounds["write"]["above"][0.3] >= 1
    assert phases["queue"]["above"][0.3] >= 1  # the join behind it


def test_reads_wait_for_the_read_in_flight(make_server, db, cluster, dbname):
    """A read round in flight holds the next back until it has run
    join_patience_ms (here a minute, so never): the joins of ten campaigns
    that arrive while one read waits on a lock are all read by one more
    statement once it returns, not each by its own (join_rounds would
    allow four at once)."""
    app = make_server(dbname, env=APP_ENV,
                      config=FAST_CONFIG + "join_rounds = 4\njoin_patience_ms = 60000\n")
    t = new_tenant(app)
    cids = [make_campaign(app, db, t, max_quantity=100) for _ in range(11)]
    people = db_customers(db, 12)
    assert join(app, people[11].token, cids[0]).status == 201  # prepared, warm
    before = statement_executions(app, "join_batches_read")
    lock = TableLock(cluster, dbname, "customer_vip")  # gb_join_batch_reads reads it
    try:
        joins = Joins(app)
        joins.start(0, people[0].token, cids[0])
        wait_for("the first read waiting on customer_vip",
                 lambda: waiting_on_lock(db, "gb_join_batch_reads") == 1)
        for k in range(1, 11):
            joins.start(k, people[k].token, cids[k])
        m = wait_metrics(app, lambda m: m[TO_READ] == 10, "ten batches waiting for a read")
        assert m[READS_IN_FLIGHT] == 1
        assert waiting_on_lock(db, "gb_join_batch_reads") == 1
    finally:
        lock.release()
    res = joins.wait()
    assert all(res[k].status == 201 for k in range(11)), res
    assert statement_executions(app, "join_batches_read") - before == 2
    for cid in cids[1:]:
        assert live_sum(db, cid) == (1, 1)


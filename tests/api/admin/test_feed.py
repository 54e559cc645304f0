"""The staff event feed over the outbox: GET /v1/admin/events?after=&limit=.

The feed returns a row only once every transaction older than the row's
own has ended, ordered by (writing transaction, id) (functions/feed.sql): a reader
that follows next_after never misses a row committed late with a smaller
id. Tests here: paging and cursors, tenant isolation, roles, the
visibility order with transactions held open on purpose, a random
interleaving of writers against a follower, and a campaign driven through
its whole life over HTTP with every notification kind checked once.
"""
import hashlib
import hmac
import json
import random
import time
from decimal import Decimal

import pytest

from helpers import *
from campaign_helpers import open_campaign
from join_helpers import add_event, http_customer, join, withdraw

FEED = "/v1/admin/events"
SECRET = "whsec-feed-3a1b2c4d5e6f"
FEED_ENV = dict(APP_ENV, GROUPBUYD_PAYMENT_WEBHOOK_SECRET=SECRET)


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=FEED_ENV, config=FAST_CONFIG)


# ---------------------------------------------------------------- helpers

def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def outbox_row(db, tenant_id, kind="joined", customer_id=None):
    return q(db, "INSERT INTO outbox (distributor_id, kind, customer_id, payload)"
                 " VALUES (%s, %s, %s, '{\"n\": 1}') RETURNING id",
             (tenant_id, kind, customer_id))[0][0]


def page(srv, token, after=None, limit=None):
    qs = []
    if after is not None:
        qs.append("after=%d" % after)
    if limit is not None:
        qs.append("limit=%d" % limit)
    r = srv.get(FEED + ("?" + "&".join(qs) if qs else ""), token=token)
    assert r.status == 200, r
    body = r.json
    assert set(body) >= {"items", "next_after", "more"}, body
    return body


class Follower:
    """A sender following the feed: keeps its cursor, collects items."""

    def __init__(self, srv, token, limit=50):
        self.srv, self.token, self.limit = srv, token, limit
        self.after = 0
        self.items = []

    def poll(self):
        while True:
            body = page(self.srv, self.token, self.after, self.limit)
            self.items += body["items"]
            if body["items"]:
                assert body["next_after"] == body["items"][-1]["id"], body
            else:
                assert body["next_after"] == self.after, body
            self.after = body["next_after"]
            if not body["more"]:
                return self.items

    def poll_until(self, n, timeout=5.0):
        """Polls until n items arrived: a transaction of the server's own
        (the scheduler) may hold the horizon for a moment."""
        deadline = time.time() + timeout
        while len(self.poll()) < n and time.time() < deadline:
            time.sleep(0.02)
        return self.items

    def catch_up(self, db, tenant_id, timeout=5.0):
        """Polls until every committed row of the tenant arrived; returns
        them in the feed's order."""
        def order():
            return [r[0] for r in q(db, "SELECT id FROM outbox WHERE distributor_id = %s"
                                        " ORDER BY xact_id, id", (tenant_id,))]
        deadline = time.time() + timeout
        while True:
            self.poll()
            want = order()
            if len(self.items) >= len(want) or time.time() > deadline:
                return want
            time.sleep(0.02)

    def ids(self):
        return [i["id"] for i in self.items]


def wait_until(pred, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def sign(raw):
    t = int(time.time())
    mac = hmac.new(SECRET.encode(), ("%d." % t).encode() + raw, hashlib.sha256)
    return "t=%d,v1=%s" % (t, mac.hexdigest())


def pay_due(srv, shopper, pid):
    """Pays what is due now through an intent and the provider's webhook."""
    r = srv.post("/v1/participations/%d/payments" % pid, None, token=shopper.token,
                 headers=idem(uniq("pay")))
    assert r.status == 201, r
    p = r.json["payment"]
    raw = json.dumps({"payment_id": p["id"], "status": "succeeded",
                      "amount_cents": p["amount_cents"],
                      "provider_ref": uniq("pr")}).encode()
    r = srv.request("POST", "/v1/payments/webhook", raw_body=raw,
                    headers={"Content-Type": "application/json", "X-Signature": sign(raw)})
    assert r.status == 200, r
    return p


def status_of(db, table, id_):
    return q(db, "SELECT status FROM %s WHERE id = %%s" % table, (id_,))[0][0]


# ---------------------------------------------------------------- paging

def test_paging_and_cursor(srv, db):
    t = new_tenant(srv)
    shopper = new_customer(srv, display_name="王五")
    ids = [outbox_row(db, t.id, "joined", shopper.id) for _ in range(5)]
    ids.append(outbox_row(db, t.id, "campaign_failed"))

    body = page(srv, t.token, limit=2)
    assert [i["id"] for i in body["items"]] == ids[:2]
    assert body["next_after"] == ids[1] and body["more"] is True
    item = body["items"][0]
    assert item["kind"] == "joined" and item["customer_id"] == shopper.id
    assert item["campaign_id"] is None and item["participation_id"] is None
    assert item["payload"] == {"n": 1} and item["idempotency_key"] is None
    assert item["customer"] == {"login": shopper.login, "display_name": "王五"}
    parse_time(item["created_at"])

    body = page(srv, t.token, after=ids[1], limit=3)
    assert [i["id"] for i in body["items"]] == ids[2:5] and body["more"] is True
    body = page(srv, t.token, after=ids[4], limit=3)
    assert [i["id"] for i in body["items"]] == ids[5:]
    assert body["more"] is False and body["next_after"] == ids[5]
    assert body["items"][0]["customer"] is None
    # caught up: nothing new, the cursor stays
    body = page(srv, t.token, after=ids[5])
    assert body == {"items": [], "next_after": ids[5], "more": False}
    # default limit 50, from the start
    assert [i["id"] for i in page(srv, t.token)["items"]] == ids
    assert [i["id"] for i in page(srv, t.token, after=0)["items"]] == ids


def test_bad_parameters(srv, db):
    t = new_tenant(srv)
    other = new_tenant(srv)
    foreign = outbox_row(db, other.id)
    for qs in ("limit=0", "limit=201", "limit=x", "after=-1", "after=abc"):
        r = srv.get(FEED + "?" + qs, token=t.token)
        assert_error(r, 400, "invalid_field", ("limit", "after"))
    # an id this feed cannot have returned: another tenant's, or none at all
    assert_error(srv.get(FEED + "?after=%d" % foreign, token=t.token), 400,
                 "invalid_field", "after")
    assert_error(srv.get(FEED + "?after=%d" % (foreign + 1000), token=t.token), 400,
                 "invalid_field", "after")


def test_tenant_isolation(srv, db):
    a, b = new_tenant(srv), new_tenant(srv)
    mine = [outbox_row(db, a.id), outbox_row(db, b.id), outbox_row(db, a.id)]
    assert [i["id"] for i in page(srv, a.token)["items"]] == [mine[0], mine[2]]
    assert [i["id"] for i in page(srv, b.token)["items"]] == [mine[1]]


def test_roles(srv, db):
    t = new_tenant(srv)
    outbox_row(db, t.id)
    operator = new_staff(srv, t.token, role="operator")
    finance = new_staff(srv, t.token, role="finance")
    assert len(page(srv, t.token)["items"]) == 1
    assert len(page(srv, staff_token(srv, operator.login))["items"]) == 1
    # API.md names owner and finance; operator keeps the access it had
    assert len(page(srv, staff_token(srv, finance.login))["items"]) == 1
    shopper = new_customer(srv)
    assert_error(srv.get(FEED, token=customer_token(srv, shopper.login)), 403, "forbidden")
    assert_error(srv.get(FEED), 401, "unauthenticated")


# ---------------------------------------------------------------- visibility order

def held(cluster, dbname):
    """A connection whose transactions the test commits by hand."""
    conn = cluster.connect(dbname)
    conn.autocommit = False
    return conn


def test_later_commit_of_a_smaller_id_is_not_skipped(srv, db, cluster, dbname):
    t = new_tenant(srv)
    f = Follower(srv, t.token)
    first = outbox_row(db, t.id)
    f.poll_until(1)
    assert f.ids() == [first]

    slow = held(cluster, dbname)
    try:
        x = outbox_row(slow, t.id)          # smaller id, not committed
        y = outbox_row(db, t.id)            # larger id, committed
        assert x < y
        # an id-ordered feed would hand out y now, and a reader at after=y
        # would never see x; this one holds y back while x's writer runs
        f.poll()
        assert f.ids() == [first]
        slow.commit()
    finally:
        slow.close()
    f.poll_until(3)
    assert f.ids() == [first, x, y]


def test_rows_of_an_older_transaction_come_first_even_with_larger_ids(srv, db, cluster,
                                                                      dbname):
    t = new_tenant(srv)
    f = Follower(srv, t.token)
    old, young = held(cluster, dbname), held(cluster, dbname)
    try:
        q(old, "SELECT pg_current_xact_id()")   # the older transaction
        a = outbox_row(young, t.id)              # smaller id, younger transaction
        b = outbox_row(old, t.id)                # larger id, older transaction
        old.commit()
        # every transaction older than old's has ended: b is final
        f.poll_until(1)
        assert f.ids() == [b]
        young.commit()
    finally:
        old.close()
        young.close()
    f.poll_until(2)
    assert f.ids() == [b, a]                     # not id order, but nothing lost
    # and a reader starting later sees the same sequence
    assert [i["id"] for i in page(srv, t.token)["items"]] == [b, a]


def test_rolled_back_rows_never_appear(srv, db, cluster, dbname):
    t = new_tenant(srv)
    f = Follower(srv, t.token)
    gone = held(cluster, dbname)
    try:
        outbox_row(gone, t.id)
        kept = outbox_row(db, t.id)
        assert f.poll() == []
        gone.rollback()
    finally:
        gone.close()
    f.poll_until(1)
    assert f.ids() == [kept]


def test_random_interleaving_is_gapless(srv, db, cluster, dbname, seed):
    """Writers begin, insert, commit and roll back in a random order while a
    follower polls with small pages: in the end it has seen every committed
    row exactly once and no other, in the feed's order."""
    rnd = random.Random(seed)
    t = new_tenant(srv)
    f = Follower(srv, t.token, limit=3)
    conns = [held(cluster, dbname) for _ in range(4)]
    open_rows = {i: [] for i in range(len(conns))}
    committed = []
    try:
        for step in range(160):
            i = rnd.randrange(len(conns))
            action = rnd.random()
            if action < 0.5:
                if rnd.random() < 0.2:
                    q(conns[i], "SELECT pg_current_xact_id()")
                open_rows[i].append(outbox_row(conns[i], t.id))
            elif action < 0.7:
                conns[i].commit()
                committed += open_rows[i]
                open_rows[i] = []
            elif action < 0.8:
                conns[i].rollback()
                open_rows[i] = []
            else:
                before = len(f.items)
                f.poll()
                # nothing delivered that is not committed, nothing twice
                assert set(f.ids()) <= set(committed)
                assert len(set(f.ids())) == len(f.items) >= before
        for i, c in enumerate(conns):
            c.commit()
            committed += open_rows[i]
    finally:
        for c in conns:
            c.close()
    order = f.catch_up(db, t.id)
    assert sorted(f.ids()) == sorted(committed)
    assert len(f.ids()) == len(set(f.ids()))
    # delivered in one sequence that later commits never cut into: the
    # final order of the whole feed, so no row was skipped on the way
    assert f.ids() == order


# ---------------------------------------------------------------- the whole life

def test_campaign_life_notifies_each_kind_once(srv, db):
    """A campaign driven over HTTP (joins, deposits and balances paid through
    the webhook, a withdrawal, an expiry, a default), plus a failed and a
    cancelled one: the feed, followed all along, holds each notification
    DESIGN.md lists exactly once per participation or campaign."""
    t = new_tenant(srv)
    f = Follower(srv, t.token, limit=4)
    shoppers = {n: http_customer(srv) for n in "ABCDE"}
    # A has a completed purchase: score 80, no deposit; the others 75: 10 %
    add_event(db, t.id, shoppers["A"].id, "completed")
    c = open_campaign(srv, t.token, max_quantity=100, min_participants=2)
    cid = c["id"]
    pid = {}
    for n, s in shoppers.items():
        r = join(srv, s.token, cid, 1)
        assert r.status == 201, r
        pid[n] = r.json["id"]
        assert r.json["deposit_cents"] == (0 if n == "A" else 990), (n, r.json)
    f.poll()
    for n in "BCE":
        pay_due(srv, shoppers[n], pid[n])
    assert withdraw(srv, shoppers["C"].token, pid["C"]).status == 200
    f.poll()
    # D lets the deposit window pass
    q(db, "UPDATE participations SET deposit_due_by = now() - interval '1 s'"
          " WHERE id = %s", (pid["D"],))
    wait_until(lambda: status_of(db, "participations", pid["D"]) == "expired",
               what="deposit expiry")
    # the deadline passes: A, B, E active -> succeeded at 99.00
    q(db, "UPDATE campaigns SET ends_at = now() WHERE id = %s", (cid,))
    wait_until(lambda: status_of(db, "campaigns", cid) == "succeeded", what="close")
    f.poll()
    for n in "AB":
        p = pay_due(srv, shoppers[n], pid[n])
        assert p["kind"] == "balance"
    q(db, "UPDATE participations SET pay_by = now() - interval '1 s' WHERE id = %s",
      (pid["E"],))
    wait_until(lambda: status_of(db, "participations", pid["E"]) == "defaulted",
               what="default")

    # a failed campaign: F paid a deposit, G owes none (no history event)
    f2 = open_campaign(srv, t.token, max_quantity=100, min_participants=3)
    F, G = http_customer(srv), http_customer(srv)
    add_event(db, t.id, G.id, "completed")
    r = join(srv, F.token, f2["id"], 1)
    assert r.status == 201, r
    pid["F"] = r.json["id"]
    pay_due(srv, F, pid["F"])
    r = join(srv, G.token, f2["id"], 1)
    assert r.status == 201 and r.json["deposit_cents"] == 0, r
    pid["G"] = r.json["id"]
    q(db, "UPDATE campaigns SET ends_at = now() WHERE id = %s", (f2["id"],))
    wait_until(lambda: status_of(db, "campaigns", f2["id"]) == "failed", what="failure")

    # a cancelled campaign: H paid a deposit
    c3 = open_campaign(srv, t.token, max_quantity=100, min_participants=1)
    H = http_customer(srv)
    r = join(srv, H.token, c3["id"], 1)
    assert r.status == 201, r
    pid["H"] = r.json["id"]
    pay_due(srv, H, pid["H"])
    r = srv.post("/v1/admin/campaigns/%d/cancel" % c3["id"], token=t.token)
    assert r.status == 200, r

    # everything committed is delivered, once, in the feed's order
    order = f.catch_up(db, t.id)
    assert f.ids() == order

    by_part = {}
    by_campaign = {}
    for it in f.items:
        if it["participation_id"] is not None:
            by_part.setdefault(it["participation_id"], []).append(it)
        else:
            by_campaign.setdefault(it["campaign_id"], []).append(it["kind"])

    def kinds(n):
        return sorted(i["kind"] for i in by_part.get(pid[n], []))

    C_, A_, P_ = "participation.created", "participation.activated", "participation."
    assert kinds("A") == sorted([C_, A_, P_ + "balance_due", P_ + "paid"])
    assert kinds("B") == sorted([C_, A_, P_ + "balance_due", P_ + "paid"])
    assert kinds("C") == sorted([C_, A_, P_ + "withdrawn", P_ + "refunded"])
    assert kinds("D") == sorted([C_, P_ + "expired"])
    assert kinds("E") == sorted([C_, A_, P_ + "balance_due", P_ + "defaulted"])
    assert kinds("F") == sorted([C_, A_, P_ + "refunded"])
    # G owed no deposit: active at once, void when its campaign failed
    assert kinds("G") == sorted([C_, A_, P_ + "voided"])
    assert kinds("H") == sorted([C_, A_, P_ + "refunded"])
    # settlement may add one campaign.settled for the succeeded
    # campaign; tiers and the threshold depend on the campaign's shape
    life = ["campaign.published", "campaign.opened"]
    noted = ("campaign.settled", "campaign.tier_reached", "campaign.threshold_reached")
    assert [k for k in by_campaign[cid] if k not in noted] == life + ["campaign.succeeded"]
    assert by_campaign[cid].count("campaign.settled") <= 1
    assert [k for k in by_campaign[f2["id"]] if k not in noted] == life + ["campaign.failed"]
    assert [k for k in by_campaign[c3["id"]] if k not in noted] == \
        life + ["campaign.cancelled"]
    # the API's event shape on every item
    for it in f.items:
        assert it["type"] == it["kind"] and it["distributor_id"] == t.id
        assert isinstance(it["data"], dict)
        if it["participation_id"] is not None:
            assert it["data"]["id"] == it["participation_id"]

    # every item names its customer, with the contact a sender needs
    for n, s in list(shoppers.items()) + [("F", F), ("G", G), ("H", H)]:
        for it in by_part[pid[n]]:
            assert it["customer_id"] == s.id and it["campaign_id"] is not None
            assert it["customer"]["login"]
    refunds = {i["participation_id"]: i for i in f.items if i["kind"] == "participation.refunded"}
    assert refunds[pid["C"]]["payload"]["reason"] == "withdrawn"
    assert refunds[pid["F"]]["payload"]["reason"] == "failed"
    assert refunds[pid["H"]]["payload"]["reason"] == "cancelled"
    for i in refunds.values():
        assert i["payload"]["amount_cents"] == 990
    # refunds carry the provider's idempotency key (the ledger movement key)
    for n in "CFH":
        assert refunds[pid[n]]["idempotency_key"].startswith(
            "refund:participation:%d:" % pid[n])
    due = {i["participation_id"]: i for i in f.items if i["kind"] == "participation.balance_due"}
    assert due[pid["A"]]["payload"]["amount_cents"] == 9900
    assert due[pid["B"]]["payload"]["amount_cents"] == 9900 - 990

    # the same life, scored by the calibration report: the succeeded
    # campaign's A, B paid (1), C withdrawn, D expired, E defaulted (0), and
    # the two paid history rows add_event made; the failed and cancelled
    # campaigns are not scored. p at join as the joins stored it.
    p_at = dict(q(db, "SELECT id, p_complete_at_join FROM participations"
                      " WHERE distributor_id = %s", (t.id,)))
    scored = [(p_at[pid[n]], 1.0 if n in "AB" else 0.0) for n in "ABCDE"]
    scored += [(p, 1.0) for i, p in p_at.items() if i not in pid.values()]
    assert len(scored) == 7
    rep = srv.get("/v1/admin/reports/reliability", token=t.token).json
    assert rep["outcomes"] == 7
    assert rep["brier_score"] == pytest.approx(
        sum((p - y) ** 2 for p, y in scored) / 7, abs=1e-12)
    assert sum(b["count"] for b in rep["buckets"]) == 7
    counts = [0] * 10
    for p, _ in scored:
        counts[min(int(Decimal(repr(p)) * 10), 9)] += 1
    assert [b["count"] for b in rep["buckets"]] == counts

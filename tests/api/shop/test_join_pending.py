"""The bound on units held pending a deposit: fresh
accounts joining with the largest quantity into a deposit campaign and
never paying must not hold a flash sale full. A campaign holds at most
max_pending_share_bp (default 50 %) of max_quantity in pending_deposit
participations; a join that would pass it is 409 campaign_full, decided in
the one join decision (coalesced and keyed joins alike), while customers
who join without a deposit still get the rest, and paid deposits free
their pending room.
"""
import threading

import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403


@pytest.fixture
def t(app):
    return new_tenant(app)


def pending_units(db, cid):
    with db.cursor() as cur:
        cur.execute("SELECT coalesce(sum(quantity), 0) FROM participations"
                    " WHERE campaign_id = %s AND status = 'pending_deposit'", (cid,))
        return int(cur.fetchone()[0])


def join_all(srv, cid, shoppers, quantity):
    """Every shopper joins at once (coalesced into batches); the answers."""
    out = [None] * len(shoppers)

    def one(i):
        out[i] = join(srv, shoppers[i].token, cid, quantity)

    ths = [threading.Thread(target=one, args=(i,)) for i in range(len(shoppers))]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    return out


def assert_counters_are_rows(db, cid):
    lp, lq, _, _ = campaign_row(db, cid)
    assert live_sum(db, cid) == (lp, lq)


def test_fresh_accounts_hold_at_most_the_pending_share(app, db, t):
    cid = make_campaign(app, db, t, max_quantity=100, per_customer_limit=5)
    with db.cursor() as cur:
        cur.execute("SELECT max_pending_share_bp FROM campaigns WHERE id = %s", (cid,))
        assert cur.fetchone()[0] == 5000  # the default: 50 %

    # 30 fresh accounts (score 75: a 10 % deposit) ask 5 units each: 150
    fresh = db_customers(db, 30)
    answers = join_all(app, cid, fresh, 5)
    assert all(r.status in (201, 409) for r in answers), [r.status for r in answers]
    accepted = [r for r in answers if r.status == 201]
    assert len(accepted) == 10
    assert all(r.json["status"] == "pending_deposit" for r in accepted)
    for r in answers:
        if r.status == 409:
            assert r.json["error"]["code"] == "campaign_full", r
    assert pending_units(db, cid) == 50
    assert_counters_are_rows(db, cid)

    # the keyed join goes through the same decision, and stores nothing
    late = db_customers(db, 1)[0]
    assert_error(join(app, late.token, cid, 1, key="pend-1"), 409, "campaign_full")
    assert count_rows(db, "idempotency_keys", "key = 'pend-1'") == 0

    # a reliable customer (score 80: no deposit) still joins
    reliable = http_customer(app)
    add_event(db, t.id, reliable.id, "completed")
    r = join(app, reliable.token, cid, 5)
    assert r.status == 201, r
    assert (r.json["status"], r.json["deposit_cents"]) == ("active", 0)
    assert pending_units(db, cid) == 50
    assert campaign_row(db, cid)[:2] == (11, 55)

    # four deposits paid (as the payment leaves the participation): their
    # units count as active and four more pending joins fit, not five
    paid = [r.json["id"] for r in accepted[:4]]
    with db.cursor() as cur:
        cur.execute("UPDATE participations SET deposit_paid_cents = deposit_cents,"
                    " status = 'active' WHERE id = ANY(%s)", (paid,))
    assert pending_units(db, cid) == 30
    more = db_customers(db, 5)
    results = [join(app, s.token, cid, 5, key="pend-more-%d" % s.id) for s in more]
    assert [r.status for r in results] == [201, 201, 201, 201, 409], results
    assert results[4].json["error"]["code"] == "campaign_full"
    assert pending_units(db, cid) == 50
    assert campaign_row(db, cid)[:2] == (15, 75)
    assert_counters_are_rows(db, cid)


def test_the_bound_never_refuses_one_largest_join(app, db, t):
    """A share smaller than one order still lets one pending order in: the
    bound is never below the per-customer limit."""
    cid = make_campaign(app, db, t, max_quantity=10, per_customer_limit=8,
                        pending_share_bp=1000)  # 10 % of 10 = 1 unit
    a, b = db_customers(db, 2)
    r = join(app, a.token, cid, 8)
    assert r.status == 201 and r.json["status"] == "pending_deposit", r
    assert_error(join(app, b.token, cid, 1), 409, "campaign_full")
    assert pending_units(db, cid) == 8

"""Pickup-code guess budgets (issue 26): besides an order's own lock (five
wrong codes), wrong codes count per staff member (10 in 15 minutes) and
per pickup point (20 in 15 minutes); past a budget every pickup it covers
is 429, the right code too, until older failures age out. Guesses spread
over many orders are stopped, which the per-order lock alone let through.
"""
from helpers import *
from test_fulfilment import (NO_DEPOSIT, TIERS, close_now, my_orders, new_point,  # noqa: F401
                             pay_balance, psrv, shopper)
from campaign_helpers import open_campaign
from join_helpers import join


def ready_orders(srv, db, t, points, per_point):
    """per_point ready pickup orders at each point: [(order id, code)] per point."""
    cid = open_campaign(srv, t.token, fulfilment="pickup", tiers=TIERS,
                        pickup_point_ids=[p["id"] for p in points], deposit_policy=NO_DEPOSIT,
                        min_participants=1)["id"]
    people = []
    for p, n in zip(points, per_point):
        for _ in range(n):
            _, tok = shopper(srv)
            r = join(srv, tok, cid, body={"quantity": 1, "pickup_point_id": p["id"]})
            assert r.status == 201, r
            people.append((tok, r.json["id"], p["id"]))
    close_now(db, cid)
    for tok, pid, _ in people:
        pay_balance(srv, tok, pid)
    out = {p["id"]: [] for p in points}
    for p in points:
        r = srv.post("/v1/admin/campaigns/%d/orders/ready" % cid, {"pickup_point_id": p["id"]},
                     token=t.token)
        assert r.status == 201, r
    for tok, _, point in people:
        (o,) = my_orders(srv, tok)
        out[point].append((o["id"], o["pickup_code"]))
    return [out[p["id"]] for p in points]


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def pickup(srv, token, oid, code):
    return srv.post("/v1/admin/orders/%d/pickup" % oid, {"pickup_code": code}, token=token)


def test_guesses_spread_over_orders_reach_429(psrv, db):
    srv = psrv
    t = new_tenant(srv)
    a, b = new_point(srv, t.token), new_point(srv, t.token, name="B")
    at_a, at_b = ready_orders(srv, db, t, [a, b], [11, 1])
    ops = [staff_token(srv, new_staff(srv, t.token).login) for _ in range(3)]

    # one wrong code on each of 10 orders: each is 409, none locks its order
    for oid, code in at_a[:10]:
        assert_error(pickup(srv, ops[0], oid, wrong(code)), 409, "invalid_state", "pickup_code")
    # the eleventh attempt of that staff member is 429, the right code too
    oid, code = at_a[10]
    r = pickup(srv, ops[0], oid, code)
    assert_error(r, 429, "rate_limited", "pickup_code")
    assert "account" in r.json["error"]["message"]
    assert_error(pickup(srv, ops[0], at_b[0][0], at_b[0][1]), 429, "rate_limited")
    # another staff member is not held by it
    r = pickup(srv, t.token, oid, code)
    assert r.status == 200 and r.json["status"] == "picked_up", r

    # a second member's 10 wrong codes at the same point: 20 there
    for oid, code in at_a[:10]:
        assert_error(pickup(srv, ops[1], oid, wrong(code)), 409, "invalid_state")
    # now the point's budget holds a third member, who still may elsewhere
    r = pickup(srv, ops[2], at_a[0][0], at_a[0][1])
    assert_error(r, 429, "rate_limited", "pickup_code")
    assert "pickup point" in r.json["error"]["message"]
    r = pickup(srv, ops[2], at_b[0][0], at_b[0][1])
    assert r.status == 200 and r.json["status"] == "picked_up", r
    with db.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT staff_id), count(DISTINCT order_id)"
                    " FROM pickup_code_failures WHERE distributor_id = %s", (t.id,))
        assert cur.fetchone() == (20, 2, 10)
        # no order reached its own lock
        cur.execute("SELECT max(pickup_failures), count(pickup_locked_until) FROM orders"
                    " WHERE distributor_id = %s", (t.id,))
        assert cur.fetchone() == (2, 0)
        # failures older than 15 minutes do not count
        cur.execute("UPDATE pickup_code_failures SET failed_at = now() - interval '16 minutes'"
                    " WHERE distributor_id = %s", (t.id,))
    r = pickup(srv, ops[0], at_a[0][0], at_a[0][1])
    assert r.status == 200 and r.json["status"] == "picked_up", r


def test_a_malformed_code_is_not_counted(psrv, db):
    srv = psrv
    t = new_tenant(srv)
    a = new_point(srv, t.token)
    (at_a,) = ready_orders(srv, db, t, [a], [1])
    op = staff_token(srv, new_staff(srv, t.token).login)
    for _ in range(12):
        assert_error(pickup(srv, op, at_a[0][0], "12345"), 400, "invalid_field", "pickup_code")
    assert count_rows(db, "pickup_code_failures") == 0
    r = pickup(srv, op, at_a[0][0], at_a[0][1])
    assert r.status == 200, r

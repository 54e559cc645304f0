"""A product's stock in four buckets (API.md "Stock, volume cost per tier,
commission on sales"; DESIGN.md "Stock and the manufacturer's volume
price"): the product object's buckets, PUT .../stock with its version,
publishing that reserves from the stock all campaigns share, a live
campaign's cap that grows only when the stock covers it, the units a
lifecycle moves (close, default, ship, pickup, after-sales return, fail,
cancel) through the HTTP paths, a tier's manufacturer cost (staff only),
and the schema's own guard on the buckets.

The randomized lifecycle is test_stock_random.py; two server processes
racing for one product's stock, test_stock_race.py.
"""
import psycopg2
import pytest

from helpers import *
from campaign_helpers import (DEFAULT_TIERS, create_campaign, create_product, get_campaign,
                              open_campaign, post_campaign, post_publish, publish,
                              scheduled_campaign, ts)
from join_helpers import join, withdraw
from payment_helpers import PAY_ENV, event, webhook
from sql_helpers import sql_audit, sql_one, sql_product, sql_tenant

NO_DEPOSIT = [{"min_score": 0, "deposit_percent": 0}]


def product(srv, token, pid):
    r = srv.get("/v1/admin/products/%d" % pid, token=token)
    assert r.status == 200, r
    return r.json


def buckets(srv, token, pid):
    p = product(srv, token, pid)
    assert p["available"] == p["stock"] - p["reserved"] - p["committed"], p
    return p["stock"], p["reserved"], p["committed"], p["available"], p["sold"]


def put_stock(srv, token, pid, body):
    return srv.request("PUT", "/v1/admin/products/%d/stock" % pid, body, token=token)


def patch(srv, token, cid, body):
    return srv.request("PATCH", "/v1/admin/campaigns/%d" % cid, body, token=token)


# ---------------------------------------------------------------- the object and PUT

def test_product_buckets_and_stock_put(shared):
    srv, db = shared.srv, shared.db
    t = new_tenant(srv)
    p = create_product(srv, t.token, stock=100)
    assert (p["stock"], p["reserved"], p["committed"], p["available"], p["sold"],
            p["stock_version"]) == (100, 0, 0, 100, 0, 1)
    assert srv.get("/v1/admin/products", token=t.token).json["items"] == [p]

    r = put_stock(srv, t.token, p["id"], {"stock": 120, "stock_version": 1})
    assert r.status == 200, r
    assert (r.json["stock"], r.json["available"], r.json["stock_version"]) == (120, 120, 2)
    assert product(srv, t.token, p["id"]) == r.json
    # the version read before that edit is stale now: nothing changes
    assert_error(put_stock(srv, t.token, p["id"], {"stock": 10, "stock_version": 1}),
                 409, "conflict", "stock_version")
    assert_error(put_stock(srv, t.token, p["id"], {"stock": 10, "stock_version": 3}),
                 409, "conflict", "stock_version")
    assert product(srv, t.token, p["id"])["stock"] == 120

    # what campaigns hold sets the floor
    open_campaign(srv, t.token, p["id"], max_quantity=60, per_customer_limit=5)
    assert buckets(srv, t.token, p["id"]) == (120, 60, 0, 60, 0)
    assert_error(put_stock(srv, t.token, p["id"], {"stock": 59, "stock_version": 2}),
                 409, "invalid_state", "stock")
    r = put_stock(srv, t.token, p["id"], {"stock": 60, "stock_version": 2})
    assert r.status == 200 and r.json["available"] == 0 and r.json["stock_version"] == 3, r

    # bodies refused before anything is read
    for body, field in (({"stock": 5}, "stock_version"), ({"stock_version": 3}, "stock"),
                        ({"stock": -1, "stock_version": 3}, "stock"),
                        ({"stock": 10 ** 9 + 1, "stock_version": 3}, "stock"),
                        ({"stock": "5", "stock_version": 3}, "stock"),
                        ({"stock": 5.5, "stock_version": 3}, "stock"),
                        ({"stock": 60, "stock_version": 0}, "stock_version"),
                        ({"stock": 60, "stock_version": 3, "reserved": 0}, "reserved")):
        assert_error(put_stock(srv, t.token, p["id"], body), 400, "invalid_field", field)
    assert product(srv, t.token, p["id"])["stock_version"] == 3

    # another distributor's product is not found; finance may not set stock
    other = new_tenant(srv)
    assert_error(put_stock(srv, other.token, p["id"], {"stock": 70, "stock_version": 3}),
                 404, "not_found")
    assert_error(put_stock(srv, t.token, 2 ** 50, {"stock": 70, "stock_version": 1}),
                 404, "not_found")
    fin = new_staff(srv, t.token, role="finance")
    assert put_stock(srv, staff_token(srv, fin.login), p["id"],
                     {"stock": 70, "stock_version": 3}).status == 403
    op = new_staff(srv, t.token, role="operator")
    r = put_stock(srv, staff_token(srv, op.login), p["id"], {"stock": 70, "stock_version": 3})
    assert r.status == 200 and r.json["stock"] == 70, r

    # every edit has its audit line, the product before and after
    with db.cursor() as cur:
        cur.execute("SELECT before->>'stock', after->>'stock', after->>'stock_version'"
                    " FROM audit_log WHERE entity = 'product' AND action = 'stock'"
                    " AND entity_id = %s ORDER BY id", (p["id"],))
        assert cur.fetchall() == [("100", "120", "2"), ("120", "60", "3"), ("60", "70", "4")]


def test_two_campaigns_cannot_sell_the_same_units(shared):
    """The issue's case: stock 100, two campaigns of 60. The first reserves
    60; the second is refused while the first holds them, and publishes once
    the first is cancelled and its units are back."""
    srv = shared.srv
    t = new_tenant(srv)
    pid = create_product(srv, t.token, stock=100)["id"]
    a = open_campaign(srv, t.token, pid, max_quantity=60, per_customer_limit=5)
    b = create_campaign(srv, t.token, pid, max_quantity=60, per_customer_limit=5)
    r = post_publish(srv, t.token, b["id"])
    assert_error(r, 409, "invalid_state", "max_quantity")
    assert get_campaign(srv, t.token, b["id"])["status"] == "draft"
    assert buckets(srv, t.token, pid) == (100, 60, 0, 40, 0)
    assert srv.post("/v1/admin/campaigns/%d/cancel" % a["id"], token=t.token).status == 200
    assert buckets(srv, t.token, pid) == (100, 0, 0, 100, 0)
    assert publish(srv, t.token, b["id"])["status"] == "scheduled"
    assert buckets(srv, t.token, pid) == (100, 60, 0, 40, 0)
    # a draft holds nothing: cancelling one gives nothing back
    d = create_campaign(srv, t.token, pid, max_quantity=40, per_customer_limit=5)
    assert srv.post("/v1/admin/campaigns/%d/cancel" % d["id"], token=t.token).status == 200
    assert buckets(srv, t.token, pid) == (100, 60, 0, 40, 0)


def test_a_live_campaign_grows_only_into_available_stock(shared):
    srv, db = shared.srv, shared.db
    t = new_tenant(srv)
    pid = create_product(srv, t.token, stock=100)["id"]
    c = open_campaign(srv, t.token, pid, max_quantity=50, per_customer_limit=5)
    r = patch(srv, t.token, c["id"], {"max_quantity": 80})
    assert r.status == 200 and r.json["max_quantity"] == 80, r
    assert r.json["per_customer_limit"] == 5  # a live campaign's terms stay
    assert buckets(srv, t.token, pid) == (100, 80, 0, 20, 0)
    assert_error(patch(srv, t.token, c["id"], {"max_quantity": 101}),
                 409, "invalid_state", "max_quantity")
    assert_error(patch(srv, t.token, c["id"], {"max_quantity": 79}),
                 409, "invalid_state", "max_quantity")
    r = patch(srv, t.token, c["id"], {"max_quantity": 80, "description": "same cap"})
    assert r.status == 200 and r.json["max_quantity"] == 80, r
    r = patch(srv, t.token, c["id"], {"max_quantity": 100})
    assert r.status == 200, r
    assert buckets(srv, t.token, pid) == (100, 100, 0, 0, 0)
    assert get_campaign(srv, t.token, c["id"])["progress"]["remaining_quantity"] == 100

    # a scheduled one grows the same way; a draft takes any cap and
    # reserves nothing until it is published
    s = scheduled_campaign(srv, t.token, create_product(srv, t.token, stock=30)["id"],
                           max_quantity=10, per_customer_limit=5)
    assert_error(patch(srv, t.token, s["id"], {"max_quantity": 31}),
                 409, "invalid_state", "max_quantity")
    assert patch(srv, t.token, s["id"], {"max_quantity": 30}).status == 200
    assert buckets(srv, t.token, s["product_id"]) == (30, 30, 0, 0, 0)
    d = create_campaign(srv, t.token, pid, max_quantity=10, per_customer_limit=5)
    r = patch(srv, t.token, d["id"], {"max_quantity": 1000})
    assert r.status == 200, r
    assert buckets(srv, t.token, pid) == (100, 100, 0, 0, 0)
    assert_error(post_publish(srv, t.token, d["id"]), 409, "invalid_state", "max_quantity")
    # the growth is audited with the campaign's other edits
    with db.cursor() as cur:
        cur.execute("SELECT before->>'max_quantity', after->>'max_quantity' FROM audit_log"
                    " WHERE entity = 'campaign' AND action = 'update' AND entity_id = %s"
                    " ORDER BY id", (c["id"],))
        assert cur.fetchall() == [("50", "80"), ("80", "80"), ("80", "100")]


# ---------------------------------------------------------------- the lifecycle over HTTP

@pytest.fixture
def psrv(make_server, dbname):
    return make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)


def status_of(db, table, rid):
    return sql_one(db.cursor(), "SELECT status FROM %s WHERE id = %%s" % table, (rid,))[0]


def close_now(db, cid):
    """Time passes: the campaign's ends_at is brought to now, and the
    server's scheduler closes it."""
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() + interval '1 second'"
                    " WHERE id = %s", (cid,))
    wait_for("the close", lambda: status_of(db, "campaigns", cid) != "open", timeout=20)
    return status_of(db, "campaigns", cid)


def pay_balance(srv, token, pid):
    r = srv.post("/v1/participations/%d/payments" % pid, token=token)
    assert r.status == 201, r
    p = r.json["payment"]
    assert webhook(srv, event(p, ref="pr_%d" % p["id"])).status == 200


def order_of(srv, token, pid):
    r = srv.get("/v1/me/orders", token=token)
    assert r.status == 200, r
    return [o for o in r.json["items"] if o["participation_id"] == pid][0]


def test_units_move_with_the_lifecycle(psrv, db):
    """Stock 30, through the HTTP paths and the scheduler, every bucket after
    every step (stock, reserved, committed, available, sold):
    publish reserves each campaign's cap; the close commits the units paid
    or awaiting payment and releases the rest; a failed or cancelled
    campaign releases all; a default releases its units; a shipment and a
    pickup take units out of stock into sold; an after-sales return puts
    them back."""
    srv = psrv
    t = new_tenant(srv)
    pid = create_product(srv, t.token, stock=30)["id"]
    r = srv.post("/v1/admin/pickup-points", {"name": "P", "address": "A", "leader_name": "L",
                                             "leader_phone": "13900000001",
                                             "commission_bp": 300}, token=t.token)
    point = r.json["id"]
    addr = {"name": "张三", "phone": "13900000002", "region": "上海市", "line": "幸福路 2 号"}
    common = dict(deposit_policy=NO_DEPOSIT, min_participants=2, per_customer_limit=5)
    a = open_campaign(srv, t.token, pid, max_quantity=10, fulfilment="pickup",
                      pickup_point_ids=[point], **common)["id"]
    b = open_campaign(srv, t.token, pid, max_quantity=8, **common)["id"]
    fail = open_campaign(srv, t.token, pid, max_quantity=5, **common)["id"]
    gone = scheduled_campaign(srv, t.token, pid, max_quantity=4,
                              **dict(common, per_customer_limit=4))["id"]
    assert buckets(srv, t.token, pid) == (30, 27, 0, 3, 0)

    shoppers = {}
    for name, cid, q, body in (("a1", a, 2, {"pickup_point_id": point}),
                               ("a2", a, 3, {"pickup_point_id": point}),
                               ("a3", a, 1, {"pickup_point_id": point}),
                               ("b1", b, 4, {"address": addr}),
                               ("b2", b, 1, {"address": addr}),
                               ("f1", fail, 2, {"address": addr})):
        c = new_customer(srv)
        tok = customer_token(srv, c.login)
        r = join(srv, tok, cid, body=dict(body, quantity=q))
        assert r.status == 201 and r.json["status"] == "active", r
        shoppers[name] = (tok, r.json["id"])
    assert withdraw(srv, shoppers["a3"][0], shoppers["a3"][1]).status == 200
    assert buckets(srv, t.token, pid) == (30, 27, 0, 3, 0)  # joins move no stock

    assert close_now(db, a) == "succeeded"      # 2 + 3 committed, 5 released
    assert buckets(srv, t.token, pid) == (30, 17, 5, 8, 0)
    assert close_now(db, b) == "succeeded"      # 4 + 1 committed, 3 released
    assert buckets(srv, t.token, pid) == (30, 9, 10, 11, 0)
    assert close_now(db, fail) == "failed"      # all 5 released
    assert buckets(srv, t.token, pid) == (30, 4, 10, 16, 0)
    assert srv.post("/v1/admin/campaigns/%d/cancel" % gone, token=t.token).status == 200
    assert buckets(srv, t.token, pid) == (30, 0, 10, 20, 0)

    for name in ("a1", "a2", "b1"):
        pay_balance(srv, *shoppers[name])
    assert buckets(srv, t.token, pid) == (30, 0, 10, 20, 0)  # paid: still committed
    # b2 lets the window pass: its unit is available again
    with db.cursor() as cur:
        cur.execute("UPDATE participations SET pay_by = now() WHERE id = %s",
                    (shoppers["b2"][1],))
    wait_for("the default",
             lambda: status_of(db, "participations", shoppers["b2"][1]) == "defaulted",
             timeout=20)
    assert buckets(srv, t.token, pid) == (30, 0, 9, 21, 0)

    # b1's 4 units are shipped: out of stock and committed, into sold
    o = order_of(srv, *shoppers["b1"])
    r = srv.post("/v1/admin/orders/%d/ship" % o["id"], {"carrier": "SF", "tracking_no": "1"},
                 token=t.token)
    assert r.status == 200, r
    assert buckets(srv, t.token, pid) == (26, 0, 5, 21, 4)
    # ready at the point: nothing moves; a2 picks up 3
    r = srv.post("/v1/admin/campaigns/%d/orders/ready" % a, {"pickup_point_id": point},
                 token=t.token)
    assert r.status == 201 and r.json["updated"] == 2, r
    assert buckets(srv, t.token, pid) == (26, 0, 5, 21, 4)
    o2 = order_of(srv, *shoppers["a2"])
    r = srv.post("/v1/admin/orders/%d/pickup" % o2["id"], {"pickup_code": o2["pickup_code"]},
                 token=t.token)
    assert r.status == 200, r
    assert buckets(srv, t.token, pid) == (23, 0, 2, 21, 7)
    stock_version = product(srv, t.token, pid)["stock_version"]
    assert stock_version == 3  # created 1; the shipment and the pickup moved stock

    # a2 brings 2 of the 3 units back: they are stock again
    r = srv.post("/v1/orders/%d/after-sales" % o2["id"],
                 {"reason": "two broken", "quantity": 2, "amount_cents": 2000},
                 token=shoppers["a2"][0])
    assert r.status == 201, r
    r = srv.post("/v1/admin/after-sales/%d/approve" % r.json["id"],
                 {"amount_cents": 2000, "returned_quantity": 2}, token=t.token)
    assert r.status == 200, r
    assert buckets(srv, t.token, pid) == (25, 0, 2, 23, 5)
    assert product(srv, t.token, pid)["stock_version"] == 4
    with db.cursor() as cur:
        assert sql_one(cur, "SELECT * FROM gb_stock_expected(%s)", (pid,)) == (0, 2, 5)


# ---------------------------------------------------------------- tier cost

def test_tier_cost_is_staff_only(shared):
    srv = shared.srv
    t = new_tenant(srv)
    pid = create_product(srv, t.token, stock=1000, cost_price_cents=6000)["id"]
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 10, "unit_price_cents": 8900, "cost_price_cents": 5600},
             {"threshold": 50, "unit_price_cents": 7900, "cost_price_cents": 0}]
    c = open_campaign(srv, t.token, pid, tiers=tiers)
    assert c["tiers"] == tiers
    assert get_campaign(srv, t.token, c["id"])["tiers"] == tiers
    public = srv.get("/v1/campaigns/%d" % c["id"])
    assert public.status == 200 and public.json["tiers"] == DEFAULT_TIERS, public
    listed = [x for x in srv.get("/v1/campaigns?status=open").json["items"]
              if x["id"] == c["id"]]
    assert listed and listed[0]["tiers"] == DEFAULT_TIERS
    assert b"cost_price_cents" not in srv.get("/v1/campaigns/%d" % c["id"]).body

    # a live campaign's costs may change (the price rule is the shopper's)
    new = [dict(tiers[0], cost_price_cents=7000), tiers[1], dict(tiers[2], cost_price_cents=5000)]
    r = patch(srv, t.token, c["id"], {"tiers": new})
    assert r.status == 200 and r.json["tiers"] == new, r

    # a cost like a product's: an integer 0..10^8, above the price allowed
    loss = [{"threshold": 1, "unit_price_cents": 100, "cost_price_cents": 100000000}]
    assert post_campaign(srv, t.token, pid, tiers=loss).status == 201
    for bad in (-1, 100000001, 1.5, "5600", None, True):
        r = post_campaign(srv, t.token, pid, tiers=[
            {"threshold": 1, "unit_price_cents": 9900, "cost_price_cents": bad}])
        assert_error(r, 400, "invalid_field", "tiers")
    r = post_campaign(srv, t.token, pid, tiers=[
        {"threshold": 1, "unit_price_cents": 9900, "cost": 5000}])
    assert_error(r, 400, "invalid_field", "tiers")
    assert_error(patch(srv, t.token, c["id"], {"tiers": [
        {"threshold": 1, "unit_price_cents": 9900, "cost_price_cents": -5}]}),
        400, "invalid_field", "tiers")


def test_tier_cost_bound_in_the_schema(db):
    """gb_campaign_check holds a stored tier's cost to the product's bound
    (an integer 0..10^8) whoever writes the row."""
    with db.cursor() as cur:
        did, _ = sql_tenant(cur)
        prod = sql_product(cur, did)
        for cost in ("-1", "100000001", "1.5", '"7"'):
            with pytest.raises(psycopg2.errors.CheckViolation) as e:
                cur.execute("INSERT INTO campaigns (distributor_id, product_id, title,"
                            " starts_at, ends_at, tier_basis, tiers, min_participants,"
                            " max_quantity, per_customer_limit, deposit_policy) VALUES"
                            " (%s, %s, 'T', now(), now() + interval '1 day', 'participants',"
                            " ('[{\"threshold\": 1, \"unit_price_cents\": 100,"
                            " \"cost_price_cents\": ' || %s || '}]')::jsonb, 1, 1, 1, '[]')",
                            (did, prod, cost))
            assert e.value.diag.constraint_name == "campaigns_tiers_bound"


# ---------------------------------------------------------------- the schema's guard

def test_the_schema_refuses_more_held_than_stock(db):
    """products_stock_held holds reserved + committed <= stock and no bucket
    below 0, whoever writes the row, and gb_stock_move raises rather than
    clamps."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        prod = sql_product(cur, did, stock=10)
        for sql in ("UPDATE products SET reserved = 11 WHERE id = %s",
                    "UPDATE products SET reserved = 6, committed = 5 WHERE id = %s",
                    "UPDATE products SET committed = -1 WHERE id = %s",
                    "UPDATE products SET sold = -1 WHERE id = %s",
                    "SELECT gb_stock_move(%s, 0, 0, 11, 0)",
                    "SELECT gb_stock_move(%s, -1, 10, 0, 0)"):
            with pytest.raises(psycopg2.errors.CheckViolation) as e:
                cur.execute(sql, (prod,))
            assert e.value.diag.constraint_name == "products_stock_held", sql
        assert sql_one(cur, "SELECT gb_stock_reserve(%s, 11)", (prod,)) == (False,)
        assert sql_one(cur, "SELECT gb_stock_reserve(%s, 10)", (prod,)) == (True,)
        assert sql_one(cur, "SELECT stock, reserved, committed, sold, stock_version"
                            " FROM products WHERE id = %s", (prod,)) == (10, 10, 0, 0, 1)
        # a move of stock is a new version; a move between buckets is not
        cur.execute("SELECT gb_stock_move(%s, 0, -4, 4, 0)", (prod,))
        cur.execute("SELECT gb_stock_move(%s, -4, 0, -4, 4)", (prod,))
        assert sql_one(cur, "SELECT stock, reserved, committed, sold, stock_version"
                            " FROM products WHERE id = %s", (prod,)) == (6, 6, 0, 4, 2)
        out = sql_one(cur, "SELECT outcome, product->>'stock' FROM gb_stock_set(%s, %s, 5, 2,"
                           " %s, 'r')", (did, prod, staff))
        assert out == ("below_held", "6")
        assert sql_audit(cur, "product") == []

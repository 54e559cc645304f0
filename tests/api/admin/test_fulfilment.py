"""Fulfilment (API.md "Fulfilment and after-sales", DESIGN.md "Fulfilment
and after-sales"): pickup points, the fulfilment terms of campaigns, the
join's choice of point or address, orders and their transitions, the
pickup code, and the tenancy of all of them (404 for another distributor's
or customer's resources).
"""
import pytest

from helpers import *
from campaign_helpers import OMIT, create_product, create_campaign, open_campaign, post_campaign
from sql_helpers import sql_audit, sql_one, sql_tenant

POINT = {"name": "幸福小区自提点", "address": "幸福路 1 号", "leader_name": "王团长",
         "leader_phone": "13900000001", "commission_bp": 300}


@pytest.fixture(scope="module")
def srv(shared):
    return shared.srv


def new_point(srv, token, **overrides):
    body = dict(POINT)
    body.update(overrides)
    r = srv.post("/v1/admin/pickup-points", body, token=token)
    assert r.status == 201, r
    return r.json


def test_pickup_points_create_list_get_patch(srv):
    t = new_tenant(srv)
    p = new_point(srv, t.token)
    assert p["distributor_id"] == t.id and p["active"] is True
    assert {k: p[k] for k in POINT} == POINT
    r = srv.get("/v1/admin/pickup-points/%d" % p["id"], token=t.token)
    assert r.status == 200 and r.json == p, r
    r = srv.get("/v1/admin/pickup-points", token=t.token)
    assert r.status == 200 and [x["id"] for x in r.json["items"]] == [p["id"]], r
    r = srv.request("PATCH", "/v1/admin/pickup-points/%d" % p["id"],
                    {"commission_bp": 500, "active": False}, token=t.token)
    assert r.status == 200, r
    assert (r.json["commission_bp"], r.json["active"], r.json["name"]) == (500, False, POINT["name"])


def test_pickup_point_writes_in_sql(db):
    """gb_pickup_point_create / _update: what each answers, the fields an
    update leaves alone (NULL arguments), one audit line each in its
    transaction; another distributor's point is not found."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        other, _ = sql_tenant(cur)
        actor = "staff:%d" % staff
        made = sql_one(cur, "SELECT gb_pickup_point_create(%s, 'P', 'Road 1', 'Wang',"
                            " '13900000001', 300, %s, 'r1')", (did, staff))[0]
        pid = made["id"]

        def now():
            return sql_one(cur, "SELECT gb_pickup_point_json(p) FROM pickup_points p"
                                " WHERE id = %s", (pid,))[0]
        first = now()
        assert made == first and (first["commission_bp"], first["active"]) == (300, True)
        update = "SELECT gb_pickup_point_update(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        cur.execute(update, (other, pid, "Q", None, None, None, None, None, staff, "r2"))
        assert cur.fetchall() == []
        cur.execute(update, (did, pid, None, "Road 2", None, None, 0, False, staff, "r2"))
        answered = cur.fetchall()
        second = now()
        assert answered == [(second,)]
        assert {k: second[k] for k in ("name", "address", "leader_name", "leader_phone",
                                       "commission_bp", "active")} == \
            {"name": "P", "address": "Road 2", "leader_name": "Wang",
             "leader_phone": "13900000001", "commission_bp": 0, "active": False}
        assert sql_audit(cur, "pickup_point") == [
            ("create", pid, staff, actor, None, first, "r1"),
            ("update", pid, staff, actor, first, second, "r2")]


def test_pickup_point_refusals(srv):
    t = new_tenant(srv)
    for field, value in (("commission_bp", 10001), ("commission_bp", -1),
                         ("name", ""), ("leader_phone", 13900000001)):
        body = dict(POINT)
        body[field] = value
        assert_error(srv.post("/v1/admin/pickup-points", body, token=t.token),
                     400, "invalid_field", field)
    body = dict(POINT, active=True)
    assert_error(srv.post("/v1/admin/pickup-points", body, token=t.token),
                 400, "invalid_field", "active")
    p = new_point(srv, t.token)
    other = new_tenant(srv)
    assert_error(srv.get("/v1/admin/pickup-points/%d" % p["id"], token=other.token),
                 404, "not_found")
    assert_error(srv.request("PATCH", "/v1/admin/pickup-points/%d" % p["id"],
                             {"name": "x"}, token=other.token), 404, "not_found")
    assert srv.get("/v1/admin/pickup-points/%d" % p["id"], token=t.token).json["name"] == POINT["name"]


def test_campaign_fulfilment_terms(srv):
    t = new_tenant(srv)
    prod = create_product(srv, t.token)["id"]
    c = create_campaign(srv, t.token, prod)
    assert (c["fulfilment"], c["pickup_point_ids"], c["after_sales_days"],
            c["max_pending_share_bp"]) == ("delivery", [], 7, 5000)
    a, b = new_point(srv, t.token), new_point(srv, t.token, name="B")
    c = create_campaign(srv, t.token, prod, fulfilment="pickup",
                        pickup_point_ids=[b["id"], a["id"]], after_sales_days=0,
                        max_pending_share_bp=10000)
    assert (c["fulfilment"], c["pickup_point_ids"], c["after_sales_days"],
            c["max_pending_share_bp"]) == ("pickup", [b["id"], a["id"]], 0, 10000)
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % c["id"],
                    {"max_pending_share_bp": 2500, "after_sales_days": 30}, token=t.token)
    assert r.status == 200, r
    assert (r.json["max_pending_share_bp"], r.json["after_sales_days"]) == (2500, 30)
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % c["id"],
                    {"fulfilment": "delivery"}, token=t.token)
    assert r.status == 200 and r.json["pickup_point_ids"] == [], r

    # refusals: each names its field and creates nothing
    foreign = new_point(srv, new_tenant(srv).token)
    inactive = new_point(srv, t.token)
    r = srv.request("PATCH", "/v1/admin/pickup-points/%d" % inactive["id"], {"active": False},
                    token=t.token)
    assert r.status == 200 and r.json["active"] is False, r
    for over, field in (({"fulfilment": "pickup"}, "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": []}, "pickup_point_ids"),
                        ({"pickup_point_ids": [a["id"]]}, "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [a["id"], a["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [foreign["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [inactive["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "drone"}, "fulfilment"),
                        ({"after_sales_days": 31}, "after_sales_days"),
                        ({"max_pending_share_bp": 0}, "max_pending_share_bp")):
        assert_error(post_campaign(srv, t.token, prod, **over), 400, "invalid_field", field)
    # an open campaign keeps its fulfilment terms
    o = open_campaign(srv, t.token, prod, fulfilment="pickup", pickup_point_ids=[a["id"]])
    for over in ({"after_sales_days": 3}, {"fulfilment": "delivery"},
                 {"max_pending_share_bp": 100}):
        assert_error(srv.request("PATCH", "/v1/admin/campaigns/%d" % o["id"], over,
                                 token=t.token), 409, "invalid_state")


def test_public_view_shows_fulfilment(srv):
    t = new_tenant(srv)
    a = new_point(srv, t.token)
    o = open_campaign(srv, t.token, fulfilment="pickup", pickup_point_ids=[a["id"]])
    v = srv.get("/v1/campaigns/%d" % o["id"]).json
    assert v["fulfilment"] == "pickup"
    assert v["pickup_points"] == [{"id": a["id"], "name": a["name"], "address": a["address"],
                                   "leader_name": a["leader_name"]}]
    assert "leader_phone" not in str(v)
    d = open_campaign(srv, t.token)
    v = srv.get("/v1/campaigns/%d" % d["id"]).json
    assert v["fulfilment"] == "delivery" and v["pickup_points"] is None


# ---------------------------------------------------------------- orders

from join_helpers import join
from payment_helpers import PAY_ENV, event, webhook

NO_DEPOSIT = [{"min_score": 0, "deposit_percent": 0}]
TIERS = [{"threshold": 1, "unit_price_cents": 9900},
         {"threshold": 2, "unit_price_cents": 8900}]


@pytest.fixture
def psrv(make_server, dbname):
    return make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)


def one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def shopper(srv, login=None):
    p = new_customer(srv, login=login)
    return p, customer_token(srv, p.login)


def close_now(db, cid):
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() + interval '1 second'"
                    " WHERE id = %s", (cid,))
    wait_for("the close",
             lambda: one(db, "SELECT status FROM campaigns WHERE id = %s", (cid,))[0] != "open")


def pay_balance(srv, token, pid):
    r = srv.post("/v1/participations/%d/payments" % pid, token=token)
    assert r.status == 201, r
    p = r.json["payment"]
    assert p["kind"] == "balance", p
    r = webhook(srv, event(p, ref="pr_%d" % p["id"]))
    assert r.status == 200, r
    return p


def my_orders(srv, token):
    r = srv.get("/v1/me/orders", token=token)
    assert r.status == 200, r
    return r.json["items"]


def test_join_takes_the_fulfilment_choice(psrv, db):
    srv = psrv
    t = new_tenant(srv)
    a, b = new_point(srv, t.token), new_point(srv, t.token, name="B")
    pick = open_campaign(srv, t.token, fulfilment="pickup", pickup_point_ids=[a["id"]],
                         deposit_policy=NO_DEPOSIT)["id"]
    deliv = open_campaign(srv, t.token, deposit_policy=NO_DEPOSIT)["id"]
    _, tok = shopper(srv)
    addr = {"name": "张三", "phone": "13900000002", "region": "上海市", "line": "幸福路 2 号"}
    for cid, body, field in ((pick, {"quantity": 1}, "pickup_point_id"),
                             (pick, {"quantity": 1, "pickup_point_id": b["id"]}, "pickup_point_id"),
                             (pick, {"quantity": 1, "pickup_point_id": a["id"], "address": addr},
                              "address"),
                             (deliv, {"quantity": 1, "pickup_point_id": a["id"]}, "pickup_point_id"),
                             (deliv, {"quantity": 1, "address": dict(addr, line="")}, "address"),
                             (deliv, {"quantity": 1, "address": dict(addr, x="y")}, "address")):
        assert_error(join(srv, tok, cid, body=body), 400, "invalid_field", field)
        assert_error(srv.post("/v1/campaigns/%d/participations" % cid, body, token=tok,
                              headers={"Idempotency-Key": uniq("k")}),
                     400, "invalid_field", field)
    assert one(db, "SELECT count(*) FROM participations WHERE campaign_id IN (%s, %s)",
               (pick, deliv))[0] == 0
    r = join(srv, tok, pick, body={"quantity": 1, "pickup_point_id": a["id"]})
    assert r.status == 201, r
    assert one(db, "SELECT pickup_point_id FROM participations WHERE id = %s",
               (r.json["id"],))[0] == a["id"]
    r = join(srv, tok, deliv, body={"quantity": 1, "address": addr})
    assert r.status == 201, r
    assert one(db, "SELECT address FROM participations WHERE id = %s",
               (r.json["id"],))[0] == addr
    _, tok2 = shopper(srv)
    r = join(srv, tok2, deliv, body={"quantity": 1})  # a client from before fulfilment
    assert r.status == 201, r


def test_pickup_orders_ready_code_and_lock(psrv, db):
    srv = psrv
    t = new_tenant(srv)
    a, b = new_point(srv, t.token), new_point(srv, t.token, name="B")
    cid = open_campaign(srv, t.token, fulfilment="pickup", tiers=TIERS,
                        pickup_point_ids=[a["id"], b["id"]], deposit_policy=NO_DEPOSIT,
                        min_participants=2)["id"]
    people = []
    for point, login in ((a, new_phone()), (a, None), (b, None)):
        cust, tok = shopper(srv, login)
        r = join(srv, tok, cid, body={"quantity": 1, "pickup_point_id": point["id"]})
        assert r.status == 201, r
        people.append((cust, tok, r.json["id"], point))
    close_now(db, cid)
    for cust, tok, pid, point in people:
        assert my_orders(srv, tok) == []
        pay_balance(srv, tok, pid)
        (o,) = my_orders(srv, tok)
        assert (o["participation_id"], o["status"], o["fulfilment"], o["quantity"]) == \
            (pid, "to_ship", "pickup", 1)
        assert o["pickup_point"] == {"id": point["id"], "name": point["name"],
                                     "address": point["address"]}
        assert "pickup_code" not in o
    # another customer, another distributor: 404
    stranger = shopper(srv)[1]
    oid = my_orders(srv, people[0][1])[0]["id"]
    assert_error(srv.get("/v1/orders/%d" % oid, token=stranger), 404, "not_found")
    other = new_tenant(srv)
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid, {"pickup_code": "000000"},
                          token=other.token), 404, "not_found")
    assert_error(srv.post("/v1/admin/campaigns/%d/orders/ready" % cid,
                          {"pickup_point_id": a["id"]}, token=other.token), 404, "not_found")
    # not ready yet
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid, {"pickup_code": "000000"},
                          token=t.token), 409, "invalid_state")
    r = srv.post("/v1/admin/campaigns/%d/orders/ready" % cid, {"pickup_point_id": a["id"]},
                 token=t.token)
    assert r.status == 201 and r.json == {"updated": 2}, r
    r = srv.post("/v1/admin/campaigns/%d/orders/ready" % cid, {"pickup_point_id": a["id"]},
                 token=t.token)
    assert r.status == 201 and r.json == {"updated": 0}, r
    assert my_orders(srv, people[2][1])[0]["status"] == "to_ship"
    codes = []
    for cust, tok, pid, point in people[:2]:
        (o,) = my_orders(srv, tok)
        assert o["status"] == "ready_for_pickup" and o["ready_at"], o
        assert len(o["pickup_code"]) == 6 and o["pickup_code"].isdigit(), o
        codes.append((o["id"], o["pickup_code"]))
    # staff never see the code, and the table keeps only a hash
    r = srv.get("/v1/admin/orders?campaign_id=%d&status=ready_for_pickup" % cid, token=t.token)
    assert r.status == 200 and len(r.json["items"]) == 2, r
    assert all("pickup_code" not in o for o in r.json["items"])
    assert codes[0][1] not in r.body.decode()
    # the leader's list: masked phones
    r = srv.get("/v1/admin/exports/pickup-list.csv?campaign_id=%d&pickup_point_id=%d"
                % (cid, a["id"]), token=t.token)
    assert r.status == 200, r
    rows = r.body.decode().splitlines()
    assert rows[0] == "order_id,customer,phone,quantity,status"
    assert len(rows) == 3
    login = people[0][0].login  # a phone number; the others e-mails
    assert login not in r.body.decode()
    assert login.startswith("+86")  # E.164; the leader sees 139****0001
    assert rows[1].split(",")[2] == login[3:6] + "****" + login[-4:]
    assert rows[2].split(",")[2].startswith(people[1][0].login[0] + "***@")
    assert_error(srv.get("/v1/admin/exports/pickup-list.csv?campaign_id=%d&pickup_point_id=%d"
                         % (cid, a["id"]), token=other.token), 404, "not_found")
    assert_error(srv.get("/v1/admin/exports/pickup-list.csv?campaign_id=%d" % cid,
                         token=t.token), 400, "invalid_field", "pickup_point_id")
    (oid0, code0), (oid1, code1) = codes
    wrong = "%06d" % ((int(code0) + 1) % 1000000)
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid0, {"pickup_code": "12345"},
                          token=t.token), 400, "invalid_field", "pickup_code")
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid0, {"pickup_code": wrong},
                          token=t.token), 409, "invalid_state", "pickup_code")
    r = srv.post("/v1/admin/orders/%d/pickup" % oid0, {"pickup_code": code0}, token=t.token)
    assert r.status == 200 and r.json["status"] == "picked_up" and r.json["completed_at"], r
    assert "pickup_code" not in r.json
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid0, {"pickup_code": code0},
                          token=t.token), 409, "invalid_state")
    # five wrong codes lock the order, even against the right one
    wrong = "%06d" % ((int(code1) + 1) % 1000000)
    for _ in range(4):
        assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid1, {"pickup_code": wrong},
                              token=t.token), 409, "invalid_state")
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid1, {"pickup_code": wrong},
                          token=t.token), 429, "rate_limited")
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid1, {"pickup_code": code1},
                          token=t.token), 429, "rate_limited")
    # the lock lasts 15 minutes: with 14 min 50 s of it gone (the clock
    # moved by moving the lock) it still holds, 20 s later it is over
    def lock_moved(by):
        with db.cursor() as cur:
            cur.execute("UPDATE orders SET pickup_locked_until = pickup_locked_until - %s"
                        " * interval '1 second' WHERE id = %s", (by, oid1))
            assert cur.rowcount == 1
    lock_moved(14 * 60 + 50)
    assert_error(srv.post("/v1/admin/orders/%d/pickup" % oid1, {"pickup_code": code1},
                          token=t.token), 429, "rate_limited")
    lock_moved(20)
    r = srv.post("/v1/admin/orders/%d/pickup" % oid1, {"pickup_code": code1}, token=t.token)
    assert r.status == 200 and r.json["status"] == "picked_up", r
    kinds = [k for (k,) in db_all(db, "SELECT kind FROM outbox WHERE campaign_id = %s"
                                      " AND kind LIKE 'order.%%' ORDER BY id", (cid,))]
    assert kinds == ["order.ready_for_pickup"] * 2 + ["order.picked_up"] * 2


def db_all(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def test_delivery_orders_address_ship_deliver(psrv, db):
    srv = psrv
    t = new_tenant(srv)
    cid = open_campaign(srv, t.token, deposit_policy=NO_DEPOSIT, tiers=TIERS,
                        min_participants=1)["id"]
    cust, tok = shopper(srv)
    pid = join(srv, tok, cid, body={"quantity": 2}).json["id"]
    close_now(db, cid)
    pay_balance(srv, tok, pid)
    (o,) = my_orders(srv, tok)
    assert (o["fulfilment"], o["status"], o["address"], o["pickup_point"]) == \
        ("delivery", "to_ship", None, None)
    ship = {"carrier": "SF", "tracking_no": "SF123"}
    assert_error(srv.post("/v1/admin/orders/%d/ship" % o["id"], ship, token=t.token),
                 409, "invalid_state", "address")
    addr = {"name": "李四", "phone": "13900000003", "region": "北京市", "line": "长安街 1 号"}
    assert_error(srv.request("PUT", "/v1/orders/%d/address" % o["id"], addr,
                             token=shopper(srv)[1]), 404, "not_found")
    r = srv.request("PUT", "/v1/orders/%d/address" % o["id"], addr, token=tok)
    assert r.status == 200 and r.json["address"] == addr, r
    assert_error(srv.post("/v1/admin/orders/%d/deliver" % o["id"], token=t.token),
                 409, "invalid_state")
    assert_error(srv.post("/v1/admin/orders/%d/ship" % o["id"], ship,
                          token=new_tenant(srv).token), 404, "not_found")
    r = srv.post("/v1/admin/orders/%d/ship" % o["id"], ship, token=t.token)
    assert r.status == 200, r
    assert (r.json["status"], r.json["carrier"], r.json["tracking_no"]) == ("shipped", "SF", "SF123")
    assert_error(srv.request("PUT", "/v1/orders/%d/address" % o["id"], addr, token=tok),
                 409, "invalid_state")
    r = srv.post("/v1/admin/orders/%d/deliver" % o["id"], token=t.token)
    assert r.status == 200 and r.json["status"] == "delivered", r
    assert my_orders(srv, tok)[0]["status"] == "delivered"
    # the staff's list: the customer with the login masked (DESIGN.md,
    # "Privacy between distributors"); the delivery address of the
    # distributor's own order keeps the phone it needs to deliver
    r = srv.get("/v1/admin/orders?campaign_id=%d" % cid, token=t.token)
    (staff_o,) = r.json["items"]
    assert staff_o["customer"]["id"] == cust.id and staff_o["address"] == addr, staff_o
    assert staff_o["customer"]["login"] != cust.login
    assert cust.login not in r.body.decode()
    kinds = [k for (k,) in db_all(db, "SELECT kind FROM outbox WHERE campaign_id = %s"
                                      " AND kind LIKE 'order.%%' ORDER BY id", (cid,))]
    assert kinds == ["order.shipped", "order.delivered"]


# ---------------------------------------------------------------- settlement

def rnd(amount, bp):
    """(amount x bp + 5000) div 10000, DESIGN.md's rounding."""
    return (amount * bp + 5000) // 10000


def reconcile(db, cid):
    return one(db, "SELECT received_cents, refunded_cents, split_cents, difference_cents"
                   " FROM gb_campaign_reconcile(%s)", (cid,))


def test_pickup_settlement_pays_the_leaders(psrv, db):
    """Two points at 3.33 % and 12.5 %; a third shopper's point changes its
    commission before settlement (the rate at settlement applies). Every
    line, total, ledger entry and CSV row against a hand computation."""
    srv = psrv
    bp = 750
    t = new_tenant(srv)
    with db.cursor() as cur:
        cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s", (bp, t.id))
    a = new_point(srv, t.token, commission_bp=333)
    b = new_point(srv, t.token, name="B", commission_bp=1250)
    prod = create_product(srv, t.token, cost_price_cents=5100, list_price_cents=10000)["id"]
    cid = open_campaign(srv, t.token, prod, fulfilment="pickup", tiers=TIERS,
                        pickup_point_ids=[a["id"], b["id"]], deposit_policy=NO_DEPOSIT,
                        min_participants=2, per_customer_limit=5)["id"]
    joins = [(a, 3), (b, 1), (b, 2)]
    pids = []
    for point, q in joins:
        _, tok = shopper(srv)
        r = join(srv, tok, cid, body={"quantity": q, "pickup_point_id": point["id"]})
        assert r.status == 201, r
        pids.append((r.json["id"], tok))
    close_now(db, cid)
    r = srv.request("PATCH", "/v1/admin/pickup-points/%d" % b["id"], {"commission_bp": 1000},
                    token=t.token)
    assert r.status == 200, r
    for pid, tok in pids:
        pay_balance(srv, tok, pid)
    wait_for("the settlement",
             lambda: srv.get("/v1/admin/settlements/%d" % cid, token=t.token).status == 200)
    s = srv.get("/v1/admin/settlements/%d" % cid, token=t.token).json
    price = 8900
    want_lines = []
    for (point, q), (pid, _) in zip(joins, pids):
        gross = price * q
        leader_bp = 333 if point is a else 1000
        com, man, lead = rnd(gross, bp), 5100 * q, rnd(gross, leader_bp)
        want_lines.append({"participation_id": pid, "status": "paid", "quantity": q,
                           "unit_price_cents": price, "gross_cents": gross,
                           "forfeited_cents": 0, "commission_cents": com,
                           "manufacturer_cents": man, "leader_commission_cents": lead,
                           "pickup_point_id": point["id"],
                           "distributor_net_cents": gross - com - man - lead})
    got = [{k: l[k] for k in want_lines[0]} for l in s["lines"]]
    assert got == want_lines
    # gross 26700, 8900, 17800: leaders 3.33 % and (changed) 10 %
    assert [l["leader_commission_cents"] for l in want_lines] == [889, 890, 1780]
    tot = s["totals"]
    for k in ("gross_cents", "commission_cents", "manufacturer_cents",
              "leader_commission_cents", "distributor_net_cents"):
        assert tot[k] == sum(l[k] for l in want_lines), k
    assert tot["received_cents"] == 6 * price and tot["refunded_cents"] == 0
    assert s["adjustments"] == []
    assert reconcile(db, cid)[3] == 0
    ledger = dict(db_all(db, "SELECT kind, amount_cents FROM ledger_entries"
                             " WHERE campaign_id = %s AND movement_key LIKE 'settle:%%'",
                         (cid,)))
    assert ledger == {"commission": tot["commission_cents"],
                      "manufacturer_payable": tot["manufacturer_cents"],
                      "leader_commission": tot["leader_commission_cents"],
                      "distributor_net": tot["distributor_net_cents"]}
    r = srv.get("/v1/admin/exports/settlements.csv", token=t.token)
    assert r.status == 200, r
    rows = [row.split(",") for row in r.body.decode().splitlines()]
    assert rows[0][-1] == "leader_commission"
    mine = [row for row in rows[1:] if row[1] == str(cid)]
    assert [(row[3], row[5], row[-2], row[-1]) for row in mine] == \
        [(str(l["participation_id"]), "paid", "%.2f" % (l["distributor_net_cents"] / 100),
          "%.2f" % (l["leader_commission_cents"] / 100)) for l in want_lines]


# ---------------------------------------------------------------- after-sales

import threading

ADDR = {"name": "王五", "phone": "13900000004", "region": "杭州市", "line": "西湖路 3 号"}


def delivered(srv, t, oid):
    r = srv.post("/v1/admin/orders/%d/ship" % oid, {"carrier": "SF", "tracking_no": "T%d" % oid},
                 token=t.token)
    assert r.status == 200, r
    r = srv.post("/v1/admin/orders/%d/deliver" % oid, token=t.token)
    assert r.status == 200, r


def settlement_of(srv, t, cid):
    r = srv.get("/v1/admin/settlements/%d" % cid, token=t.token)
    return r.json if r.status == 200 else None


class Sale:
    """A delivery campaign at 89.00 (cost 51.00, commission 7.5 %) with
    shoppers of the given quantities, closed; balances not yet paid."""

    def __init__(self, srv, db, quantities):
        self.srv, self.db = srv, db
        self.t = new_tenant(srv)
        with db.cursor() as cur:
            cur.execute("UPDATE distributors SET commission_bp = 750 WHERE id = %s", (self.t.id,))
        prod = create_product(srv, self.t.token, cost_price_cents=5100)["id"]
        self.cid = open_campaign(srv, self.t.token, prod, tiers=TIERS, deposit_policy=NO_DEPOSIT,
                                 min_participants=1, after_sales_days=7)["id"]
        self.people = []
        for q in quantities:
            _, tok = shopper(srv)
            r = join(srv, tok, self.cid, body={"quantity": q, "address": ADDR})
            assert r.status == 201, r
            self.people.append((tok, r.json["id"], q))
        close_now(db, self.cid)

    def pay(self, i):
        tok, pid, _ = self.people[i]
        pay_balance(self.srv, tok, pid)
        (o,) = my_orders(self.srv, tok)
        return o["id"]

    def ask(self, i, oid, amount, quantity=1):
        return self.srv.post("/v1/orders/%d/after-sales" % oid,
                             {"reason": "破损 damaged", "quantity": quantity,
                              "amount_cents": amount}, token=self.people[i][0])

    def approve(self, aid, amount, returned):
        return self.srv.post("/v1/admin/after-sales/%d/approve" % aid,
                             {"amount_cents": amount, "returned_quantity": returned},
                             token=self.t.token)


def test_after_sales_refusals_and_reject(psrv, db):
    srv = psrv
    s = Sale(srv, db, [2])
    oid = s.pay(0)
    assert my_orders(srv, s.people[0][0])[0]["after_sales"] == []
    assert_error(s.ask(0, oid, 100), 409, "invalid_state")  # not delivered yet
    delivered(srv, s.t, oid)
    # one shopper: the first tier, 2 x 99.00 paid
    assert_error(s.ask(0, oid, 19801), 400, "invalid_field", "amount_cents")
    assert_error(s.ask(0, oid, 100, quantity=3), 400, "invalid_field", "quantity")
    assert_error(srv.post("/v1/orders/%d/after-sales" % oid,
                          {"reason": "x", "quantity": 1, "amount_cents": 100},
                          token=shopper(srv)[1]), 404, "not_found")
    r = s.ask(0, oid, 500)
    assert r.status == 201 and r.json["status"] == "pending", r
    aid = r.json["id"]
    assert_error(s.ask(0, oid, 500), 409, "invalid_state")  # one open request
    other = new_tenant(srv)
    assert_error(srv.post("/v1/admin/after-sales/%d/reject" % aid, {}, token=other.token),
                 404, "not_found")
    r = srv.get("/v1/admin/after-sales?status=pending", token=s.t.token)
    assert [a["id"] for a in r.json["items"]] == [aid], r
    # with the customer (login masked) and the campaign's title
    a = r.json["items"][0]
    assert a["customer"]["id"] == a["customer_id"], a
    assert a["customer"]["login"].endswith("***@example.com"), a
    assert a["campaign_title"], a
    assert srv.get("/v1/admin/after-sales", token=other.token).json["items"] == []
    r = srv.post("/v1/admin/after-sales/%d/reject" % aid, {"note": "no damage seen"},
                 token=s.t.token)
    assert r.status == 200 and r.json["status"] == "rejected", r
    # the shopper's order shows what became of the request
    (o,) = my_orders(srv, s.people[0][0])
    assert [(a["id"], a["status"], a["note"]) for a in o["after_sales"]] == \
        [(aid, "rejected", "no damage seen")]
    assert srv.get("/v1/orders/%d" % oid, token=s.people[0][0]).json["after_sales"] == o["after_sales"]
    assert_error(s.approve(aid, 500, 0), 409, "invalid_state")
    # the window: after_sales_days after delivery
    with db.cursor() as cur:
        cur.execute("UPDATE orders SET completed_at = now() - interval '7 days 1 minute'"
                    " WHERE id = %s", (oid,))
    assert_error(s.ask(0, oid, 500), 409, "invalid_state")
    assert one(db, "SELECT count(*) FROM ledger_entries WHERE movement_key LIKE"
                   " 'refund:after_sales:%%' AND campaign_id = %s", (s.cid,))[0] == 0


def test_after_sales_before_settlement_is_a_refund_the_settlement_sees(psrv, db):
    srv = psrv
    s = Sale(srv, db, [2, 1])
    oid = s.pay(0)
    delivered(srv, s.t, oid)
    aid = s.ask(0, oid, 5000).json["id"]
    assert_error(s.approve(aid, 17801, 1), 400, "invalid_field", "amount_cents")
    assert_error(s.approve(aid, 3000, 3), 400, "invalid_field", "returned_quantity")
    r = s.approve(aid, 8900, 1)
    assert r.status == 200 and (r.json["status"], r.json["approved_cents"]) == ("approved", 8900), r
    assert settlement_of(srv, s.t, s.cid) is None
    s.pay(1)
    wait_for("the settlement", lambda: settlement_of(srv, s.t, s.cid))
    st = settlement_of(srv, s.t, s.cid)
    l0, l1 = sorted(st["lines"], key=lambda l: l["participation_id"])
    # kept: 17800 - 8900 = 8900 on 1 unit; commission 668, manufacturer 5100
    assert (l0["quantity"], l0["gross_cents"], l0["commission_cents"],
            l0["manufacturer_cents"], l0["distributor_net_cents"]) == (2, 8900, 668, 5100, 3132)
    assert (l1["gross_cents"], l1["distributor_net_cents"]) == (8900, 8900 - 668 - 5100)
    assert st["totals"]["refunded_cents"] == 8900 and st["totals"]["received_cents"] == 26700
    assert st["adjustments"] == []
    assert reconcile(db, s.cid)[3] == 0


def test_after_sales_after_settlement_writes_an_adjustment(psrv, db):
    srv = psrv
    s = Sale(srv, db, [3])
    oid = s.pay(0)
    wait_for("the settlement", lambda: settlement_of(srv, s.t, s.cid))
    assert reconcile(db, s.cid)[3] == 0
    delivered(srv, s.t, oid)
    aid = s.ask(0, oid, 9999, quantity=1).json["id"]
    r = s.approve(aid, 8901, 1)
    assert r.status == 200, r
    st = settlement_of(srv, s.t, s.cid)
    (adj,) = st["adjustments"]
    com = (8901 * 750 + 5000) // 10000  # 668 (667.575)
    assert (adj["gross_cents"], adj["commission_cents"], adj["manufacturer_cents"],
            adj["leader_commission_cents"], adj["distributor_net_cents"]) == \
        (-8901, -com, -5100, 0, -8901 + com + 5100)
    # one shopper: the first tier, 3 x 99.00 paid
    assert reconcile(db, s.cid) == (29700, 8901, 29700 - 8901, 0)
    # a second request: at most paid less refunded (29700 - 8901)
    aid2 = s.ask(0, oid, 100, quantity=0).json["id"]
    assert_error(s.approve(aid2, 29700 - 8901 + 1, 0), 400, "invalid_field", "amount_cents")
    assert_error(s.approve(aid2, 1, 3), 400, "invalid_field", "returned_quantity")
    assert s.approve(aid2, 29700 - 8901, 0).status == 200
    assert reconcile(db, s.cid)[3] == 0
    r = srv.get("/v1/admin/exports/settlements.csv", token=s.t.token)
    rows = [row.split(",") for row in r.body.decode().splitlines()[1:]]
    adj_rows = [row for row in rows if row[5] == "adjustment"]
    assert [(row[1], row[6], row[8], row[10], row[11], row[12], row[13]) for row in adj_rows] == [
        (str(s.cid), "1", "-89.01", "-6.68", "-51.00", "-31.33", "0.00"),
        (str(s.cid), "0", "-207.99", "-15.60", "0.00", "-192.39", "0.00")]
    # the period of the approval holds it, an earlier one does not
    r = srv.get("/v1/admin/exports/settlements.csv?to=2000-01-01T00:00:00Z", token=s.t.token)
    assert "adjustment" not in r.body.decode()
    ledger = dict(db_all(db, "SELECT movement_key, amount_cents FROM ledger_entries"
                             " WHERE movement_key LIKE %s", ("adjust:%d:%%" % aid,)))
    assert ledger == {"adjust:%d:commission" % aid: -com,
                      "adjust:%d:manufacturer" % aid: -5100,
                      "adjust:%d:distributor_net" % aid: -8901 + com + 5100}


def test_concurrent_approvals_make_one_refund(psrv, db):
    srv = psrv
    s = Sale(srv, db, [1])
    oid = s.pay(0)
    delivered(srv, s.t, oid)
    aid = s.ask(0, oid, 9900).json["id"]
    results = []
    barrier = threading.Barrier(4)

    def go():
        barrier.wait()
        results.append(s.approve(aid, 9900, 1).status)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [200, 409, 409, 409], results
    assert one(db, "SELECT count(*), sum(amount_cents) FROM ledger_entries"
                   " WHERE campaign_id = %s AND kind = 'refund_issued'", (s.cid,)) == (1, 9900)
    assert one(db, "SELECT count(*) FROM outbox WHERE kind = 'refund.issued'"
                   " AND campaign_id = %s", (s.cid,))[0] == 1
    assert reconcile(db, s.cid)[3] == 0

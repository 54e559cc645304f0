"""Settlement totals after adjustments (API.md "Settlement totals after
adjustments"), end to end through HTTP: a pickup campaign with a leader's
commission settles; after-sales refunds approved afterwards move the
settlement's "totals" (gross, commission, manufacturer, leader commission,
distributor net, refunded) while "settled_totals" keep the figures of
settled_at; the list carries both; received - refunded = the split on
"totals" after every refund; the adjustments of a period are listed as
the CSV export dates them; a cost price edited after the settlement does
not reach back into the adjustments of that settlement.
"""
import pytest

from helpers import *
from campaign_helpers import create_product, open_campaign
from join_helpers import join
from payment_helpers import PAY_ENV, event, webhook

BP = 750          # the distributor's commission, 7.5 %
LEADER_BP = 300   # the pickup point's, 3 %
COST = 5100
PRICE = 9900      # one tier
SPLIT = ("commission_cents", "manufacturer_cents", "leader_commission_cents",
         "distributor_net_cents")
MOVING = ("gross_cents",) + SPLIT


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)


def rnd(amount, bp):
    return (amount * bp + 5000) // 10000


class PickupSale:
    """A pickup campaign at 99.00 (cost 51.00, commission 7.5 %, leader 3 %)
    whose shoppers (of the given quantities) have paid, settled, and whose
    orders were picked up."""

    def __init__(self, srv, db, quantities):
        self.srv, self.db = srv, db
        self.t = new_tenant(srv)
        with db.cursor() as cur:
            cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s",
                        (BP, self.t.id))
        self.product = create_product(srv, self.t.token, cost_price_cents=COST)["id"]
        r = srv.post("/v1/admin/pickup-points",
                     {"name": "幸福小区", "address": "幸福路 1 号", "leader_name": "王团长",
                      "leader_phone": "13900000001", "commission_bp": LEADER_BP},
                     token=self.t.token)
        assert r.status == 201, r
        self.point = r.json["id"]
        self.cid = open_campaign(srv, self.t.token, self.product,
                                 tiers=[{"threshold": 1, "unit_price_cents": PRICE}],
                                 deposit_policy=[{"min_score": 0, "deposit_percent": 0}],
                                 min_participants=1, fulfilment="pickup",
                                 pickup_point_ids=[self.point])["id"]
        self.people = []
        for q in quantities:
            c = new_customer(srv)
            tok = customer_token(srv, c.login)
            r = join(srv, tok, self.cid, body={"quantity": q, "pickup_point_id": self.point})
            assert r.status == 201, r
            self.people.append((tok, r.json["id"], q))
        with db.cursor() as cur:
            cur.execute("UPDATE campaigns SET ends_at = now() + interval '1 second'"
                        " WHERE id = %s", (self.cid,))
        wait_for("the close", lambda: self.status() == "succeeded")
        self.orders = []
        for tok, pid, _ in self.people:
            r = srv.post("/v1/participations/%d/payments" % pid, token=tok)
            assert r.status == 201, r
            assert webhook(srv, event(r.json["payment"], ref="pr_%d" % pid)).status == 200
            (o,) = srv.get("/v1/me/orders", token=tok).json["items"]
            self.orders.append(o["id"])
        wait_for("the settlement", lambda: self.settlement())
        r = srv.post("/v1/admin/campaigns/%d/orders/ready" % self.cid,
                     {"pickup_point_id": self.point}, token=self.t.token)
        assert r.status == 201, r
        for (tok, _, _), oid in zip(self.people, self.orders):
            code = srv.get("/v1/orders/%d" % oid, token=tok).json["pickup_code"]
            r = srv.post("/v1/admin/orders/%d/pickup" % oid, {"pickup_code": code},
                         token=self.t.token)
            assert r.status == 200, r

    def status(self):
        with self.db.cursor() as cur:
            cur.execute("SELECT status FROM campaigns WHERE id = %s", (self.cid,))
            return cur.fetchone()[0]

    def settlement(self):
        r = self.srv.get("/v1/admin/settlements/%d" % self.cid, token=self.t.token)
        return r.json if r.status == 200 else None

    def refund(self, i, amount, returned):
        """The shopper asks, the owner approves: the approved request."""
        tok = self.people[i][0]
        r = self.srv.post("/v1/orders/%d/after-sales" % self.orders[i],
                          {"reason": "坏了", "quantity": returned, "amount_cents": amount},
                          token=tok)
        assert r.status == 201, r
        r = self.srv.post("/v1/admin/after-sales/%d/approve" % r.json["id"],
                          {"amount_cents": amount, "returned_quantity": returned},
                          token=self.t.token)
        assert r.status == 200, r
        return r.json


def balanced(tot):
    return tot["received_cents"] - tot["refunded_cents"] == sum(tot[k] for k in SPLIT)


def test_totals_move_with_refunds_and_settled_totals_stay(srv, db):
    s = PickupSale(srv, db, [2, 1])
    first = s.settlement()
    gross = 3 * PRICE
    settled = {"lines": 2, "quantity": 3, "gross_cents": gross, "forfeited_cents": 0,
               "commission_cents": rnd(2 * PRICE, BP) + rnd(PRICE, BP),
               "manufacturer_cents": 3 * COST,
               "leader_commission_cents": rnd(2 * PRICE, LEADER_BP) + rnd(PRICE, LEADER_BP),
               "received_cents": gross, "refunded_cents": 0,
               "adjustments": 0, "returned_quantity": 0}
    settled["distributor_net_cents"] = gross - sum(
        settled[k] for k in SPLIT if k != "distributor_net_cents")
    assert first["settled_totals"] == settled
    assert first["totals"] == settled
    # two refunds after settlement, one of them of the same order twice
    expect = dict(settled)
    for i, amount, returned in ((0, 1000, 0), (0, 9900, 1), (1, 1, 0)):
        s.refund(i, amount, returned)
        com, lead = rnd(amount, BP), rnd(amount, LEADER_BP)
        expect["gross_cents"] -= amount
        expect["commission_cents"] -= com
        expect["leader_commission_cents"] -= lead
        expect["manufacturer_cents"] -= COST * returned
        expect["distributor_net_cents"] -= amount - com - lead - COST * returned
        expect["refunded_cents"] += amount
        expect["adjustments"] += 1
        expect["returned_quantity"] += returned
        now = s.settlement()
        assert now["settled_totals"] == settled, now
        assert now["totals"] == expect, now
        assert balanced(now["totals"]), now["totals"]
        # the totals now are the settlement's lines plus its adjustment lines
        for k in MOVING:
            assert now["totals"][k] == sum(l[k] for l in now["lines"]) + \
                sum(a[k] for a in now["adjustments"]), k
        assert [a["refunded_cents"] for a in now["adjustments"]] == \
            [-a["gross_cents"] for a in now["adjustments"]]
    # the list carries both, and agrees with the detail
    r = srv.get("/v1/admin/settlements", token=s.t.token)
    assert r.status == 200, r
    (item,) = r.json["items"]
    assert (item["totals"], item["settled_totals"]) == (expect, settled)
    # what the ledger says: the reconciliation function agrees
    with db.cursor() as cur:
        cur.execute("SELECT received_cents, refunded_cents, difference_cents"
                    " FROM gb_campaign_reconcile(%s)", (s.cid,))
        assert cur.fetchone() == (expect["received_cents"], expect["refunded_cents"], 0)


def test_adjustments_of_a_period_are_the_csv_rows(srv, db):
    s = PickupSale(srv, db, [3])
    a1 = s.refund(0, 500, 1)
    a2 = s.refund(0, 700, 0)
    other = new_tenant(srv)
    r = srv.get("/v1/admin/settlement-adjustments", token=s.t.token)
    assert r.status == 200, r
    items = r.json["items"]
    assert [x["after_sales_id"] for x in items] == [a1["id"], a2["id"]]
    settled_at = s.settlement()["settled_at"]
    for x in items:
        assert (x["campaign_id"], x["settled_at"], x["status"]) == (s.cid, settled_at,
                                                                   "adjustment")
        assert x["campaign_title"]
    assert srv.get("/v1/admin/settlement-adjustments", token=other.token).json["items"] == []
    # paging
    r = srv.get("/v1/admin/settlement-adjustments?limit=1", token=s.t.token)
    assert len(r.json["items"]) == 1 and r.json["next_after"] == items[0]["id"], r
    r = srv.get("/v1/admin/settlement-adjustments?after=%d" % items[0]["id"], token=s.t.token)
    assert [x["id"] for x in r.json["items"]] == [items[1]["id"]], r
    # a period is on the approval time, as in the CSV
    r = srv.get("/v1/admin/settlement-adjustments?to=2000-01-01T00:00:00Z", token=s.t.token)
    assert r.json["items"] == [], r
    r = srv.get("/v1/admin/settlement-adjustments?from=2000-01-01T00:00:00Z", token=s.t.token)
    assert len(r.json["items"]) == 2, r
    assert_error(srv.get("/v1/admin/settlement-adjustments?from=yesterday", token=s.t.token),
                 400, "invalid_field", "from")
    csv = srv.get("/v1/admin/exports/settlements.csv", token=s.t.token).body.decode()
    head, *rows = csv.strip().splitlines()
    cols = head.split(",")
    adj = [dict(zip(cols, row.split(","))) for row in rows if ",adjustment," in row]
    cents = lambda v: round(float(v) * 100)  # noqa: E731
    assert [(cents(a["gross"]), cents(a["commission"]), cents(a["manufacturer"]),
             cents(a["leader_commission"]), cents(a["distributor_net"])) for a in adj] == \
        [(x["gross_cents"], x["commission_cents"], x["manufacturer_cents"],
          x["leader_commission_cents"], x["distributor_net_cents"]) for x in items]
    # who may read it
    fin = new_staff(srv, s.t.token, role="finance")
    assert srv.get("/v1/admin/settlement-adjustments",
                   token=staff_token(srv, fin.login)).status == 200
    op = new_staff(srv, s.t.token, role="operator")
    assert_error(srv.get("/v1/admin/settlement-adjustments",
                         token=staff_token(srv, op.login)), 403, "forbidden")


def test_a_cost_edited_after_settlement_does_not_reach_back(srv, db):
    s = PickupSale(srv, db, [2])
    r = srv.request("PATCH", "/v1/admin/products/%d" % s.product,
                    {"cost_price_cents": 7777}, token=s.t.token)
    assert r.status == 200 and r.json["cost_price_cents"] == 7777, r
    s.refund(0, 9900, 1)
    (adj,) = s.settlement()["adjustments"]
    assert adj["manufacturer_cents"] == -COST, adj
    assert balanced(s.settlement()["totals"])

"""A randomized reconciliation of fulfilment and after-sales:
a few hundred succeeded campaigns with random tiers' final prices, cost
prices and tier costs (the manufacturer's price at the final tier, or the
product's when the tier has none), distributor commissions, delivery or pickup with random leader
commissions (0 to 100 %), random quantities, defaults (forfeited
deposits), withdrawals (refunded deposits), and random after-sales
refunds approved before and after settlement (and rejected ones).

The HTTP paths are covered by test_fulfilment.py; here the database
functions are driven directly for speed: the rows a lifecycle leaves are
inserted (participations, payments' ledger entries), a participation's
move to paid creates its order through the trigger, orders are marked
delivered, and gb_after_sales_request / _approve / _reject and
gb_campaign_settle do the work under test. Every settlement line, total
and adjustment is compared with a hand computation of DESIGN.md's table
written here, and gb_campaign_reconcile must show a difference of 0 for
every campaign after every step. After settlement, any number of rounds
of refunds: after each, the settlement's "totals" (the figures now) hold
received - refunded = the split and equal its "settled_totals" plus the
adjustments, which stay as they were at settlement. It runs with the
suite's fixed seed and a fresh one (conftest.py); a failure prints the
line that replays its seed.
"""
import json
import random

from helpers import *
from sql_helpers import sql_stock_sync_campaign


def rnd(amount, bp):
    return (amount * bp + 5000) // 10000


def q1(cur, sql, params=()):
    cur.execute(sql, params)
    return cur.fetchone()


def difference(cur, cid):
    return q1(cur, "SELECT difference_cents FROM gb_campaign_reconcile(%s)", (cid,))[0]


def ledger(cur, did, cid, pid, kind, amount, key):
    cur.execute("INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id,"
                " kind, amount_cents, movement_key) VALUES (%s, %s, %s, %s, %s, %s)",
                (did, cid, pid, kind, amount, key))


class World:
    def __init__(self, cur, rng):
        self.cur, self.rng = cur, rng
        self.did = q1(cur, "INSERT INTO distributors (name, commission_bp) VALUES"
                           " ('Random', 500) RETURNING id")[0]
        self.staff = q1(cur, "INSERT INTO staff (distributor_id, login, password_hash, role)"
                             " VALUES (%s, %s, 'x', 'owner') RETURNING id",
                        (self.did, uniq("rnd-owner-") + "@example.com"))[0]
        self.customers = [q1(cur, "INSERT INTO customers (login, password_hash, display_name)"
                                  " VALUES (%s, 'x', 'R') RETURNING id",
                             (uniq("rnd-") + "@example.com",))[0] for _ in range(10)]
        self.points = {}
        for _ in range(6):
            bp = rng.choice([0, 1, 250, 333, 1000, 1250, 5000, 9999, 10000])
            pid = q1(cur, "INSERT INTO pickup_points (distributor_id, name, address,"
                          " leader_name, leader_phone, commission_bp) VALUES"
                          " (%s, 'P', 'A', 'L', '13900000000', %s) RETURNING id",
                     (self.did, bp))[0]
            self.points[pid] = bp
        self.seq = 0

    def campaign(self):
        cur, rng = self.cur, self.rng
        self.seq += 1
        cost = rng.choice([0, 1, 999, 5100, 9999, 12345])
        list_price = rng.choice([100, 9900, 10000, 99999, 100000000])
        final = rng.randint(1, list_price)
        pickup = rng.random() < 0.6
        points = rng.sample(sorted(self.points), rng.randint(1, 3)) if pickup else []
        # the ladder, each tier with or without the manufacturer's cost at
        # its volume (0, below, at or above the tier's price, or none: the
        # product's); the final tier, whose cost settlement pays, is the one
        # the count of paid and defaulted participants reaches
        ladder = [(1, list_price)] + ([(3, list_price - 1)] if list_price > 1 else [])
        ladder = [(t, pr, rng.choice([None, None, 0, rng.randint(0, pr), pr,
                                      rng.randint(pr, 2 * pr)])) for t, pr in ladder]
        tiers = [dict(threshold=t, unit_price_cents=pr,
                      **({} if k is None else {"cost_price_cents": min(k, 100000000)}))
                 for t, pr, k in ladder]
        prod = q1(cur, "INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                       " cost_price_cents, stock) VALUES (%s, %s, 'X', %s, %s, 1000000)"
                       " RETURNING id", (self.did, "R-%d" % self.seq, list_price, cost))[0]
        cid = q1(cur, "INSERT INTO campaigns (distributor_id, product_id, title, status,"
                      " starts_at, ends_at, tier_basis, tiers, min_participants, max_quantity,"
                      " per_customer_limit, deposit_policy, fulfilment, pickup_point_ids,"
                      " after_sales_days)"
                      " VALUES (%s, %s, 'R', 'open', now() - interval '2 days',"
                      " now() + interval '1 day', 'participants', %s::jsonb,"
                      " 1, 1000, 10, '[{\"min_score\": 0, \"deposit_percent\": 30}]',"
                      " %s, %s, %s) RETURNING id",
                 (self.did, prod, json.dumps(tiers), "pickup" if pickup else "delivery",
                  points, rng.randint(1, 30)))[0]
        return dict(id=cid, product_cost=cost, ladder=ladder, price=final, pickup=pickup,
                    points=points, first=list_price)

    def participations(self, c):
        """Random joiners, each paid, defaulted or withdrawn, with the
        ledger a lifecycle leaves. Returns the paid and defaulted ones."""
        cur, rng, cid = self.cur, self.rng, c["id"]
        out = []
        for cust in rng.sample(self.customers, rng.randint(1, 7)):
            q = rng.randint(1, 10)
            deposit = rng.choice([0, -(-c["first"] * q * 30 // 100)])
            fate = rng.choices(["paid", "defaulted", "withdrawn"], [6, 2, 1])[0]
            if fate == "defaulted" and deposit == 0:
                fate = "paid"
            point = rng.choice(c["points"]) if c["pickup"] else None
            pid = q1(cur, "INSERT INTO participations (distributor_id, campaign_id,"
                          " customer_id, quantity, status, score_at_join, p_complete_at_join,"
                          " deposit_percent, deposit_cents, deposit_paid_cents,"
                          " unit_price_cents, pickup_point_id, address)"
                          " VALUES (%s, %s, %s, %s, 'active', 60, 0.6, 30, %s, %s, NULL, %s,"
                          " %s) RETURNING id",
                     (self.did, cid, cust, q, deposit, deposit, point,
                      None if c["pickup"] else '{"name":"n","phone":"p","region":"r","line":"l"}'))[0]
            if deposit:
                ledger(cur, self.did, cid, pid, "deposit_received", deposit, "dep:%d" % pid)
            p = dict(id=pid, q=q, deposit=deposit, status=fate, point=point)
            if fate == "withdrawn":
                cur.execute("UPDATE participations SET status = 'withdrawn' WHERE id = %s",
                            (pid,))
                if deposit:
                    ledger(cur, self.did, cid, pid, "refund_issued", deposit, "wd:%d" % pid)
                continue
            out.append(p)
        # the close: the final price; the excess deposit refunded; balances
        cur.execute("UPDATE campaigns SET status = 'succeeded', final_unit_price_cents = %s,"
                    " closed_at = now(), ends_at = now() - interval '1 second' WHERE id = %s",
                    (c["price"], cid))
        for p in out:
            owed = c["price"] * p["q"]
            if p["status"] == "defaulted":
                cur.execute("UPDATE participations SET status = 'defaulted',"
                            " unit_price_cents = %s WHERE id = %s", (c["price"], p["id"]))
                continue
            if p["deposit"] > owed:
                ledger(cur, self.did, cid, p["id"], "refund_issued", p["deposit"] - owed,
                       "excess:%d" % p["id"])
            elif owed > p["deposit"]:
                ledger(cur, self.did, cid, p["id"], "balance_received", owed - p["deposit"],
                       "bal:%d" % p["id"])
            cur.execute("UPDATE participations SET status = 'paid', unit_price_cents = %s"
                        " WHERE id = %s", (c["price"], p["id"]))
            # the trigger made the order
            p["order"] = q1(cur, "SELECT id FROM orders WHERE participation_id = %s",
                            (p["id"],))[0]
            p["paid"] = owed
        sql_stock_sync_campaign(cur, cid)
        # what settlement pays the manufacturer per unit: the final tier's cost
        final_tier = [t for t in c["ladder"] if t[0] <= max(len(out), 1)][-1]
        c["cost"] = c["product_cost"] if final_tier[2] is None else min(final_tier[2], 100000000)
        return out

    def deliver_all(self, ps):
        for p in ps:
            if "order" in p:
                self.cur.execute(
                    "UPDATE orders SET status = CASE fulfilment WHEN 'pickup' THEN 'picked_up'"
                    " ELSE 'delivered' END, carrier = 'C', tracking_no = 'T',"
                    " pickup_code_salt = decode(repeat('00', 16), 'hex'),"
                    " pickup_code_sha256 = decode(repeat('00', 32), 'hex'),"
                    " completed_at = now() WHERE id = %s", (p["order"],))
                self.cur.execute("SELECT campaign_id FROM orders WHERE id = %s", (p["order"],))
                sql_stock_sync_campaign(self.cur, self.cur.fetchone()[0])

    def after_sales(self, c, ps, settled, adjustments):
        """A few random requests, each approved or rejected."""
        cur, rng = self.cur, self.rng
        for p in ps:
            if "order" not in p or rng.random() < 0.5:
                continue
            left = p["paid"] - p.setdefault("refunded", 0)
            if left < 1:
                continue
            amount = rng.choice([1, left, rng.randint(1, left)])
            returned_left = p["q"] - p.setdefault("returned", 0)
            returned = rng.randint(0, returned_left)
            out, body = q1(cur, "SELECT outcome, body::text FROM gb_after_sales_request("
                                "(SELECT customer_id FROM orders WHERE id = %s), %s, 'r', %s, %s)",
                           (p["order"], p["order"], min(returned, p["q"]), amount))
            assert out == "ok", (out, p)
            aid = q1(cur, "SELECT id FROM after_sales WHERE order_id = %s AND status = 'pending'",
                     (p["order"],))[0]
            if rng.random() < 0.2:
                assert q1(cur, "SELECT outcome FROM gb_after_sales_reject(%s, %s, 'no', %s)",
                          (self.did, aid, self.staff))[0] == "ok"
                continue
            # over the bound first: refused, nothing changes
            assert q1(cur, "SELECT outcome FROM gb_after_sales_approve(%s, %s, %s, %s, %s)",
                      (self.did, aid, left + 1, returned, self.staff))[0] == "amount"
            assert q1(cur, "SELECT outcome FROM gb_after_sales_approve(%s, %s, %s, %s, %s)",
                      (self.did, aid, amount, returned, self.staff))[0] == "ok"
            p["refunded"] += amount
            p["returned"] += returned
            if settled:
                com = rnd(amount, self.bp_at_settle)
                lead = rnd(amount, self.points[p["point"]]) if p["point"] else 0
                adjustments.append(dict(after_sales_id=aid, gross_cents=-amount,
                                        commission_cents=-com,
                                        leader_commission_cents=-lead,
                                        manufacturer_cents=-c["cost"] * returned,
                                        distributor_net_cents=-amount + com + lead
                                        + c["cost"] * returned))
            if settled:
                assert difference(cur, c["id"]) == 0


SPLIT = ("commission_cents", "manufacturer_cents", "leader_commission_cents",
         "distributor_net_cents")


def totals(cur, cid):
    """The settlement's "totals" (now) and "settled_totals", as the API
    answers them (gb_settlement_json)."""
    return q1(cur, "SELECT gb_settlement_json(s) FROM settlements s WHERE campaign_id = %s",
              (cid,))[0]


def expected_lines(c, ps, bp, points):
    lines = []
    for p in sorted(ps, key=lambda x: x["id"]):
        if p["status"] == "defaulted":
            f = p["deposit"]
            lines.append(dict(participation_id=p["id"], gross_cents=0, forfeited_cents=f,
                              # commission on sales only: the deposit is
                              # the distributor's whole
                              commission_cents=0, manufacturer_cents=0,
                              leader_commission_cents=0,
                              distributor_net_cents=f))
            continue
        gross = c["price"] * p["q"] - p.get("refunded", 0)
        man = c["cost"] * (p["q"] - p.get("returned", 0))
        com = rnd(gross, bp)
        lead = rnd(gross, points[p["point"]]) if p["point"] else 0
        lines.append(dict(participation_id=p["id"], gross_cents=gross, forfeited_cents=0,
                          commission_cents=com, manufacturer_cents=man,
                          leader_commission_cents=lead,
                          distributor_net_cents=gross - com - man - lead))
    return lines


def test_random_campaigns_reconcile_to_the_cent(shared, seed):
    rng = random.Random(seed)
    db = shared.db
    with db.cursor() as cur:
        w = World(cur, rng)
        for n in range(300):
            # Until it is settled here, the campaign is built in one
            # transaction: the server's scheduler would otherwise settle it
            # first (a succeeded campaign owing nothing is due work).
            cur.execute("BEGIN")
            c = w.campaign()
            ps = w.participations(c)
            w.deliver_all(ps)
            w.after_sales(c, ps, False, None)          # before settlement
            bp = rng.choice([0, 1, 500, 750, 3333, 10000])
            cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s", (bp, w.did))
            # leaders' rates may change before settlement: the rate then applies
            if c["pickup"] and rng.random() < 0.3:
                pt = rng.choice(c["points"])
                w.points[pt] = rng.randint(0, 10000)
                cur.execute("UPDATE pickup_points SET commission_bp = %s WHERE id = %s",
                            (w.points[pt], pt))
            w.bp_at_settle = bp
            assert q1(cur, "SELECT gb_campaign_settle(%s)", (c["id"],))[0] is True, seed
            cur.execute("COMMIT")
            assert difference(cur, c["id"]) == 0, (seed, n)
            want = expected_lines(c, ps, bp, w.points)
            cols = list(want[0]) if want else []
            cur.execute("SELECT " + ", ".join(cols or ["participation_id"]) +
                        " FROM settlement_lines WHERE campaign_id = %s"
                        " ORDER BY participation_id", (c["id"],))
            got = [dict(zip(cols, row)) for row in cur.fetchall()] if cols else cur.fetchall()
            assert got == want, (seed, n)
            tot = q1(cur, "SELECT gross_cents, commission_cents, manufacturer_cents,"
                          " leader_commission_cents, distributor_net_cents FROM settlements"
                          " WHERE campaign_id = %s", (c["id"],))
            assert tot == tuple(sum(l[k] for l in want) for k in
                                ("gross_cents", "commission_cents", "manufacturer_cents",
                                 "leader_commission_cents", "distributor_net_cents")), (seed, n)
            adjustments = []
            settled = totals(cur, c["id"])
            assert settled["totals"] == settled["settled_totals"], (seed, n)
            # after settlement: any number of rounds of refunds, the
            # settlement's totals checked after each (API.md "Settlement
            # totals after adjustments")
            for _ in range(rng.choice([0, 1, 1, 2, 4])):
                w.after_sales(c, ps, True, adjustments)
                now = totals(cur, c["id"])
                assert now["settled_totals"] == settled["settled_totals"], (seed, n)
                t = now["totals"]
                assert t["received_cents"] - t["refunded_cents"] == sum(
                    t[k] for k in SPLIT), (seed, n, t)
                for k in ("gross_cents",) + SPLIT:
                    assert t[k] == settled["settled_totals"][k] + sum(
                        a[k] for a in adjustments), (seed, n, k)
                assert t["refunded_cents"] - settled["settled_totals"]["refunded_cents"] \
                    == -sum(a["gross_cents"] for a in adjustments), (seed, n)
                assert t["adjustments"] == len(adjustments), (seed, n)
            cur.execute("SELECT after_sales_id, gross_cents, commission_cents,"
                        " leader_commission_cents, manufacturer_cents, distributor_net_cents"
                        " FROM settlement_adjustments WHERE campaign_id = %s ORDER BY id",
                        (c["id"],))
            got = [dict(zip(("after_sales_id", "gross_cents", "commission_cents",
                             "leader_commission_cents", "manufacturer_cents",
                             "distributor_net_cents"), row)) for row in cur.fetchall()]
            assert got == [{k: a[k] for k in got[0]} for a in adjustments] if got else \
                adjustments == [], (seed, n)
            assert difference(cur, c["id"]) == 0, (seed, n)
        # the mix really held every case
        counts = q1(cur, "SELECT"
                         " (SELECT count(*) FROM settlement_adjustments WHERE distributor_id = %s"
                         "   AND leader_commission_cents < 0),"
                         " (SELECT count(*) FROM after_sales a WHERE distributor_id = %s"
                         "   AND status = 'approved' AND NOT EXISTS (SELECT 1 FROM"
                         "   settlement_adjustments x WHERE x.after_sales_id = a.id)),"
                         " (SELECT count(*) FROM after_sales WHERE distributor_id = %s"
                         "   AND status = 'rejected'),"
                         " (SELECT count(*) FROM settlement_lines WHERE distributor_id = %s"
                         "   AND status = 'defaulted'),"
                         " (SELECT count(*) FROM participations WHERE distributor_id = %s"
                         "   AND status = 'withdrawn'),"
                         " (SELECT count(*) FROM settlement_lines WHERE distributor_id = %s"
                         "   AND leader_commission_cents > 0)", (w.did,) * 6)
        assert min(counts) >= 10, (seed, counts)

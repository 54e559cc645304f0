"""DESIGN.md's settlement table, tested where it runs: gb_campaign_settle in
SQL (the scheduler's gb_settle_due calls it; there is no C copy).

Each case is a succeeded campaign written straight into the database with
the line shapes it needs (paid, defaulted, withdrawn and refunded rows;
rounding edges of the basis-point rule, x.5 included; zero amounts; the
largest amounts the bounds of pricing.h and schema/002_bounds.sql allow;
ladders whose tiers carry the manufacturer's cost or not) and a ledger
that matches them. The table of v1.2: commission on sales only (a
defaulted line pays none, its forfeited deposit is the distributor's), the
manufacturer paid the final tier's cost per unit, else the product's. gb_settle_due then settles, and every
settlement line, total and settle:* ledger entry is compared with the table
computed here in Python integers, independently of the SQL. gb_apply_bp is
checked on its own over the whole bigint range, gb_settlement_split (the
split of an amount, which settlement lines and after-sales adjustments
share) against the table, and that the two really share it.
"""
import json
import random

from settle_helpers import rnd
from sql_helpers import (sql_campaign, sql_customer, sql_one, sql_product, sql_stock_sync,
                         sql_tenant)

INT64_MAX = 2 ** 63 - 1
PRICE_MAX = 10 ** 8        # PRICING_PRICE_MAX_CENTS
QUANTITY_MAX = 10 ** 6     # PRICING_QUANTITY_MAX
AMOUNT_MAX = PRICE_MAX * QUANTITY_MAX

# (name, commission_bp, cost_price_cents, final_unit_price_cents, rows
# [, ladder]); a row is (status, quantity, unit_price_cents or None (the
# campaign's final price), deposit_paid_cents); a ladder is a list of
# (threshold, unit_price_cents, cost_price_cents or None), the single tier
# (1, final, None) when left out. The tier that prices the count of paid
# and defaulted rows (participants) is the final tier.
CASES = [
    ("paid 2 x 89.00, 5 %", 500, 6000, 8900, [("paid", 2, 8900, 1780)]),
    ("paid, commission 89.5 rounds up", 500, 1000, 1790, [("paid", 1, None, 0)]),
    ("paid, commission 0.495 rounds down", 50, 0, 99, [("paid", 1, 99, 0)]),
    ("paid, commission 0.5 rounds up", 5000, 0, 1, [("paid", 1, 1, 0)]),
    ("paid, 2.5 rounds up, not to even", 5000, 0, 5, [("paid", 1, 5, 0)]),
    ("paid, 4.975 and 4.475", 250, 0, 1, [("paid", 199, 1, 0), ("paid", 179, 1, 0)]),
    ("paid, negative net kept", 5000, 1, 1, [("paid", 3, 1, 0)]),
    ("paid, zero commission", 0, 1500, 1999, [("paid", 5, 1999, 600)]),
    ("paid, 100 % commission", 10000, 1500, 1999, [("paid", 5, 1999, 600)]),
    ("paid, deposit above the final price", 500, 2000, 2500, [("paid", 1, 2500, 3000)]),
    ("paid, cost 0", 750, 0, 7900, [("paid", 3, 7900, 2970)]),
    ("defaulted 2 x 89.00, 5 %", 500, 6000, 8900, [("defaulted", 2, 8900, 1780)]),
    ("defaulted, 1.5 rounds up", 500, 200, 300, [("defaulted", 1, 300, 30)]),
    ("defaulted without deposit", 500, 6000, 8900, [("defaulted", 4, 8900, 0)]),
    ("defaulted, zero commission", 0, 6000, 8900, [("defaulted", 1, 8900, 890)]),
    ("only withdrawn and refunded rows", 500, 100, 900,
     [("withdrawn", 1, None, 0), ("refunded", 2, 900, 540)]),
    ("mixed lines", 750, 5100, 7900,
     [("paid", 1, 7900, 990), ("paid", 2, None, 1980), ("defaulted", 3, 7900, 2970),
      ("defaulted", 1, None, 0), ("refunded", 1, 7900, 990), ("withdrawn", 2, None, 0),
      ("paid", 5, 7900, 0)]),
    ("manufacturer above gross", 100, 9200, 9000, [("paid", 1000, 9000, 0)]),
    # the manufacturer's volume price: the final tier's cost, not the product's
    ("tier cost 52.00 at the final tier", 500, 6000, 7900,
     [("paid", 2, None, 0), ("paid", 1, None, 0)],
     [(1, 9900, 6000), (2, 7900, 5200)]),
    ("final tier without a cost: the product's", 500, 6000, 8900,
     [("paid", 2, None, 0)], [(1, 8900, None), (2, 7900, 5200)]),
    ("tier cost 0", 750, 6000, 7900, [("paid", 3, None, 0), ("defaulted", 1, None, 790)],
     [(1, 9900, 6000), (2, 7900, 0)]),
    ("tier cost above its price (a loss leader)", 500, 100, 50,
     [("paid", 4, None, 0)], [(1, 50, 80), (2, 40, 30)]),
    ("tier cost at the bound", 0, 0, PRICE_MAX - 1,
     [("paid", 1, None, 0), ("paid", 1, None, 0)],
     [(1, PRICE_MAX, None), (2, PRICE_MAX - 1, PRICE_MAX)]),
] + [
    # pricing.h's bounds: prices and costs <= 10^8 cents, the paid units of a
    # campaign <= max_quantity <= 10^6; every amount then stays <= 10^14.
    ("bounds: %s" % name, bp, cost, price, rows)
    for name, bp, cost, price, rows in [
        ("all paid at the top price, 100 %", 10000, PRICE_MAX, PRICE_MAX,
         [("paid", QUANTITY_MAX, None, PRICE_MAX * QUANTITY_MAX)]),
        ("split in two lines, 99.99 %", 9999, PRICE_MAX, PRICE_MAX,
         [("paid", QUANTITY_MAX // 2, None, 0), ("paid", QUANTITY_MAX // 2, None, 0)]),
        ("price 1, cost at the top", 0, PRICE_MAX, 1, [("paid", QUANTITY_MAX, 1, 0)]),
        ("defaulted at the top, 50 %", 5000, PRICE_MAX, PRICE_MAX - 1,
         [("defaulted", QUANTITY_MAX - 1, None, (PRICE_MAX - 1) * (QUANTITY_MAX - 1))]),
    ]
]

def ladder_at(ladder, count):
    """The tier that prices count: the greatest threshold <= max(count, 1)."""
    return [t for t in ladder if t[0] <= max(count, 1)][-1]


def random_cases(rng, n):
    """Campaigns of random shapes; a third of the bp values make x.5
    products frequent (amount * bp ending in 5000). Ladders of 1 to 5
    tiers, each tier with or without the manufacturer's cost (0, below,
    at or above its price); the final price is the tier the rows reach."""
    out = []
    for k in range(n):
        bp = rng.choice([rng.randint(0, 10000), 5000, 2500, 1250, 50, 1, 9999,
                         rng.choice([0, 10000])])
        cost = rng.choice([0, rng.randint(0, 50000), rng.randint(50000, 100000)])
        rows = []
        for _ in range(rng.randint(0, 12)):
            st = rng.choice(["paid", "paid", "paid", "defaulted", "refunded", "withdrawn"])
            rows.append([st, rng.randint(1, 20)])
        thresholds = [1] + sorted(rng.sample(range(2, 14), rng.randint(0, 4)))
        prices = sorted(rng.sample(range(1, 50001), len(thresholds)), reverse=True)
        ladder = [(t, p, rng.choice([None, 0, rng.randint(0, p), p, rng.randint(p, 2 * p)]))
                  for t, p in zip(thresholds, prices)]
        final = ladder_at(ladder, sum(1 for r in rows if r[0] in ("paid", "defaulted")))[1]
        for r in rows:
            q = r[1]
            price = rng.choice([None, final])
            dep = rng.choice([0, rng.randint(0, final * q), (2 * rng.randint(0, 10000) + 1)])
            r[2:] = [price, dep]
        out.append(("random %d" % k, bp, cost, final, [tuple(r) for r in rows], ladder))
    return out


def case_ladder(case):
    return case[5] if len(case) > 5 else [(1, case[3], None)]


def unit_cost(case):
    """The final tier's cost, else the product's."""
    counted = sum(1 for r in case[4] if r[0] in ("paid", "defaulted"))
    tier_cost = ladder_at(case_ladder(case), counted)[2]
    return case[2] if tier_cost is None else tier_cost


def expected(case):
    """DESIGN.md's table in Python integers: (lines by row index, totals)."""
    _, bp, _, final, rows = case[:5]
    cost = unit_cost(case)
    lines, received, refunded = {}, 0, 0
    for i, (st, q, price, dep) in enumerate(rows):
        p = final if price is None else price
        if st == "paid":
            gross, forfeited, manufacturer = p * q, 0, cost * q
            received += max(gross, dep)
            refunded += max(dep - gross, 0)
        elif st == "defaulted":
            gross, forfeited, manufacturer = 0, dep, 0
            received += dep
        else:
            received += dep
            refunded += dep
            continue
        base = gross + forfeited
        commission = rnd(gross, bp)   # on sales only: none on a forfeited deposit
        lines[i] = dict(status=st, quantity=q, unit_price_cents=p, gross_cents=gross,
                        forfeited_cents=forfeited, commission_cents=commission,
                        manufacturer_cents=manufacturer,
                        distributor_net_cents=base - commission - manufacturer)
    totals = dict(lines=len(lines), received_cents=received, refunded_cents=refunded)
    totals["quantity"] = sum(l["quantity"] for l in lines.values())
    for f in ("gross_cents", "forfeited_cents", "commission_cents", "manufacturer_cents",
              "distributor_net_cents"):
        totals[f] = sum(l[f] for l in lines.values())
    return lines, totals


def seed_case(cur, customer, case):
    """Writes one succeeded campaign for case; returns (campaign id,
    participation ids in row order)."""
    name, bp, cost, final, rows = case[:5]
    tiers = [dict(threshold=t, unit_price_cents=p, **({} if c is None else
                                                      {"cost_price_cents": c}))
             for t, p, c in case_ladder(case)]
    cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('Rules', %s)"
                " RETURNING id", (bp,))
    did = cur.fetchone()[0]
    cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                " cost_price_cents, stock) VALUES (%s, 'R-1', 'Rule widget', %s, %s, 0)"
                " RETURNING id", (did, max(tiers[0]["unit_price_cents"], 1), cost))
    prod = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
        " ends_at, tier_basis, tiers, min_participants, max_quantity,"
        " per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)"
        " VALUES (%s, %s, %s, 'succeeded', now() - interval '2 days',"
        " now() - interval '1 day', 'participants', %s::jsonb,"
        " 1, 1000000, 1000000, '[{\"min_score\": 0, \"deposit_percent\": 100}]',"
        " %s, now() - interval '1 day') RETURNING id",
        (did, prod, name[:200], json.dumps(tiers), final))
    cid = cur.fetchone()[0]
    pids = []
    for i, (st, q, price, dep) in enumerate(rows):
        cur.execute(
            "INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity,"
            " status, score_at_join, p_complete_at_join, deposit_percent, deposit_cents,"
            " deposit_paid_cents, unit_price_cents)"
            " VALUES (%s, %s, %s, %s, %s, 75, 0.75, 100, %s, %s, %s) RETURNING id",
            (did, cid, customer, q, st, dep, dep, price))
        pid = cur.fetchone()[0]
        pids.append(pid)
        p = final if price is None else price
        moves = []
        if dep > 0:
            moves.append(("deposit_received", dep))
        if st == "paid" and p * q > dep:
            moves.append(("balance_received", p * q - dep))
        if st == "paid" and dep > p * q:
            moves.append(("refund_issued", dep - p * q))
        if st in ("refunded", "withdrawn") and dep > 0:
            moves.append(("refund_issued", dep))
        for kind, amount in moves:
            cur.execute("INSERT INTO ledger_entries (distributor_id, campaign_id,"
                        " participation_id, kind, amount_cents, movement_key)"
                        " VALUES (%s, %s, %s, %s, %s, %s)",
                        (did, cid, pid, kind, amount, "%s:rules:%d" % (kind, pid)))
    return cid, pids


LINE_FIELDS = ("status", "quantity", "unit_price_cents", "gross_cents", "forfeited_cents",
               "commission_cents", "manufacturer_cents", "distributor_net_cents")
TOTAL_FIELDS = ("lines", "quantity", "gross_cents", "forfeited_cents", "commission_cents",
                "manufacturer_cents", "distributor_net_cents", "received_cents",
                "refunded_cents")


def test_every_line_and_total_matches_the_table(db, seed):
    rng = random.Random(seed)
    cases = CASES + random_cases(rng, 150)
    with db.cursor() as cur:
        cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                    " VALUES ('rules@example.com', 'x', 'Rules') RETURNING id")
        customer = cur.fetchone()[0]
        seeded = [(case, *seed_case(cur, customer, case)) for case in cases]
        settled, errors = 0, []
        while True:
            cur.execute("SELECT o_id, o_done, o_error FROM gb_settle_due(64)")
            rows = cur.fetchall()
            errors += [r for r in rows if r[2] is not None]
            n = sum(1 for r in rows if r[1])
            if n == 0:
                break
            settled += n
        assert errors == []
        cur.execute("SELECT title FROM campaigns WHERE status = 'succeeded' ORDER BY id")
        assert settled == len(cases), cur.fetchall()

        bad = []
        for case, cid, pids in seeded:
            want_lines, want_totals = expected(case)
            cur.execute("SELECT participation_id, " + ", ".join(LINE_FIELDS) +
                        " FROM settlement_lines WHERE campaign_id = %s", (cid,))
            got_lines = {row[0]: dict(zip(LINE_FIELDS, row[1:])) for row in cur.fetchall()}
            want_by_pid = {pids[i]: l for i, l in want_lines.items()}
            if got_lines != want_by_pid:
                bad.append((case[0], "lines", got_lines, want_by_pid))
            cur.execute("SELECT " + ", ".join(TOTAL_FIELDS) + ", commission_bp, unit_price_cents,"
                        " unit_cost_cents FROM settlements WHERE campaign_id = %s", (cid,))
            row = cur.fetchone()
            got_totals = dict(zip(TOTAL_FIELDS, row))
            if got_totals != want_totals or row[-3:] != (case[1], case[3], unit_cost(case)):
                bad.append((case[0], "totals", got_totals, want_totals))
            if case[0].startswith("bounds:") and not all(
                    abs(v) <= AMOUNT_MAX for l in got_lines.values() for k, v in l.items()
                    if k.endswith("_cents")):
                bad.append((case[0], "beyond 10^14", got_lines))
            cur.execute("SELECT kind, amount_cents FROM ledger_entries"
                        " WHERE campaign_id = %s AND movement_key LIKE 'settle:%%'"
                        " ORDER BY kind", (cid,))
            want_ledger = sorted([("commission", want_totals["commission_cents"]),
                                  ("distributor_net", want_totals["distributor_net_cents"]),
                                  ("manufacturer_payable", want_totals["manufacturer_cents"])])
            if cur.fetchall() != want_ledger:
                bad.append((case[0], "ledger"))
            cur.execute("SELECT status FROM campaigns WHERE id = %s", (cid,))
            if cur.fetchone()[0] != "settled":
                bad.append((case[0], "status"))
        assert bad == [], bad[:3]


def test_gb_apply_bp_is_the_design_rule(db, seed):
    """gb_apply_bp, the bp rounding every settlement line uses, against
    (amount * bp + 5000) div 10000 on exact integers: the x.5 edges, the
    bounds, and random amounts up to the bigint limit, in one query."""
    rng = random.Random(seed)
    pairs = [(a, bp) for a in (0, 1, 3, 5, 99, 100, 101, 179, 180, 199, 1790, 9995,
                               15001, INT64_MAX, INT64_MAX - 1, INT64_MAX // 10000)
             for bp in (0, 1, 50, 250, 500, 4999, 5000, 5001, 9999, 10000)]
    for _ in range(20000):
        bits = rng.randint(1, 63)
        pairs.append((rng.getrandbits(bits) & INT64_MAX, rng.randint(0, 10000)))
    # amounts whose product ends exactly in 5000 (bp divides 5000): the
    # half-up edge
    for _ in range(5000):
        bp = rng.choice([1, 5, 25, 125, 625, 1250, 2500, 5000])
        pairs.append(((rng.randint(0, 10 ** 12) * 10000 + 5000) // bp, bp))
    with db.cursor() as cur:
        cur.execute("SELECT gb_apply_bp(a, b::int) FROM unnest(%s::bigint[], %s::int[])"
                    " WITH ORDINALITY AS u (a, b, i) ORDER BY i",
                    ([a for a, _ in pairs], [b for _, b in pairs]))
        got = [r[0] for r in cur.fetchall()]
    bad = [(a, bp, g, rnd(a, bp)) for (a, bp), g in zip(pairs, got) if g != rnd(a, bp)]
    assert bad == [], bad[:5]


def split(gross, forfeited, bp, leader_bp, unit_cost, units):
    """DESIGN.md's split of an amount: (commission, leader, manufacturer, net);
    commission and the leader's on sales (gross) only."""
    commission, leader = rnd(gross, bp), rnd(gross, leader_bp)
    manufacturer = unit_cost * units
    return commission, leader, manufacturer, gross + forfeited - commission - leader - manufacturer


def test_gb_settlement_split_is_the_design_rule(db):
    """gb_settlement_split, the one split of settlement lines and after-sales
    adjustments, against the table: commission on sales (gross) only,
    rounded once (x.5 up, not to even), none on a forfeited deposit, the
    leader's on gross too, the manufacturer paid per unit, net the rest
    (negative too; all of a forfeited deposit), up to the bounds."""
    big = AMOUNT_MAX
    cases = [
        (17800, 0, 500, 0, 6000, 2),
        (1790, 0, 500, 0, 0, 0),        # 89.5 -> 90
        (99, 0, 50, 0, 0, 0),           # 0.495 -> 0
        (1, 0, 5000, 0, 0, 0),          # 0.5 -> 1
        (5, 0, 5000, 0, 0, 0),          # 2.5 -> 3
        (15, 15, 5000, 0, 0, 0),        # 7.5 -> 8 on the 15 sold, none on the 15 forfeited
        (0, 1780, 500, 300, 6000, 0),   # a default: no commission, leader, manufacturer
        (5, 0, 0, 5000, 0, 0),          # the leader's 2.5 -> 3
        (3, 0, 5000, 0, 1, 3),          # net -2
        (0, 0, 10000, 10000, PRICE_MAX, 0),
        (big, 0, 10000, 10000, PRICE_MAX, QUANTITY_MAX),
        (big, big, 9999, 10000, PRICE_MAX, QUANTITY_MAX),
    ]
    rng = random.Random(12052026)
    for _ in range(3000):
        cases.append((rng.choice([0, rng.randint(0, 10 ** 6), rng.randint(0, big)]),
                      rng.choice([0, 0, rng.randint(0, 10 ** 6)]),
                      rng.choice([rng.randint(0, 10000), 5000, 2500, 1, 9999]),
                      rng.choice([0, rng.randint(0, 10000), 5000]),
                      rng.randint(0, PRICE_MAX), rng.randint(0, QUANTITY_MAX)))
    cols = list(zip(*cases))
    with db.cursor() as cur:
        cur.execute("SELECT x.* FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[],"
                    "                       %s::bigint[], %s::bigint[])"
                    "      WITH ORDINALITY AS u (g, f, bp, lbp, cost, n, i)"
                    " CROSS JOIN LATERAL gb_settlement_split(u.g, u.f, u.bp, u.lbp, u.cost, u.n) x"
                    " ORDER BY u.i", [list(c) for c in cols])
        got = cur.fetchall()
    bad = [(c, g, split(*c)) for c, g in zip(cases, got) if tuple(g) != split(*c)]
    assert len(got) == len(cases) and bad == [], bad[:5]


def settled_pickup_sale(cur, bp=750, leader_bp=300, cost=5100, price=8900, quantity=3,
                        forfeited=990):
    """A pickup campaign at price, settled by gb_campaign_settle: one paid
    participation of quantity at a point of leader_bp, picked up, and one
    defaulted that forfeited its deposit. Returns a dict of the ids."""
    did, staff = sql_tenant(cur, bp)
    prod = sql_product(cur, did, cost=cost, list_price=price)
    cur.execute("INSERT INTO pickup_points (distributor_id, name, address, leader_name,"
                " leader_phone, commission_bp) VALUES (%s, 'Point', 'Road 1', 'Leader',"
                " '13900000001', %s) RETURNING id", (did, leader_bp))
    point = cur.fetchone()[0]
    cid = sql_campaign(cur, did, prod, status="succeeded", max_quantity=100,
                       starts_in="-2 days", ends_in="-1 day", tiers=((1, price),),
                       final_price=price, fulfilment="pickup", points=[point])
    ids = dict(did=did, staff=staff, cid=cid, point=point)
    for st, q, dep in (("paid", quantity, 0), ("defaulted", 1, forfeited)):
        customer = sql_customer(cur)
        cur.execute(
            "INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity,"
            " status, score_at_join, p_complete_at_join, deposit_percent, deposit_cents,"
            " deposit_paid_cents, unit_price_cents, pickup_point_id)"
            " VALUES (%s, %s, %s, %s, %s, 75, 0.75, 10, %s, %s, %s, %s) RETURNING id",
            (did, cid, customer, q, st, dep, dep, price, point))
        pid = cur.fetchone()[0]
        kind, amount = ("balance_received", price * q) if st == "paid" else \
            ("deposit_received", dep)
        cur.execute("INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id,"
                    " kind, amount_cents, movement_key) VALUES (%s, %s, %s, %s, %s, %s)",
                    (did, cid, pid, kind, amount, "%s:sale:%d" % (kind, pid)))
        ids[st] = (pid, customer)
    assert sql_one(cur, "SELECT gb_campaign_settle(%s)", (cid,))[0] is True
    pid, customer = ids["paid"]
    cur.execute("INSERT INTO orders (distributor_id, participation_id, campaign_id, customer_id,"
                " quantity, fulfilment, status, pickup_point_id, pickup_code_salt,"
                " pickup_code_sha256, ready_at, completed_at)"
                " VALUES (%s, %s, %s, %s, %s, 'pickup', 'picked_up', %s, %s, %s, now(), now())"
                " RETURNING id", (did, pid, cid, customer, quantity, point,
                                  bytes(16), bytes(32)))
    ids["order"] = cur.fetchone()[0]
    sql_stock_sync(cur, prod)   # the order picked up: its units sold
    return ids


def approve_after_settlement(cur, ids, amount, returned):
    """The paid shopper asks for amount back, returning units; the owner
    approves. Returns the adjustment (gross, commission, manufacturer,
    leader, net) and its adjust:* ledger movements by suffix."""
    outcome, body = sql_one(cur, "SELECT * FROM gb_after_sales_request(%s, %s, 'broken', %s, %s)",
                            (ids["paid"][1], ids["order"], returned, amount))
    assert outcome == "ok", outcome
    aid = body["id"]
    outcome, _ = sql_one(cur, "SELECT * FROM gb_after_sales_approve(%s, %s, %s, %s, %s)",
                         (ids["did"], aid, amount, returned, ids["staff"]))
    assert outcome == "ok", outcome
    adj = sql_one(cur, "SELECT gross_cents, commission_cents, manufacturer_cents,"
                       " leader_commission_cents, distributor_net_cents"
                       " FROM settlement_adjustments WHERE after_sales_id = %s", (aid,))
    cur.execute("SELECT split_part(movement_key, ':', 3), amount_cents FROM ledger_entries"
                " WHERE movement_key LIKE %s", ("adjust:%d:%%" % aid,))
    return adj, dict(cur.fetchall())


def lines_of(cur, cid):
    cur.execute("SELECT status, commission_cents, leader_commission_cents, manufacturer_cents,"
                " distributor_net_cents FROM settlement_lines WHERE campaign_id = %s"
                " ORDER BY participation_id", (cid,))
    return cur.fetchall()


def test_settlement_and_after_sales_share_one_split(db):
    """An after-sales refund approved after settlement is adjusted by the
    split the settlement uses: the adjustment is gb_settlement_split of the
    refund, negated. And there is one split: with gb_settlement_split
    replaced (commission on sales only and a cent more, the leader a cent
    more, the manufacturer a cent more per unit), the settlement's lines and
    the after-sales adjustment both follow the replacement."""
    bp, leader_bp, cost, price = 750, 300, 5100, 8900
    with db.cursor() as cur:
        ids = settled_pickup_sale(cur, bp, leader_bp, cost, price)
        assert lines_of(cur, ids["cid"]) == [
            ("paid", *split(price * 3, 0, bp, leader_bp, cost, 3)),
            ("defaulted", *split(0, 990, bp, 0, cost, 0))]
        adj, ledger = approve_after_settlement(cur, ids, 8901, 1)
        com, lead, man, net = sql_one(cur, "SELECT * FROM gb_settlement_split(8901, 0, %s, %s,"
                                           " %s, 1)", (bp, leader_bp, cost))
        assert adj == (-8901, -com, -man, -lead, -net)
        assert (com, lead, man, net) == split(8901, 0, bp, leader_bp, cost, 1)
        assert ledger == {"commission": -com, "manufacturer": -man,
                          "leader_commission": -lead, "distributor_net": -net}
        assert sql_one(cur, "SELECT difference_cents FROM gb_campaign_reconcile(%s)",
                       (ids["cid"],))[0] == 0

        cur.execute("""
            CREATE OR REPLACE FUNCTION gb_settlement_split(p_gross bigint, p_forfeited bigint,
                    p_commission_bp integer, p_leader_bp integer, p_unit_cost bigint,
                    p_units bigint)
                RETURNS TABLE (commission bigint, leader bigint, manufacturer bigint,
                               net bigint)
                LANGUAGE sql IMMUTABLE
                AS $$ SELECT x.c, x.l, x.m, p_gross + p_forfeited - x.c - x.l - x.m
                        FROM (SELECT gb_apply_bp(p_gross, p_commission_bp) + 1 AS c,
                                     gb_apply_bp(p_gross, p_leader_bp) + 1 AS l,
                                     (p_unit_cost + 1) * p_units AS m) x $$""")

        def other(gross, forfeited, bp_, leader_bp_, unit_cost, units):
            c, l, m = rnd(gross, bp_) + 1, rnd(gross, leader_bp_) + 1, (unit_cost + 1) * units
            return c, l, m, gross + forfeited - c - l - m

        ids = settled_pickup_sale(cur, bp, leader_bp, cost, price)
        assert lines_of(cur, ids["cid"]) == [
            ("paid", *other(price * 3, 0, bp, leader_bp, cost, 3)),
            ("defaulted", *other(0, 990, bp, 0, cost, 0))]
        adj, _ = approve_after_settlement(cur, ids, 8901, 1)
        com, lead, man, net = other(8901, 0, bp, leader_bp, cost, 1)
        assert adj == (-8901, -com, -man, -lead, -net)


def test_a_settlement_row_alone_refuses_a_second_settlement(db):
    """Exactly once has three guards: the campaign leaves 'succeeded', the
    function looks for a settlement row, and settlements' key. The second
    is reached here alone: a settled campaign put back to 'succeeded' is
    still not settled again (false, nothing added), not a key violation."""
    from settle_helpers import seed_succeeded_campaign

    _, cid = seed_succeeded_campaign(db, 3)
    with db.cursor() as cur:
        assert sql_one(cur, "SELECT gb_campaign_settle(%s)", (cid,))[0] is True
        cur.execute("UPDATE campaigns SET status = 'succeeded' WHERE id = %s", (cid,))
        assert cur.rowcount == 1
        ledger = sql_one(cur, "SELECT count(*) FROM ledger_entries WHERE campaign_id = %s",
                         (cid,))[0]
        assert sql_one(cur, "SELECT gb_campaign_settle(%s)", (cid,))[0] is False
        assert sql_one(cur, "SELECT count(*) FROM settlements WHERE campaign_id = %s",
                       (cid,))[0] == 1
        assert sql_one(cur, "SELECT count(*) FROM ledger_entries WHERE campaign_id = %s",
                       (cid,))[0] == ledger

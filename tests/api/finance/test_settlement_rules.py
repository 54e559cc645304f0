"""DESIGN.md's settlement table, tested where it runs: gb_campaign_settle in
SQL (the scheduler's gb_settle_due calls it; there is no C copy).

Each case is a succeeded campaign written straight into the database with
the line shapes it needs (paid, defaulted, withdrawn and refunded rows;
rounding edges of the basis-point rule, x.5 included; zero amounts; the
largest amounts the bounds of pricing.h and schema/002_bounds.sql allow)
and a ledger that matches them. gb_settle_due then settles, and every
settlement line, total and settle:* ledger entry is compared with the table
computed here in Python integers, independently of the SQL. gb_apply_bp is
checked on its own over the whole bigint range.
"""
import random

from settle_helpers import rnd

INT64_MAX = 2 ** 63 - 1
PRICE_MAX = 10 ** 8        # PRICING_PRICE_MAX_CENTS
QUANTITY_MAX = 10 ** 6     # PRICING_QUANTITY_MAX
AMOUNT_MAX = PRICE_MAX * QUANTITY_MAX

# (name, commission_bp, cost_price_cents, final_unit_price_cents, rows);
# a row is (status, quantity, unit_price_cents or None (the campaign's
# final price), deposit_paid_cents).
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

def random_cases(rng, n):
    """Campaigns of random shapes; a third of the bp values make x.5
    products frequent (amount * bp ending in 5000)."""
    out = []
    for k in range(n):
        bp = rng.choice([rng.randint(0, 10000), 5000, 2500, 1250, 50, 1, 9999,
                         rng.choice([0, 10000])])
        final = rng.randint(1, 50000)
        cost = rng.choice([0, rng.randint(0, final), rng.randint(final, 2 * final)])
        rows = []
        for _ in range(rng.randint(0, 12)):
            st = rng.choice(["paid", "paid", "paid", "defaulted", "refunded", "withdrawn"])
            q = rng.randint(1, 20)
            price = rng.choice([None, final])
            dep = rng.choice([0, rng.randint(0, final * q), (2 * rng.randint(0, 10000) + 1)])
            rows.append((st, q, price, dep))
        out.append(("random %d" % k, bp, cost, final, rows))
    return out


def expected(case):
    """DESIGN.md's table in Python integers: (lines by row index, totals)."""
    _, bp, cost, final, rows = case
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
        commission = rnd(base, bp)
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


def seed(cur, customer, case):
    """Writes one succeeded campaign for case; returns (campaign id,
    participation ids in row order)."""
    name, bp, cost, final, rows = case
    cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('Rules', %s)"
                " RETURNING id", (bp,))
    did = cur.fetchone()[0]
    cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                " cost_price_cents, stock) VALUES (%s, 'R-1', 'Rule widget', %s, %s, 0)"
                " RETURNING id", (did, max(final, 1), cost))
    prod = cur.fetchone()[0]
    cur.execute(
        "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
        " ends_at, tier_basis, tiers, min_participants, max_quantity,"
        " per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)"
        " VALUES (%s, %s, %s, 'succeeded', now() - interval '2 days',"
        " now() - interval '1 day', 'participants',"
        " jsonb_build_array(jsonb_build_object('threshold', 1, 'unit_price_cents', %s)),"
        " 1, 1000000, 1000000, '[{\"min_score\": 0, \"deposit_percent\": 100}]',"
        " %s, now() - interval '1 day') RETURNING id",
        (did, prod, name[:200], final, final))
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
        seeded = [(case, *seed(cur, customer, case)) for case in cases]
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
            cur.execute("SELECT " + ", ".join(TOTAL_FIELDS) + ", commission_bp, unit_price_cents"
                        " FROM settlements WHERE campaign_id = %s", (cid,))
            row = cur.fetchone()
            got_totals = dict(zip(TOTAL_FIELDS, row))
            if got_totals != want_totals or row[-2:] != (case[1], case[3]):
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

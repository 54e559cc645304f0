"""Set-up for the settlement crash test and the settlement measurement.

seed_succeeded_campaign inserts, straight into the database, a distributor,
a product and a campaign that has already succeeded, with n customers and
one participation each, consistent with the ledger as the lifecycle would
leave it:
  * paid (most): deposit and balance paid, a succeeded payment of each kind
    and its deposit_received / balance_received ledger entry;
  * defaulted (every `default_every`-th): deposit paid (deposit_received),
    then forfeited (deposit_forfeited), no balance.
Only the participation quantities vary (1..3). It is set-up, not the
behaviour under test: generate_series keeps 100,000 rows to seconds.

expected_settlement(...) is the hand computation of DESIGN.md's table for
that data, in Python integers: commission on sales only (a defaulted line
pays none and leaves the distributor its forfeited deposit); the
manufacturer paid the final tier's cost (TIER_COST from 100 participants:
the ladder's second tier carries it), else the product's; no pickup, so no
leader commission.
"""

from sql_helpers import sql_stock_sync

PRICE = 7900        # final unit price
COST = 5100         # product cost price
TIER_COST = 4900    # the manufacturer's price at the 100-participant tier
DEPOSIT_PCT = 10    # deposit percent of the first-tier price 9900
FIRST = 9900
BP = 750            # commission 7.5 %


def seed_succeeded_campaign(conn, n, default_every=10, bp=BP, distributor_id=None):
    """Returns (distributor_id, campaign_id). conn: autocommit psycopg2.
    Without distributor_id a distributor is inserted; with one, its
    commission_bp is set to bp."""
    with conn.cursor() as cur:
        if distributor_id is None:
            cur.execute("INSERT INTO distributors (name, commission_bp)"
                        " VALUES ('Crash', %s) RETURNING id", (bp,))
            did = cur.fetchone()[0]
        else:
            did = distributor_id
            cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s",
                        (bp, did))
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, 'CRASH-1', 'Crash widget',"
                    " 10000, %s, %s) RETURNING id", (did, COST, 3 * n))
        prod = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO campaigns (distributor_id, product_id, title, status,"
            " starts_at, ends_at, tier_basis, tiers, min_participants, max_quantity,"
            " per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)"
            " VALUES (%s, %s, 'Big deal', 'open', now() - interval '2 days',"
            " now() + interval '1 day', 'participants',"
            " '[{\"threshold\": 1, \"unit_price_cents\": 9900},"
            "   {\"threshold\": 100, \"unit_price_cents\": 7900,"
            "    \"cost_price_cents\": 4900}]',"
            " 1, %s, 3, '[{\"min_score\": 0, \"deposit_percent\": 10}]', NULL, NULL)"
            " RETURNING id", (did, prod, 3 * n))
        cid = cur.fetchone()[0]
        cur.execute("CREATE TEMP TABLE seed AS"
                    " SELECT g AS i, 1 + g %% 3 AS q,"
                    "        CASE WHEN g %% %s = 0 THEN 'defaulted' ELSE 'paid' END AS st"
                    "   FROM generate_series(1, %s) g", (default_every, n))
        cur.execute("CREATE TEMP TABLE seed_c AS WITH c AS ("
                    " INSERT INTO customers (login, password_hash, display_name)"
                    " SELECT 'crash.%s.' || i || '@example.com', 'x', 'C' || i FROM seed"
                    " RETURNING id, display_name) SELECT id, substr(display_name, 2)::int AS i"
                    " FROM c", (cid,))
        # deposit = ceil(9900 * q * 10 / 100)
        cur.execute(
            "CREATE TEMP TABLE seed_p AS WITH p AS ("
            " INSERT INTO participations (distributor_id, campaign_id, customer_id,"
            "  quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
            "  deposit_cents, deposit_paid_cents, unit_price_cents, balance_paid_cents)"
            " SELECT %s, %s, c.id, s.q, s.st, 60, 0.6, 10,"
            "        (9900 * s.q * 10 + 99) / 100, (9900 * s.q * 10 + 99) / 100, %s,"
            "        CASE s.st WHEN 'paid' THEN %s * s.q - (9900 * s.q * 10 + 99) / 100"
            "             ELSE 0 END"
            "   FROM seed s JOIN seed_c c USING (i) ORDER BY s.i"
            " RETURNING id, status, deposit_paid_cents, balance_paid_cents)"
            " SELECT * FROM p", (did, cid, PRICE, PRICE))
        cur.execute(
            "CREATE TEMP TABLE seed_pay AS WITH pay AS ("
            " INSERT INTO payments (distributor_id, participation_id, kind, amount_cents,"
            "  status, provider_ref)"
            " SELECT %s, id, 'deposit', deposit_paid_cents, 'succeeded', 'pr_d' || id"
            "   FROM seed_p"
            " UNION ALL"
            " SELECT %s, id, 'balance', balance_paid_cents, 'succeeded', 'pr_b' || id"
            "   FROM seed_p WHERE balance_paid_cents > 0"
            " RETURNING id, participation_id, kind, amount_cents) SELECT * FROM pay",
            (did, did))
        cur.execute(
            "INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id,"
            " payment_id, kind, amount_cents, movement_key)"
            " SELECT %s, %s, participation_id, id, kind || '_received', amount_cents,"
            "        kind || '_received:payment:' || id FROM seed_pay",
            (did, cid))
        cur.execute(
            "INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id,"
            " payment_id, kind, amount_cents, movement_key)"
            " SELECT %s, %s, p.id, pay.id, 'deposit_forfeited', p.deposit_paid_cents,"
            "        'forfeit:participation:' || p.id"
            "   FROM seed_p p JOIN seed_pay pay ON pay.participation_id = p.id"
            "        AND pay.kind = 'deposit' WHERE p.status = 'defaulted'", (did, cid))
        cur.execute("UPDATE campaigns SET status = 'succeeded', final_unit_price_cents = %s,"
                    " closed_at = now(), ends_at = now() - interval '1 second'"
                    " WHERE id = %s", (PRICE, cid))
        cur.execute("DROP TABLE seed, seed_c, seed_p, seed_pay")
        sql_stock_sync(cur, prod)
    return did, cid


def rnd(amount, bp):
    """(amount * bp + 5000) div 10000."""
    return (amount * bp + 5000) // 10000


def expected_settlement(n, default_every=10, bp=BP):
    """Hand computation of the totals for seed_succeeded_campaign's data."""
    t = dict(lines=0, quantity=0, gross_cents=0, forfeited_cents=0, commission_cents=0,
             manufacturer_cents=0, leader_commission_cents=0, distributor_net_cents=0,
             received_cents=0, refunded_cents=0)
    cost = TIER_COST if n >= 100 else COST   # the tier the n participants reached
    for i in range(1, n + 1):
        q = 1 + i % 3
        deposit = -(-FIRST * q * DEPOSIT_PCT // 100)
        t["lines"] += 1
        t["quantity"] += q
        if i % default_every == 0:
            t["forfeited_cents"] += deposit
            t["distributor_net_cents"] += deposit
            t["received_cents"] += deposit
        else:
            gross = PRICE * q
            comm = rnd(gross, bp)
            t["gross_cents"] += gross
            t["commission_cents"] += comm
            t["manufacturer_cents"] += cost * q
            t["distributor_net_cents"] += gross - comm - cost * q
            t["received_cents"] += gross
    return t

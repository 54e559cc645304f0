"""A rule that runs only in SQL, tested through SQL: the decay weight of the
reliability score (gb_history_weight, on the database clock, summed per kind
by gb_customer_history). Its per-kind counts and weight sums are checked
against 0.5 ^ (max(age_days, 0) / half_life_days) computed here for random
histories and half-lives, ancient events and short half-lives included
(weights below 0.5 ^ 1000 count as 0); the histories of a distributor's
whole customer base at once (gb_distributor_histories, the ladder planner's
and a campaign audience's) are held equal to them, a customer without
events included, with each one's own completed events.
(The tier price, SQL's alone too, is tests/api/schema/test_pricing.py.)
"""
import random

KINDS = ("completed", "withdrawn", "defaulted", "deposit_expired")


def test_history_weights_decay_by_half_life(db):
    rng = random.Random(180)
    with db.cursor() as cur:
        cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('Hist', 0)"
                    " RETURNING id")
        did = cur.fetchone()[0]
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, 'H-1', 'H', 100, 0, 0)"
                    " RETURNING id", (did,))
        prod = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
            " ends_at, tier_basis, tiers, min_participants, max_quantity,"
            " per_customer_limit, deposit_policy)"
            " VALUES (%s, %s, 'H', 'failed', now() - interval '2 days', now(),"
            " 'participants', '[{\"threshold\": 1, \"unit_price_cents\": 100}]', 1, 1000000,"
            " 1, '[{\"min_score\": 0, \"deposit_percent\": 0}]') RETURNING id", (did, prod))
        cid = cur.fetchone()[0]
        customers = []
        for k in range(40):
            cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                        " VALUES (%s, 'x', 'H') RETURNING id", ("hist%d@example.com" % k,))
            customers.append(cur.fetchone()[0])

        cur.execute("BEGIN")  # one now() for the events and the sums
        histories = {}
        for cust in customers:
            events = []
            for _ in range(rng.randint(0, 25)):
                # age in microseconds: fresh, old, ancient, or from the future
                age_us = rng.choice([0, rng.randint(0, 3 * 10 ** 13),
                                     rng.randint(0, 10 ** 15), -rng.randint(1, 10 ** 11)])
                kind = rng.choice(KINDS)
                cur.execute(
                    "WITH p AS (INSERT INTO participations (distributor_id, campaign_id,"
                    " customer_id, quantity, status, score_at_join, p_complete_at_join,"
                    " deposit_percent, deposit_cents) VALUES (%s, %s, %s, 1, 'void', 75,"
                    " 0.75, 0, 0) RETURNING id)"
                    " INSERT INTO customer_events (customer_id, distributor_id,"
                    " participation_id, kind, occurred_at)"
                    " SELECT %s, %s, p.id, %s, now() - (%s || ' microseconds')::interval"
                    " FROM p", (did, cid, cust, cust, did, kind, age_us))
                events.append((kind, age_us))
            histories[cust] = events
        # a customer of the distributor with no history at all
        cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                    " VALUES ('hist-none@example.com', 'x', 'H') RETURNING id")
        none = cur.fetchone()[0]
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                    " deposit_cents) VALUES (%s, %s, %s, 1, 'void', 75, 0.75, 0, 0)",
                    (did, cid, none))
        histories[none] = []
        bad = []
        for hl in (180.0, 30.0, 1.5, 1000.0, 0.001):
            cur.execute("SELECT * FROM gb_distributor_histories(%s, %s)", (did, hl))
            rows = cur.fetchall()
            whole = {r[0]: r[2:] for r in rows}
            # every customer with a participation here, once, with its own
            # completed events as staff see them
            want = {c for c, events in histories.items() if events or c == none}
            if len(rows) != len(whole) or set(whole) != want:
                bad.append((hl, "customers", sorted(whole), sorted(want)))
            for r in rows:
                cur.execute("SELECT completed FROM gb_customer_own_events(%s, %s)", (did, r[0]))
                if cur.fetchone()[0] != r[1]:
                    bad.append((hl, "own", r))
            # only those asked for, when asked
            some = sorted(want)[::3] + [none, 10 ** 12]
            cur.execute("SELECT customer_id FROM gb_distributor_histories(%s, %s, %s)",
                        (did, hl, some))
            if sorted(r[0] for r in cur.fetchall()) != sorted(set(some) & want):
                bad.append((hl, "p_ids", some))
            for cust, events in histories.items():
                cur.execute("SELECT * FROM gb_customer_history(%s, %s)", (cust, hl))
                row = cur.fetchone()
                if cust in whole:
                    other = whole[cust]
                    for i in range(8):
                        if abs(other[i] - row[i]) > 1e-12 * max(1.0, abs(row[i])):
                            bad.append((hl, "whole", cust, other, row))
                            break
                for i, kind in enumerate(KINDS):
                    ages = [a for k, a in events if k == kind]
                    want_w = sum(0.5 ** (max(a, 0) / 1e6 / 86400 / hl) for a in ages)
                    n, w = row[2 * i], row[2 * i + 1]
                    if n != len(ages) or abs(w - want_w) > 1e-12 * max(1.0, want_w):
                        bad.append((hl, kind, events, n, w, want_w))
        cur.execute("ROLLBACK")
    assert bad == [], bad[:3]

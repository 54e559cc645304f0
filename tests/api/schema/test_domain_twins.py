"""The one domain rule that runs on both sides held side against side, and
a rule that runs only in SQL tested through SQL.

- The tier price lives twice, both live: pricing_unit_price (C) answers the
  progress and each participation, gb_tier_price (SQL) fixes the final
  price at close. 5,000 random ladders and counts go to both: to SQL in one
  query, to C through build/tools/tier_price (tests/tools/tier_price.c, the
  real pricing.c); every answer must agree, and agree with the rule as
  written here.
- The decay weight of the reliability score lives only in SQL
  (gb_customer_history, on the database clock); its per-kind counts and
  weight sums are checked against 0.5 ^ (max(age_days, 0) / half_life_days)
  computed here for random histories and half-lives, ancient events and
  short half-lives included (weights below 0.5 ^ 1000 count as 0).
"""
import os
import random
import subprocess

from conftest import ROOT

TOOL = os.path.join(ROOT, "build", "tools", "tier_price")


def c_tier_prices(cases):
    """Runs the C pricing over cases [(ladder, count)]. The tool is built
    here so that it is never older than pricing.c."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    subprocess.run(["make", "--no-print-directory", "-s", "build/tools/tier_price"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    text = "".join("%d %d %s\n" % (count, len(ladder),
                                    " ".join("%d %d" % t for t in ladder))
                   for ladder, count in cases)
    out = subprocess.run([TOOL], input=text, capture_output=True, text=True, check=True,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    return [int(x) if x != "invalid" else x for x in out.stdout.split()]


def random_ladder(rng):
    """A valid ladder: first threshold 1, thresholds up to 10^6 and prices
    down to 1 from at most 10^8 (pricing.h's bounds)."""
    n = rng.randint(1, 20)
    span = rng.choice([1, 3, 10, 1000, 10 ** 6 // 21])
    thresholds = [1] + sorted(rng.sample(range(2, 2 + span * n), n - 1))
    top = rng.choice([n, n + 1, 100, 9900, 10 ** 6, 10 ** 8])
    prices = sorted(rng.sample(range(1, top + 1), n), reverse=True)
    return list(zip(thresholds, prices))


def rule(ladder, count):
    """DESIGN.md: the price of the tier with the greatest threshold <=
    max(count, 1)."""
    return [p for t, p in ladder if t <= max(count, 1)][-1]


def test_tier_price_is_the_same_in_c_and_sql(db):
    rng = random.Random(5000)
    cases = []
    for _ in range(5000):
        ladder = random_ladder(rng)
        t = rng.choice(ladder)[0]
        count = rng.choice([0, 1, t - 1, t, t + 1, ladder[-1][0] + rng.randint(0, 10 ** 6),
                            rng.randint(0, 2 * ladder[-1][0])])
        cases.append((ladder, max(count, 0)))
    with db.cursor() as cur:
        cur.execute(
            "SELECT gb_tier_price(l, c) FROM unnest(%s::jsonb[], %s::bigint[])"
            " WITH ORDINALITY AS u (l, c, i) ORDER BY i",
            (["[%s]" % ", ".join('{"threshold": %d, "unit_price_cents": %d}' % t
                                 for t in ladder) for ladder, _ in cases],
             [count for _, count in cases]))
        sql = [r[0] for r in cur.fetchall()]
    c = c_tier_prices(cases)
    want = [rule(ladder, count) for ladder, count in cases]
    assert len(c) == len(sql) == len(cases)
    bad = [(cases[i], c[i], sql[i], want[i]) for i in range(len(cases))
           if not c[i] == sql[i] == want[i]]
    assert bad == [], bad[:3]


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
        bad = []
        for hl in (180.0, 30.0, 1.5, 1000.0, 0.001):
            for cust, events in histories.items():
                cur.execute("SELECT * FROM gb_customer_history(%s, %s)", (cust, hl))
                row = cur.fetchone()
                for i, kind in enumerate(KINDS):
                    ages = [a for k, a in events if k == kind]
                    want_w = sum(0.5 ** (max(a, 0) / 1e6 / 86400 / hl) for a in ages)
                    n, w = row[2 * i], row[2 * i + 1]
                    if n != len(ages) or abs(w - want_w) > 1e-12 * max(1.0, want_w):
                        bad.append((hl, kind, events, n, w, want_w))
        cur.execute("ROLLBACK")
    assert bad == [], bad[:3]

"""The tier price, tested through SQL (schema/functions/pricing.sql, its one
home): table-driven cases written from DESIGN's words, and many random
ladders and counts held against an oracle written here, in Python, from the
same words:

- the count is the live participations (basis "participants") or the sum
  of their quantities ("quantity");
- the unit price at a count is the price of the tier with the greatest
  threshold <= max(count, 1); the next tier is the one after it, `needed`
  its threshold minus the count;
- a tier is announced when the count first reaches it, the first tier
  never (its price applies from the first participant);
- staff may add or lower tiers but never raise the price that any count
  would pay (the PATCH rule);
- a stored ladder has 1..20 tiers, the first threshold 1, thresholds
  strictly ascending, prices strictly descending (the schema refuses any
  other, whoever writes it).
"""
import json
import random

import psycopg2
import pytest

from conftest import ROOT  # noqa: F401  (the suite's fixtures: db)


def ladder_json(ladder):
    return json.dumps([{"threshold": t, "unit_price_cents": p} for t, p in ladder])


def random_ladder(rng, n=None):
    """A valid ladder: first threshold 1, thresholds up to 10^6 and prices
    down to 1 from at most 10^8 (the bounds of server/domain/pricing.h)."""
    n = n or rng.randint(1, 20)
    span = rng.choice([1, 3, 10, 1000, 10 ** 6 // 21])
    thresholds = [1] + sorted(rng.sample(range(2, 2 + span * n), n - 1))
    top = rng.choice([n, n + 1, 100, 9900, 10 ** 6, 10 ** 8])
    prices = sorted(rng.sample(range(1, top + 1), n), reverse=True)
    return list(zip(thresholds, prices))


def interesting_count(rng, ladder):
    t = rng.choice(ladder)[0]
    return max(0, rng.choice([0, 1, t - 1, t, t + 1,
                              ladder[-1][0] + rng.randint(0, 10 ** 6),
                              rng.randint(0, 2 * ladder[-1][0])]))


# ---------------------------------------------------------------- oracle

def oracle_tier(ladder, count):
    """The position of the tier with the greatest threshold <= max(count, 1)."""
    return max(i for i, (t, _) in enumerate(ladder) if t <= max(count, 1))


def oracle_price(ladder, count):
    return ladder[oracle_tier(ladder, count)][1]


def oracle_reached(ladder, count):
    """The threshold announced at count: 0 below the second tier."""
    reached = [t for t, _ in ladder[1:] if t <= count]
    return reached[-1] if reached else 0


def oracle_progress(ladder, basis, participants, quantity, min_participants,
                    max_quantity):
    count = quantity if basis == "quantity" else participants
    i = oracle_tier(ladder, count)
    nxt = None
    if i + 1 < len(ladder):
        t, p = ladder[i + 1]
        nxt = {"threshold": t, "unit_price_cents": p, "needed": t - count}
    return {"participants": participants, "quantity": quantity,
            "remaining_quantity": max(max_quantity - quantity, 0),
            "current_unit_price_cents": ladder[i][1], "next_tier": nxt,
            "threshold_reached": participants >= min_participants}


def oracle_first_raised(old, new):
    """The smallest count >= 1 that pays more under new than under old,
    searched count by count up to past both last thresholds (both prices
    are constant beyond)."""
    end = max(old[-1][0], new[-1][0]) + 1
    for count in range(1, end + 1):
        if oracle_price(new, count) > oracle_price(old, count):
            return count
    return None


def q(db, sql, args=()):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


# ---------------------------------------------------------------- the price

LADDER_3 = [(1, 9900), (10, 8900), (50, 7900)]


@pytest.mark.parametrize("ladder, count, price", [
    (LADDER_3, 0, 9900),       # nobody yet: the first tier's price
    (LADDER_3, 1, 9900),
    (LADDER_3, 9, 9900),
    (LADDER_3, 10, 8900),      # a threshold is reached at its count
    (LADDER_3, 49, 8900),
    (LADDER_3, 50, 7900),
    (LADDER_3, 10 ** 6, 7900),  # past the last tier
    ([(1, 5)], 0, 5),
    ([(1, 5)], 10 ** 6, 5),
    ([(1, 3), (2, 2), (3, 1)], 2, 2),
])
def test_tier_price_table(db, ladder, count, price):
    assert q(db, "SELECT gb_tier_price(%s::jsonb, %s)", (ladder_json(ladder), count)) \
        == [(price,)]


def test_tier_price_over_random_ladders(db, seed):
    """5,000 random ladders and counts: gb_tier_price, and the price of a
    ladder's arrays at its index (the join's way), agree with the oracle."""
    rng = random.Random(seed)
    cases = []
    for _ in range(5000):
        ladder = random_ladder(rng)
        cases.append((ladder, interesting_count(rng, ladder)))
    rows = q(db,
             "SELECT gb_tier_price(l, c), gb_tier_price_at(a.thresholds, a.prices, c),"
             "       gb_tier_index(a.thresholds, c)"
             "  FROM unnest(%s::jsonb[], %s::bigint[]) WITH ORDINALITY AS u (l, c, i),"
             "       gb_tier_ladder(u.l) a ORDER BY u.i",
             ([ladder_json(ladder) for ladder, _ in cases], [c for _, c in cases]))
    assert len(rows) == len(cases)
    bad = [(cases[i], rows[i]) for i in range(len(cases))
           if rows[i] != (oracle_price(*cases[i]), oracle_price(*cases[i]),
                          oracle_tier(*cases[i]) + 1)]
    assert bad == [], bad[:3]


@pytest.mark.parametrize("basis, participants, quantity, count", [
    ("participants", 3, 7, 3),
    ("quantity", 3, 7, 7),
    ("participants", 0, 0, 0),
])
def test_tier_count_follows_the_basis(db, basis, participants, quantity, count):
    assert q(db, "SELECT gb_tier_count(%s, %s, %s)", (basis, participants, quantity)) \
        == [(count,)]


def test_first_tier_price_is_the_price_at_one(db, seed):
    """The deposit's base (priced in C) is the first tier's price, which the
    stored ladder's first element holds."""
    rng = random.Random(seed)
    ladders = [random_ladder(rng) for _ in range(500)]
    rows = q(db, "SELECT gb_tier_first_price(l), gb_tier_price(l, 1), gb_tier_price(l, 0)"
                 "  FROM unnest(%s::jsonb[]) WITH ORDINALITY u (l, i) ORDER BY i",
             ([ladder_json(l) for l in ladders],))
    assert rows == [(l[0][1],) * 3 for l in ladders]


# ---------------------------------------------------------------- progress

def progress(db, ladder, basis, participants, quantity, min_participants, max_quantity):
    """gb_campaign_progress of an open campaign with these figures (a row
    value, nothing stored)."""
    c = {"id": 1, "status": "open", "tiers": [{"threshold": t, "unit_price_cents": p}
                                              for t, p in ladder],
         "tier_basis": basis, "live_participants": participants,
         "live_quantity": quantity, "min_participants": min_participants,
         "max_quantity": max_quantity}
    return q(db, "SELECT gb_campaign_progress(jsonb_populate_record(NULL::campaigns, %s))",
             (json.dumps(c),))[0][0]


@pytest.mark.parametrize("ladder, basis, parts, qty, minp, maxq, want", [
    # docs/api.md's example
    (LADDER_3, "participants", 12, 15, 10, 500,
     {"participants": 12, "quantity": 15, "remaining_quantity": 485,
      "current_unit_price_cents": 8900,
      "next_tier": {"threshold": 50, "unit_price_cents": 7900, "needed": 38},
      "threshold_reached": True}),
    # nobody yet: the first tier, the second needed whole
    (LADDER_3, "participants", 0, 0, 10, 500,
     {"participants": 0, "quantity": 0, "remaining_quantity": 500,
      "current_unit_price_cents": 9900,
      "next_tier": {"threshold": 10, "unit_price_cents": 8900, "needed": 10},
      "threshold_reached": False}),
    # the quantity prices: 15 units are past 10, not yet 50
    (LADDER_3, "quantity", 5, 15, 6, 500,
     {"participants": 5, "quantity": 15, "remaining_quantity": 485,
      "current_unit_price_cents": 8900,
      "next_tier": {"threshold": 50, "unit_price_cents": 7900, "needed": 35},
      "threshold_reached": False}),
    # the last tier: next_tier null; full: nothing remains
    (LADDER_3, "quantity", 20, 60, 20, 60,
     {"participants": 20, "quantity": 60, "remaining_quantity": 0,
      "current_unit_price_cents": 7900, "next_tier": None,
      "threshold_reached": True}),
    ([(1, 100)], "participants", 1, 1, 1, 1,
     {"participants": 1, "quantity": 1, "remaining_quantity": 0,
      "current_unit_price_cents": 100, "next_tier": None,
      "threshold_reached": True}),
])
def test_progress_table(db, ladder, basis, parts, qty, minp, maxq, want):
    assert progress(db, ladder, basis, parts, qty, minp, maxq) == want


def test_progress_over_random_campaigns(db, seed):
    rng = random.Random(seed)
    for _ in range(300):
        ladder = random_ladder(rng)
        basis = rng.choice(["participants", "quantity"])
        parts = rng.choice([0, 1, rng.randint(0, 2 * ladder[-1][0])])
        qty = parts * rng.choice([1, 1, 2, 3])
        if basis == "quantity":
            qty = max(qty, interesting_count(rng, ladder))
        elif parts:
            parts = max(parts, interesting_count(rng, ladder))
        maxq = rng.choice([qty, qty + 1, 10 ** 6])
        minp = rng.randint(1, max(1, 2 * parts))
        want = oracle_progress(ladder, basis, parts, qty, minp, maxq)
        got = progress(db, ladder, basis, parts, qty, minp, maxq)
        assert got == want, (ladder, basis, parts, qty, minp, maxq)


# ---------------------------------------------------------------- announcements

@pytest.mark.parametrize("count, reached", [
    (0, 0), (1, 0), (9, 0),  # the first tier is never announced
    (10, 10), (49, 10), (50, 50), (10 ** 6, 50),
])
def test_tier_reached_table(db, count, reached):
    assert q(db, "SELECT gb_tier_reached(%s::jsonb, %s)", (ladder_json(LADDER_3), count)) \
        == [(reached,)]


def test_tier_reached_over_random_ladders(db):
    """gb_tier_reached (the counter trigger's) and gb_tiers_reached (the
    tiers its announcements list) against the oracle: the tiers announced
    when the count moves on are those it newly reaches, the first never."""
    rng = random.Random(31)
    cases = []
    for _ in range(2000):
        ladder = random_ladder(rng)
        a, b = sorted([interesting_count(rng, ladder), interesting_count(rng, ladder)])
        cases.append((ladder, a, b))
    rows = q(db,
             "SELECT gb_tier_reached(l, b),"
             "       (SELECT coalesce(json_agg(json_build_array(t.threshold,"
             "                                                  t.unit_price_cents)"
             "                                 ORDER BY t.threshold), '[]')"
             "          FROM gb_tiers_reached(l, gb_tier_reached(l, a), gb_tier_reached(l, b)) t)"
             "  FROM unnest(%s::jsonb[], %s::bigint[], %s::bigint[])"
             "       WITH ORDINALITY u (l, a, b, i) ORDER BY i",
             ([ladder_json(l) for l, _, _ in cases], [a for _, a, _ in cases],
              [b for _, _, b in cases]))
    bad = []
    for (ladder, a, b), (reached, listed) in zip(cases, rows):
        want = [[t, p] for t, p in ladder[1:] if a < t <= b]
        if reached != oracle_reached(ladder, b) or listed != want:
            bad.append((ladder, a, b, reached, listed, want))
    assert bad == [], bad[:3]


def test_threshold_reached(db):
    assert q(db, "SELECT gb_threshold_reached(9, 10), gb_threshold_reached(10, 10),"
                 "       gb_threshold_reached(11, 10), gb_threshold_reached(0, 1)") \
        == [(False, True, True, False)]


# ---------------------------------------------------------------- the PATCH rule

@pytest.mark.parametrize("old, new, first", [
    (LADDER_3, LADDER_3, None),                                   # unchanged
    (LADDER_3, [(1, 9900), (10, 8900), (50, 7900), (100, 6900)], None),  # a tier added
    (LADDER_3, [(1, 9900), (5, 9000), (10, 8900), (50, 7900)], None),    # added below
    (LADDER_3, [(1, 9800), (10, 8800), (50, 7800)], None),        # all lowered
    (LADDER_3, [(1, 9900), (8, 8900), (50, 7900)], None),         # a threshold moved down
    (LADDER_3, [(1, 9901), (10, 8900), (50, 7900)], 1),           # the first raised
    (LADDER_3, [(1, 9900), (10, 8900), (60, 7900)], 50),          # a threshold moved up
    (LADDER_3, [(1, 9900), (10, 8900)], 50),                      # a tier removed
    (LADDER_3, [(1, 9900), (10, 8950), (50, 7900)], 10),          # a middle price raised
    (LADDER_3, [(1, 9900), (50, 7900)], 10),                      # the middle removed
    ([(1, 100)], [(1, 100), (2, 99)], None),
])
def test_first_raised_table(db, old, new, first):
    assert q(db, "SELECT gb_tiers_first_raised(%s::jsonb, %s::jsonb)",
             (ladder_json(old), ladder_json(new))) == [(first,)]


def test_first_raised_over_random_ladders(db):
    """Random pairs, many of them edits of one another (a tier dropped,
    added, a price or a threshold nudged), against a count-by-count search."""
    rng = random.Random(77)
    cases = []
    for _ in range(1500):
        n = rng.randint(1, 6)
        old = list(zip([1] + sorted(rng.sample(range(2, 40), n - 1)),
                       sorted(rng.sample(range(1, 200), n), reverse=True)))
        new = list(old)
        for _ in range(rng.randint(0, 3)):
            i = rng.randrange(len(new))
            t, p = new[i]
            edit = rng.choice(["drop", "add", "price", "threshold"])
            if edit == "drop" and len(new) > 1 and i > 0:
                del new[i]
            elif edit == "add":
                new.append((t + rng.randint(1, 20), max(1, p - rng.randint(1, 5))))
            elif edit == "price":
                new[i] = (t, max(1, p + rng.randint(-3, 3)))
            elif edit == "threshold" and i > 0:
                new[i] = (max(2, t + rng.randint(-3, 3)), p)
        new = sorted(dict(new).items())
        if any(b[0] <= a[0] or b[1] >= a[1] for a, b in zip(new, new[1:])) or new[0][0] != 1:
            continue  # the API refuses an invalid ladder before this rule
        cases.append((old, new))
    assert len(cases) > 500
    rows = q(db, "SELECT gb_tiers_first_raised(o, n)"
                 "  FROM unnest(%s::jsonb[], %s::jsonb[]) WITH ORDINALITY u (o, n, i)"
                 " ORDER BY i",
             ([ladder_json(o) for o, _ in cases], [ladder_json(n) for _, n in cases]))
    bad = [(o, n, r[0]) for (o, n), r in zip(cases, rows) if r[0] != oracle_first_raised(o, n)]
    assert bad == [], bad[:3]
    assert sum(r[0] is None for r in rows) > 50 and sum(r[0] is not None for r in rows) > 50


# ---------------------------------------------------------------- the stored ladder

@pytest.mark.parametrize("tiers, valid", [
    ('[{"threshold": 1, "unit_price_cents": 9900}]', True),
    (ladder_json(LADDER_3), True),
    (ladder_json([(t, 100 - t) for t in range(1, 21)]), True),
    ('[]', False),
    (ladder_json([(t, 100 - t) for t in range(1, 22)]), False),   # 21 tiers
    (ladder_json([(2, 9900)]), False),                             # not from 1
    (ladder_json([(1, 9900), (10, 8900), (10, 7900)]), False),     # a threshold twice
    (ladder_json([(1, 9900), (50, 7900), (10, 8900)]), False),     # not ascending
    (ladder_json([(1, 9900), (10, 9900)]), False),                 # a price kept
    (ladder_json([(1, 8900), (10, 9900)]), False),                 # a price rising
])
def test_tiers_valid_table(db, tiers, valid):
    assert q(db, "SELECT gb_tiers_valid(%s::jsonb)", (tiers,)) == [(valid,)]


def test_schema_refuses_an_invalid_ladder(db):
    """A ladder written behind the API's back is refused as the check
    campaigns_tiers_ladder, the row left as it was; a valid one passes."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('P', 0)"
                    " RETURNING id")
        did = cur.fetchone()[0]
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, 'P-1', 'P', 10000, 0, 0)"
                    " RETURNING id", (did,))
        prod = cur.fetchone()[0]
        cur.execute(
            "INSERT INTO campaigns (distributor_id, product_id, title, starts_at, ends_at,"
            " tier_basis, tiers, min_participants, max_quantity, per_customer_limit,"
            " deposit_policy) VALUES (%s, %s, 'P', now(), now() + interval '1 day',"
            " 'participants', %s, 1, 100, 1, '[{\"min_score\": 0, \"deposit_percent\": 0}]')"
            " RETURNING id", (did, prod, ladder_json(LADDER_3)))
        cid = cur.fetchone()[0]
        for bad in ([(1, 9900), (10, 9950)], [(3, 9900)], [(1, 9900), (1, 8900)]):
            with pytest.raises(psycopg2.errors.CheckViolation) as e:
                cur.execute("UPDATE campaigns SET tiers = %s WHERE id = %s",
                            (ladder_json(bad), cid))
            assert e.value.diag.constraint_name == "campaigns_tiers_ladder"
        cur.execute("SELECT tiers FROM campaigns WHERE id = %s", (cid,))
        assert cur.fetchone()[0] == json.loads(ladder_json(LADDER_3))
        cur.execute("UPDATE campaigns SET tiers = %s WHERE id = %s",
                    (ladder_json([(1, 9900), (5, 9000)]), cid))

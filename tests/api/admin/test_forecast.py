"""The staff campaign view's forecast (API.md "Forecast, ladder planning and
model refit"; DESIGN.md "Forecast"): the people in and those still to come.

Set-up writes straight into the database (participations with known
p_complete_at_join, campaigns moved in time, closed campaigns whose arrival
summaries the close's trigger writes); the forecast is read through HTTP and
held to tests/api/forecast_helpers.py, which follows the arrivals one by
one without the thinning the server computes with.
"""
import math
import random

import pytest

from helpers import *  # noqa: F401,F403
from campaign_helpers import *  # noqa: F401,F403
from forecast_helpers import *  # noqa: F401,F403


@pytest.fixture
def t(shared):
    return new_tenant(shared.srv)


def db_customer(db):
    with db.cursor() as cur:
        cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                    " VALUES (%s, 'x', 'Forecast') RETURNING id", (new_email("fc"),))
        return cur.fetchone()[0]


def db_join(db, campaign_id, distributor_id, p, status="active", quantity=1,
            created_at=None):
    with db.cursor() as cur:
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join,"
                    " deposit_percent, deposit_cents, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0, coalesce(%s, now()))",
                    (distributor_id, campaign_id, db_customer(db), quantity, status,
                     int(p * 100 + 0.5), p, created_at))


def move(db, cid, gone_days, left_days):
    """Makes campaign cid started gone_days ago and ending in left_days."""
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET starts_at = now() - %s * interval '1 day',"
                    " ends_at = now() + %s * interval '1 day' WHERE id = %s",
                    (gone_days, left_days, cid))


def closed_campaign(db, tenant_id, product_id, fractions, ps, quantities=None,
                    outcome="succeeded"):
    """A campaign of 10 days that closed a day ago, its joins at the given
    fractions of its duration, closed through a status change (the close's
    trigger summarises it). A draft until then, so that the scheduler does
    not close it halfway through."""
    with db.cursor() as cur:
        cur.execute(
            "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
            " ends_at, tier_basis, tiers, min_participants, max_quantity,"
            " per_customer_limit, deposit_policy)"
            " VALUES (%s, %s, 'History', 'draft', now() - interval '11 days',"
            " now() - interval '1 day', 'participants',"
            " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 1000, 10,"
            " '[{\"min_score\": 0, \"deposit_percent\": 0}]') RETURNING id",
            (tenant_id, product_id))
        cid = cur.fetchone()[0]
    for i, (f, p) in enumerate(zip(fractions, ps)):
        q = quantities[i] if quantities else 1
        with db.cursor() as cur:
            cur.execute("SELECT now() - interval '11 days' + %s * interval '10 days'", (f,))
            at = cur.fetchone()[0]
        db_join(db, cid, tenant_id, p, status="paid" if outcome == "succeeded" else "refunded",
                quantity=q, created_at=at)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = %s, closed_at = now() - interval '1 day',"
                    " final_unit_price_cents = CASE WHEN %s = 'succeeded' THEN 9000 END"
                    " WHERE id = %s", (outcome, outcome, cid))
    return cid


def check_against_reference(f, ps, m, tiers, live_quantity=None, max_quantity=0,
                            basis="participants"):
    """The answer held to the arrival-by-arrival reference, at the arrivals
    the answer reports."""
    a = f["arrivals"]
    ref = reference_forecast(ps, a["expected"], a["p_complete"], m, tiers,
                             q_bar=a["quantity_per_join"], live_quantity=live_quantity,
                             max_quantity=max_quantity, basis=basis)
    assert f["success_probability"] == pytest.approx(ref["success"], abs=1e-9)
    assert f["expected_participants"] == pytest.approx(ref["participants"], abs=1e-7)
    assert f["expected_joins"] == pytest.approx(ref["joins"], abs=1e-7)
    assert [x["probability"] for x in f["tier_probabilities"]] == pytest.approx(
        ref["prob"], abs=1e-9)
    assert sum(x["probability"] for x in f["tier_probabilities"]) == pytest.approx(
        f["success_probability"], abs=1e-12)
    assert abs(f["expected_final_unit_price_cents"] - ref["price"]) <= 0.5 + 1e-6
    return ref


# ---------------------------------------------------------------- closed

def test_a_closed_campaign_has_no_forecast(shared, t):
    srv, db = shared.srv, shared.db
    won = open_campaign(srv, t.token, min_participants=1)
    lost = open_campaign(srv, t.token, min_participants=1)
    settled = open_campaign(srv, t.token, min_participants=1)
    for c in (won, lost, settled):
        db_join(db, c["id"], t.id, 0.8)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'succeeded', closed_at = now(),"
                    " final_unit_price_cents = 9900 WHERE id = %s", (won["id"],))
        cur.execute("UPDATE campaigns SET status = 'failed', closed_at = now()"
                    " WHERE id = %s", (lost["id"],))
        cur.execute("UPDATE campaigns SET status = 'settled', closed_at = now(),"
                    " final_unit_price_cents = 9900 WHERE id = %s", (settled["id"],))
    cancelled = open_campaign(srv, t.token)
    assert srv.post("/v1/admin/campaigns/%d/cancel" % cancelled["id"],
                    token=t.token).status == 200
    for c in (won, lost, settled, cancelled):
        assert get_campaign(srv, t.token, c["id"])["forecast"] is None
    # still open: a forecast
    assert get_campaign(srv, t.token, open_campaign(srv, t.token)["id"])["forecast"]


# ---------------------------------------------------------------- the prior

def test_the_people_still_to_come_count(shared, t):
    """The issue's case: 5 of 10 in, half the time gone. The old forecast
    (the people in only) said 3.7 expected and 0 % to succeed; now the
    arrivals of the prior (F(tau) = tau) double the people in: 7.4
    expected, some 16 % to reach 10."""
    srv, db = shared.srv, shared.db
    o = open_campaign(srv, t.token, min_participants=10, max_quantity=500)
    ps = [0.75, 0.7, 0.8, 0.72, 0.73]
    for p in ps:
        db_join(db, o["id"], t.id, p)
    move(db, o["id"], 7, 7)
    f = get_campaign(srv, t.token, o["id"])["forecast"]
    a = f["arrivals"]
    assert a["basis"] == "prior" and a["campaigns_used"] == 0
    tau = f["fraction_elapsed"]
    assert tau == pytest.approx(0.5, abs=1e-3)
    assert a["share_by_now"] == pytest.approx(tau, abs=1e-12)
    assert a["expected"] == pytest.approx(5 * (1 - tau) / tau, rel=1e-9)
    assert a["p_complete"] == pytest.approx(sum(ps) / 5, abs=1e-12)
    assert a["quantity_per_join"] == 1
    assert f["expected_participants"] == pytest.approx(sum(ps) + a["expected"] * a["p_complete"],
                                                       rel=1e-9)
    assert f["expected_quantity"] == pytest.approx(f["expected_participants"], rel=1e-9)
    check_against_reference(f, ps, 10, o["tiers"], max_quantity=500)
    old = sum(pb_pmf(ps)[10:])  # the people in alone: impossible
    assert old == 0 and f["success_probability"] > 0.1
    assert f["expected_participants"] == pytest.approx(2 * sum(ps), rel=1e-2)
    assert [x["threshold"] for x in f["tier_probabilities"]] == [1, 10, 50]


def test_seconds_old_and_ended_campaigns(shared, t):
    srv, db = shared.srv, shared.db
    # seconds old: F kept at 1 %, one join stands for 99 more
    o = open_campaign(srv, t.token, min_participants=2, max_quantity=1000)
    db_join(db, o["id"], t.id, 0.9)
    move(db, o["id"], 0.0, 30)
    f = get_campaign(srv, t.token, o["id"])["forecast"]
    assert f["arrivals"]["expected"] == pytest.approx(99, rel=1e-9)
    # no time left: nobody else joins, the people in decide
    e = open_campaign(srv, t.token, min_participants=2, max_quantity=100)
    ps = [0.9, 0.6, 0.5]
    for p in ps:
        db_join(db, e["id"], t.id, p)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET starts_at = now() - interval '2 days',"
                    " ends_at = now() - interval '1 second' WHERE id = %s", (e["id"],))
    f = get_campaign(srv, t.token, e["id"])["forecast"]
    if f is not None:  # the scheduler may close it first
        assert f["arrivals"]["expected"] == 0 and f["fraction_elapsed"] == 1
        assert f["success_probability"] == pytest.approx(sum(pb_pmf(ps)[2:]), abs=1e-12)
    # a draft or scheduled campaign: nobody in, and no history yet
    d = scheduled_campaign(srv, t.token)
    f = get_campaign(srv, t.token, d["id"])["forecast"]
    assert f["arrivals"]["expected"] == 0 and f["success_probability"] == 0
    assert f["expected_final_unit_price_cents"] == 9900


def test_many_participations_exactly(shared, t):
    """60 live participations with spread p, quantities 1..3, the tier by
    quantity, a cap: the whole answer against the reference."""
    srv, db = shared.srv, shared.db
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 100, "unit_price_cents": 8900},
             {"threshold": 140, "unit_price_cents": 7900}]
    o = open_campaign(srv, t.token, min_participants=40, max_quantity=150,
                      tier_basis="quantity", tiers=tiers, per_customer_limit=3)
    ps = [((i * 37) % 100) / 100 for i in range(60)]
    qs = [1 + i % 3 for i in range(60)]
    for p, q in zip(ps, qs):
        db_join(db, o["id"], t.id, p, quantity=q)
    move(db, o["id"], 9, 1)  # tau 0.9: a few more expected
    f = get_campaign(srv, t.token, o["id"])["forecast"]
    assert f["arrivals"]["quantity_per_join"] == pytest.approx(sum(qs) / 60, rel=1e-12)
    check_against_reference(f, ps, 40, tiers, live_quantity=sum(qs), max_quantity=150,
                            basis="quantity")


def test_a_large_campaign_on_the_worker_pool(shared, t):
    """20,000 live participations: parsed and computed off the loop."""
    srv, db = shared.srv, shared.db
    o = open_campaign(srv, t.token, min_participants=15000, max_quantity=1000000)
    with db.cursor() as cur:
        cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                    " SELECT 'big' || g || '-' || %s || '@example.com', 'x', 'Big'"
                    "   FROM generate_series(1, 20000) g RETURNING id", (o["id"],))
        ids = [r[0] for r in cur.fetchall()]
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                    " deposit_cents)"
                    " SELECT %s, %s, c, 1, 'active', 75, 0.5 + (c %% 50) / 100.0, 0, 0"
                    "   FROM unnest(%s::bigint[]) c", (t.id, o["id"], ids))
        cur.execute("SELECT sum(p_complete_at_join) FROM participations WHERE campaign_id = %s",
                    (o["id"],))
        psum = cur.fetchone()[0]
    move(db, o["id"], 5, 5)
    f = get_campaign(srv, t.token, o["id"])["forecast"]
    a = f["arrivals"]
    assert a["expected"] == pytest.approx(20000 * (1 - f["fraction_elapsed"])
                                          / f["fraction_elapsed"], rel=1e-9)
    assert f["expected_participants"] == pytest.approx(psum + a["expected"] * a["p_complete"],
                                                       rel=1e-9)
    assert 0 <= f["success_probability"] <= 1


# ---------------------------------------------------------------- history

def test_history_gives_the_arrival_curve(shared, t):
    """Three closed campaigns (at least 5 joins each) make a history: their
    arrival curve, mean final joins, p_complete and quantity replace the
    prior. A campaign with 4 joins, a cancelled one and another
    distributor's do not count."""
    srv, db = shared.srv, shared.db
    pid = create_product(srv, t.token)["id"]
    # (fractions away from the hundredths, where a millisecond between
    # statements could move a join across)
    hist = [
        ([0.053, 0.123, 0.303, 0.333, 0.413, 0.773], [0.9, 0.8, 0.7, 0.9, 0.6, 0.8],
         [1, 2, 1, 1, 1, 2]),
        ([0.013, 0.023, 0.153, 0.223, 0.603], [0.5, 0.6, 0.7, 0.8, 0.9], None),
        ([0.083, 0.183, 0.243, 0.253, 0.503, 0.553, 0.933], [0.75] * 7, None),
    ]
    for fr, ps, qs in hist:
        closed_campaign(db, t.id, pid, fr, ps, qs, outcome="succeeded" if qs else "failed")
    closed_campaign(db, t.id, pid, [0.103, 0.203, 0.303, 0.403], [0.1] * 4)  # too few
    closed_campaign(db, t.id, pid, [0.9] * 6, [0.1] * 6, outcome="cancelled")
    other = new_tenant(srv)
    opid = create_product(srv, other.token)["id"]
    closed_campaign(db, other.id, opid, [0.9] * 6, [0.1] * 6)
    with db.cursor() as cur:
        cur.execute("SELECT joins, shares[26], shares[101], p_complete_sum, quantity_sum"
                    "  FROM campaign_arrivals WHERE distributor_id = %s ORDER BY campaign_id",
                    (t.id,))
        rows = cur.fetchall()
    assert [r[0] for r in rows] == [6, 5, 7, 4]
    assert rows[0][1] == pytest.approx(2 / 6) and rows[0][2] == 1  # by 0.25, by 1
    assert rows[0][4] == 8 and rows[1][3] == pytest.approx(3.5)

    def share(fr, tau):
        return sum(1 for x in fr if x <= tau + 1e-12) / len(fr)

    def curve(tau):  # the mean of the three, read between hundredths
        k = math.floor(tau * 100)
        lo = sum(share(fr, k / 100) for fr, _, _ in hist) / 3
        hi = sum(share(fr, (k + 1) / 100) for fr, _, _ in hist) / 3
        return lo + (tau * 100 - k) * (hi - lo)

    o = open_campaign(srv, t.token, min_participants=8, max_quantity=500)
    ps = [0.8, 0.7, 0.9, 0.6]
    for p in ps:
        db_join(db, o["id"], t.id, p)
    move(db, o["id"], 2.5, 7.5)
    f = get_campaign(srv, t.token, o["id"])["forecast"]
    a = f["arrivals"]
    tau = f["fraction_elapsed"]
    assert a["basis"] == "history" and a["campaigns_used"] == 3
    assert a["share_by_now"] == pytest.approx(curve(tau), abs=1e-9)
    assert a["expected"] == pytest.approx(4 * (1 - a["share_by_now"]) / a["share_by_now"],
                                          rel=1e-9)
    all_p = sum(sum(ps_) for _, ps_, _ in hist)
    assert a["p_complete"] == pytest.approx(all_p / 18, abs=1e-12)
    assert a["quantity_per_join"] == pytest.approx((8 + 5 + 7) / 18, abs=1e-12)
    check_against_reference(f, ps, 8, o["tiers"], max_quantity=500)
    # nobody in yet: the mean final joins still to come
    e = open_campaign(srv, t.token, min_participants=3)
    move(db, e["id"], 2.5, 7.5)
    f = get_campaign(srv, t.token, e["id"])["forecast"]
    assert f["arrivals"]["expected"] == pytest.approx(
        (6 + 5 + 7) / 3 * (1 - f["arrivals"]["share_by_now"]), rel=1e-9)
    # the other distributor has no history of its own
    oc = open_campaign(srv, other.token, min_participants=3)
    assert get_campaign(srv, other.token, oc["id"])["forecast"]["arrivals"]["basis"] == "prior"


def test_forecast_is_the_distributors_own(shared, t):
    srv = shared.srv
    o = open_campaign(srv, t.token)
    other = new_tenant(srv)
    assert_error(srv.get("/v1/admin/campaigns/%d" % o["id"], token=other.token), 404,
                 "not_found")

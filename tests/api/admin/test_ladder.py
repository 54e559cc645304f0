"""The ladder planner, POST /v1/admin/forecasts/ladder (API.md "Forecast,
ladder planning and model refit"; DESIGN.md "Ladder planning").

The answers are held to tests/api/forecast_helpers.py (the arrivals one by
one, the money summed over every outcome), and to the properties the issue
names, on random ladders drawn from the suite's seeds (the fixed one and
a fresh one a run: conftest.py): a lower min_participants never
lowers the success probability; a larger audience never lowers the
expected joins; revenue = the sum over the distribution of price x units,
to the cent. Nothing is written.
"""
import random

import pytest

from helpers import *  # noqa: F401,F403
from campaign_helpers import *  # noqa: F401,F403
from forecast_helpers import *  # noqa: F401,F403

PLAN = "/v1/admin/forecasts/ladder"


@pytest.fixture
def t(shared):
    return new_tenant(shared.srv)


def plan_body(product_id, **overrides):
    body = {"product_id": product_id, "starts_at": ts(3600), "ends_at": ts(3 * 86400),
            "tiers": [dict(x) for x in DEFAULT_TIERS], "min_participants": 10}
    body.update(overrides)
    return body


def plan(srv, token, product_id, **overrides):
    r = srv.post(PLAN, plan_body(product_id, **overrides), token=token)
    assert r.status == 200, r
    return r.json


def check_plan(a, tiers, m, cost, max_quantity=0, basis="participants", where=""):
    """The answer against the reference at the arrivals it reports."""
    arr = a["arrivals"]
    ref = reference_forecast([], arr["expected"], arr["p_complete"], m, tiers,
                             q_bar=arr["quantity_per_join"], max_quantity=max_quantity,
                             basis=basis, cost=cost)
    assert a["success_probability"] == pytest.approx(ref["success"], abs=1e-9), where
    assert a["expected_joins"] == pytest.approx(ref["joins"], abs=1e-7), where
    assert a["expected_participants"] == pytest.approx(ref["participants"], abs=1e-7), where
    probs = [x["probability"] for x in a["tier_probabilities"]]
    assert probs == pytest.approx(ref["prob"], abs=1e-9), where
    # revenue: the sum over the distribution of price x units, to the cent
    assert abs(a["expected_revenue_cents"] - ref["revenue"]) <= 0.5 + 1e-6, (where, ref)
    assert abs(a["expected_cost_cents"] - ref["cost"]) <= 0.5 + 1e-6, (where, ref)
    assert a["expected_margin_cents"] == a["expected_revenue_cents"] - a["expected_cost_cents"]
    assert abs(a["expected_final_unit_price_cents"] - ref["price"]) <= 0.5 + 1e-6, where
    for x, tier, c in zip(a["tier_probabilities"], tiers, ref["completers"]):
        assert x["threshold"] == tier["threshold"]
        assert x["unit_price_cents"] == tier["unit_price_cents"]
        assert x["cost_price_cents"] == cost
        assert x["unit_margin_cents"] == tier["unit_price_cents"] - cost
        assert x["expected_participants"] == pytest.approx(c, abs=1e-7), where
        rev = tier["unit_price_cents"] * arr["quantity_per_join"] * c
        assert abs(x["expected_revenue_cents"] - rev) <= 0.5 + 1e-6, where
    return ref


def random_ladder(rng, list_price):
    n = rng.randint(1, 5)
    th, price, tiers = 1, rng.randint(list_price // 2, list_price), []
    for _ in range(n):
        tiers.append({"threshold": th, "unit_price_cents": price})
        th += rng.randint(1, 12)
        price -= rng.randint(1, max(1, price // 8))
        if price < 1:
            break
    return tiers


# ---------------------------------------------------------------- answers

def test_plan_against_the_reference(shared, t):
    """A new distributor: the prior (5 % of the audience join, each
    completes like a new customer, one unit each)."""
    srv = shared.srv
    p = create_product(srv, t.token, cost_price_cents=6000)
    a = plan(srv, t.token, p["id"], audience_size=200, min_participants=8, max_quantity=500)
    assert a["audience_size"] == 200 and a["basis"] == "prior"
    arr = a["arrivals"]
    assert arr["expected"] == pytest.approx(10) and arr["join_share"] == pytest.approx(0.05)
    assert arr["p_complete"] == pytest.approx(0.75) and arr["quantity_per_join"] == 1
    assert arr["campaigns_used"] == 0 and arr["basis"] == "prior"
    check_plan(a, DEFAULT_TIERS, 8, 6000, max_quantity=500)
    assert a["expected_participants"] == pytest.approx(7.5)


def test_plan_takes_a_tiers_own_cost(shared, t):
    """A tier that carries the manufacturer's cost at its volume is planned
    at that cost, the one settlement pays there; a tier without one at the
    product's."""
    srv = shared.srv
    p = create_product(srv, t.token, cost_price_cents=6000)
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 10, "unit_price_cents": 8900, "cost_price_cents": 5200},
             {"threshold": 50, "unit_price_cents": 7900, "cost_price_cents": 0}]
    a = plan(srv, t.token, p["id"], tiers=tiers, audience_size=200, min_participants=8)
    assert [(x["cost_price_cents"], x["unit_margin_cents"]) for x in a["tier_probabilities"]] \
        == [(6000, 3900), (5200, 3700), (0, 7900)]
    same = plan(srv, t.token, p["id"], tiers=[dict(x, cost_price_cents=6000) for x in tiers],
                audience_size=200, min_participants=8)
    assert same["expected_cost_cents"] > a["expected_cost_cents"]


def test_plan_with_a_cap_and_quantity_tiers(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token, cost_price_cents=4000)
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 6, "unit_price_cents": 8800},
             {"threshold": 12, "unit_price_cents": 7700}]
    a = plan(srv, t.token, p["id"], audience_size=300, min_participants=5, max_quantity=14,
             per_customer_limit=2, tiers=tiers, tier_basis="quantity")
    check_plan(a, tiers, 5, 4000, max_quantity=14, basis="quantity")
    assert a["expected_joins"] <= 14


def test_plan_properties(shared, t, seed):
    srv = shared.srv
    rng = random.Random(seed)
    where = "seed %d" % seed
    for _ in range(3):
        cost = rng.randint(1000, 7000)
        p = create_product(srv, t.token, list_price_cents=10000, cost_price_cents=cost)
        tiers = random_ladder(rng, 10000)
        cap = rng.choice([0, rng.randint(5, 40)])
        extra = {"max_quantity": cap} if cap else {}
        audiences = sorted(rng.sample(range(0, 400), 4))
        ms = sorted(rng.sample(range(1, 15), 4))
        if cap:
            ms = [min(m, cap) for m in ms]
        prev_joins = prev_part = -1.0
        for aud in audiences:
            prev_success = 2.0
            for m in ms:
                a = plan(srv, t.token, p["id"], audience_size=aud, min_participants=m,
                         tiers=tiers, **extra)
                w = "%s, audience %d, m %d, tiers %s, cap %d" % (where, aud, m, tiers, cap)
                # a higher min_participants never raises the success
                assert a["success_probability"] <= prev_success + 1e-12, w
                prev_success = a["success_probability"]
                check_plan(a, tiers, m, cost, max_quantity=cap, where=w)
            # a larger audience never lowers the expected joins
            assert a["expected_joins"] >= prev_joins - 1e-9, w
            assert a["expected_participants"] >= prev_part - 1e-9, w
            prev_joins, prev_part = a["expected_joins"], a["expected_participants"]


def test_plan_writes_nothing(shared, t):
    srv, db = shared.srv, shared.db
    p = create_product(srv, t.token)

    def counts():
        with db.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM campaigns),"
                        " (SELECT count(*) FROM audit_log),"
                        " (SELECT count(*) FROM outbox),"
                        " (SELECT count(*) FROM idempotency_keys),"
                        " (SELECT count(*) FROM forecast_snapshots),"
                        " (SELECT count(*) FROM reliability_parameters)")
            return cur.fetchone()

    before = counts()
    for aud in (0, 50, 5000):
        plan(srv, t.token, p["id"], audience_size=aud)
    assert counts() == before


# ---------------------------------------------------------------- audience

def test_the_audience_counted_and_scored(shared, t):
    """Without audience_size: the distributor's customers (any participation
    in its campaigns), those not below min_score; scored by its model."""
    srv, db = shared.srv, shared.db
    p = create_product(srv, t.token)
    with db.cursor() as cur:
        cur.execute("INSERT INTO campaigns (distributor_id, product_id, title, status,"
                    " starts_at, ends_at, tier_basis, tiers, min_participants, max_quantity,"
                    " per_customer_limit, deposit_policy)"
                    " VALUES (%s, %s, 'Past', 'draft', now() - interval '3 days',"
                    " now() - interval '1 day', 'participants',"
                    " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 100, 10,"
                    " '[{\"min_score\": 0, \"deposit_percent\": 0}]') RETURNING id",
                    (t.id, p["id"]))
        cid = cur.fetchone()[0]
        for i in range(10):
            cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                        " VALUES (%s, 'x', 'Aud') RETURNING id", (new_email("aud"),))
            cu = cur.fetchone()[0]
            cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                        " quantity, status, score_at_join, p_complete_at_join,"
                        " deposit_percent, deposit_cents)"
                        " VALUES (%s, %s, %s, 1, 'defaulted', 75, 0.75, 0, 0) RETURNING id",
                        (t.id, cid, cu))
            part = cur.fetchone()[0]
            if i < 4:  # two fresh defaults: (3) / (3 + 1 + 2) = 50
                for kind in ("defaulted", "withdrawn"):
                    cur.execute("INSERT INTO customer_events (customer_id, distributor_id,"
                                " participation_id, kind) VALUES (%s, %s, %s, %s)",
                                (cu, t.id, part, kind))
    a = plan(srv, t.token, p["id"], min_score=0)
    assert a["audience_size"] == 10
    a = plan(srv, t.token, p["id"], min_score=60)
    assert a["audience_size"] == 6
    assert a["arrivals"]["expected"] == pytest.approx(6 * 0.05)
    # the distributor's own model: a prior of alpha 9 lifts them to 75
    r = srv.request("PUT", "/v1/admin/reliability/parameters", token=t.token, body={
        "parameters": {"half_life_days": 180, "prior_alpha_base": 9, "prior_alpha_per_vip": 2,
                       "prior_beta": 1, "weight_withdrawn": 0.5,
                       "weight_deposit_expired": 0.5, "weight_defaulted": 1}})
    assert r.status == 200, r
    assert plan(srv, t.token, p["id"], min_score=60)["audience_size"] == 10


def test_history_of_invitations_sets_the_share(shared, t):
    """Three closed campaigns that invited: the share joined of those
    invited replaces the prior's 5 %."""
    srv, db = shared.srv, shared.db
    p = create_product(srv, t.token)
    invited = joined = 0
    with db.cursor() as cur:
        for k, (n_inv, n_join) in enumerate([(10, 3), (20, 1), (10, 4)]):
            cur.execute("INSERT INTO campaigns (distributor_id, product_id, title, status,"
                        " starts_at, ends_at, tier_basis, tiers, min_participants,"
                        " max_quantity, per_customer_limit, deposit_policy)"
                        " VALUES (%s, %s, 'Invited', 'draft', now() - interval '3 days',"
                        " now() - interval '1 day', 'participants',"
                        " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 100, 10,"
                        " '[{\"min_score\": 0, \"deposit_percent\": 0}]') RETURNING id",
                        (t.id, p["id"]))
            cid = cur.fetchone()[0]
            for i in range(n_inv):
                cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                            " VALUES (%s, 'x', 'Inv') RETURNING id", (new_email("inv"),))
                cu = cur.fetchone()[0]
                cur.execute("INSERT INTO campaign_invitations (campaign_id, customer_id,"
                            " distributor_id, invited_at) VALUES (%s, %s, %s,"
                            " now() - interval '2 days')", (cid, cu, t.id))
                if i < n_join:
                    cur.execute("INSERT INTO participations (distributor_id, campaign_id,"
                                " customer_id, quantity, status, score_at_join,"
                                " p_complete_at_join, deposit_percent, deposit_cents,"
                                " created_at) VALUES (%s, %s, %s, 1, 'paid', 75, 0.75, 0, 0,"
                                " now() - interval '36 hours')", (t.id, cid, cu))
            cur.execute("UPDATE campaigns SET status = 'succeeded', closed_at = now(),"
                        " final_unit_price_cents = 9000 WHERE id = %s", (cid,))
            invited += n_inv
            joined += n_join
    a = plan(srv, t.token, p["id"], audience_size=1000)
    assert a["basis"] == "history" and a["arrivals"]["campaigns_used"] == 3
    assert a["arrivals"]["join_share"] == pytest.approx(joined / invited)
    assert a["arrivals"]["expected"] == pytest.approx(1000 * joined / invited)


# ---------------------------------------------------------------- refusals

def test_plan_refusals(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token, list_price_cents=10000)
    for field in ("product_id", "starts_at", "ends_at", "tiers", "min_participants"):
        body = plan_body(p["id"])
        del body[field]
        assert_error(srv.post(PLAN, body, token=t.token), 400, "invalid_field", field)
    cases = [
        ({"audience_size": -1}, "audience_size"),
        ({"audience_size": 1.5}, "audience_size"),
        ({"audience_size": "10"}, "audience_size"),
        ({"audience_size": 100000001}, "audience_size"),
        ({"nonsense": 1}, "nonsense"),
        ({"tiers": [{"threshold": 2, "unit_price_cents": 100}]}, "tiers"),
        ({"tiers": [{"threshold": 1, "unit_price_cents": 10001}]}, "tiers"),
        ({"ends_at": ts(-3600)}, "ends_at"),
        ({"min_participants": 0}, "min_participants"),
        ({"max_quantity": 5, "min_participants": 6}, "min_participants"),
        ({"tier_basis": "weight"}, "tier_basis"),
        ({"product_id": 10 ** 12}, "product_id"),
    ]
    for extra, field in cases:
        body = plan_body(p["id"])
        body.update(extra)
        assert_error(srv.post(PLAN, body, token=t.token), 400, "invalid_field", field)
    # another distributor's product is no product
    other = new_tenant(srv)
    op = create_product(srv, other.token)
    assert_error(srv.post(PLAN, plan_body(op["id"]), token=t.token), 400, "invalid_field",
                 "product_id")
    assert_error(srv.request("POST", PLAN, raw_body=b"{", token=t.token,
                             headers={"Content-Type": "application/json"}), 400, "invalid_json")


def test_plan_roles(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token)
    operator = new_staff(srv, t.token, role="operator")
    finance = new_staff(srv, t.token, role="finance")
    assert srv.post(PLAN, plan_body(p["id"]), token=staff_token(srv, operator.login)).status == 200
    assert_error(srv.post(PLAN, plan_body(p["id"]), token=staff_token(srv, finance.login)),
                 403, "forbidden")
    shopper = new_customer(srv)
    assert_error(srv.post(PLAN, plan_body(p["id"]), token=customer_token(srv, shopper.login)),
                 403, "forbidden")
    assert_error(srv.post(PLAN, plan_body(p["id"])), 401, "unauthenticated")

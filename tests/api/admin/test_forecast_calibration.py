"""The forecast part of the calibration report: GET /v1/admin/reports/reliability
"forecast" (API.md "Forecast, ladder planning and model refit"; DESIGN.md
"Calibration report").

A synthetic history where campaigns succeed with known probabilities q
(uniform) is written into the database with three snapshots each, as the
scheduler leaves them: at 75 % the forecast is the truth q (calibrated), at
50 % it is shrunk half-way to 0.5 (under-confident: the campaigns it puts
at p succeed at 2p - 0.5), at 25 % it is 0.5 (it knows nothing). The
report must be the sums over those rows exactly, and within the sampling
tolerance of the truth: each checkpoint's Brier score near its
expectation, each bucket's observed rate near the mean q of its campaigns.
The suite's seeds: the fixed one and a fresh one a run (conftest.py).
"""
import math
import random

import pytest

from helpers import *  # noqa: F401,F403

REPORT = "/v1/admin/reports/reliability"
N = 1000


@pytest.fixture
def t(shared):
    return new_tenant(shared.srv)


def forecasts(q):
    return {25: 0.5, 50: 0.5 * q + 0.25, 75: q}


def write(db, tenant_id, outcomes):
    """Campaigns with their outcome and snapshots [(status, {cp: p})]; an
    open one ends in the future (the scheduler would close it)."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, %s, 'P', 10000, 6000, 100)"
                    " RETURNING id", (tenant_id, uniq("fcal")))
        pid = cur.fetchone()[0]
        statuses = [s for s, _ in outcomes]
        cur.execute(
            "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
            " ends_at, tier_basis, tiers, min_participants, max_quantity,"
            " per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)"
            " SELECT %s, %s, 'Cal ' || o, s, now() - interval '12 days',"
            " now() + CASE WHEN s = 'open' THEN interval '2 days' ELSE interval '-2 days' END,"
            " 'participants',"
            " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 100, 10, '[]',"
            " CASE WHEN s IN ('succeeded', 'settled') THEN 9000 END,"
            " CASE WHEN s <> 'open' THEN now() - interval '1 day' END"
            " FROM unnest(%s::text[]) WITH ORDINALITY u (s, o) ORDER BY o RETURNING id",
            (tenant_id, pid, statuses))
        ids = sorted(r[0] for r in cur.fetchall())
        cids, cps, ps = [], [], []
        for cid, (_, snaps) in zip(ids, outcomes):
            for cp, p in snaps.items():
                cids.append(cid)
                cps.append(cp)
                ps.append(p)
        cur.execute(
            "INSERT INTO forecast_snapshots (campaign_id, checkpoint, distributor_id,"
            " fraction, participants, success_probability, expected_participants,"
            " expected_arrivals, basis, campaigns_used)"
            " SELECT c, k, %s, k / 100.0, 3, p, 5 * p, 2, 'prior', 0"
            " FROM unnest(%s::bigint[], %s::int[], %s::float8[]) u (c, k, p)",
            (tenant_id, cids, cps, ps))


def bucket(p):
    return min(int(math.floor(p * 10 + 1e-12)), 9)


def test_forecast_calibration_against_the_truth(shared, t, seed):
    srv, db = shared.srv, shared.db
    rng = random.Random(seed)
    where = "seed %d" % seed
    truth, outcomes = [], []
    for i in range(N):
        q = rng.random()
        y = rng.random() < q
        truth.append((q, y))
        status = ("settled" if i % 2 else "succeeded") if y else "failed"
        outcomes.append((status, forecasts(q)))
    # left out: cancelled (a decision), still open (no outcome yet)
    write(db, t.id, outcomes + [("cancelled", {25: 0.9, 50: 0.9, 75: 0.9}),
                                ("open", {25: 0.1, 50: 0.1})])
    r = srv.get(REPORT, token=t.token)
    assert r.status == 200, r
    got = {round(x["checkpoint"] * 100): x for x in r.json["forecast"]}
    assert sorted(got) == [25, 50, 75]
    for cp in (25, 50, 75):
        rep = got[cp]
        ps = [forecasts(q)[cp] for q, _ in truth]
        ys = [1.0 if y else 0.0 for _, y in truth]
        w = "%s, checkpoint %d" % (where, cp)
        assert rep["campaigns"] == N, w
        # exactly the rows' sums
        brier = sum((p - y) ** 2 for p, y in zip(ps, ys)) / N
        assert rep["brier_score"] == pytest.approx(brier, abs=1e-12), w
        assert rep["mean_predicted"] == pytest.approx(sum(ps) / N, abs=1e-12), w
        assert rep["observed_rate"] == pytest.approx(sum(ys) / N, abs=1e-12), w
        # near the truth: E[(p - y)^2] = (p - q)^2 + q (1 - q) per campaign
        expect = sum((p - q) ** 2 + q * (1 - q) for p, (q, _) in zip(ps, truth)) / N
        assert abs(rep["brier_score"] - expect) <= 4 * 0.35 / math.sqrt(N), (w, expect)
        assert len(rep["buckets"]) == 10
        for b in rep["buckets"]:
            k = round(b["predicted_from"] * 10)
            members = [(p, q, y) for p, (q, _), y in zip(ps, truth, ys) if bucket(p) == k]
            assert b["count"] == len(members), (w, k)
            if not members:
                assert b["observed_rate"] is None and b["mean_predicted"] is None, (w, k)
                continue
            n = len(members)
            true_rate = sum(m[1] for m in members) / n
            assert b["observed_rate"] == pytest.approx(sum(m[2] for m in members) / n,
                                                       abs=1e-12), (w, k)
            assert abs(b["observed_rate"] - true_rate) <= 4 * 0.5 / math.sqrt(n) + 1e-9, \
                (w, k, true_rate)
            mean_p = sum(m[0] for m in members) / n
            assert b["mean_predicted"] == pytest.approx(mean_p, abs=1e-12), (w, k)
    # the calibrated checkpoint scores best, the blind one worst
    assert got[75]["brier_score"] < got[25]["brier_score"], where
    # under-confident at 50 %: its top bucket succeeds more often than it says
    top = got[50]["buckets"][7]
    assert top["count"] > 0 and top["observed_rate"] > top["mean_predicted"], where


def test_no_snapshots_yet(shared, t):
    r = shared.srv.get(REPORT, token=t.token)
    assert r.status == 200, r
    for x in r.json["forecast"]:
        assert x["campaigns"] == 0 and x["brier_score"] is None
        assert x["mean_predicted"] is None and x["observed_rate"] is None
        assert all(b["count"] == 0 for b in x["buckets"])

"""The reliability calibration report: GET /v1/admin/reports/reliability.

Participations are inserted straight into the database with known
p_complete_at_join and final statuses (set-up, not behaviour); the report
is read through HTTP and compared with a bucket table and a Brier score
computed by hand below.

The rule (schema/functions/reports.sql): only campaigns that succeeded
(succeeded, settled) count; scored participations are paid (outcome 1) and
defaulted, withdrawn, expired (outcome 0); bucket k holds k/10 <= p <
(k+1)/10 in decimal, p = 1 in the last bucket.
"""
import json

import pytest

from helpers import *

REPORT = "/v1/admin/reports/reliability"


def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone() if cur.description else None


def customer(db):
    return q(db, "INSERT INTO customers (login, password_hash, display_name)"
                 " VALUES (%s, 'x', 'Cal') RETURNING id", (new_email("cal"),))[0]


def campaign(db, tenant_id, status):
    pid = q(db, "INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                " cost_price_cents, stock) VALUES (%s, %s, 'P', 10000, 6000, 100)"
                " RETURNING id", (tenant_id, uniq("cal-sku")))[0]
    closed = status not in ("open", "draft", "scheduled")
    return q(db, "INSERT INTO campaigns (distributor_id, product_id, title, status,"
                 " starts_at, ends_at, tier_basis, tiers, min_participants,"
                 " max_quantity, per_customer_limit, deposit_policy,"
                 " final_unit_price_cents, closed_at)"
                 " VALUES (%s, %s, 'Cal', %s, now() - interval '2 days',"
                 " now() + interval '1 day', 'participants',"
                 " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 100, 10,"
                 " '[]', %s, CASE WHEN %s THEN now() END) RETURNING id",
             (tenant_id, pid, status, 9000 if status in ("succeeded", "settled") else None,
              closed))[0]


def part(db, tenant_id, cid, p, status):
    # live statuses must not break the campaign counters: quantity 1 each
    return q(db, "INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                 " quantity, status, score_at_join, p_complete_at_join,"
                 " deposit_percent, deposit_cents) VALUES (%s, %s, %s, 1, %s, %s, %s,"
                 " 0, 0) RETURNING id",
             (tenant_id, cid, customer(db), status, int(round(p * 100)), p))[0]


def report(srv, token):
    r = srv.get(REPORT, token=token)
    assert r.status == 200, r
    return r.json


def assert_bucket_bounds(rep):
    assert len(rep["buckets"]) == 10, rep
    for k, b in enumerate(rep["buckets"]):
        assert b["predicted_from"] == pytest.approx(k / 10, abs=1e-12), b
        assert b["predicted_to"] == pytest.approx((k + 1) / 10, abs=1e-12), b
        assert isinstance(b["count"], int), b


def test_report_matches_a_hand_computation(app, db):
    t = new_tenant(app)
    won = campaign(db, t.id, "succeeded")
    settled = campaign(db, t.id, "settled")
    # scored: (p, status)
    for p, st in [(0.05, "defaulted"),
                  (0.35, "paid"), (0.3, "withdrawn"), (0.38, "expired"),
                  (0.8, "paid"), (1.0, "paid"), (0.95, "defaulted")]:
        part(db, t.id, won, p, st)
    for p, st in [(0.75, "paid"), (0.75, "paid"), (0.75, "paid"), (0.75, "defaulted")]:
        part(db, t.id, settled, p, st)
    # not scored: no outcome yet, or never counted (pending_deposit at close)
    part(db, t.id, won, 0.6, "awaiting_payment")
    part(db, t.id, won, 0.6, "void")
    part(db, t.id, won, 0.6, "refunded")
    # not scored: the deal did not happen, or has not happened yet
    failed = campaign(db, t.id, "failed")
    part(db, t.id, failed, 0.5, "refunded")
    part(db, t.id, failed, 0.5, "void")
    cancelled = campaign(db, t.id, "cancelled")
    part(db, t.id, cancelled, 0.2, "withdrawn")
    part(db, t.id, cancelled, 0.2, "refunded")
    still_open = campaign(db, t.id, "open")
    part(db, t.id, still_open, 0.45, "active")
    part(db, t.id, still_open, 0.45, "withdrawn")
    part(db, t.id, still_open, 0.45, "expired")
    # another distributor's outcomes
    other = new_tenant(app)
    part(db, other.id, campaign(db, other.id, "succeeded"), 0.55, "paid")
    part(db, other.id, campaign(db, other.id, "settled"), 0.15, "defaulted")

    rep = report(app, t.token)
    assert_bucket_bounds(rep)
    # bucket: (count, mean_predicted, observed_rate), by hand
    expected = {0: (1, 0.05, 0.0),
                3: (3, (0.35 + 0.3 + 0.38) / 3, 1 / 3),
                7: (4, 0.75, 0.75),
                8: (1, 0.8, 1.0),
                9: (2, (1.0 + 0.95) / 2, 0.5)}
    for k, b in enumerate(rep["buckets"]):
        if k in expected:
            n, mean, rate = expected[k]
            assert b["count"] == n, (k, b)
            assert b["mean_predicted"] == pytest.approx(mean, abs=1e-12), (k, b)
            assert b["observed_rate"] == pytest.approx(rate, abs=1e-12), (k, b)
        else:
            assert b == {"predicted_from": b["predicted_from"],
                         "predicted_to": b["predicted_to"], "count": 0,
                         "mean_predicted": None, "observed_rate": None}, (k, b)
    assert rep["outcomes"] == 11
    # (p - outcome)^2 summed: .0025 + .4225 + .09 + .1444 + .04 + 0 + .9025
    # + 3 x .0625 + .5625 = 2.3519
    assert rep["brier_score"] == pytest.approx(2.3519 / 11, abs=1e-12)

    # the other distributor sees only its own two
    rep2 = report(app, other.token)
    assert rep2["outcomes"] == 2
    assert rep2["brier_score"] == pytest.approx((0.45 ** 2 + 0.15 ** 2) / 2, abs=1e-12)
    assert [b["count"] for b in rep2["buckets"]] == [0, 1, 0, 0, 0, 1, 0, 0, 0, 0]


def test_empty_report(app):
    t = new_tenant(app)
    rep = report(app, t.token)
    assert_bucket_bounds(rep)
    assert rep["outcomes"] == 0
    assert rep["brier_score"] is None
    for b in rep["buckets"]:
        assert (b["count"], b["mean_predicted"], b["observed_rate"]) == (0, None, None)


def test_only_unscored_participations_is_empty(app, db):
    t = new_tenant(app)
    won = campaign(db, t.id, "succeeded")
    part(db, t.id, won, 0.9, "awaiting_payment")
    part(db, t.id, campaign(db, t.id, "failed"), 0.9, "refunded")
    rep = report(app, t.token)
    assert rep["outcomes"] == 0 and rep["brier_score"] is None


def test_perfect_and_worst_predictions(app, db):
    t = new_tenant(app)
    won = campaign(db, t.id, "succeeded")
    part(db, t.id, won, 1.0, "paid")
    part(db, t.id, won, 0.0, "defaulted")
    rep = report(app, t.token)
    assert rep["brier_score"] == 0
    assert [b["count"] for b in rep["buckets"]] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    part(db, t.id, won, 0.0, "paid")
    part(db, t.id, won, 1.0, "expired")
    rep = report(app, t.token)
    assert rep["brier_score"] == pytest.approx(0.5)
    assert rep["buckets"][0]["observed_rate"] == pytest.approx(0.5)
    assert rep["buckets"][9]["observed_rate"] == pytest.approx(0.5)


def test_roles(app, db):
    t = new_tenant(app)
    operator = new_staff(app, t.token, role="operator")
    finance = new_staff(app, t.token, role="finance")
    assert app.get(REPORT, token=t.token).status == 200
    assert app.get(REPORT, token=staff_token(app, operator.login)).status == 200
    assert_error(app.get(REPORT, token=staff_token(app, finance.login)), 403, "forbidden")
    shopper = new_customer(app)
    assert_error(app.get(REPORT, token=customer_token(app, shopper.login)), 403, "forbidden")
    assert_error(app.get(REPORT), 401, "unauthenticated")
    assert_error(app.post(REPORT, {}, token=t.token), 405, "method_not_allowed")

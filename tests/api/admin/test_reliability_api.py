"""Reliability scores through the API (DESIGN.md "Customer reliability";
API.md "Customers and reliability"): DESIGN.md's examples (75, 60, 83), the
decay with the database clock, the staff view of a customer, VIP levels,
the score in /v1/me, the score recorded at join, and the parameters in
config.
"""
import os
import subprocess

import pytest

from conftest import BIN, ROOT
from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403


@pytest.fixture
def t(app):
    return new_tenant(app)


def me_score(srv, token):
    r = srv.get("/v1/me", token=token)
    assert r.status == 200, r
    assert set(r.json["reliability"]) == {"score"}, r
    assert_customer_object(r.json)
    return r.json["reliability"]["score"]


def staff_view(srv, token, cid):
    return srv.get("/v1/admin/customers/%d" % cid, token=token)


def put_vip(srv, token, cid, level):
    return srv.request("PUT", "/v1/admin/customers/%d/vip" % cid,
                       body={"vip_level": level}, token=token)


def test_design_examples(app, db, t):
    """A new customer scores 75, one default takes them to 60, a VIP 1
    customer starts at 83."""
    new = http_customer(app)
    assert me_score(app, new.token) == 75

    flaky = http_customer(app)
    add_event(db, t.id, flaky.id, "defaulted")
    assert me_score(app, flaky.token) == 60

    vip = http_customer(app)
    cid = make_campaign(app, db, t, min_score=83)
    assert_error(join(app, vip.token, cid, 1), 403, "reliability_too_low")
    other = make_campaign(app, db, t)
    assert join(app, vip.token, other, 1).status == 201  # now known to t
    r = put_vip(app, t.token, vip.id, 1)
    assert r.status == 200, r
    assert r.json["reliability"]["score"] == 83 and r.json["reliability"]["vip_level"] == 1
    r = join(app, vip.token, cid, 1)
    assert r.status == 201, r
    assert r.json["status"] == "active" and r.json["deposit_cents"] == 0
    with db.cursor() as cur:
        cur.execute("SELECT score_at_join, p_complete_at_join, deposit_percent"
                    " FROM participations WHERE id = %s", (r.json["id"],))
        assert cur.fetchone() == (83, 5.0 / 6.0, 0)
    # /v1/me speaks for no distributor: the prior without VIP
    assert me_score(app, vip.token) == 75


def test_events_decay_with_the_half_life(app, db, t):
    c = http_customer(app)
    add_event(db, t.id, c.id, "defaulted", age_days=180)  # weighs 0.5
    assert me_score(app, c.token) == 67                    # 3 / 4.5
    add_event(db, t.id, c.id, "defaulted", age_days=3600)  # ~ nothing left
    assert me_score(app, c.token) == 67
    add_event(db, t.id, c.id, "completed", age_days=0)     # 4 / 5.5
    assert me_score(app, c.token) == 73
    d = http_customer(app)
    add_event(db, t.id, d.id, "withdrawn")
    add_event(db, t.id, d.id, "deposit_expired")           # 3 / (4 + 0.5 + 0.5)
    assert me_score(app, d.token) == 60


def test_staff_view_of_a_customer(app, db, t):
    c = http_customer(app)
    cid = make_campaign(app, db, t)
    assert_error(staff_view(app, t.token, c.id), 404, "not_found")  # never dealt with t
    p = join(app, c.token, cid, 1).json
    add_event(db, t.id, c.id, "defaulted")
    add_event(db, t.id, c.id, "completed")
    add_event(db, t.id, c.id, "completed")
    other = new_tenant(app)
    add_event(db, other.id, c.id, "deposit_expired")  # history with another distributor
    r = staff_view(app, t.token, c.id)
    assert r.status == 200, r
    assert_customer_object(r.json["customer"], login=None)
    assert r.json["customer"]["id"] == c.id
    rel = r.json["reliability"]
    # the counts staff see are their own distributor's (DESIGN.md, "Privacy
    # between distributors")...
    assert rel["events"] == {"completed": 2, "withdrawn": 0, "defaulted": 1,
                             "deposit_expired": 0}
    # ... while the score uses the whole history:
    # (3 + 2) / (4 + 2 + 1 + 0.5) = 0.6667
    assert rel["score"] == 67 and abs(rel["p_complete"] - 5 / 7.5) < 1e-6
    assert rel["vip_level"] == 0
    # the other distributor sees the same score (its own VIP prior) and
    # only its own event
    r = staff_view(app, other.token, c.id)
    assert r.status == 200, r
    assert r.json["reliability"]["events"] == {"completed": 0, "withdrawn": 0,
                                               "defaulted": 0, "deposit_expired": 1}
    assert r.json["reliability"]["score"] == 67
    # a withdrawal shows up at once
    assert withdraw(app, c.token, p["id"]).status == 200
    r = staff_view(app, t.token, c.id)
    assert r.json["reliability"]["events"]["withdrawn"] == 1
    op = new_staff(app, t.token, role="operator")
    assert staff_view(app, staff_token(app, op.login), c.id).status == 200
    fin = new_staff(app, t.token, role="finance")
    assert_error(staff_view(app, staff_token(app, fin.login), c.id), 403, "forbidden")
    assert_error(staff_view(app, c.token, c.id), 403, "forbidden")
    assert_error(staff_view(app, t.token, 999999), 404, "not_found")
    third = new_tenant(app)
    assert_error(staff_view(app, third.token, c.id), 404, "not_found")


def test_vip_levels(app, db, t):
    c = http_customer(app)
    cid = make_campaign(app, db, t)
    assert_error(put_vip(app, t.token, c.id, 2), 404, "not_found")
    assert join(app, c.token, cid, 1).status == 201
    expected = {0: 75, 1: 83, 2: 88, 3: 90}  # (3 + 2v) / (4 + 2v)
    for level in (3, 2, 1, 0):
        r = put_vip(app, t.token, c.id, level)
        assert r.status == 200, r
        assert (r.json["reliability"]["vip_level"], r.json["reliability"]["score"]) == \
            (level, expected[level])
        assert staff_view(app, t.token, c.id).json["reliability"]["vip_level"] == level
    # audit: before and after, newest last
    r = app.get("/v1/admin/audit-log?limit=200", token=t.token)
    vips = [e for e in r.json["items"] if e["entity"] == "customer_vip"]
    assert [(e["before"], e["after"]) for e in vips] == [
        ({"vip_level": 0}, {"vip_level": 3}), ({"vip_level": 3}, {"vip_level": 2}),
        ({"vip_level": 2}, {"vip_level": 1}), ({"vip_level": 1}, {"vip_level": 0})]
    assert all(e["entity_id"] == c.id and e["staff_id"] == t.owner["id"] for e in vips)
    # per distributor: another one's level is its own
    other = new_tenant(app)
    ocid = make_campaign(app, db, other)
    assert join(app, c.token, ocid, 1).status == 201
    r = put_vip(app, t.token, c.id, 3)
    assert r.status == 200 and r.json["reliability"]["vip_level"] == 3, r
    assert staff_view(app, t.token, c.id).json["reliability"]["vip_level"] == 3
    assert staff_view(app, other.token, c.id).json["reliability"]["vip_level"] == 0
    for bad in (-1, 4, 1.5, "2", None):
        assert_error(put_vip(app, t.token, c.id, bad), 400, "invalid_field", "vip_level")
    r = app.request("PUT", "/v1/admin/customers/%d/vip" % c.id,
                    body={"vip_level": 1, "note": "x"}, token=t.token)
    assert_error(r, 400, "invalid_field")
    fin = new_staff(app, t.token, role="finance")
    assert_error(put_vip(app, staff_token(app, fin.login), c.id, 1), 403, "forbidden")
    assert_error(put_vip(app, c.token, c.id, 1), 403, "forbidden")


def test_reliability_parameters_from_config(make_server, dbname, db):
    """Every parameter of the model is a config key."""
    conf = FAST_CONFIG + ("reliability_prior_alpha_base = 1\n"
                          "reliability_prior_beta = 1\n"
                          "reliability_weight_defaulted = 2\n"
                          "reliability_half_life_days = 1\n")
    srv = make_server(dbname, env=APP_ENV, config=conf)
    t = new_tenant(srv)
    c = http_customer(srv)
    assert me_score(srv, c.token) == 50              # 1 / 2
    add_event(db, t.id, c.id, "defaulted", age_days=1)  # weighs 0.5, f = 2: 1 / 3
    assert me_score(srv, c.token) == 33


@pytest.mark.parametrize("line", [
    "reliability_half_life_days = 0", "reliability_prior_beta = -1",
    "reliability_weight_withdrawn = nan", "reliability_prior_alpha_base = x",
    "reliability_weight_defaulted = 1e999",
])
def test_bad_reliability_config_is_refused(tmp_path, line):
    path = os.path.join(str(tmp_path), "bad.conf")
    with open(path, "w") as f:
        f.write(line + "\n")
    p = subprocess.run([BIN, "-c", path, "check-config"], cwd=ROOT, capture_output=True,
                       text=True)
    assert p.returncode != 0, p
    assert line.split()[0] in p.stderr + p.stdout, p


def test_check_config_shows_the_defaults(tmp_path):
    p = subprocess.run([BIN, "-c", os.path.join(ROOT, "config", "groupbuyd.conf"),
                        "check-config"], cwd=ROOT, capture_output=True, text=True)
    assert p.returncode == 0, p
    for kv in ("reliability_half_life_days = 180", "reliability_prior_alpha_base = 3",
               "reliability_prior_alpha_per_vip = 2", "reliability_prior_beta = 1",
               "reliability_weight_withdrawn = 0.5",
               "reliability_weight_deposit_expired = 0.5",
               "reliability_weight_defaulted = 1"):
        assert kv in p.stdout, p.stdout

"""Fulfilment (API.md "Fulfilment and after-sales", DESIGN.md "Fulfilment
and after-sales"): pickup points, the fulfilment terms of campaigns, the
join's choice of point or address, orders and their transitions, the
pickup code, and the tenancy of all of them (404 for another distributor's
or customer's resources).
"""
import pytest

from helpers import *
from campaign_helpers import OMIT, create_product, create_campaign, open_campaign, post_campaign

POINT = {"name": "幸福小区自提点", "address": "幸福路 1 号", "leader_name": "王团长",
         "leader_phone": "13900000001", "commission_bp": 300}


@pytest.fixture(scope="module")
def srv(shared):
    return shared.srv


def new_point(srv, token, **overrides):
    body = dict(POINT)
    body.update(overrides)
    r = srv.post("/v1/admin/pickup-points", body, token=token)
    assert r.status == 201, r
    return r.json


def test_pickup_points_create_list_get_patch(srv):
    t = new_tenant(srv)
    p = new_point(srv, t.token)
    assert p["distributor_id"] == t.id and p["active"] is True
    assert {k: p[k] for k in POINT} == POINT
    r = srv.get("/v1/admin/pickup-points/%d" % p["id"], token=t.token)
    assert r.status == 200 and r.json == p, r
    r = srv.get("/v1/admin/pickup-points", token=t.token)
    assert r.status == 200 and [x["id"] for x in r.json["items"]] == [p["id"]], r
    r = srv.request("PATCH", "/v1/admin/pickup-points/%d" % p["id"],
                    {"commission_bp": 500, "active": False}, token=t.token)
    assert r.status == 200, r
    assert (r.json["commission_bp"], r.json["active"], r.json["name"]) == (500, False, POINT["name"])


def test_pickup_point_refusals(srv):
    t = new_tenant(srv)
    for field, value in (("commission_bp", 10001), ("commission_bp", -1),
                         ("name", ""), ("leader_phone", 13900000001)):
        body = dict(POINT)
        body[field] = value
        assert_error(srv.post("/v1/admin/pickup-points", body, token=t.token),
                     400, "invalid_field", field)
    body = dict(POINT, active=True)
    assert_error(srv.post("/v1/admin/pickup-points", body, token=t.token),
                 400, "invalid_field", "active")
    p = new_point(srv, t.token)
    other = new_tenant(srv)
    assert_error(srv.get("/v1/admin/pickup-points/%d" % p["id"], token=other.token),
                 404, "not_found")
    assert_error(srv.request("PATCH", "/v1/admin/pickup-points/%d" % p["id"],
                             {"name": "x"}, token=other.token), 404, "not_found")
    assert srv.get("/v1/admin/pickup-points/%d" % p["id"], token=t.token).json["name"] == POINT["name"]


def test_campaign_fulfilment_terms(srv):
    t = new_tenant(srv)
    prod = create_product(srv, t.token)["id"]
    c = create_campaign(srv, t.token, prod)
    assert (c["fulfilment"], c["pickup_point_ids"], c["after_sales_days"],
            c["max_pending_share_bp"]) == ("delivery", [], 7, 5000)
    a, b = new_point(srv, t.token), new_point(srv, t.token, name="B")
    c = create_campaign(srv, t.token, prod, fulfilment="pickup",
                        pickup_point_ids=[b["id"], a["id"]], after_sales_days=0,
                        max_pending_share_bp=10000)
    assert (c["fulfilment"], c["pickup_point_ids"], c["after_sales_days"],
            c["max_pending_share_bp"]) == ("pickup", [b["id"], a["id"]], 0, 10000)
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % c["id"],
                    {"max_pending_share_bp": 2500, "after_sales_days": 30}, token=t.token)
    assert r.status == 200, r
    assert (r.json["max_pending_share_bp"], r.json["after_sales_days"]) == (2500, 30)
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % c["id"],
                    {"fulfilment": "delivery"}, token=t.token)
    assert r.status == 200 and r.json["pickup_point_ids"] == [], r

    # refusals: each names its field and creates nothing
    foreign = new_point(srv, new_tenant(srv).token)
    inactive = new_point(srv, t.token)
    srv.request("PATCH", "/v1/admin/pickup-points/%d" % inactive["id"], {"active": False},
                token=t.token)
    for over, field in (({"fulfilment": "pickup"}, "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": []}, "pickup_point_ids"),
                        ({"pickup_point_ids": [a["id"]]}, "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [a["id"], a["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [foreign["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "pickup", "pickup_point_ids": [inactive["id"]]},
                         "pickup_point_ids"),
                        ({"fulfilment": "drone"}, "fulfilment"),
                        ({"after_sales_days": 31}, "after_sales_days"),
                        ({"max_pending_share_bp": 0}, "max_pending_share_bp")):
        assert_error(post_campaign(srv, t.token, prod, **over), 400, "invalid_field", field)
    # an open campaign keeps its fulfilment terms
    o = open_campaign(srv, t.token, prod, fulfilment="pickup", pickup_point_ids=[a["id"]])
    for over in ({"after_sales_days": 3}, {"fulfilment": "delivery"},
                 {"max_pending_share_bp": 100}):
        assert_error(srv.request("PATCH", "/v1/admin/campaigns/%d" % o["id"], over,
                                 token=t.token), 409, "invalid_state")


def test_public_view_shows_fulfilment(srv):
    t = new_tenant(srv)
    a = new_point(srv, t.token)
    o = open_campaign(srv, t.token, fulfilment="pickup", pickup_point_ids=[a["id"]])
    v = srv.get("/v1/campaigns/%d" % o["id"]).json
    assert v["fulfilment"] == "pickup"
    assert v["pickup_points"] == [{"id": a["id"], "name": a["name"], "address": a["address"]}]
    assert "leader_phone" not in str(v)
    d = open_campaign(srv, t.token)
    v = srv.get("/v1/campaigns/%d" % d["id"]).json
    assert v["fulfilment"] == "delivery" and v["pickup_points"] is None

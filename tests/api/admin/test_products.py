"""Editing a product (API.md "Stock, volume cost per tier, commission on
sales": PATCH /v1/admin/products/{id} edits name, description,
list_price_cents and cost_price_cents): what changes, what is refused and
changes nothing, the audit line, tenancy and roles. (A cost price edited
after a settlement: tests/api/finance/test_settlement_totals.py.)
"""
import pytest

from helpers import *
from campaign_helpers import create_campaign, create_product, open_campaign


@pytest.fixture(scope="module")
def srv(shared):
    return shared.srv


def patch(srv, token, pid, body):
    return srv.request("PATCH", "/v1/admin/products/%d" % pid, body, token=token)


def test_patch_changes_what_it_names(srv):
    t = new_tenant(srv)
    p = create_product(srv, t.token, name="苹果", description="红", list_price_cents=12900,
                       cost_price_cents=5000)
    r = patch(srv, t.token, p["id"], {"name": "有机苹果 5kg", "cost_price_cents": 5200})
    assert r.status == 200, r
    want = dict(p, name="有机苹果 5kg", cost_price_cents=5200)
    assert r.json == want
    r = patch(srv, t.token, p["id"], {"description": "", "list_price_cents": 13900})
    assert r.status == 200 and r.json == dict(want, description="", list_price_cents=13900), r
    assert srv.get("/v1/admin/products/%d" % p["id"], token=t.token).json == r.json
    # a cost above the list price is a loss leader, accepted
    assert patch(srv, t.token, p["id"], {"cost_price_cents": 20000}).status == 200


def test_patch_refusals_change_nothing(srv):
    t = new_tenant(srv)
    p = create_product(srv, t.token, list_price_cents=9900)
    for body, field in (({"sku": "NEW"}, "sku"), ({"stock": 5}, "stock"),
                        ({"name": ""}, "name"), ({"name": "a\u0001b"}, "name"),
                        ({"list_price_cents": 0}, "list_price_cents"),
                        ({"list_price_cents": 100000001}, "list_price_cents"),
                        ({"cost_price_cents": -1}, "cost_price_cents"),
                        ({"cost_price_cents": "12"}, "cost_price_cents"),
                        ({"description": "x" * 4001}, "description")):
        assert_error(patch(srv, t.token, p["id"], body), 400, "invalid_field", field)
    assert_error(patch(srv, t.token, p["id"], {}), 400, "invalid_field")
    assert srv.get("/v1/admin/products/%d" % p["id"], token=t.token).json == p
    other = new_tenant(srv)
    assert_error(patch(srv, other.token, p["id"], {"name": "x"}), 404, "not_found")
    assert_error(patch(srv, t.token, 999999999, {"name": "x"}), 404, "not_found")
    fin = new_staff(srv, t.token, role="finance")
    assert_error(patch(srv, staff_token(srv, fin.login), p["id"], {"name": "x"}),
                 403, "forbidden")
    op = new_staff(srv, t.token, role="operator")
    assert patch(srv, staff_token(srv, op.login), p["id"], {"name": "x"}).status == 200


def test_list_price_stays_above_live_tiers(srv):
    """Every tier price of a campaign that can still sell stays at most the
    product's list price: a lower list price is 409 naming the field."""
    t = new_tenant(srv)
    p = create_product(srv, t.token, list_price_cents=9900)
    tiers = [{"threshold": 1, "unit_price_cents": 9500},
             {"threshold": 5, "unit_price_cents": 8000}]
    open_campaign(srv, t.token, p["id"], tiers=tiers)
    assert_error(patch(srv, t.token, p["id"], {"list_price_cents": 9499}),
                 409, "invalid_state", "list_price_cents")
    assert srv.get("/v1/admin/products/%d" % p["id"], token=t.token).json["list_price_cents"] == 9900
    assert patch(srv, t.token, p["id"], {"list_price_cents": 9500}).status == 200
    # a draft counts too; another product's campaigns do not
    q = create_product(srv, t.token, list_price_cents=9900)
    create_campaign(srv, t.token, q["id"], tiers=tiers)
    assert_error(patch(srv, t.token, q["id"], {"list_price_cents": 9000}),
                 409, "invalid_state", "list_price_cents")
    r = create_product(srv, t.token, list_price_cents=9900)
    assert patch(srv, t.token, r["id"], {"list_price_cents": 100}).status == 200


def test_patch_is_audited(srv, shared):
    db = shared.db
    t = new_tenant(srv)
    p = create_product(srv, t.token)
    r = patch(srv, t.token, p["id"], {"name": "新名字"})
    assert r.status == 200, r
    with db.cursor() as cur:
        cur.execute("SELECT before, after FROM audit_log WHERE entity = 'product'"
                    " AND entity_id = %s AND action = 'update'", (p["id"],))
        rows = cur.fetchall()
    assert len(rows) == 1
    before, after = rows[0]
    assert before["name"] == p["name"] and after["name"] == "新名字"

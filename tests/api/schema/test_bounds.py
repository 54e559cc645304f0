"""Issue 17: bounds on what enters the system, and routes that take no body.

* Money bounds (server/domain/pricing.h): prices <= 10^8 cents, campaign
  quantities and tier thresholds <= 10^6 units, stock <= 10^9, so that
  every amount a campaign can produce (line, deposit, totals, commission,
  manufacturer share, a negative distributor net) fits in int64 and in
  +-2^53. One over any bound is 400 invalid_field naming the field and
  writes nothing; the largest campaign the bounds allow joins, pays,
  closes and settles to the cent.
* Routes that take no body (publish, cancel, withdraw, payment intents,
  logout): no body or {} is fine; anything else is 400 and changes nothing.
* Currency: ISO 4217 codes with two decimals only.
* Participations with scores: owner and operator, not finance.
"""
import time

import psycopg2
import pytest

from helpers import *  # noqa: F401,F403
from campaign_helpers import *  # noqa: F401,F403
from join_helpers import join
from payment_helpers import PAY_ENV, event, webhook

PRICE_MAX = 10 ** 8
QTY_MAX = 10 ** 6
STOCK_MAX = 10 ** 9


@pytest.fixture
def t(shared):
    return new_tenant(shared.srv)


def one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


# ---------------------------------------------------------------- products

@pytest.mark.parametrize("field,at,over", [
    ("list_price_cents", PRICE_MAX, PRICE_MAX + 1),
    ("list_price_cents", PRICE_MAX, 2 ** 53),
    ("cost_price_cents", PRICE_MAX, PRICE_MAX + 1),
    ("cost_price_cents", PRICE_MAX, 9007199254740992),  # the product
    ("stock", STOCK_MAX, STOCK_MAX + 1),
])
def test_product_bounds(shared, t, field, at, over):
    """The bound itself is accepted, one more refused with nothing
    written. A cost above the list price (a loss leader) is legitimate
    business: accepted, within the same bound."""
    r = post_product(shared.srv, t.token, **{field: over})
    assert_error(r, 400, "invalid_field", field)
    assert count_rows(shared.db, "products", "distributor_id = %s", (t.id,)) == 0
    fields = {"list_price_cents": 100, field: at}
    p = create_product(shared.srv, t.token, **fields)
    assert p[field] == at
    if field == "cost_price_cents":
        assert p["cost_price_cents"] > p["list_price_cents"]


# ---------------------------------------------------------------- campaigns

# per_customer_limit and min_participants are bounded through max_quantity
# (neither may exceed it); tier prices through the product's list price.
@pytest.mark.parametrize("field,value", [
    ("max_quantity", QTY_MAX + 1),
    ("max_quantity", 2 ** 53),
    ("tiers", [{"threshold": 1, "unit_price_cents": 9900},
               {"threshold": QTY_MAX + 1, "unit_price_cents": 100}]),
])
def test_campaign_over_a_bound_is_refused(shared, t, field, value):
    p = create_product(shared.srv, t.token, list_price_cents=PRICE_MAX, stock=STOCK_MAX)
    r = post_campaign(shared.srv, t.token, p["id"], **{field: value})
    assert_error(r, 400, "invalid_field", field)
    assert count_rows(shared.db, "campaigns", "distributor_id = %s", (t.id,)) == 0


@pytest.mark.parametrize("body,field", [
    ({"max_quantity": QTY_MAX + 1}, "max_quantity"),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 9900},
                {"threshold": QTY_MAX + 1, "unit_price_cents": 1}]}, "tiers"),
])
def test_patch_over_a_bound_is_refused(shared, t, body, field):
    """PATCH of a draft and tiers of an open campaign keep the bounds."""
    srv = shared.srv
    p = create_product(srv, t.token, stock=STOCK_MAX)
    draft = create_campaign(srv, t.token, p["id"])
    live = open_campaign(srv, t.token, p["id"])
    for c in (draft, live):
        if c is live and field != "tiers":
            continue  # a live campaign refuses these fields anyway (409)
        r = srv.request("PATCH", "/v1/admin/campaigns/%d" % c["id"], body=body,
                        token=t.token)
        assert_error(r, 400, "invalid_field", field)
        after = get_campaign(srv, t.token, c["id"])
        for k in ("max_quantity", "per_customer_limit", "min_participants", "tiers"):
            assert after[k] == c[k], (k, after[k], c[k])


def test_largest_campaign_settles_to_the_cent(make_server, dbname, db):
    """The largest amounts the bounds allow, end to end: a product at the
    price bound with a cost equal to it, a campaign of 10^6 units bought by
    one customer with a 100 % deposit, commission 100 %. Every amount is
    10^14 cents (a negative distributor net included) and reconciles; one
    more unit or one more cent anywhere is refused."""
    srv = make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)
    t = new_tenant(srv)
    with db.cursor() as cur:
        cur.execute("UPDATE distributors SET commission_bp = 10000 WHERE id = %s", (t.id,))
    assert_error(post_product(srv, t.token, cost_price_cents=PRICE_MAX + 1), 400,
                 "invalid_field", "cost_price_cents")
    p = create_product(srv, t.token, list_price_cents=PRICE_MAX, cost_price_cents=PRICE_MAX,
                       stock=QTY_MAX)
    fields = dict(tiers=[{"threshold": 1, "unit_price_cents": PRICE_MAX}],
                  deposit_policy=[{"min_score": 0, "deposit_percent": 100}],
                  max_quantity=QTY_MAX, per_customer_limit=QTY_MAX, min_participants=1)
    assert_error(post_campaign(srv, t.token, p["id"], **dict(fields, max_quantity=QTY_MAX + 1,
                                                              per_customer_limit=OMIT)),
                 400, "invalid_field", "max_quantity")
    cid = open_campaign(srv, t.token, p["id"], **fields)["id"]
    shopper = new_customer(srv)
    token = customer_token(srv, shopper.login)
    r = join(srv, token, cid, QTY_MAX)
    assert r.status == 201, r
    total = PRICE_MAX * QTY_MAX
    assert r.json["deposit_cents"] == total, r
    pid = r.json["id"]
    r = srv.post("/v1/participations/%d/payments" % pid, token=token)
    assert r.status == 201, r
    assert r.json["payment"]["amount_cents"] == total
    assert webhook(srv, event(r.json["payment"], ref="pr_max")).status == 200
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() + interval '1 second'"
                    " WHERE id = %s", (cid,))
    deadline = time.time() + 20
    while one(db, "SELECT status FROM campaigns WHERE id = %s", (cid,))[0] != "settled":
        assert time.time() < deadline, "the campaign did not settle"
        time.sleep(0.1)
    s = srv.get("/v1/admin/settlements/%d" % cid, token=t.token).json
    assert s["lines"] == [dict(participation_id=pid, customer_id=shopper.id, status="paid",
                               quantity=QTY_MAX, unit_price_cents=PRICE_MAX,
                               gross_cents=total, forfeited_cents=0, commission_cents=total,
                               manufacturer_cents=total, leader_commission_cents=0,
                               pickup_point_id=None, distributor_net_cents=-total)]
    assert one(db, "SELECT received_cents, refunded_cents, split_cents, difference_cents"
                   " FROM gb_campaign_reconcile(%s)", (cid,)) == (total, 0, total, 0)


# ---------------------------------------------------------------- no body

BAD_BODIES = [
    (b"{bad", "invalid_json", None),
    (b"not json at all", "invalid_json", None),
    (b"[]", "invalid_json", None),
    (b"null", "invalid_json", None),
    (b'{"force": true}', "invalid_field", "force"),
]


@pytest.mark.parametrize("raw,code,field", BAD_BODIES)
@pytest.mark.parametrize("action", ["publish", "cancel"])
def test_publish_and_cancel_refuse_a_bad_body(shared, t, action, raw, code, field):
    srv = shared.srv
    p = create_product(srv, t.token)
    c = create_campaign(srv, t.token, p["id"])
    path = "/v1/admin/campaigns/%d/%s" % (c["id"], action)
    assert_error(json_post(srv, path, raw, token=t.token), 400, code, field)
    assert get_campaign(srv, t.token, c["id"])["status"] == "draft"
    # an empty object is no body at all
    r = json_post(srv, path, b"{}", token=t.token)
    assert r.status == 200, r
    assert r.json["status"] == ("cancelled" if action == "cancel" else "scheduled")


def test_no_body_routes_of_customers_refuse_a_bad_body(shared, t):
    """Withdraw, payment intents and logout: a garbled body changes nothing;
    then {} or no body works."""
    srv = shared.srv
    c = open_campaign(srv, t.token, deposit_policy=[{"min_score": 0, "deposit_percent": 30}])
    shopper = new_customer(srv)
    token = customer_token(srv, shopper.login)
    r = join(srv, token, c["id"], 1)
    assert r.status == 201, r
    pid = r.json["id"]
    for raw, code, field in BAD_BODIES:
        assert_error(json_post(srv, "/v1/participations/%d/payments" % pid, raw, token=token),
                     400, code, field)
        assert count_rows(shared.db, "payments", "participation_id = %s", (pid,)) == 0
        assert_error(json_post(srv, "/v1/participations/%d/withdraw" % pid, raw, token=token),
                     400, code, field)
        assert srv.get("/v1/participations/%d" % pid, token=token).json["status"] == \
            "pending_deposit"
        # a body on DELETE is refused by the framing check before any handler
        # (evhttp does not read DELETE bodies, so it would be parsed as the next
        # request): 400 bad_request, connection closed, session kept
        r = srv.request("DELETE", "/v1/sessions/current", raw_body=raw, token=token,
                        headers={"Content-Type": "application/json"})
        assert_error(r, 400, "bad_request")
        assert srv.get("/v1/me", token=token).status == 200
    r = json_post(srv, "/v1/participations/%d/payments" % pid, b"{}", token=token)
    assert r.status == 201, r
    r = json_post(srv, "/v1/participations/%d/withdraw" % pid, b"{}", token=token)
    assert r.status == 200 and r.json["status"] == "withdrawn", r
    r = srv.request("DELETE", "/v1/sessions/current", token=token)
    assert r.status == 204, r
    assert_error(srv.get("/v1/me", token=token), 401, "unauthenticated")


# ---------------------------------------------------------------- currency

@pytest.mark.parametrize("currency", ["JPY", "KWD", "XYZ", "ABC", "TWD"])
def test_currency_without_two_decimals_is_refused(shared, currency):
    """Only the listed ISO 4217 codes with two decimals; each of those is
    kept as given."""
    before = count_rows(shared.db, "distributors")
    r = create_distributor(shared.srv, currency=currency)
    assert_error(r, 400, "invalid_field", "currency")
    assert count_rows(shared.db, "distributors") == before
    for ok in ("CNY", "HKD", "MOP", "SGD", "USD", "EUR", "GBP"):
        r = create_distributor(shared.srv, currency=ok)
        assert r.status == 201, r
        assert r.json["distributor"]["currency"] == ok


# ---------------------------------------------------------------- scores

def test_participation_scores_are_not_for_finance(shared, t):
    srv = shared.srv
    c = open_campaign(srv, t.token)
    shopper = new_customer(srv)
    assert join(srv, customer_token(srv, shopper.login), c["id"], 1).status == 201
    path = "/v1/admin/campaigns/%d/participations" % c["id"]
    fin = new_staff(srv, t.token, role="finance")
    assert_error(srv.get(path, token=staff_token(srv, fin.login)), 403, "forbidden")
    op = new_staff(srv, t.token, role="operator")
    for token in (t.token, staff_token(srv, op.login)):
        r = srv.get(path, token=token)
        assert r.status == 200 and r.json["items"][0]["score"] == 75, r
    # finance still reads the campaign itself
    assert srv.get("/v1/admin/campaigns/%d" % c["id"],
                   token=staff_token(srv, fin.login)).status == 200


# ---------------------------------------------------------------- schema

@pytest.mark.parametrize("sql", [
    "UPDATE products SET list_price_cents = 100000001 WHERE id = %(p)s",
    "UPDATE products SET cost_price_cents = 9007199254740992 WHERE id = %(p)s",
    "UPDATE products SET stock = 1000000001 WHERE id = %(p)s",
    "UPDATE campaigns SET max_quantity = 1000001, per_customer_limit = 1"
    " WHERE id = %(c)s",
    "UPDATE campaigns SET min_participants = 1000001 WHERE id = %(c)s",
    "UPDATE campaigns SET tiers = '[{\"threshold\": 1, \"unit_price_cents\": 100000001}]'"
    " WHERE id = %(c)s",
    "UPDATE campaigns SET tiers = '[{\"threshold\": 1, \"unit_price_cents\": 9900},"
    " {\"threshold\": 1000001, \"unit_price_cents\": 1}]' WHERE id = %(c)s",
    "UPDATE campaigns SET tiers = '[{\"threshold\": \"1\", \"unit_price_cents\": 9900}]'"
    " WHERE id = %(c)s",
    "UPDATE campaigns SET final_unit_price_cents = 100000001 WHERE id = %(c)s",
    "UPDATE distributors SET currency = 'JPY' WHERE id = %(d)s",
])
def test_schema_holds_the_bounds(shared, t, sql):
    """The same bounds as CHECKs: a write behind the API's back (another
    tool, a later bug) cannot store an amount settlement would overflow on."""
    p = create_product(shared.srv, t.token)
    c = create_campaign(shared.srv, t.token, p["id"])
    with pytest.raises(psycopg2.errors.CheckViolation) as e:
        with shared.db.cursor() as cur:
            cur.execute(sql, {"p": p["id"], "c": c["id"], "d": t.id})
    # a campaign's fields are checked by a trigger (schema/010), under the
    # names the CHECK constraints had
    table = sql.split()[1]
    assert e.value.diag.table_name == table
    assert e.value.diag.constraint_name.startswith(table + "_"), e.value.diag.constraint_name


@pytest.mark.parametrize("sql, name", [
    ("UPDATE campaigns SET title = '' WHERE id = %(c)s", "campaigns_title_check"),
    ("UPDATE campaigns SET status = 'lost' WHERE id = %(c)s", "campaigns_status_check"),
    ("UPDATE campaigns SET ends_at = starts_at WHERE id = %(c)s", "campaigns_check1"),
    ("UPDATE campaigns SET per_customer_limit = max_quantity + 1 WHERE id = %(c)s",
     "campaigns_check"),
    ("UPDATE campaigns SET deposit_policy = '{}' WHERE id = %(c)s",
     "campaigns_deposit_policy_check"),
    ("UPDATE campaigns SET fulfilment = 'pickup' WHERE id = %(c)s",
     "campaigns_fulfilment_points"),
    ("UPDATE campaigns SET live_quantity = max_quantity + 1 WHERE id = %(c)s",
     "campaigns_no_oversell"),
])
def test_campaign_checks_keep_their_names(shared, t, sql, name):
    """The checks of a campaign's fields (a trigger since schema/010) and of
    its counters (still constraints) refuse as before, naming the check;
    the row is unchanged."""
    p = create_product(shared.srv, t.token)
    c = create_campaign(shared.srv, t.token, p["id"])
    with shared.db.cursor() as cur:
        cur.execute("SELECT to_jsonb(x) - 'updated_at' FROM campaigns x WHERE id = %s",
                    (c["id"],))
        before = cur.fetchone()[0]
        with pytest.raises(psycopg2.errors.CheckViolation) as e:
            cur.execute(sql, {"c": c["id"]})
        assert e.value.diag.constraint_name == name
        cur.execute("SELECT to_jsonb(x) - 'updated_at' FROM campaigns x WHERE id = %s",
                    (c["id"],))
        assert cur.fetchone()[0] == before

"""Products and campaigns: staff side (create, validate, PATCH rules,
publish, cancel, list, view with stats) and public side (list
and view with progress), tenant isolation and roles.

Most tests share one server (the `shared` fixture) and make their own
tenant; participations are inserted straight into the database to set up
counts (the schema's trigger keeps the live counters).
"""
import itertools
import threading
import time
import types

import psycopg2
import pytest

from helpers import *  # noqa: F401,F403
from helpers import start_module_server, _stop_module_server
from campaign_helpers import *  # noqa: F401,F403
from sql_helpers import sql_audit, sql_campaign, sql_one, sql_product, sql_tenant

_n = itertools.count(1)


@pytest.fixture(scope="module")
def shared(cluster, tmp_path_factory):
    """The module's server, without the public view cache: participations
    inserted behind its back show at once (test_caches.py holds the cache
    to its bound)."""
    srv, conn, name = start_module_server(cluster, tmp_path_factory,
                                          config=FAST_CONFIG + "campaign_view_cache_ms = 0\n")
    yield types.SimpleNamespace(srv=srv, db=conn)
    _stop_module_server(cluster, srv, conn, name)


@pytest.fixture
def t(shared):
    return new_tenant(shared.srv)


def srv_of(shared):
    return shared.srv


# ---------------------------------------------------------------- db helpers

def db_customer(db):
    with db.cursor() as cur:
        cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                    " VALUES (%s, 'x', 'Direct') RETURNING id",
                    ("direct.%d.%d@example.com" % (id(db) % 100000, next(_n)),))
        return cur.fetchone()[0]


def db_participation(db, campaign, status="active", quantity=1, p=0.75):
    cid = db_customer(db)
    with db.cursor() as cur:
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join,"
                    " deposit_percent, deposit_cents)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, 0, 0) RETURNING id",
                    (campaign["distributor_id"], campaign["id"], cid, quantity, status,
                     int(p * 100 + 0.5), p))
        return cur.fetchone()[0]


# ---------------------------------------------------------------- products

def test_product_create_list_get(shared, t):
    srv = shared.srv
    body = product_body(description="Ten parking spaces", list_price_cents=100000000,
                        cost_price_cents=0, stock=7)
    r = srv.post("/v1/admin/products", body, token=t.token)
    assert r.status == 201, r
    p = r.json
    for k in ("sku", "name", "description", "list_price_cents", "cost_price_cents", "stock"):
        assert p[k] == body[k], (k, p)
    assert p["distributor_id"] == t.id and isinstance(p["id"], int)
    parse_time(p["created_at"])
    assert srv.get("/v1/admin/products/%d" % p["id"], token=t.token).json == p
    items = srv.get("/v1/admin/products", token=t.token).json
    assert items["items"] == [p] and items["next_after"] is None
    # description is optional and defaults to ""
    q = create_product(srv, t.token, description=OMIT)
    assert q["description"] == ""
    page = srv.get("/v1/admin/products?limit=1", token=t.token).json
    assert page["items"] == [p] and page["next_after"] == p["id"]
    # audited
    assert count_rows(shared.db, "audit_log", "entity = 'product' AND entity_id = %s"
                      " AND action = 'create'", (p["id"],)) == 1


def test_product_duplicate_sku(shared, t):
    p = create_product(shared.srv, t.token)
    r = post_product(shared.srv, t.token, sku=p["sku"])
    assert_error(r, 409, "duplicate", "sku")
    # another distributor may use the same sku
    other = new_tenant(shared.srv)
    assert post_product(shared.srv, other.token, sku=p["sku"]).status == 201


def test_product_idempotent(shared, t):
    body = product_body()
    h = {"Idempotency-Key": "prod-" + uniq()}
    a = shared.srv.post("/v1/admin/products", body, token=t.token, headers=h)
    b = shared.srv.post("/v1/admin/products", body, token=t.token, headers=h)
    assert a.status == b.status == 201 and a.body == b.body
    c = shared.srv.post("/v1/admin/products", dict(body, name="other"), token=t.token, headers=h)
    assert_error(c, 409, "idempotency_conflict")


@pytest.mark.parametrize("field,value", [
    ("sku", OMIT), ("sku", ""), ("sku", "x" * 65), ("sku", 5), ("sku", "a\nb"),
    ("name", OMIT), ("name", "x" * 201), ("name", "bad\x01"),
    ("description", "x" * 4001), ("description", 3),
    ("list_price_cents", 0), ("list_price_cents", OMIT), ("list_price_cents", 1.5),
    ("list_price_cents", "100"), ("list_price_cents", 2 ** 53 + 1),
    ("cost_price_cents", -1), ("cost_price_cents", OMIT),
    ("stock", -1), ("stock", OMIT), ("stock", True),
    ("colour", "red"),
])
def test_product_validation(shared, t, field, value):
    r = post_product(shared.srv, t.token, **{field: value})
    assert_error(r, 400, "invalid_field", field)


# ---------------------------------------------------------------- create

def test_campaign_create_echoes_every_field(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token)
    body = campaign_body(p["id"], starts_at="2030-01-02T03:04:05Z",
                         ends_at="2030-01-05T00:00:00+08:00", tier_basis="quantity",
                         per_customer_limit=3, min_score=40,
                         deposit_policy=[{"min_score": 0, "deposit_percent": 20},
                                         {"min_score": 90, "deposit_percent": 5}],
                         deposit_window_seconds=600, payment_window_seconds=3600)
    r = srv.post("/v1/admin/campaigns", body, token=t.token)
    assert r.status == 201, r
    c = r.json
    for k in ("product_id", "title", "description", "tier_basis", "tiers", "min_participants",
              "max_quantity", "per_customer_limit", "deposit_policy", "min_score",
              "deposit_window_seconds", "payment_window_seconds"):
        assert c[k] == body[k], (k, c[k], body[k])
    assert c["starts_at"] == "2030-01-02T03:04:05Z"
    assert c["ends_at"] == "2030-01-04T16:00:00Z"  # +08:00 spoken in UTC
    assert c["status"] == "draft" and c["distributor_id"] == t.id
    assert c["closed_at"] is None and c["final_unit_price_cents"] is None
    parse_time(c["created_at"])
    assert c["progress"] == {"participants": 0, "quantity": 0, "remaining_quantity": 500,
                             "current_unit_price_cents": 9900,
                             "next_tier": {"threshold": 10, "unit_price_cents": 8900,
                                           "needed": 10},
                             "threshold_reached": False}
    assert count_rows(shared.db, "audit_log", "entity = 'campaign' AND entity_id = %s"
                      " AND action = 'create'", (c["id"],)) == 1


def test_campaign_defaults(shared, t):
    p = create_product(shared.srv, t.token)
    c = create_campaign(shared.srv, t.token, p["id"], description=OMIT, per_customer_limit=OMIT,
                        deposit_policy=OMIT, min_score=OMIT, deposit_window_seconds=OMIT,
                        payment_window_seconds=OMIT, max_quantity=321)
    assert c["description"] == ""
    assert c["per_customer_limit"] == 321
    assert c["deposit_policy"] == DEFAULT_POLICY
    assert c["min_score"] == 0
    assert c["deposit_window_seconds"] == 900 and c["payment_window_seconds"] == 86400


def test_campaign_create_idempotent(shared, t):
    p = create_product(shared.srv, t.token)
    body = campaign_body(p["id"])
    h = {"Idempotency-Key": "camp-" + uniq()}
    a = shared.srv.post("/v1/admin/campaigns", body, token=t.token, headers=h)
    b = shared.srv.post("/v1/admin/campaigns", body, token=t.token, headers=h)
    assert a.status == b.status == 201 and a.body == b.body
    assert count_rows(shared.db, "campaigns", "distributor_id = %s", (t.id,)) == 1


BAD_CAMPAIGN_FIELDS = [
    ("product_id", OMIT), ("product_id", 0), ("product_id", "7"),
    ("title", OMIT), ("title", ""), ("title", "x" * 201), ("title", "a\tb"),
    ("description", "x" * 4001),
    ("starts_at", OMIT), ("starts_at", "2030-01-01"), ("starts_at", "2030-01-01T00:00:00"),
    ("starts_at", "2030-02-30T00:00:00Z"), ("starts_at", "2030-01-01 00:00:00Z"),
    ("starts_at", "2030-01-01T24:00:00Z"), ("starts_at", "2030-01-01T00:00:00+24:00"),
    ("starts_at", "2030-01-01T00:00:00.Z"), ("starts_at", "2030-01-01T00:00:00Zjunk"),
    ("starts_at", "1969-12-31T23:59:59Z"), ("starts_at", 1893456000),
    ("ends_at", OMIT), ("ends_at", "tomorrow"),
    ("tier_basis", OMIT), ("tier_basis", "people"), ("tier_basis", "Quantity"),
    ("tiers", OMIT), ("tiers", []), ("tiers", {"threshold": 1}),
    ("tiers", [{"threshold": 1}]), ("tiers", [{"threshold": 1, "unit_price_cents": 100, "x": 1}]),
    ("tiers", [{"threshold": 2, "unit_price_cents": 100}]),
    ("tiers", [{"threshold": 1, "unit_price_cents": 100}, {"threshold": 1, "unit_price_cents": 90}]),
    ("tiers", [{"threshold": 1, "unit_price_cents": 100}, {"threshold": 5, "unit_price_cents": 100}]),
    ("tiers", [{"threshold": 1, "unit_price_cents": 0}]),
    ("tiers", [{"threshold": 1, "unit_price_cents": 10001}]),  # above the list price
    ("tiers", [{"threshold": 1, "unit_price_cents": 1.5}]),
    ("tiers", [{"threshold": i + 1, "unit_price_cents": 5000 - i} for i in range(21)]),
    ("min_participants", OMIT), ("min_participants", 0), ("min_participants", 501),
    ("max_quantity", OMIT), ("max_quantity", 0),
    ("per_customer_limit", 0), ("per_customer_limit", 501),
    ("deposit_policy", []), ("deposit_policy", [{"min_score": 10, "deposit_percent": 0}]),
    ("deposit_policy", [{"min_score": 0, "deposit_percent": 101}]),
    ("deposit_policy", [{"min_score": 0, "deposit_percent": 10},
                        {"min_score": 50, "deposit_percent": 20}]),
    ("deposit_policy", [{"min_score": 0, "deposit_percent": 10},
                        {"min_score": 0, "deposit_percent": 5}]),
    ("deposit_policy", [{"min_score": 0}]),
    ("min_score", -1), ("min_score", 101),
    ("deposit_window_seconds", 0), ("deposit_window_seconds", 30 * 86400 + 1),
    ("payment_window_seconds", 0), ("payment_window_seconds", 30 * 86400 + 1),
    ("status", "open"), ("version", 1), ("id", 5),
]


@pytest.mark.parametrize("field,value", BAD_CAMPAIGN_FIELDS)
def test_campaign_validation(shared, field, value):
    t = shared_tenant(shared)
    body = campaign_body(t.product_id)
    if value is OMIT:
        del body[field]
    else:
        body[field] = value
    r = shared.srv.post("/v1/admin/campaigns", body, token=t.token)
    assert_error(r, 400, "invalid_field", field)


_shared_tenant = {}


def shared_tenant(shared):
    """One tenant with one product for the validation table."""
    if id(shared) not in _shared_tenant:
        t = new_tenant(shared.srv)
        t.product_id = create_product(shared.srv, t.token)["id"]
        _shared_tenant[id(shared)] = t
    return _shared_tenant[id(shared)]


def test_campaign_cross_field_rules(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token)
    r = post_campaign(srv, t.token, p["id"], starts_at=ts(7200), ends_at=ts(3600))
    assert_error(r, 400, "invalid_field", "ends_at")
    r = post_campaign(srv, t.token, p["id"], starts_at="2030-01-01T00:00:00Z",
                      ends_at="2030-01-01T00:00:00Z")
    assert_error(r, 400, "invalid_field", "ends_at")
    # the same instant in another offset is still not later
    r = post_campaign(srv, t.token, p["id"], starts_at="2030-01-01T08:00:00+08:00",
                      ends_at="2030-01-01T00:00:00Z")
    assert_error(r, 400, "invalid_field", "ends_at")
    r = post_campaign(srv, t.token, p["id"], max_quantity=5, per_customer_limit=6,
                      min_participants=1)
    assert_error(r, 400, "invalid_field", "per_customer_limit")
    # a price equal to the list price is fine; fractional seconds accepted
    c = create_campaign(srv, t.token, p["id"], starts_at="2030-01-01T00:00:00.123456Z",
                        ends_at="2030-02-01T00:00:00Z",
                        tiers=[{"threshold": 1, "unit_price_cents": 10000}])
    assert c["starts_at"] == "2030-01-01T00:00:00Z"


def test_campaign_unknown_or_foreign_product(shared, t):
    srv = shared.srv
    other = new_tenant(srv)
    foreign = create_product(srv, other.token)
    assert_error(post_campaign(srv, t.token, foreign["id"]), 400, "invalid_field", "product_id")
    assert_error(post_campaign(srv, t.token, 2 ** 52), 400, "invalid_field", "product_id")


def test_tiers_against_list_price(shared, t):
    srv = shared.srv
    cheap = create_product(srv, t.token, list_price_cents=5000)
    r = post_campaign(srv, t.token, cheap["id"])  # DEFAULT_TIERS start at 9900
    err = assert_error(r, 400, "invalid_field", "tiers")
    assert "5000" in err["message"]
    c = create_campaign(srv, t.token, cheap["id"],
                        tiers=[{"threshold": 1, "unit_price_cents": 5000},
                               {"threshold": 3, "unit_price_cents": 1}])
    assert c["progress"]["current_unit_price_cents"] == 5000


# ---------------------------------------------------------------- PATCH

def patch(srv, token, cid, body):
    return srv.request("PATCH", "/v1/admin/campaigns/%d" % cid, body=body, token=token)


def test_patch_draft_any_field(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token)
    p2 = create_product(srv, t.token, list_price_cents=20000)
    c = create_campaign(srv, t.token, p["id"], max_quantity=100, per_customer_limit=OMIT)
    assert c["per_customer_limit"] == 100
    body = {"product_id": p2["id"], "title": "New title", "starts_at": ts(7200),
            "tier_basis": "quantity", "tiers": [{"threshold": 1, "unit_price_cents": 15000}],
            "min_participants": 2, "max_quantity": 50, "min_score": 10,
            "deposit_window_seconds": 60, "payment_window_seconds": 120,
            "deposit_policy": [{"min_score": 0, "deposit_percent": 0}]}
    r = patch(srv, t.token, c["id"], body)
    assert r.status == 200, r
    n = r.json
    for k, v in body.items():
        if k != "starts_at":
            assert n[k] == v, (k, n[k])
    assert n["per_customer_limit"] == 50  # followed max_quantity, its default
    assert n["progress"]["current_unit_price_cents"] == 15000
    assert n["status"] == "draft"
    with shared.db.cursor() as cur:
        cur.execute("SELECT before->>'title', after->>'title' FROM audit_log"
                    " WHERE entity = 'campaign' AND entity_id = %s AND action = 'update'",
                    (c["id"],))
        assert cur.fetchall() == [(c["title"], "New title")]
    # validation still applies to the merged campaign
    assert_error(patch(srv, t.token, c["id"], {"ends_at": ts(3600)}), 400, "invalid_field",
                 "ends_at")
    assert_error(patch(srv, t.token, c["id"], {"per_customer_limit": 51}), 400,
                 "invalid_field", "per_customer_limit")
    assert_error(patch(srv, t.token, c["id"], {"product_id": p["id"]}), 400, "invalid_field",
                 "tiers")  # 15000 is above the first product's list price
    assert_error(patch(srv, t.token, c["id"], {"nope": 1}), 400, "invalid_field", "nope")
    assert_error(patch(srv, t.token, c["id"], {"min_score": 101}), 400, "invalid_field",
                 "min_score")


OPEN_PATCHES = [
    # (body, expected status, error field)
    ({"ends_at": "+later"}, 200, None),
    ({"ends_at": "+sooner"}, 409, "ends_at"),
    ({"ends_at": "+same"}, 409, "ends_at"),
    ({"description": "more words"}, 200, None),
    ({"tiers": DEFAULT_TIERS + [{"threshold": 100, "unit_price_cents": 6900}]}, 200, None),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 9900},
                {"threshold": 5, "unit_price_cents": 8900},
                {"threshold": 50, "unit_price_cents": 7000}]}, 200, None),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 9900},
                {"threshold": 10, "unit_price_cents": 8950},
                {"threshold": 50, "unit_price_cents": 7900}]}, 409, "tiers"),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 9900},
                {"threshold": 10, "unit_price_cents": 8900}]}, 409, "tiers"),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 9900},
                {"threshold": 11, "unit_price_cents": 8900},
                {"threshold": 50, "unit_price_cents": 7900}]}, 409, "tiers"),
    ({"tiers": [{"threshold": 1, "unit_price_cents": 99000}]}, 400, "tiers"),
    ({"min_participants": 2}, 409, "min_participants"),
    # the cap may grow while the product's stock (1000, 500 reserved by
    # this campaign) covers it; it never shrinks (tests/api/admin/test_stock.py)
    ({"max_quantity": 600}, 200, None),
    ({"max_quantity": "+same"}, 200, None),
    ({"max_quantity": 1000}, 200, None),
    ({"max_quantity": 1001}, 409, "max_quantity"),
    ({"max_quantity": 499}, 409, "max_quantity"),
    ({"title": "x"}, 409, "title"),
    ({"starts_at": "+sooner"}, 409, "starts_at"),
    ({"per_customer_limit": 1}, 409, "per_customer_limit"),
    ({"deposit_policy": [{"min_score": 0, "deposit_percent": 0}]}, 409, "deposit_policy"),
    ({"min_score": 5}, 409, "min_score"),
    ({"tier_basis": "quantity"}, 409, "tier_basis"),
    ({"product_id": 1}, 409, "product_id"),
    ({"deposit_window_seconds": 5}, 409, "deposit_window_seconds"),
]


@pytest.mark.parametrize("state", ["open", "scheduled"])
@pytest.mark.parametrize("body,status,field", OPEN_PATCHES)
def test_patch_rules_when_published(shared, t, state, body, status, field):
    srv = shared.srv
    if state == "open":
        c = open_campaign(srv, t.token, ends_at=ts(86400))
    else:
        c = scheduled_campaign(srv, t.token)
    ends = parse_time(c["ends_at"]).timestamp()
    body = dict(body)
    for k, v in list(body.items()):
        if v == "+later":
            body[k] = ts(ends - time.time() + 3600)
        elif v == "+sooner":
            body[k] = ts(ends - time.time() - 600)
        elif v == "+same":
            body[k] = c[k]
    r = patch(srv, t.token, c["id"], body)
    if status == 200:
        assert r.status == 200, r
        for k, v in body.items():
            if k == "ends_at":
                assert parse_time(r.json[k]) == parse_time(v)
            else:
                assert r.json[k] == v
        assert r.json["status"] == c["status"]
    elif status == 409:
        assert_error(r, 409, "invalid_state", field)
        with shared.db.cursor() as cur:
            cur.execute("SELECT version FROM campaigns WHERE id = %s", (c["id"],))
            assert cur.fetchone()[0] == 2  # created 1, published 2: unchanged
    else:
        assert_error(r, status, "invalid_field", field)


def test_patch_closed_and_closing(shared, t):
    srv, db = shared.srv, shared.db
    c = open_campaign(srv, t.token)
    with db.cursor() as cur:  # as if the scheduler had closed it
        cur.execute("UPDATE campaigns SET status = 'failed', closed_at = now() WHERE id = %s",
                    (c["id"],))
    assert_error(patch(srv, t.token, c["id"], {"description": "x"}), 409, "invalid_state")
    d = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'cancelled' WHERE id = %s", (d["id"],))
    assert_error(patch(srv, t.token, d["id"], {"title": "x"}), 409, "invalid_state")


def test_patch_lost_race_is_retried(shared, t):
    """A version bump between read and write is invisible to one client:
    the write's version check holds, and a fresh read decides again."""
    srv, db = shared.srv, shared.db
    c = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET version = version + 5 WHERE id = %s", (c["id"],))
    r = patch(srv, t.token, c["id"], {"title": "after bump"})
    assert r.status == 200 and r.json["title"] == "after bump", r
    with db.cursor() as cur:
        cur.execute("SELECT version FROM campaigns WHERE id = %s", (c["id"],))
        assert cur.fetchone()[0] == 7


# ---------------------------------------------------------------- publish

def test_publish(shared, t):
    """Publishing reserves max_quantity of the product's available stock,
    shared by its campaigns: a campaign that the rest does not cover is
    refused (409, and stays a draft), whatever the stock alone would say."""
    srv, db = shared.srv, shared.db
    p = create_product(srv, t.token, stock=509)
    c = create_campaign(srv, t.token, p["id"], max_quantity=510)
    r = post_publish(srv, t.token, c["id"])
    assert_error(r, 409, "invalid_state", "max_quantity")
    assert "available stock" in r.json["error"]["message"]
    ok = create_campaign(srv, t.token, p["id"], max_quantity=499, starts_at=ts(3600))
    s = publish(srv, t.token, ok["id"])
    assert s["status"] == "scheduled"
    assert_error(post_publish(srv, t.token, ok["id"]), 409, "invalid_state")  # not a draft
    now_open = create_campaign(srv, t.token, p["id"], max_quantity=10, starts_at=ts(-86400))
    assert publish(srv, t.token, now_open["id"])["status"] == "open"
    # 509 = 499 + 10: the stock alone would cover one more unit, what is
    # left of it does not
    one = create_campaign(srv, t.token, p["id"], max_quantity=1, min_participants=1,
                          per_customer_limit=1)
    assert_error(post_publish(srv, t.token, one["id"]), 409, "invalid_state", "max_quantity")
    assert get_campaign(srv, t.token, one["id"])["status"] == "draft"
    got = srv.get("/v1/admin/products/%d" % p["id"], token=t.token).json
    assert (got["stock"], got["reserved"], got["committed"], got["available"]) == \
        (509, 509, 0, 0)
    # ends_at in the past at publish time
    late = create_campaign(srv, t.token, p["id"], max_quantity=10, starts_at=ts(-7200),
                           ends_at=ts(-3600))
    assert_error(post_publish(srv, t.token, late["id"]), 409, "invalid_state", "ends_at")
    assert get_campaign(srv, t.token, late["id"])["status"] == "draft"
    assert_error(post_publish(srv, t.token, 2 ** 50), 404, "not_found")
    assert count_rows(db, "audit_log", "entity = 'campaign' AND action = 'publish'"
                      " AND distributor_id = %s", (t.id,)) == 2


def test_product_and_campaign_writes_in_sql(db):
    """gb_product_create, gb_campaign_create and gb_campaign_update: each
    answers what it wrote and writes one audit line in its transaction; a
    taken SKU and another distributor's product are refused by the schema;
    an edit applies only to the version and status it was decided on (and
    not to a live campaign past its ends_at), else writes nothing."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        other, _ = sql_tenant(cur)
        actor = "staff:%d" % staff
        prod = sql_one(cur, "SELECT gb_product_create(%s, 'SKU-1', 'Tea', '', 9900, 5100, 50,"
                            " %s, 'r1')", (did, staff))[0]
        row = sql_one(cur, "SELECT gb_product_json(p) FROM products p WHERE id = %s",
                      (prod["id"],))[0]
        assert prod == row and prod["stock"] == 50
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute("SELECT gb_product_create(%s, 'SKU-1', 'Tea', '', 9900, 5100, 50,"
                        " %s, 'r1')", (did, staff))
        assert sql_audit(cur, "product") == [("create", prod["id"], staff, actor, None, row,
                                              "r1")]
        fields = ("Deal", "", "2030-01-01T00:00:00Z", "2030-01-02T00:00:00Z", "participants",
                  '[{"threshold": 1, "unit_price_cents": 8900}]', 1, 10, 10,
                  '[{"min_score": 0, "deposit_percent": 10}]', 0, 900, 86400, 5000,
                  "delivery", "{}", 7)
        create = "SELECT (gb_campaign_create(%s, %s" + ", %s" * (len(fields) + 2) + ")).id"
        with pytest.raises(psycopg2.errors.ForeignKeyViolation):
            cur.execute(create, (other, prod["id"]) + fields + (staff, "r2"))
        cid = sql_one(cur, create, (did, prod["id"]) + fields + (staff, "r2"))[0]
        created = sql_one(cur, "SELECT gb_campaign_json(c) FROM campaigns c WHERE id = %s",
                          (cid,))[0]
        assert (created["status"], created["title"], created["max_quantity"]) == \
            ("draft", "Deal", 10)
        update = ("SELECT u.outcome, (u.campaign).id, (u.campaign).version,"
                  " (u.campaign).title FROM gb_campaign_update(%s, %s, %s, %s, %s"
                  + ", %s" * (len(fields) + 2) + ") u")
        edited = ("Better deal",) + fields[1:]
        for bad in ((did, cid, 2, "draft"), (did, cid, 1, "open"), (other, cid, 1, "draft")):
            cur.execute(update, bad + (prod["id"],) + edited + (staff, "r3"))
            assert cur.fetchall() == [("changed", None, None, None)]
        cur.execute(update, (did, cid, 1, "draft", prod["id"]) + edited + (staff, "r3"))
        assert cur.fetchall() == [("updated", cid, 2, "Better deal")]
        after = sql_one(cur, "SELECT gb_campaign_json(c) FROM campaigns c WHERE id = %s",
                        (cid,))[0]
        cur.execute("UPDATE campaigns SET status = 'open', version = 3,"
                    " starts_at = now() - interval '2 days', ends_at = now() - interval '1 day'"
                    " WHERE id = %s", (cid,))
        cur.execute(update, (did, cid, 3, "open", prod["id"]) + edited + (staff, "r4"))
        assert cur.fetchall() == [("changed", None, None, None)]
        assert sql_audit(cur, "campaign") == [
            ("create", cid, staff, actor, None, created, "r2"),
            ("update", cid, staff, actor, created, after, "r3")]


def publish_sql(cur, did, cid, staff):
    """gb_campaign_publish: (outcome, status of the campaign it answers)."""
    return sql_one(cur, "SELECT p.outcome, (p.campaign).status"
                        " FROM gb_campaign_publish(%s, %s, %s, 'req-1') p", (did, cid, staff))


def test_publish_rules_in_sql(db):
    """gb_campaign_publish, the one place that publishes: the product's
    available stock (stock - reserved - committed) must cover max_quantity
    (equal is enough), and publishing reserves it; the checks come in the
    order not a draft, ends_at passed, stock; a refusal changes nothing; a
    publish bumps the version and writes its audit line in the same
    transaction."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        other, _ = sql_tenant(cur)
        prod = sql_product(cur, did, stock=11)
        short = sql_campaign(cur, did, prod, max_quantity=12)
        assert publish_sql(cur, did, short, staff) == ("understocked", "draft")
        both = sql_campaign(cur, did, prod, max_quantity=12, starts_in="-2 hours",
                            ends_in="-1 hour")
        assert publish_sql(cur, did, both, staff) == ("ended", "draft")
        exact = sql_campaign(cur, did, prod, max_quantity=10)
        assert publish_sql(cur, other, exact, staff) == ("not_found", None)
        assert publish_sql(cur, did, exact, staff) == ("published", "open")
        later = sql_campaign(cur, did, prod, max_quantity=1, starts_in="1 hour")
        assert publish_sql(cur, did, later, staff) == ("published", "scheduled")
        assert publish_sql(cur, did, later, staff) == ("not_draft", "scheduled")
        none_left = sql_campaign(cur, did, prod, max_quantity=1)
        assert publish_sql(cur, did, none_left, staff) == ("understocked", "draft")
        assert sql_one(cur, "SELECT stock, reserved, committed FROM products WHERE id = %s",
                       (prod,)) == (11, 11, 0)
        cur.execute("UPDATE campaigns SET ends_at = now() - interval '1 second',"
                    " starts_at = now() - interval '1 day' WHERE id = %s", (exact,))
        assert publish_sql(cur, did, exact, staff) == ("not_draft", "open")
        cur.execute("SELECT id, status, version FROM campaigns WHERE id IN %s ORDER BY id",
                    ((short, both, exact, later, none_left),))
        assert cur.fetchall() == [(short, "draft", 1), (both, "draft", 1),
                                  (exact, "open", 2), (later, "scheduled", 2),
                                  (none_left, "draft", 1)]
        cur.execute("SELECT entity_id, staff_id, actor, before, after->>'status', request_id"
                    " FROM audit_log WHERE action = 'publish' ORDER BY id")
        assert cur.fetchall() == [
            (exact, staff, "staff:%d" % staff, {"status": "draft"}, "open", "req-1"),
            (later, staff, "staff:%d" % staff, {"status": "draft"}, "scheduled", "req-1")]


def test_publish_twice_at_once_publishes_once(cluster, dbname, db):
    """Two publishes of one draft, the second sent while the first's
    transaction is open: the second waits for the campaign's lock and then
    finds it no longer a draft."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        cid = sql_campaign(cur, did, sql_product(cur, did))
    first, second = cluster.connect(dbname), cluster.connect(dbname)
    try:
        first.autocommit = False
        c1 = first.cursor()
        assert publish_sql(c1, did, cid, staff) == ("published", "open")
        result = []
        th = threading.Thread(target=lambda: result.append(
            publish_sql(second.cursor(), did, cid, staff)))
        th.start()
        pid = second.get_backend_pid()
        deadline = time.time() + 10
        while count_rows(db, "pg_stat_activity", "pid = %s AND wait_event_type = 'Lock'",
                         (pid,)) == 0:  # the second waits for the first's lock
            assert time.time() < deadline and not result, result
            time.sleep(0.02)
        assert result == []
        first.commit()
        th.join(10)
        assert result == [("not_draft", "open")]
    finally:
        first.close()
        second.close()
    assert count_rows(db, "audit_log", "action = 'publish' AND entity_id = %s", (cid,)) == 1


# ---------------------------------------------------------------- cancel

def test_cancel(shared, t):
    srv, db = shared.srv, shared.db
    d = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    r = srv.post("/v1/admin/campaigns/%d/cancel" % d["id"], token=t.token)
    assert r.status == 200 and r.json["status"] == "cancelled", r
    assert_error(srv.post("/v1/admin/campaigns/%d/cancel" % d["id"], token=t.token),
                 409, "invalid_state")
    o = open_campaign(srv, t.token)
    db_participation(db, o, "active", 2)
    r = srv.post("/v1/admin/campaigns/%d/cancel" % o["id"], token=t.token)
    assert r.status == 200 and r.json["status"] == "cancelled", r
    assert srv.get("/v1/campaigns/%d" % o["id"]).status == 404
    assert count_rows(db, "audit_log", "entity = 'campaign' AND action = 'cancel'"
                      " AND entity_id IN (%s, %s)", (d["id"], o["id"])) == 2
    assert_error(srv.post("/v1/admin/campaigns/%d/cancel" % (2 ** 50), token=t.token),
                 404, "not_found")


# ---------------------------------------------------------------- reads

def test_staff_list_and_status_filter(shared, t):
    srv = shared.srv
    p = create_product(srv, t.token)
    d = create_campaign(srv, t.token, p["id"])
    o = open_campaign(srv, t.token, p["id"])
    s = srv.get("/v1/admin/campaigns", token=t.token).json
    assert [c["id"] for c in s["items"]] == [d["id"], o["id"]]
    assert all("progress" in c for c in s["items"])
    only = srv.get("/v1/admin/campaigns?status=open", token=t.token).json["items"]
    assert [c["id"] for c in only] == [o["id"]]
    page = srv.get("/v1/admin/campaigns?limit=1", token=t.token).json
    assert [c["id"] for c in page["items"]] == [d["id"]] and page["next_after"] == d["id"]
    rest = srv.get("/v1/admin/campaigns?after=%d" % d["id"], token=t.token).json
    assert [c["id"] for c in rest["items"]] == [o["id"]] and rest["next_after"] is None
    assert_error(srv.get("/v1/admin/campaigns?status=bogus", token=t.token), 400,
                 "invalid_field", "status")


def test_public_list_and_view(shared, t):
    srv, db = shared.srv, shared.db
    p = create_product(srv, t.token, name="Parking space")
    draft = create_campaign(srv, t.token, p["id"])
    o = open_campaign(srv, t.token, p["id"], min_participants=3, max_quantity=100)
    s = scheduled_campaign(srv, t.token, p["id"])
    assert srv.get("/v1/campaigns/%d" % draft["id"]).status == 404
    ids = []
    after = 0
    while True:  # the shared server holds other tests' campaigns too
        page = srv.get("/v1/campaigns?limit=200&after=%d" % after).json
        ids += [c["id"] for c in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert o["id"] in ids and s["id"] in ids and draft["id"] not in ids
    assert ids == sorted(ids)
    opened = srv.get("/v1/campaigns?status=open&limit=200").json["items"]
    assert all(c["status"] == "open" for c in opened)
    assert_error(srv.get("/v1/campaigns?status=draft"), 400, "invalid_field", "status")

    db_participation(db, o, "active", 2)
    db_participation(db, o, "pending_deposit", 3)
    db_participation(db, o, "withdrawn", 5)  # not live: not counted
    v = get_public_campaign(srv, o["id"])
    assert v["product"] == {"id": p["id"], "name": "Parking space",
                            "list_price_cents": p["list_price_cents"]}
    assert v["progress"] == {"participants": 2, "quantity": 5, "remaining_quantity": 95,
                             "current_unit_price_cents": 9900,
                             "next_tier": {"threshold": 10, "unit_price_cents": 8900,
                                           "needed": 8},
                             "threshold_reached": False}
    for k in ("id", "title", "description", "status", "starts_at", "ends_at", "tier_basis",
              "tiers", "min_participants", "max_quantity", "per_customer_limit",
              "final_unit_price_cents"):
        assert v[k] == o[k], k
    # the deposit bands and min_score are public (a shopper sees the deposit
    # and whether they may join before committing); staff fields are not
    assert v["deposit_policy"] == o["deposit_policy"] and v["min_score"] == o["min_score"]
    for k in ("distributor_id", "deposit_window_seconds", "max_pending_share_bp", "pickup_point_ids"):
        assert k not in v
    db_participation(db, o, "active", 1)
    assert get_public_campaign(srv, o["id"])["progress"]["threshold_reached"] is True


def test_progress_by_quantity_and_last_tier(shared, t):
    srv, db = shared.srv, shared.db
    o = open_campaign(srv, t.token, tier_basis="quantity", max_quantity=60,
                      min_participants=1, per_customer_limit=60)
    db_participation(db, o, "active", 9)
    pr = get_public_campaign(srv, o["id"])["progress"]
    assert pr["current_unit_price_cents"] == 9900
    assert pr["next_tier"] == {"threshold": 10, "unit_price_cents": 8900, "needed": 1}
    db_participation(db, o, "active", 41)
    pr = get_public_campaign(srv, o["id"])["progress"]
    assert pr["quantity"] == 50 and pr["remaining_quantity"] == 10
    assert pr["current_unit_price_cents"] == 7900 and pr["next_tier"] is None


def test_settled_shows_as_succeeded_publicly(shared, t):
    srv, db = shared.srv, shared.db
    o = open_campaign(srv, t.token, min_participants=1)
    db_participation(db, o, "paid", 2)
    db_participation(db, o, "paid", 1)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'settled', closed_at = now(),"
                    " final_unit_price_cents = 9900 WHERE id = %s", (o["id"],))
    v = get_public_campaign(srv, o["id"])
    assert v["status"] == "succeeded" and v["final_unit_price_cents"] == 9900
    assert v["progress"]["participants"] == 2 and v["progress"]["quantity"] == 3
    items = srv.get("/v1/campaigns?status=succeeded&limit=200").json["items"]
    assert o["id"] in [c["id"] for c in items]
    staff = get_campaign(srv, t.token, o["id"])
    assert staff["status"] == "settled"
    assert staff["forecast"] is None  # closed: the outcome, not a forecast


def test_staff_view_stats(shared, t):
    """The counts by status (the forecast: tests/api/admin/test_forecast.py)."""
    srv, db = shared.srv, shared.db
    o = open_campaign(srv, t.token, min_participants=3, max_quantity=100)
    ps = [0.75, 0.6, 0.83, 0.3, 0.99]
    db_participation(db, o, "active", 1, ps[0])
    db_participation(db, o, "active", 2, ps[1])
    db_participation(db, o, "pending_deposit", 1, ps[2])
    db_participation(db, o, "pending_deposit", 1, ps[3])
    db_participation(db, o, "active", 1, ps[4])
    db_participation(db, o, "withdrawn", 1, 0.5)
    db_participation(db, o, "expired", 1, 0.5)
    db_participation(db, o, "expired", 1, 0.5)
    v = get_campaign(srv, t.token, o["id"])
    assert v["stats"]["pending_deposit"] == 2 and v["stats"]["active"] == 3
    assert v["stats"]["withdrawn"] == 1 and v["stats"]["expired"] == 2
    for k in ("awaiting_payment", "paid", "defaulted"):
        assert v["stats"][k] == 0
    assert v["progress"]["participants"] == 5 and v["progress"]["quantity"] == 6
    assert v["forecast"] is not None


# ---------------------------------------------------------------- isolation

def test_tenant_isolation(shared, t):
    srv = shared.srv
    other = new_tenant(srv)
    p = create_product(srv, other.token)
    d = create_campaign(srv, other.token, p["id"])
    o = open_campaign(srv, other.token, p["id"])
    assert_error(srv.get("/v1/admin/products/%d" % p["id"], token=t.token), 404, "not_found")
    assert p["id"] not in [x["id"] for x in
                           srv.get("/v1/admin/products", token=t.token).json["items"]]
    for c in (d, o):
        cid = c["id"]
        assert_error(srv.get("/v1/admin/campaigns/%d" % cid, token=t.token), 404, "not_found")
        assert_error(patch(srv, t.token, cid, {"description": "x"}), 404, "not_found")
        assert_error(post_publish(srv, t.token, cid), 404, "not_found")
        assert_error(srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=t.token),
                     404, "not_found")
    assert srv.get("/v1/admin/campaigns", token=t.token).json["items"] == []
    # nor can one point a campaign at another distributor's product
    mine = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    assert_error(patch(srv, t.token, mine["id"], {"product_id": p["id"]}), 400,
                 "invalid_field", "product_id")
    assert_error(post_campaign(srv, t.token, p["id"]), 400, "invalid_field", "product_id")
    assert get_campaign(srv, other.token, d["id"])["status"] == "draft"
    # the public side is not tenant-scoped
    assert get_public_campaign(srv, o["id"])["id"] == o["id"]


def test_roles(shared, t):
    srv = shared.srv
    fin = new_staff(srv, t.token, role="finance")
    op = new_staff(srv, t.token, role="operator")
    ftok, otok = staff_token(srv, fin.login), staff_token(srv, op.login)
    p = create_product(srv, otok)  # operators manage products and campaigns
    c = create_campaign(srv, otok, p["id"])
    assert patch(srv, otok, c["id"], {"title": "by operator"}).status == 200
    # finance reads campaigns only
    assert srv.get("/v1/admin/campaigns/%d" % c["id"], token=ftok).status == 200
    assert srv.get("/v1/admin/campaigns", token=ftok).status == 200
    assert_error(post_campaign(srv, ftok, p["id"]), 403, "forbidden")
    assert_error(patch(srv, ftok, c["id"], {"title": "x"}), 403, "forbidden")
    assert_error(post_publish(srv, ftok, c["id"]), 403, "forbidden")
    assert_error(srv.post("/v1/admin/campaigns/%d/cancel" % c["id"], token=ftok), 403,
                 "forbidden")
    assert_error(post_product(srv, ftok), 403, "forbidden")
    assert_error(srv.get("/v1/admin/products", token=ftok), 403, "forbidden")
    # customers and anonymous callers
    cust = new_customer(srv)
    ctok = customer_token(srv, cust.login)
    assert_error(srv.get("/v1/admin/campaigns", token=ctok), 403, "forbidden")
    assert_error(srv.get("/v1/admin/campaigns"), 401, "unauthenticated")
    assert srv.get("/v1/campaigns").status == 200


@pytest.mark.parametrize("tiers, count", [
    ([(1, 9900), (10, 8950), (50, 7900)], 10),   # a middle price raised
    ([(1, 9900), (10, 8900)], 50),               # the last tier removed
    ([(1, 9900), (11, 8900), (50, 7900)], 10),   # a threshold moved up
    ([(1, 9901), (10, 8800), (50, 7800)], 1),    # the first price raised
])
def test_patch_names_the_first_count_raised(shared, t, tiers, count):
    """The PATCH rule is decided by SQL (gb_tiers_first_raised in the
    PATCH's read); the refusal names the smallest count whose price the new
    tiers would raise, and nothing changes."""
    srv = shared.srv
    c = open_campaign(srv, t.token, ends_at=ts(86400))
    body = {"tiers": [{"threshold": th, "unit_price_cents": p} for th, p in tiers]}
    r = patch(srv, t.token, c["id"], body)
    assert_error(r, 409, "invalid_state", "tiers")
    assert "at count %d;" % count in r.json["error"]["message"], r
    assert get_campaign(srv, t.token, c["id"])["tiers"] == c["tiers"]

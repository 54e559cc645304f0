"""Products and campaigns for API tests: build valid bodies, create, publish.

Import beside helpers: `from campaign_helpers import *`.

Every builder takes **overrides that replace fields of a valid default body;
an override of OMIT drops the field. The `create_*` and `publish` functions
assert success and return the server's JSON object; the `post_*` variants
return the raw Response for tests of refusals.

    p = create_product(srv, t.token, stock=1000)
    c = open_campaign(srv, t.token, max_quantity=500, min_participants=3)
    # c["status"] == "open", c["product_id"] is a fresh product

Times are RFC 3339 UTC strings; `ts(seconds)` is now + seconds (the test
machine's clock is the database's: same host).
"""
import datetime
import itertools
import os

__all__ = [
    "OMIT", "ts", "DEFAULT_TIERS", "DEFAULT_POLICY",
    "product_body", "post_product", "create_product",
    "campaign_body", "post_campaign", "create_campaign",
    "post_publish", "publish", "open_campaign", "scheduled_campaign",
    "get_campaign", "get_public_campaign",
]

OMIT = object()
_seq = itertools.count(1)

DEFAULT_TIERS = [{"threshold": 1, "unit_price_cents": 9900},
                 {"threshold": 10, "unit_price_cents": 8900},
                 {"threshold": 50, "unit_price_cents": 7900}]
DEFAULT_POLICY = [{"min_score": 80, "deposit_percent": 0},
                  {"min_score": 50, "deposit_percent": 10},
                  {"min_score": 0, "deposit_percent": 30}]


def ts(seconds=0):
    """now + seconds as "YYYY-MM-DDTHH:MM:SSZ"."""
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _apply(body, overrides):
    for k, v in overrides.items():
        if v is OMIT:
            body.pop(k, None)
        else:
            body[k] = v
    return body


def _headers(key):
    return {"Idempotency-Key": key} if key is not None else None


# ---------------------------------------------------------------- products

def product_body(**overrides):
    n = next(_seq)
    body = {"sku": "SKU-%d-%d" % (os.getpid() % 100000, n),
            "name": "Product %d" % n,
            "description": "A fine product.",
            "list_price_cents": 10000,
            "cost_price_cents": 6000,
            "stock": 1000}
    return _apply(body, overrides)


def post_product(srv, token, key=None, **overrides):
    return srv.post("/v1/admin/products", product_body(**overrides), token=token,
                    headers=_headers(key))


def create_product(srv, token, **overrides):
    """Creates a product (defaults: list 100.00, cost 60.00, stock 1000)."""
    r = post_product(srv, token, **overrides)
    assert r.status == 201, r
    return r.json


# ---------------------------------------------------------------- campaigns

def campaign_body(product_id, **overrides):
    """A valid draft: starts in 1 h, ends in 2 days, DEFAULT_TIERS (prices
    <= a list price of 10000), min_participants 10, max_quantity 500,
    per_customer_limit 5, default deposit policy. With a smaller
    max_quantity, per_customer_limit and min_participants default to at
    most that (the server refuses either above max_quantity)."""
    body = {"product_id": product_id,
            "title": "Campaign %d" % next(_seq),
            "description": "Group buy.",
            "starts_at": ts(3600),
            "ends_at": ts(2 * 86400),
            "tier_basis": "participants",
            "tiers": [dict(t) for t in DEFAULT_TIERS],
            "min_participants": 10,
            "max_quantity": 500,
            "per_customer_limit": 5,
            "deposit_policy": [dict(b) for b in DEFAULT_POLICY],
            "min_score": 0,
            "deposit_window_seconds": 900,
            "payment_window_seconds": 86400}
    mq = overrides.get("max_quantity")
    if isinstance(mq, int) and not isinstance(mq, bool) and mq >= 1:
        # keep the defaults valid for a small cap
        body["per_customer_limit"] = min(5, mq)
        body["min_participants"] = min(10, mq)
    return _apply(body, overrides)


def post_campaign(srv, token, product_id, key=None, **overrides):
    return srv.post("/v1/admin/campaigns", campaign_body(product_id, **overrides),
                    token=token, headers=_headers(key))


def create_campaign(srv, token, product_id, **overrides):
    """Creates a draft campaign; returns the campaign object."""
    r = post_campaign(srv, token, product_id, **overrides)
    assert r.status == 201, r
    assert r.json["status"] == "draft", r
    return r.json


def post_publish(srv, token, cid):
    return srv.post("/v1/admin/campaigns/%d/publish" % cid, token=token)


def publish(srv, token, cid):
    """Publishes a draft; returns the campaign (scheduled or open)."""
    r = post_publish(srv, token, cid)
    assert r.status == 200, r
    return r.json


def open_campaign(srv, token, product_id=None, **overrides):
    """A campaign open at once: starts_at 1 min ago, ends in 1 day unless
    overridden. Without product_id a product with enough stock is made.
    Returns the published campaign (status "open")."""
    if product_id is None:
        mq = overrides.get("max_quantity", 500)
        product_id = create_product(srv, token, stock=max(1000, mq if mq is not OMIT else 0))["id"]
    overrides.setdefault("starts_at", ts(-60))
    overrides.setdefault("ends_at", ts(86400))
    c = create_campaign(srv, token, product_id, **overrides)
    c = publish(srv, token, c["id"])
    assert c["status"] == "open", c
    return c


def scheduled_campaign(srv, token, product_id=None, **overrides):
    """A published campaign that starts in 1 h (status "scheduled")."""
    if product_id is None:
        product_id = create_product(srv, token)["id"]
    c = create_campaign(srv, token, product_id, **overrides)
    c = publish(srv, token, c["id"])
    assert c["status"] == "scheduled", c
    return c


def get_campaign(srv, token, cid):
    """Staff view (with progress, stats, forecast); asserts 200."""
    r = srv.get("/v1/admin/campaigns/%d" % cid, token=token)
    assert r.status == 200, r
    return r.json


def get_public_campaign(srv, cid):
    r = srv.get("/v1/campaigns/%d" % cid)
    assert r.status == 200, r
    return r.json

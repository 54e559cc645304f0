"""Set-up for the join, withdraw and reliability tests.

Campaigns come from campaign_helpers (through the API) when the server has
the products endpoint, else they are inserted straight into the database
(status 'open', started a minute ago, ending in a day). Customers for the
load tests are inserted with their sessions (token_sha256 = SHA-256 of the
token): that is set-up, not the behaviour under test. History events are
inserted beside a real (dead) participation, as the lifecycle would leave
them.

    cid = make_campaign(srv, db, tenant, max_quantity=3)
    cust = db_customers(db, 1)[0]        # Shopper(id, token)
    r = join(srv, cust.token, cid, 2)
"""
import json
import secrets
import itertools

from psycopg2.extras import execute_values

from helpers import *  # noqa: F401,F403
from helpers import token_hash, PASSWORD, new_customer, customer_token
from sql_helpers import sql_stock_sync_campaign

try:
    import campaign_helpers as ch
except ImportError:  # pragma: no cover - the campaigns part not there yet
    ch = None

__all__ = ["make_campaign", "db_customers", "http_customer", "join", "withdraw",
           "add_event", "Shopper", "campaign_row", "live_sum", "DEFAULT_TIERS_J",
           "DEFAULT_POLICY_J", "progress_of", "close_campaign_in_db"]

DEFAULT_TIERS_J = [{"threshold": 1, "unit_price_cents": 9900},
                   {"threshold": 10, "unit_price_cents": 8900},
                   {"threshold": 50, "unit_price_cents": 7900}]
DEFAULT_POLICY_J = [{"min_score": 80, "deposit_percent": 0},
                    {"min_score": 50, "deposit_percent": 10},
                    {"min_score": 0, "deposit_percent": 30}]
_seq = itertools.count(1)
_api_ok = {}


class Shopper:
    def __init__(self, id, token):
        self.id = id
        self.token = token


def _api_campaigns(srv, tenant):
    """True when the server creates products and campaigns through the API."""
    if ch is None:
        return False
    if srv.port not in _api_ok:
        r = ch.post_product(srv, tenant.token)
        _api_ok[srv.port] = r.status == 201
    return _api_ok[srv.port]


def make_campaign(srv, db, tenant, tiers=None, policy=None, max_quantity=500,
                  per_customer_limit=5, min_score=0, min_participants=1,
                  tier_basis="participants", status="open", list_price=10000,
                  pending_share_bp=None):
    """An open campaign of tenant (or 'scheduled'/'draft'); returns its id.
    pending_share_bp sets the campaign's bound on units pending a deposit
    (max_pending_share_bp, in the database) instead of the default."""
    cid = _make_campaign(srv, db, tenant, tiers, policy, max_quantity, per_customer_limit,
                         min_score, min_participants, tier_basis, status, list_price)
    if pending_share_bp is not None:
        with db.cursor() as cur:
            cur.execute("UPDATE campaigns SET max_pending_share_bp = %s WHERE id = %s",
                        (pending_share_bp, cid))
    return cid


def _make_campaign(srv, db, tenant, tiers, policy, max_quantity, per_customer_limit,
                   min_score, min_participants, tier_basis, status, list_price):
    tiers = tiers or DEFAULT_TIERS_J
    policy = policy or DEFAULT_POLICY_J
    fields = dict(tiers=tiers, deposit_policy=policy, max_quantity=max_quantity,
                  per_customer_limit=per_customer_limit, min_score=min_score,
                  min_participants=min_participants, tier_basis=tier_basis)
    if _api_campaigns(srv, tenant):
        pid = ch.create_product(srv, tenant.token, list_price_cents=list_price,
                                stock=max(1000, max_quantity))["id"]
        if status == "open":
            return ch.open_campaign(srv, tenant.token, pid, **fields)["id"]
        if status == "scheduled":
            return ch.scheduled_campaign(srv, tenant.token, pid, **fields)["id"]
        return ch.create_campaign(srv, tenant.token, pid, **fields)["id"]
    n = next(_seq)
    with db.cursor() as cur:
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, %s, %s, %s, 6000, %s)"
                    " RETURNING id",
                    (tenant.id, "J-SKU-%d" % n, "Join product %d" % n, list_price,
                     max(1000, max_quantity)))
        pid = cur.fetchone()[0]
        starts = "now() - interval '1 minute'" if status == "open" else "now() + interval '1 hour'"
        cur.execute("INSERT INTO campaigns (distributor_id, product_id, title, status,"
                    " starts_at, ends_at, tier_basis, tiers, min_participants,"
                    " max_quantity, per_customer_limit, deposit_policy, min_score)"
                    " VALUES (%%s, %%s, %%s, %%s, %s, now() + interval '1 day', %%s,"
                    " %%s, %%s, %%s, %%s, %%s, %%s) RETURNING id" % starts,
                    (tenant.id, pid, "Join campaign %d" % n, status, tier_basis,
                     json.dumps(tiers), min_participants, max_quantity,
                     per_customer_limit, json.dumps(policy), min_score))
        cid = cur.fetchone()[0]
        sql_stock_sync_campaign(cur, cid)
        return cid


def db_customers(db, n, ttl="1 day"):
    """n customers with a session each, inserted directly."""
    tag = "%d.%d" % (next(_seq), secrets.randbits(32))
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    with db.cursor() as cur:
        rows = execute_values(
            cur, "INSERT INTO customers (login, password_hash, display_name) VALUES %s"
                 " RETURNING id",
            [("load.%s.%d@example.com" % (tag, i), "x", "Load %d" % i) for i in range(n)],
            page_size=1000, fetch=True)
        ids = [r[0] for r in rows]
        execute_values(
            cur, "INSERT INTO sessions (token_sha256, customer_id, expires_at) VALUES %s",
            [(token_hash(t), i) for t, i in zip(tokens, ids)],
            template="(%s, %s, now() + interval '" + ttl + "')", page_size=1000)
    return [Shopper(i, t) for i, t in zip(ids, tokens)]


def http_customer(srv):
    """A customer registered and logged in through the API."""
    p = new_customer(srv)
    return Shopper(p.id, customer_token(srv, p.login, PASSWORD))


def join(srv, token, cid, quantity=1, key=None, body=None):
    h = {"Idempotency-Key": key} if key else None
    return srv.post("/v1/campaigns/%d/participations" % cid,
                    body if body is not None else {"quantity": quantity},
                    token=token, headers=h)


def withdraw(srv, token, pid, key=None):
    h = {"Idempotency-Key": key} if key else None
    return srv.post("/v1/participations/%d/withdraw" % pid, token=token, headers=h)


def add_event(db, tenant_id, customer_id, kind, age_days=0.0):
    """A history event of customer with tenant, age_days old, beside a dead
    participation in a past campaign of that tenant made for it."""
    n = next(_seq)
    with db.cursor() as cur:
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, %s, 'Past product', 10000,"
                    " 6000, 10) RETURNING id", (tenant_id, "HIST-%d" % n))
        product = cur.fetchone()[0]
        cur.execute("INSERT INTO campaigns (distributor_id, product_id, title, status,"
                    " starts_at, ends_at, tier_basis, tiers, min_participants,"
                    " max_quantity, per_customer_limit, deposit_policy, closed_at)"
                    " VALUES (%s, %s, 'Past campaign', 'succeeded', now() - interval"
                    " '2 days', now() - interval '1 day', 'participants',"
                    " '[{\"threshold\": 1, \"unit_price_cents\": 9000}]', 1, 10, 10,"
                    " '[{\"min_score\": 0, \"deposit_percent\": 0}]', now())"
                    " RETURNING id", (tenant_id, product))
        row = cur.fetchone()
        status = {"completed": "paid", "withdrawn": "withdrawn",
                  "defaulted": "defaulted", "deposit_expired": "expired"}[kind]
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                    " deposit_cents) VALUES (%s, %s, %s, 1, %s, 75, 0.75, 0, 0) RETURNING id",
                    (tenant_id, row[0], customer_id, status))
        pid = cur.fetchone()[0]
        sql_stock_sync_campaign(cur, row[0])
        cur.execute("INSERT INTO customer_events (customer_id, distributor_id,"
                    " participation_id, kind, occurred_at)"
                    " VALUES (%s, %s, %s, %s, now() - make_interval(secs => %s))",
                    (customer_id, tenant_id, pid, kind, age_days * 86400.0))
        return pid


def campaign_row(db, cid):
    with db.cursor() as cur:
        cur.execute("SELECT live_participants, live_quantity, max_quantity, status"
                    " FROM campaigns WHERE id = %s", (cid,))
        return cur.fetchone()


def live_sum(db, cid):
    """(count, sum of quantity) over live participations, from the rows."""
    with db.cursor() as cur:
        cur.execute("SELECT count(*), coalesce(sum(quantity), 0) FROM participations"
                    " WHERE campaign_id = %s AND status IN ('pending_deposit', 'active')",
                    (cid,))
        return tuple(int(x) for x in cur.fetchone())


def progress_of(srv, cid):
    """The public view's progress."""
    r = srv.get("/v1/campaigns/%d" % cid)
    assert r.status == 200, r
    return r.json["progress"]


def close_campaign_in_db(db, cid, status="succeeded", final=None):
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = %s, final_unit_price_cents = %s,"
                    " closed_at = now() WHERE id = %s", (status, final, cid))
        sql_stock_sync_campaign(cur, cid)

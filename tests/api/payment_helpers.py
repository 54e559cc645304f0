"""The payment provider as the tests play it (shared by the payment,
sandbox, fulfilment, settlement and bounds tests): webhooks signed exactly
as the provider signs them (HMAC-SHA256 with the shared secret over
t + "." + the raw body, in X-Signature: t=UNIX_SECONDS,v1=HEX), and a World
of a tenant, a product, an open campaign and a customer set up in the
database.
"""
import hashlib
import hmac
import json
import time

from helpers import *  # noqa: F401,F403
from sql_helpers import sql_stock_sync_campaign

SECRET = "whsec-test-5f1e2d3c4b5a69788796a5b4"
PAY_ENV = dict(APP_ENV, GROUPBUYD_PAYMENT_WEBHOOK_SECRET=SECRET)
WEBHOOK = "/v1/payments/webhook"


def sign(raw, t=None, secret=SECRET):
    t = int(time.time()) if t is None else t
    mac = hmac.new(secret.encode(), ("%d." % t).encode() + raw, hashlib.sha256)
    return "t=%d,v1=%s" % (t, mac.hexdigest())


def webhook(srv, event, t=None, secret=SECRET, signature=None, raw=None):
    """Delivers an event as the provider would; signature overrides the
    header (None: sign properly; False: no header)."""
    raw = json.dumps(event).encode() if raw is None else raw
    headers = {"Content-Type": "application/json"}
    if signature is None:
        headers["X-Signature"] = sign(raw, t=t, secret=secret)
    elif signature is not False:
        headers["X-Signature"] = signature
    return srv.request("POST", WEBHOOK, raw_body=raw, headers=headers)


def event(payment, status="succeeded", amount=None, ref="pr_1"):
    return {"payment_id": payment["id"], "status": status,
            "amount_cents": payment["amount_cents"] if amount is None else amount,
            "provider_ref": ref}


class World:
    """A tenant, a product, an open campaign and a customer with a token."""

    def __init__(self, srv, db):
        self.srv = srv
        self.db = db
        self.tenant = new_tenant(srv)
        self.customer = new_customer(srv)
        self.token = customer_token(srv, self.customer.login)
        with db.cursor() as cur:
            cur.execute(
                "INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                " cost_price_cents, stock) VALUES (%s, %s, 'Widget', 10000, 6000, 1000)"
                " RETURNING id", (self.tenant.id, uniq("sku")))
            self.product_id = cur.fetchone()[0]
        self.campaign_id = self.campaign()

    def campaign(self, status="open", final_price=None):
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO campaigns (distributor_id, product_id, title, status,"
                " starts_at, ends_at, tier_basis, tiers, min_participants,"
                " max_quantity, per_customer_limit, deposit_policy,"
                " final_unit_price_cents, closed_at)"
                " VALUES (%s, %s, 'Deal', %s, now() - interval '1 hour',"
                " now() + interval '1 hour', 'participants',"
                " '[{\"threshold\": 1, \"unit_price_cents\": 9900}]', 1, 100, 10,"
                " '[]', %s, CASE WHEN %s = 'open' THEN NULL ELSE now() END)"
                " RETURNING id",
                (self.tenant.id, self.product_id, status, final_price, status))
            cid = cur.fetchone()[0]
            sql_stock_sync_campaign(cur, cid)
            return cid

    def participation(self, status="pending_deposit", quantity=2, deposit=1980,
                      deposit_paid=0, due_in="15 minutes", unit_price=None,
                      pay_in=None, campaign_id=None, customer_id=None):
        with self.db.cursor() as cur:
            cur.execute(
                "INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                " deposit_cents, deposit_paid_cents, deposit_due_by, unit_price_cents,"
                " pay_by)"
                " VALUES (%s, %s, %s, %s, %s, 60, 0.6, 10, %s, %s,"
                " now() + %s::interval, %s, now() + %s::interval) RETURNING id",
                (self.tenant.id, campaign_id or self.campaign_id,
                 customer_id or self.customer.id, quantity, status, deposit,
                 deposit_paid, due_in, unit_price, pay_in))
            pid = cur.fetchone()[0]
            sql_stock_sync_campaign(cur, campaign_id or self.campaign_id)
            return pid

    def intent(self, pid, token=None, key=None, body=None):
        return self.srv.post("/v1/participations/%d/payments" % pid, body,
                             token=token or self.token, headers=idem(key))

    def new_intent(self, pid):
        r = self.intent(pid)
        assert r.status == 201, r
        return r.json["payment"]

    def row(self, sql, params=()):
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchone()

    def rows(self, sql, params=()):
        with self.db.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    def participation_row(self, pid):
        return self.row("SELECT status, deposit_paid_cents, balance_paid_cents"
                        " FROM participations WHERE id = %s", (pid,))

    def ledger(self, pid):
        return self.rows("SELECT kind, amount_cents, movement_key FROM ledger_entries"
                         " WHERE participation_id = %s ORDER BY id", (pid,))

    def outbox(self, pid):
        return self.rows("SELECT kind, idempotency_key, payload FROM outbox"
                         " WHERE participation_id = %s ORDER BY id", (pid,))

    def events(self, payment_id):
        return self.rows("SELECT status, amount_cents, outcome, provider_ref, body"
                         " FROM payment_events WHERE payment_id = %s ORDER BY id",
                         (payment_id,))

    def payment_status(self, payment_id):
        return self.row("SELECT status FROM payments WHERE id = %s", (payment_id,))[0]



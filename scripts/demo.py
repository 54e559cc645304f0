#!/usr/bin/python3
"""Demo data for `make run`, made through the server's own API.

Run by scripts/run.sh against the server it has just started (base URL in
$GB). Everything goes through the HTTP API as a real platform operator,
staff and shoppers would do it: the distributor and its staff, products,
three campaigns, shoppers who register, log in, join and pay (payments are
confirmed by a webhook signed with $GROUPBUYD_PAYMENT_WEBHOOK_SECRET, as the
provider would send it). Only where waiting is impossible is a time moved
in the database: a campaign's ends_at to now (instead of waiting days for
its close) and one overdue payment's pay_by (instead of a week) — the
scheduler then does the rest, so every row is what the server itself wrote.

What it leaves, so that every screen and finance export has something:
  * 五常大米 (open): a few shoppers joined, some with a deposit paid, one
    still owing it, a reliable one without any deposit;
  * 宁夏枸杞 (succeeded): closed, balances awaiting payment;
  * 赣南脐橙 (settled): three paid, one defaulted, settled by the scheduler.

Idempotent: when the demo owner can log in, the data is there and nothing
is done. Exit status non-zero, with the step named, on any failure.
"""
import concurrent.futures
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

import psycopg2

GB = os.environ["GB"].rstrip("/")
PLATFORM_TOKEN = os.environ.get("GROUPBUYD_PLATFORM_TOKEN", "")
WEBHOOK_SECRET = os.environ.get("GROUPBUYD_PAYMENT_WEBHOOK_SECRET", "")
DATABASE_URL = os.environ["GROUPBUYD_DATABASE_URL"]
PASSWORD = os.environ.get("GROUPBUYD_DEMO_PASSWORD", "demo-password")

OWNER = "owner@demo.example"
SHOPPERS = [("+86 138-0013-8000", "张三"), ("+86 138-0013-8001", "李四"),
            ("+86 138-0013-8002", "王五"), ("+86 138-0013-8003", "赵六"),
            ("+86 138-0013-8004", "钱七"), ("+86 138-0013-8005", "孙八"),
            ("+86 138-0013-8006", "周九"), ("+86 138-0013-8007", "吴十")]


class DemoError(Exception):
    pass


def call(method, path, body=None, token=None, expect=(200, 201), key=None, raw=None,
         headers=None):
    """One API call; returns the decoded answer, or raises naming the call."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(GB + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if key:
        req.add_header("Idempotency-Key", key)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    if status not in expect:
        raise DemoError("%s %s answered %d: %s" % (method, path, status, text))
    return json.loads(text) if text else None


def rfc3339(seconds_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
        seconds=seconds_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for(what, pred, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.2)
    raise DemoError("timed out waiting for " + what)


def already_loaded():
    return call("POST", "/v1/admin/sessions", {"login": OWNER, "password": PASSWORD},
                expect=(201, 401)).get("token") is not None


def pay(token, participation_id, kind):
    """Asks for an intent for what is due and has the provider confirm it
    with a signed webhook, as scripts/pay.sh does."""
    payment = call("POST", "/v1/participations/%d/payments" % participation_id,
                   token=token, key="demo-%s-%d" % (kind, participation_id))["payment"]
    if payment["kind"] != kind:
        raise DemoError("participation %d owes a %s, not a %s"
                        % (participation_id, payment["kind"], kind))
    event = json.dumps({"payment_id": payment["id"], "status": "succeeded",
                        "amount_cents": payment["amount_cents"],
                        "provider_ref": "demo_%d" % payment["id"]}).encode()
    t = str(int(time.time()))
    mac = hmac.new(WEBHOOK_SECRET.encode(), t.encode() + b"." + event, hashlib.sha256)
    call("POST", "/v1/payments/webhook", raw=event,
         headers={"X-Signature": "t=%s,v1=%s" % (t, mac.hexdigest())}, expect=(200,))


def shopper(login, name, n):
    call("POST", "/v1/customers", {"login": login, "password": PASSWORD,
                                   "display_name": name}, key="demo-register-%d" % n)
    return call("POST", "/v1/sessions", {"login": login, "password": PASSWORD})["token"]


def campaign(token, product_id, title, description, tiers, min_participants,
             max_quantity, per_customer_limit, deposit_window=900, payment_window=86400):
    c = call("POST", "/v1/admin/campaigns", {
        "product_id": product_id, "title": title, "description": description,
        "starts_at": rfc3339(-60), "ends_at": rfc3339(7 * 86400),
        "tier_basis": "participants", "tiers": tiers,
        "min_participants": min_participants, "max_quantity": max_quantity,
        "per_customer_limit": per_customer_limit,
        "deposit_window_seconds": deposit_window,
        "payment_window_seconds": payment_window}, token=token)
    c = call("POST", "/v1/admin/campaigns/%d/publish" % c["id"], token=token)
    if c["status"] != "open":
        raise DemoError("campaign %s is %s after publishing" % (title, c["status"]))
    return c["id"]


def join(token, campaign_id, quantity):
    return call("POST", "/v1/campaigns/%d/participations" % campaign_id,
                {"quantity": quantity}, token=token)


def close_now(db, campaign_id):
    """The one shortcut: the deadline is brought to now; the scheduler
    closes the campaign within a second, as it would at the real one."""
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() WHERE id = %s AND status = 'open'",
                    (campaign_id,))
    wait_for("campaign %d to close" % campaign_id,
             lambda: call("GET", "/v1/campaigns/%d" % campaign_id)["status"] != "open")
    status = call("GET", "/v1/campaigns/%d" % campaign_id)["status"]
    if status != "succeeded":
        raise DemoError("campaign %d closed as %s" % (campaign_id, status))


def load():
    if not PLATFORM_TOKEN or not WEBHOOK_SECRET:
        raise DemoError("GROUPBUYD_PLATFORM_TOKEN and GROUPBUYD_PAYMENT_WEBHOOK_SECRET"
                        " must be set (scripts/run.sh sets development values)")
    call("POST", "/v1/platform/distributors", {
        "name": "示范经销商 Demo Distributor", "commission_bp": 500, "currency": "CNY",
        "owner": {"login": OWNER, "password": PASSWORD}}, token=PLATFORM_TOKEN,
        key="demo-distributor")
    owner = call("POST", "/v1/admin/sessions", {"login": OWNER, "password": PASSWORD})["token"]
    for role in ("operator", "finance"):
        call("POST", "/v1/admin/staff", {"login": "%s@demo.example" % role,
                                         "password": PASSWORD, "role": role},
             token=owner, key="demo-staff-" + role)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        tokens = list(pool.map(lambda a: shopper(*a),
                               [(login, name, n) for n, (login, name) in enumerate(SHOPPERS)]))
    zhang, li, wang, zhao, qian, sun, zhou, wu = tokens

    def product(sku, name, list_price, cost, stock):
        return call("POST", "/v1/admin/products", {
            "sku": sku, "name": name, "description": "Demo product",
            "list_price_cents": list_price, "cost_price_cents": cost, "stock": stock},
            token=owner)["id"]

    rice = product("DEMO-RICE-5KG", "五常大米 5kg", 9900, 6000, 1000)
    orange = product("DEMO-ORANGE-5KG", "赣南脐橙 5kg", 6800, 4000, 500)
    goji = product("DEMO-GOJI-500G", "宁夏枸杞 500g", 12800, 7500, 300)

    db = psycopg2.connect(DATABASE_URL)
    db.autocommit = True
    try:
        # Settled: four join and pay their deposits, the campaign succeeds at
        # 5800, three pay their balance, one lets the window pass.
        settled = campaign(owner, orange, "赣南脐橙团购 Orange group buy",
                           "Settled demo campaign",
                           [{"threshold": 1, "unit_price_cents": 6800},
                            {"threshold": 3, "unit_price_cents": 5800,
                             "cost_price_cents": 3600}], 3, 300, 5)
        parts = [(t, join(t, settled, q)["id"]) for t, q in ((zhang, 2), (li, 1),
                                                               (wang, 1), (qian, 1))]
        for t, pid in parts:
            pay(t, pid, "deposit")
        close_now(db, settled)
        for t, pid in parts[:3]:
            pay(t, pid, "balance")
        with db.cursor() as cur:
            cur.execute("UPDATE participations SET pay_by = now()"
                        " WHERE id = %s AND status = 'awaiting_payment'", (parts[3][1],))
        wait_for("the settlement of campaign %d" % settled,
                 lambda: call("GET", "/v1/admin/settlements/%d" % settled, token=owner,
                              expect=(200, 404)).get("settled_at"))

        # Succeeded, balances due within a week.
        awaiting = campaign(owner, goji, "宁夏枸杞团购 Goji group buy",
                            "Succeeded demo campaign: balances due",
                            [{"threshold": 1, "unit_price_cents": 12800},
                             {"threshold": 3, "unit_price_cents": 11800}], 2, 300, 3,
                            payment_window=7 * 86400)
        for t, q in ((sun, 1), (zhou, 2), (wu, 1)):
            pay(t, join(t, awaiting, q)["id"], "deposit")
        close_now(db, awaiting)
    finally:
        db.close()

    # Open: 张三 completed a purchase and joins without a deposit; 钱七
    # defaulted and pays one; 赵六 has not paid his yet (a week to do so).
    open_id = campaign(owner, rice, "五常大米团购 Rice group buy", "Open demo campaign",
                       [{"threshold": 1, "unit_price_cents": 9900},
                        {"threshold": 10, "unit_price_cents": 8900},
                        {"threshold": 50, "unit_price_cents": 7900}], 10, 500, 2,
                       deposit_window=7 * 86400)
    for t, q in ((zhang, 1), (li, 2), (qian, 1)):
        p = join(t, open_id, q)
        if p["status"] == "pending_deposit":
            pay(t, p["id"], "deposit")
    join(zhao, open_id, 1)
    return settled, awaiting, open_id


def main():
    try:
        if already_loaded():
            print("demo: data already loaded")
            return 0
        settled, awaiting, open_id = load()
    except (DemoError, OSError, psycopg2.Error) as e:
        print("demo: could not load the demo data: %s" % e, file=sys.stderr)
        print("demo: to start again from an empty database: make db-stop &&"
              " scripts/pg.sh destroy", file=sys.stderr)
        return 1
    print("demo: loaded: campaign %d open, %d succeeded (balances due), %d settled"
          % (open_id, awaiting, settled))
    return 0


if __name__ == "__main__":
    sys.exit(main())

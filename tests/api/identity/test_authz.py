"""The authorisation matrix: every route that needs a token, called by
every kind of caller, answers the status that TABLE gives it.

The routes come from the binary (`groupbuyd routes` prints the route
table with who each route admits): a route without a row in TABLE fails
test_every_route_has_a_row with the row to add, and a row whose refusals
and admissions disagree with the route's access fails
test_table_agrees_with_the_route_access. Then every cell is one request.

One server and one world serve the module: distributor A (owner, operator,
finance; products, campaigns in every state, orders at every step of
delivery and pickup, after-sales requests, a settlement, a webhook
endpoint with failed deliveries), distributor B (its owner: other_owner)
and a customer with participations and orders at A. Each cell logs its
caller in afresh. A cell that writes gets a target of its own where the
write changes the target (each success of "ship" ships another order); a
refusal must change nothing: the business tables hash the same before and
after it. A success answers the caller's own data: a list holds only its
distributor's rows.
"""
import subprocess
import time
import types

import pytest

from conftest import BIN, ROOT
from helpers import *  # noqa: F401,F403  (fixtures and helpers)
from helpers import start_module_server, _stop_module_server
from campaign_helpers import create_campaign, create_product, open_campaign, ts
from payment_helpers import PAY_ENV

# Who calls:
#   none         no Authorization header
#   customer     a customer session (the world's customer, who holds orders at A)
#   owner        A's owner
#   operator     A's operator
#   finance      A's finance member
#   other_owner  B's owner: every id of A is "not found" for it
#   platform     the platform token
CALLERS = ("none", "customer", "owner", "operator", "finance", "other_owner", "platform")

# One row per route that needs a token: the status each caller gets, in
# the order of CALLERS. API.md is the source: who may call, the success
# status, 404 for another distributor's ids.
TABLE = """
# route                                                 none cust owner oper fin  other plat
POST   /v1/platform/distributors                         401  403  403   403  403  403   201
POST   /v1/admin/staff                                   401  403  201   403  403  201   403
GET    /v1/admin/staff                                   401  403  200   403  403  200   403
GET    /v1/admin/staff/{id}                              401  403  200   403  403  404   403
GET    /v1/admin/audit-log                               401  403  200   403  403  200   403
DELETE /v1/sessions/current                              401  204  204   204  204  204   403
GET    /v1/me                                            401  200  200   200  200  200   403
POST   /v1/admin/products                                401  403  201   201  403  201   403
GET    /v1/admin/products                                401  403  200   200  403  200   403
GET    /v1/admin/products/{id}                           401  403  200   200  403  404   403
PATCH  /v1/admin/products/{id}                           401  403  200   200  403  404   403
PUT    /v1/admin/products/{id}/stock                     401  403  200   200  403  404   403
POST   /v1/admin/campaigns                               401  403  201   201  403  400   403
GET    /v1/admin/campaigns                               401  403  200   200  200  200   403
GET    /v1/admin/campaigns/{id}                          401  403  200   200  200  404   403
PATCH  /v1/admin/campaigns/{id}                          401  403  200   200  403  404   403
POST   /v1/admin/campaigns/{id}/publish                  401  403  200   200  403  404   403
POST   /v1/admin/campaigns/{id}/cancel                   401  403  200   200  403  404   403
POST   /v1/campaigns/{id}/participations                 401  201  403   403  403  403   403
GET    /v1/me/participations                             401  200  403   403  403  403   403
GET    /v1/participations/{id}                           401  200  403   403  403  403   403
POST   /v1/participations/{id}/withdraw                  401  200  403   403  403  403   403
GET    /v1/admin/campaigns/{id}/participations           401  403  200   200  403  404   403
GET    /v1/admin/customers                               401  403  200   200  403  200   403
GET    /v1/admin/customers/{id}                          401  403  200   200  403  404   403
PUT    /v1/admin/customers/{id}/vip                      401  403  200   200  403  404   403
GET    /v1/admin/reports/reliability                     401  403  200   200  403  200   403
POST   /v1/admin/forecasts/ladder                        401  403  200   200  403  400   403
POST   /v1/admin/reliability/refit                       401  403  409   403  403  409   403
GET    /v1/admin/reliability/parameters                  401  403  200   403  403  200   403
PUT    /v1/admin/reliability/parameters                  401  403  200   403  403  200   403
DELETE /v1/admin/reliability/parameters                  401  403  200   403  403  200   403
GET    /v1/admin/events                                  401  403  200   200  200  200   403
GET    /v1/admin/campaigns/{id}/audience                 401  403  200   200  403  404   403
POST   /v1/admin/campaigns/{id}/invitations              401  403  201   201  403  404   403
GET    /v1/admin/reports/invitations                     401  403  200   200  403  404   403
POST   /v1/admin/webhooks                                401  403  201   403  403  201   403
GET    /v1/admin/webhooks                                401  403  200   403  403  200   403
GET    /v1/admin/webhooks/{id}                           401  403  200   403  403  404   403
PATCH  /v1/admin/webhooks/{id}                           401  403  200   403  403  404   403
DELETE /v1/admin/webhooks/{id}                           401  403  204   403  403  404   403
GET    /v1/admin/webhooks/{id}/deliveries                401  403  200   403  403  404   403
POST   /v1/admin/webhooks/{id}/deliveries/{id}/retry     401  403  202   403  403  404   403
POST   /v1/participations/{id}/payments                  401  201  403   403  403  403   403
POST   /v1/sandbox/payments/{id}                         401  200  403   403  403  403   403
GET    /v1/admin/settlements                             401  403  200   403  200  200   403
GET    /v1/admin/settlements/{id}                        401  403  200   403  200  404   403
GET    /v1/admin/exports/settlements.csv                 401  403  200   403  200  200   403
GET    /v1/admin/settlement-adjustments                  401  403  200   403  200  200   403
POST   /v1/admin/pickup-points                           401  403  201   201  403  201   403
GET    /v1/admin/pickup-points                           401  403  200   200  403  200   403
GET    /v1/admin/pickup-points/{id}                      401  403  200   200  403  404   403
PATCH  /v1/admin/pickup-points/{id}                      401  403  200   200  403  404   403
GET    /v1/me/orders                                     401  200  403   403  403  403   403
GET    /v1/orders/{id}                                   401  200  403   403  403  403   403
PUT    /v1/orders/{id}/address                           401  200  403   403  403  403   403
GET    /v1/admin/orders                                  401  403  200   200  403  200   403
POST   /v1/admin/orders/{id}/ship                        401  403  200   200  403  404   403
POST   /v1/admin/orders/{id}/deliver                     401  403  200   200  403  404   403
POST   /v1/admin/campaigns/{id}/orders/ready             401  403  201   201  403  404   403
POST   /v1/admin/orders/{id}/pickup                      401  403  200   200  403  404   403
GET    /v1/admin/exports/pickup-list.csv                 401  403  200   200  403  404   403
POST   /v1/orders/{id}/after-sales                       401  201  403   403  403  403   403
GET    /v1/admin/after-sales                             401  403  200   200  200  200   403
POST   /v1/admin/after-sales/{id}/approve                401  403  200   200  403  404   403
POST   /v1/admin/after-sales/{id}/reject                 401  403  200   200  403  404   403
POST   /v1/campaigns/{id}/shares                         401  201  403   403  403  403   403
GET    /v1/me/shares                                     401  200  403   403  403  403   403
GET    /v1/admin/campaigns/{id}/referrals                401  403  200   200  403  404   403
POST   /v1/campaigns/{id}/waitlist                       401  201  403   403  403  403   403
GET    /v1/me/waitlist                                   401  200  403   403  403  403   403
DELETE /v1/waitlist/{id}                                 401  200  403   403  403  403   403
POST   /v1/campaigns/{id}/questions                      401  201  403   403  403  403   403
GET    /v1/me/questions                                  401  200  403   403  403  403   403
GET    /v1/admin/questions                               401  403  200   200  403  200   403
POST   /v1/admin/questions/{id}/answer                   401  403  200   200  403  404   403
POST   /v1/me/complaints                                 401  201  403   403  403  403   403
GET    /v1/me/complaints                                 401  200  403   403  403  403   403
GET    /v1/admin/complaints                              401  403  200   200  403  200   403
POST   /v1/admin/complaints/{id}/reply                   401  403  201   201  403  404   403
POST   /v1/admin/complaints/{id}/resolve                 401  403  200   200  403  404   403
"""

CODES = {400: "invalid_field", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
         409: "invalid_state"}


def parse_table(text):
    rows = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        assert len(parts) == 2 + len(CALLERS), "TABLE line %r: method, route and %d statuses" \
            % (line, len(CALLERS))
        rows["%s %s" % (parts[0], parts[1])] = dict(zip(CALLERS, map(int, parts[2:])))
    return rows


ROWS = parse_table(TABLE)


def route_table():
    """{"METHOD /pattern": principals in the binary's order} of the routes
    that need a token."""
    out = subprocess.run([BIN, "routes"], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    routes = {}
    for line in out.splitlines():
        method, pattern, who = line.split(" ")
        if who != "public":
            routes["%s %s" % (method, pattern)] = who.split(",")
    assert routes, "groupbuyd routes printed no route that needs a token"
    return routes


def success_status(route):
    method, pattern = route.split(" ", 1)
    if method == "GET" or method in ("PUT", "PATCH"):
        return 200
    if method == "DELETE":
        return 204
    return 200 if "{id}" in pattern else 201


def suggested_row(route, who):
    """The row the route's access implies, for a failure message."""
    ok = success_status(route)
    cells = {"none": 401}
    for caller in CALLERS[1:]:
        role = "owner" if caller == "other_owner" else caller
        if role not in who:
            cells[caller] = 403
        elif caller == "other_owner" and "{id}" in route:
            cells[caller] = 404
        else:
            cells[caller] = ok
    method, pattern = route.split(" ", 1)
    line = "%-6s %-50s" % (method, pattern)
    for caller, sep in zip(CALLERS, ("", "  ", "  ", "   ", "  ", "  ", "   ")):
        line += sep + "%d" % cells[caller]
    return line


def test_every_route_has_a_row():
    """A route added to server/api/routes.c needs its row here (and a
    request in REQUESTS unless it is a GET without {id} or query)."""
    table = route_table()
    problems = []
    for route in sorted(set(table) - set(ROWS)):
        problems.append(
            "%s (who: %s) has no row in TABLE of tests/api/identity/test_authz.py: add\n"
            "    %s\n  (the statuses follow the route's access; check each success status "
            "against docs/api.md)%s"
            % (route, ",".join(table[route]), suggested_row(route, table[route]),
               "" if route in REQUESTS or (route.startswith("GET ") and "{" not in route)
               else ",\n  and to REQUESTS a function (world, caller) -> Call(path, body) "
                    "that makes the request (a fresh target for each success if it changes "
                    "one)"))
    for route in sorted(set(ROWS) - set(table)):
        problems.append("TABLE of tests/api/identity/test_authz.py has a row for %s, which "
                        "`groupbuyd routes` does not list as needing a token: remove the row "
                        "(and its REQUESTS entry)" % route)
    assert not problems, "\n".join(problems)


def test_table_agrees_with_the_route_access():
    """Whoever TABLE lets through is whom the route table admits, and the
    other way round (other_owner is an owner: any answer but 401/403)."""
    table = route_table()
    problems = []
    for route, cells in sorted(ROWS.items()):
        if route not in table:
            continue
        for caller, status in cells.items():
            if caller == "none":
                admitted = False
            else:
                admitted = ("owner" if caller == "other_owner" else caller) in table[route]
            if admitted == (status in (401, 403)):
                problems.append("%s as %s: TABLE says %d, server/api/routes.c %s %s"
                                % (route, caller, status,
                                   "admits" if admitted else "does not admit",
                                   caller))
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the world

WORLD_ENV = dict(PAY_ENV, GROUPBUYD_PAYMENT_SANDBOX="1",
                 GROUPBUYD_WEBHOOK_ALLOW_HOSTS="127.0.0.1")
# The relay off: deliveries stay as the world leaves them.
WORLD_CONFIG = FAST_CONFIG + "webhooks.concurrency = 0\n"
NO_DEPOSIT = [{"min_score": 0, "deposit_percent": 0}]
ALL_DEPOSIT = [{"min_score": 0, "deposit_percent": 10}]
TIERS = [{"threshold": 1, "unit_price_cents": 9900},
         {"threshold": 2, "unit_price_cents": 8900}]
ADDR = {"name": "张三", "phone": "13900000002", "region": "上海市", "line": "幸福路 2 号"}
SHIP = {"carrier": "SF", "tracking_no": "SF1"}
POINT = {"name": "自提点", "address": "幸福路 1 号", "leader_name": "王团长",
         "leader_phone": "13900000001", "commission_bp": 300}
# Business state: a refused request changes none of it (sessions, login
# failures, idempotency keys and the relay's bookkeeping are not).
TABLES = ("distributors", "staff", "customers", "audit_log", "products", "campaigns",
          "customer_vip", "participations", "customer_events", "payments",
          "payment_events", "ledger_entries", "outbox", "settlements", "settlement_lines",
          "pickup_points", "orders", "order_pickup_codes", "after_sales",
          "settlement_adjustments", "webhook_endpoints", "webhook_deliveries",
          "campaign_invitations", "shares", "waitlist_entries", "questions", "complaints",
          "complaint_replies")


def ok(r, status=200):
    assert r.status == status, r
    return r.json if r.body else None


class World:
    """Everything the cells call on. pools[name]: targets that a success
    uses up, one per success cell; refuse[name]: the target refusals aim at."""

    def __init__(self, srv, db):
        self.srv, self.db = srv, db
        self.pools, self.refuse = {}, {}
        self.a, self.b = new_tenant(srv), new_tenant(srv)
        self.operator = new_staff(srv, self.a.token, "operator")
        self.finance = new_staff(srv, self.a.token, "finance")
        self.customer = new_customer(srv)
        self.ctok = customer_token(srv, self.customer.login)
        tok = self.a.token
        self.product = create_product(srv, tok, stock=100000)
        self.point = ok(srv.post("/v1/admin/pickup-points", POINT, token=tok), 201)
        self.pool("staff_target", [self.operator.id])
        # campaigns
        self.pool("publish", [self.draft() for _ in range(3)])
        self.pool("cancel", [self.draft() for _ in range(3)])
        self.patch_campaign = self.draft()
        self.join_campaign = self.open()
        self.audience_campaign = self.open()
        # the customer's participations: one active (withdraw), one owing
        # its deposit (payments), one with a payment intent (sandbox)
        self.withdraw_part = self.join(self.ctok, self.open())
        self.pay_part = self.join(self.ctok, self.open(deposit_policy=ALL_DEPOSIT))
        pending = self.join(self.ctok, self.open(deposit_policy=ALL_DEPOSIT))
        self.sandbox_payment = ok(srv.post("/v1/participations/%d/payments" % pending,
                                           token=self.ctok), 201)["payment"]["id"]
        # orders: a delivery campaign with 13 shoppers and the customer, a
        # second one with the customer alone (delivered: its after-sales),
        # two pickup campaigns
        d1 = self.open(min_participants=1)
        d2 = self.open(min_participants=1)
        k1 = self.open(min_participants=1, fulfilment="pickup",
                       pickup_point_ids=[self.point["id"]])
        k2 = self.open(min_participants=1, fulfilment="pickup",
                       pickup_point_ids=[self.point["id"]])
        shoppers = []
        for cid, n in ((d1, 12), (k1, 3), (k2, 1)):
            for _ in range(n):
                p = new_customer(srv)
                t = customer_token(srv, p.login)
                body = {"quantity": 1}
                if cid in (k1, k2):
                    body["pickup_point_id"] = self.point["id"]
                else:
                    body["address"] = ADDR
                shoppers.append((cid, t, self.join(t, cid, body)))
        mine_d1 = self.join(self.ctok, d1, {"quantity": 1})  # no address yet
        mine_d2 = self.join(self.ctok, d2, {"quantity": 1, "address": ADDR})
        for cid in (d1, d2, k1, k2):
            self.close(cid)
        for cid, t, pid in shoppers + [(d1, self.ctok, mine_d1), (d2, self.ctok, mine_d2)]:
            self.pay(t, pid)
        orders = {}
        for cid, t, pid in shoppers:
            orders.setdefault(cid, []).append((t, self.order_of(t, pid)))
        delivery = orders[d1]
        self.pool("ship", [o for _, o in delivery[0:3]])
        self.pool("deliver", [self.shipped(o) for _, o in delivery[3:6]])
        for name, part in (("approve", delivery[6:9]), ("reject", delivery[9:12])):
            targets = []
            for t, o in part:
                self.delivered(o)
                targets.append(ok(srv.post("/v1/orders/%d/after-sales" % o,
                                           {"reason": "破损", "quantity": 1,
                                            "amount_cents": 100}, token=t), 201)["id"])
            self.pool(name, targets)
        self.my_open_order = self.order_of(self.ctok, mine_d1)
        self.my_delivered_order = self.delivered(self.order_of(self.ctok, mine_d2))
        ok(srv.post("/v1/admin/campaigns/%d/orders/ready" % k1,
                    {"pickup_point_id": self.point["id"]}, token=tok), 201)
        codes = []
        for t, o in orders[k1]:
            r = ok(srv.get("/v1/orders/%d" % o, token=t))
            codes.append((o, r["pickup_code"]))
        self.pool("pickup", codes)
        self.ready_done, self.ready_todo = k1, k2  # k1: nothing left to ready
        self.pool("ready", [k1, k1, k2])
        self.settled = d2
        deadline = time.time() + 30
        while srv.get("/v1/admin/settlements/%d" % d2, token=tok).status != 200:
            assert time.time() < deadline, "the world's settlement"
            time.sleep(0.1)
        # webhooks: endpoints to delete, failed deliveries to retry
        self.hooks = [self.hook() for _ in range(3)]
        self.pool("delete_hook", self.hooks[1:])
        self.pool("retry", [self.failed_delivery(self.hooks[0]) for _ in range(2)])
        # a customer of A who may be invited to the audience campaign
        r = ok(srv.get("/v1/admin/campaigns/%d/audience" % self.audience_campaign, token=tok))
        assert r["items"], r
        self.invitee = r["items"][0]["customer"]["id"]
        # growth and service: two full campaigns (one to queue for, one
        # where the customer waits already), a question and complaints of
        # the customer about its own campaign
        self.wait_campaign, leave_campaign = self.full(), self.full()
        self.leave_entry = ok(srv.post("/v1/campaigns/%d/waitlist" % leave_campaign,
                                       {"quantity": 1}, token=self.ctok), 201)["id"]
        self.my_campaign = d2
        self.question = ok(srv.post("/v1/campaigns/%d/questions" % self.join_campaign,
                                    {"body": "几天到货？"}, token=self.ctok), 201)["id"]
        complaints = [ok(srv.post("/v1/me/complaints", {"body": "慢", "campaign_id": d2},
                                  token=self.ctok), 201)["id"] for _ in range(4)]
        self.reply_complaint = complaints[0]
        self.pool("resolve", complaints[1:])

    def pool(self, name, targets):
        """The last target is the refusals'; the others go one per success."""
        self.pools[name] = list(targets[:-1])
        self.refuse[name] = targets[-1]

    def take(self, name, caller, expected):
        if expected >= 400:
            return self.refuse[name]
        assert self.pools[name], "no %s target left for %s" % (name, caller)
        return self.pools[name].pop(0)

    def draft(self, **kw):
        return create_campaign(self.srv, self.a.token, self.product["id"],
                               starts_at=ts(-60), ends_at=ts(86400), **kw)["id"]

    def open(self, **kw):
        kw.setdefault("deposit_policy", NO_DEPOSIT)
        kw.setdefault("tiers", TIERS)
        return open_campaign(self.srv, self.a.token, self.product["id"],
                             deposit_window_seconds=86400, **kw)["id"]

    def full(self):
        """An open campaign of one unit, taken by a shopper of its own."""
        cid = self.open(max_quantity=1)
        self.join(customer_token(self.srv, new_customer(self.srv).login), cid)
        return cid

    def join(self, token, cid, body=None):
        r = self.srv.post("/v1/campaigns/%d/participations" % cid, body or {"quantity": 1},
                          token=token)
        return ok(r, 201)["id"]

    def close(self, cid):
        with self.db.cursor() as cur:
            cur.execute("UPDATE campaigns SET ends_at = now() WHERE id = %s", (cid,))
            assert cur.rowcount == 1
        deadline = time.time() + 30
        while count_rows(self.db, "campaigns", "id = %s AND status = 'succeeded'", (cid,)) == 0:
            assert time.time() < deadline, "campaign %d did not close" % cid
            time.sleep(0.05)

    def pay(self, token, pid):
        p = ok(self.srv.post("/v1/participations/%d/payments" % pid, token=token), 201)
        r = self.srv.post("/v1/sandbox/payments/%d" % p["payment"]["id"],
                          {"outcome": "succeeded"}, token=token)
        assert ok(r)["outcome"] == "applied", r

    def order_of(self, token, pid):
        (o,) = [o for o in ok(self.srv.get("/v1/me/orders", token=token))["items"]
                if o["participation_id"] == pid]
        return o["id"]

    def shipped(self, oid):
        ok(self.srv.post("/v1/admin/orders/%d/ship" % oid, SHIP, token=self.a.token))
        return oid

    def delivered(self, oid):
        self.shipped(oid)
        ok(self.srv.post("/v1/admin/orders/%d/deliver" % oid, token=self.a.token))
        return oid

    def stock_now(self):
        """A body of PUT .../stock that keeps the product's stock, at its
        current stock_version."""
        with self.db.cursor() as cur:
            cur.execute("SELECT stock, stock_version FROM products WHERE id = %s",
                        (self.product["id"],))
            stock, version = cur.fetchone()
        return {"stock": stock, "stock_version": version}

    def hook(self):
        r = self.srv.post("/v1/admin/webhooks", {"url": "http://127.0.0.1:9/hook",
                                                 "events": ["campaign.failed"]},
                          token=self.a.token)
        return ok(r, 201)["id"]

    def failed_delivery(self, hook):
        """A delivery that gave up, as the relay leaves one (set-up: the
        relay is off in this world)."""
        with self.db.cursor() as cur:
            cur.execute("INSERT INTO outbox (distributor_id, kind, payload)"
                        " VALUES (%s, 'campaign.failed', '{}') RETURNING id", (self.a.id,))
            event = cur.fetchone()[0]
            cur.execute("INSERT INTO webhook_deliveries (endpoint_id, event_id, status,"
                        " attempts, last_status_code, last_error)"
                        " VALUES (%s, %s, 'failed', 3, 503, 'HTTP 503') RETURNING id",
                        (hook, event))
            return (hook, cur.fetchone()[0])

    def state(self):
        """A hash of every business table."""
        parts = " UNION ALL ".join(
            "SELECT '%s', count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '')"
            " FROM %s x" % (t, t) for t in TABLES)
        with self.db.cursor() as cur:
            cur.execute(parts)
            return cur.fetchall()


@pytest.fixture(scope="module")
def world(cluster, tmp_path_factory):
    srv, conn, name = start_module_server(cluster, tmp_path_factory, config=WORLD_CONFIG,
                                          env=WORLD_ENV)
    try:
        yield World(srv, conn)
    finally:
        _stop_module_server(cluster, srv, conn, name)


# ---------------------------------------------------------------- requests

class Call:
    """The request of a cell: its path (with query) and JSON body."""

    def __init__(self, path, body=None):
        self.path, self.body = path, body


# (world, caller, expected status) -> Call. A GET without {id} or query
# needs no entry.
REQUESTS = {
    # the planner writes nothing; another distributor's product is none (400)
    "POST /v1/admin/forecasts/ladder": lambda w, c, e: Call(
        "/v1/admin/forecasts/ladder",
        {"product_id": w.product["id"], "starts_at": ts(3600), "ends_at": ts(86400),
         "tiers": TIERS, "min_participants": 1, "audience_size": 100}),
    # the world's history is far below the 200 participations a refit needs
    "POST /v1/admin/reliability/refit": lambda w, c, e: Call("/v1/admin/reliability/refit"),
    # the configured defaults: adopting them changes no score of the world
    "PUT /v1/admin/reliability/parameters": lambda w, c, e: Call(
        "/v1/admin/reliability/parameters",
        {"parameters": {"half_life_days": 180, "prior_alpha_base": 3, "prior_alpha_per_vip": 2,
                        "prior_beta": 1, "weight_withdrawn": 0.5,
                        "weight_deposit_expired": 0.5, "weight_defaulted": 1}}),
    "DELETE /v1/admin/reliability/parameters": lambda w, c, e: Call(
        "/v1/admin/reliability/parameters"),
    "POST /v1/platform/distributors": lambda w, c, e: Call(
        "/v1/platform/distributors",
        {"name": uniq("AuthZ "), "commission_bp": 300,
         "owner": {"login": new_email("authz-owner"), "password": PASSWORD}}),
    "POST /v1/admin/staff": lambda w, c, e: Call(
        "/v1/admin/staff", {"login": new_email("authz-staff"), "password": PASSWORD,
                            "role": "operator"}),
    "DELETE /v1/sessions/current": lambda w, c, e: Call("/v1/sessions/current"),
    "GET /v1/admin/staff/{id}": lambda w, c, e: Call("/v1/admin/staff/%d" % w.operator.id),
    "POST /v1/admin/products": lambda w, c, e: Call(
        "/v1/admin/products", {"sku": uniq("AUTHZ-"), "name": "P", "description": "d",
                               "list_price_cents": 10000, "cost_price_cents": 6000,
                               "stock": 10}),
    "GET /v1/admin/products/{id}": lambda w, c, e: Call(
        "/v1/admin/products/%d" % w.product["id"]),
    "PATCH /v1/admin/products/{id}": lambda w, c, e: Call(
        "/v1/admin/products/%d" % w.product["id"], {"description": "authz"}),
    # the stock as it is, against the version it has now (a success counts
    # a new version)
    "PUT /v1/admin/products/{id}/stock": lambda w, c, e: Call(
        "/v1/admin/products/%d/stock" % w.product["id"], w.stock_now()),
    "POST /v1/admin/campaigns": lambda w, c, e: Call(
        "/v1/admin/campaigns",
        {"product_id": w.product["id"], "title": "AuthZ", "starts_at": ts(3600),
         "ends_at": ts(86400), "tier_basis": "participants", "tiers": TIERS,
         "min_participants": 1, "max_quantity": 10}),
    "GET /v1/admin/campaigns/{id}": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d" % w.join_campaign),
    "PATCH /v1/admin/campaigns/{id}": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d" % w.patch_campaign, {"description": uniq("edited ")}),
    "POST /v1/admin/campaigns/{id}/publish": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/publish" % w.take("publish", c, e)),
    "POST /v1/admin/campaigns/{id}/cancel": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/cancel" % w.take("cancel", c, e)),
    "POST /v1/campaigns/{id}/participations": lambda w, c, e: Call(
        "/v1/campaigns/%d/participations" % w.join_campaign, {"quantity": 1}),
    "GET /v1/participations/{id}": lambda w, c, e: Call(
        "/v1/participations/%d" % w.pay_part),
    "POST /v1/participations/{id}/withdraw": lambda w, c, e: Call(
        "/v1/participations/%d/withdraw" % w.withdraw_part),
    "GET /v1/admin/campaigns/{id}/participations": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/participations" % w.join_campaign),
    "GET /v1/admin/customers/{id}": lambda w, c, e: Call(
        "/v1/admin/customers/%d" % w.customer.id),
    "PUT /v1/admin/customers/{id}/vip": lambda w, c, e: Call(
        "/v1/admin/customers/%d/vip" % w.customer.id, {"vip_level": 1}),
    "GET /v1/admin/campaigns/{id}/audience": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/audience" % w.audience_campaign),
    "POST /v1/admin/campaigns/{id}/invitations": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/invitations" % w.audience_campaign,
        {"customer_ids": [w.invitee]}),
    "GET /v1/admin/reports/invitations": lambda w, c, e: Call(
        "/v1/admin/reports/invitations?campaign_id=%d" % w.audience_campaign),
    "POST /v1/admin/webhooks": lambda w, c, e: Call(
        "/v1/admin/webhooks", {"url": "http://127.0.0.1:9/new", "events": ["campaign.failed"]}),
    "GET /v1/admin/webhooks/{id}": lambda w, c, e: Call("/v1/admin/webhooks/%d" % w.hooks[0]),
    "PATCH /v1/admin/webhooks/{id}": lambda w, c, e: Call(
        "/v1/admin/webhooks/%d" % w.hooks[0], {"description": uniq("hook ")}),
    "DELETE /v1/admin/webhooks/{id}": lambda w, c, e: Call(
        "/v1/admin/webhooks/%d" % w.take("delete_hook", c, e)),
    "GET /v1/admin/webhooks/{id}/deliveries": lambda w, c, e: Call(
        "/v1/admin/webhooks/%d/deliveries" % w.hooks[0]),
    "POST /v1/admin/webhooks/{id}/deliveries/{id}/retry": lambda w, c, e: Call(
        "/v1/admin/webhooks/%d/deliveries/%d/retry" % w.take("retry", c, e)),
    "POST /v1/participations/{id}/payments": lambda w, c, e: Call(
        "/v1/participations/%d/payments" % w.pay_part),
    "POST /v1/sandbox/payments/{id}": lambda w, c, e: Call(
        "/v1/sandbox/payments/%d" % w.sandbox_payment, {"outcome": "succeeded"}),
    "GET /v1/admin/settlements/{id}": lambda w, c, e: Call(
        "/v1/admin/settlements/%d" % w.settled),
    "POST /v1/admin/pickup-points": lambda w, c, e: Call("/v1/admin/pickup-points", POINT),
    "GET /v1/admin/pickup-points/{id}": lambda w, c, e: Call(
        "/v1/admin/pickup-points/%d" % w.point["id"]),
    "PATCH /v1/admin/pickup-points/{id}": lambda w, c, e: Call(
        "/v1/admin/pickup-points/%d" % w.point["id"], {"leader_name": uniq("团长")}),
    "GET /v1/orders/{id}": lambda w, c, e: Call("/v1/orders/%d" % w.my_open_order),
    "PUT /v1/orders/{id}/address": lambda w, c, e: Call(
        "/v1/orders/%d/address" % w.my_open_order, ADDR),
    "POST /v1/admin/orders/{id}/ship": lambda w, c, e: Call(
        "/v1/admin/orders/%d/ship" % w.take("ship", c, e), SHIP),
    "POST /v1/admin/orders/{id}/deliver": lambda w, c, e: Call(
        "/v1/admin/orders/%d/deliver" % w.take("deliver", c, e)),
    "POST /v1/admin/campaigns/{id}/orders/ready": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/orders/ready" % w.take("ready", c, e),
        {"pickup_point_id": w.point["id"]}),
    "POST /v1/admin/orders/{id}/pickup": lambda w, c, e: (lambda t: Call(
        "/v1/admin/orders/%d/pickup" % t[0], {"pickup_code": t[1]}))(w.take("pickup", c, e)),
    "GET /v1/admin/exports/pickup-list.csv": lambda w, c, e: Call(
        "/v1/admin/exports/pickup-list.csv?campaign_id=%d&pickup_point_id=%d"
        % (w.ready_done, w.point["id"])),
    "POST /v1/orders/{id}/after-sales": lambda w, c, e: Call(
        "/v1/orders/%d/after-sales" % w.my_delivered_order,
        {"reason": "破损", "quantity": 1, "amount_cents": 100}),
    "POST /v1/admin/after-sales/{id}/approve": lambda w, c, e: Call(
        "/v1/admin/after-sales/%d/approve" % w.take("approve", c, e),
        {"amount_cents": 100, "returned_quantity": 0}),
    "POST /v1/admin/after-sales/{id}/reject": lambda w, c, e: Call(
        "/v1/admin/after-sales/%d/reject" % w.take("reject", c, e), {"note": "no"}),
    "POST /v1/campaigns/{id}/shares": lambda w, c, e: Call(
        "/v1/campaigns/%d/shares" % w.join_campaign),
    "GET /v1/admin/campaigns/{id}/referrals": lambda w, c, e: Call(
        "/v1/admin/campaigns/%d/referrals" % w.join_campaign),
    "POST /v1/campaigns/{id}/waitlist": lambda w, c, e: Call(
        "/v1/campaigns/%d/waitlist" % w.wait_campaign, {"quantity": 1}),
    "DELETE /v1/waitlist/{id}": lambda w, c, e: Call("/v1/waitlist/%d" % w.leave_entry),
    "POST /v1/campaigns/{id}/questions": lambda w, c, e: Call(
        "/v1/campaigns/%d/questions" % w.join_campaign, {"body": "甜吗？"}),
    "POST /v1/admin/questions/{id}/answer": lambda w, c, e: Call(
        "/v1/admin/questions/%d/answer" % w.question, {"body": "甜", "public": True}),
    "POST /v1/me/complaints": lambda w, c, e: Call(
        "/v1/me/complaints", {"body": "太慢", "campaign_id": w.my_campaign}),
    "POST /v1/admin/complaints/{id}/reply": lambda w, c, e: Call(
        "/v1/admin/complaints/%d/reply" % w.reply_complaint, {"body": "抱歉"}),
    "POST /v1/admin/complaints/{id}/resolve": lambda w, c, e: Call(
        "/v1/admin/complaints/%d/resolve" % w.take("resolve", c, e), {"note": "已处理"}),
}


def credentials(w, caller):
    """(token or None, the distributor whose data a success shows)."""
    srv = w.srv
    if caller == "none":
        return None, None
    if caller == "platform":
        return PLATFORM_TOKEN, None
    if caller == "customer":
        return customer_token(srv, w.customer.login), None
    login, tenant = {"owner": (w.a.owner["login"], w.a),
                     "operator": (w.operator.login, w.a),
                     "finance": (w.finance.login, w.a),
                     "other_owner": (w.b.owner["login"], w.b)}[caller]
    return staff_token(srv, login), tenant


CASES = [(route, caller, cells[caller]) for route, cells in ROWS.items() for caller in CALLERS]


@pytest.mark.parametrize("route,caller,expected", CASES,
                         ids=["%s as %s" % (r, c) for r, c, _ in CASES])
def test_authorisation_matrix(world, route, caller, expected):
    """One cell: this caller on this route gets this status and its error
    code; a refusal changes nothing; a success shows only the caller's own."""
    w = world
    method = route.split(" ", 1)[0]
    make = REQUESTS.get(route)
    assert make or (method == "GET" and "{" not in route), \
        "%s has a row but no request in REQUESTS" % route
    call = make(w, caller, expected) if make else Call(route.split(" ", 1)[1])
    token, tenant = credentials(w, caller)
    before = w.state() if expected >= 400 else None
    r = w.srv.request(method, call.path, body=call.body, token=token)
    assert r.status == expected, "%s %s as %s: expected %d, got %r" % (
        method, call.path, caller, expected, r)
    if expected >= 400:
        assert_error(r, expected, CODES[expected])
        assert w.state() == before, "a refused %s %s as %s changed the database" % (
            method, call.path, caller)
        return
    if r.status == 204 or not r.body or not r.headers.get("Content-Type", "").startswith(
            "application/json"):
        return
    items = r.json.get("items") if isinstance(r.json, dict) else None
    if tenant is not None and items is not None:
        foreign = [i for i in items if isinstance(i, dict) and "distributor_id" in i
                   and i["distributor_id"] != tenant.id]
        assert not foreign, "%s as %s shows another distributor's rows: %s" % (
            route, caller, foreign[:3])
    if tenant is not None and isinstance(r.json, dict) and "distributor_id" in r.json:
        assert r.json["distributor_id"] == tenant.id, r


# ---------------------------------------------------------------- tokens

# Tokens that are not a live session, on a route of each kind of caller:
# 401 unauthenticated, whatever the route.
DEAD = ("bad", "expired", "revoked")
DEAD_ROUTES = (("GET", "/v1/me"), ("GET", "/v1/admin/staff"), ("GET", "/v1/me/orders"),
               ("POST", "/v1/platform/distributors"))


@pytest.fixture(scope="module")
def plain(shared):
    w = types.SimpleNamespace(srv=shared.srv, db=shared.db)
    w.a = new_tenant(shared.srv)
    w.customer = new_customer(shared.srv)
    return w


@pytest.mark.parametrize("method,path", DEAD_ROUTES, ids=["%s %s" % r for r in DEAD_ROUTES])
@pytest.mark.parametrize("kind", DEAD)
def test_dead_tokens_are_unauthenticated(plain, kind, method, path):
    w = plain
    if kind == "bad":
        tok = random_token()
    else:
        tok = staff_token(w.srv, w.a.owner["login"])
        if kind == "expired":
            expire_session(w.db, tok)
        else:
            assert w.srv.request("DELETE", "/v1/sessions/current", token=tok).status == 204
    r = w.srv.request(method, path, token=tok, body={} if method == "POST" else None)
    assert_error(r, 401, "unauthenticated")
    if kind != "bad":
        # the same login's fresh session still works
        fresh = staff_token(w.srv, w.a.owner["login"])
        assert w.srv.get("/v1/me", token=fresh).status == 200

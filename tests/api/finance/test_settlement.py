"""Settlement (DESIGN.md "Settlement", API.md "Settlements and exports"),
end to end through HTTP: joins from three score bands, deposits and balances
paid through intents and the signed webhook, a withdrawal, a default left to
the scheduler, the close and the settlement left to the scheduler. Every
line and total is compared with a hand computation written here, and the
reconciliation function (gb_campaign_reconcile) is called on every campaign
touched. The database is used only to set up time (ends_at, pay_by) and
history, and to read the ledger.
"""
import time

import pytest

from helpers import *
from campaign_helpers import create_product, open_campaign
from join_helpers import add_event, join, withdraw
from payment_helpers import PAY_ENV, event, webhook

BP = 750       # the distributor's commission, 7.5 %
COST = 5100    # product cost price
TIERS = [{"threshold": 1, "unit_price_cents": 9900},
         {"threshold": 3, "unit_price_cents": 8900},
         {"threshold": 10, "unit_price_cents": 7900}]
POLICY = [{"min_score": 80, "deposit_percent": 0},
          {"min_score": 50, "deposit_percent": 10},
          {"min_score": 0, "deposit_percent": 30}]


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)


def rnd(amount, bp):
    """(amount x bp + 5000) div 10000, DESIGN.md's rounding."""
    return (amount * bp + 5000) // 10000


def one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def status_of(db, cid):
    return one(db, "SELECT status FROM campaigns WHERE id = %s", (cid,))[0]


def reconcile(db, cid):
    return one(db, "SELECT received_cents, refunded_cents, split_cents, difference_cents"
                   " FROM gb_campaign_reconcile(%s)", (cid,))


def customer(srv):
    p = new_customer(srv)
    return p.id, customer_token(srv, p.login)


def pay(srv, token, pid, kind, amount, ref):
    """Opens an intent for what is due and has the provider confirm it."""
    r = srv.post("/v1/participations/%d/payments" % pid, token=token)
    assert r.status == 201, r
    p = r.json["payment"]
    assert (p["kind"], p["amount_cents"]) == (kind, amount), p
    r = webhook(srv, event(p, ref=ref))
    assert r.status == 200, r
    return p


class Deal:
    """A tenant with commission BP, a product costing COST, an open campaign
    and customers in three score bands."""

    def __init__(self, srv, db, min_participants=3):
        self.srv, self.db = srv, db
        self.tenant = new_tenant(srv)
        with db.cursor() as cur:
            cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s",
                        (BP, self.tenant.id))
        prod = create_product(srv, self.tenant.token, cost_price_cents=COST,
                              list_price_cents=10000, stock=1000)
        self.cid = open_campaign(srv, self.tenant.token, prod["id"], tiers=TIERS,
                                 deposit_policy=POLICY, max_quantity=100,
                                 per_customer_limit=5,
                                 min_participants=min_participants,
                                 payment_window_seconds=3600)["id"]

    def shopper(self, band):
        """A customer scoring 86 (VIP 1 and one completion today:
        6 / 7), 75 (new) or 43 (three defaults today: 3 / 7)."""
        cust, token = customer(self.srv)
        if band == "low":
            for _ in range(3):
                add_event(self.db, self.tenant.id, cust, "defaulted")
        elif band == "vip":
            add_event(self.db, self.tenant.id, cust, "completed")
            r = self.srv.request("PUT", "/v1/admin/customers/%d/vip" % cust,
                                 {"vip_level": 1}, token=self.tenant.token)
            assert r.status == 200, r
        return cust, token

    def join(self, token, quantity, deposit):
        r = join(self.srv, token, self.cid, quantity)
        assert r.status == 201, r
        assert r.json["deposit_cents"] == deposit, r
        pid = r.json["id"]
        if deposit > 0:
            pay(self.srv, token, pid, "deposit", deposit, "pr_dep_%d" % pid)
        return pid

    def close_now(self):
        with self.db.cursor() as cur:
            cur.execute("UPDATE campaigns SET ends_at = now() + interval '1 second'"
                        " WHERE id = %s", (self.cid,))
        wait_for("the close", lambda: status_of(self.db, self.cid) != "open")

    def settlement(self, token=None):
        return self.srv.get("/v1/admin/settlements/%d" % self.cid,
                            token=token or self.tenant.token)


def deposit_of(quantity, percent):
    """ceil(first-tier price x quantity x percent / 100)."""
    return -(-9900 * quantity * percent // 100)


def test_succeeded_campaign_settles_to_the_cent(srv, db):
    d = Deal(srv, db)
    vip, vip_t = d.shopper("vip")
    mid, mid_t = d.shopper("mid")
    low, low_t = d.shopper("low")
    low2, low2_t = d.shopper("low")
    quitter, quitter_t = d.shopper("mid")
    # Deposits by band: >= 80 none, >= 50 10 %, else 30 %.
    p_vip = d.join(vip_t, 2, 0)
    p_mid = d.join(mid_t, 1, deposit_of(1, 10))            # 990
    p_def = d.join(low_t, 3, deposit_of(3, 30))            # 8910
    p_low = d.join(low2_t, 1, deposit_of(1, 30))           # 2970
    p_quit = d.join(quitter_t, 1, deposit_of(1, 10))       # 990
    r = withdraw(srv, quitter_t, p_quit)
    assert r.status == 200, r
    scores = {c: srv.get("/v1/admin/customers/%d" % c, token=d.tenant.token)
              .json["reliability"]["score"] for c in (vip, mid, low)}
    assert scores == {vip: 86, mid: 75, low: 43}, scores

    d.close_now()
    camp = srv.get("/v1/admin/campaigns/%d" % d.cid, token=d.tenant.token).json
    # 4 active participants: the middle tier (threshold 3) applies
    assert (camp["status"], camp["final_unit_price_cents"]) == ("succeeded", 8900), camp
    price = 8900

    pay(srv, vip_t, p_vip, "balance", price * 2 - 0, "pr_bal_vip")
    pay(srv, mid_t, p_mid, "balance", price * 1 - 990, "pr_bal_mid")
    pay(srv, low2_t, p_low, "balance", price * 1 - 2970, "pr_bal_low")
    # still one awaiting_payment: nothing settles
    wait_scheduler_passes(srv)
    assert status_of(db, d.cid) == "succeeded"
    assert d.settlement().status == 404
    # the last one lets its payment window pass: the scheduler defaults it
    # and then settles the campaign
    with db.cursor() as cur:
        cur.execute("UPDATE participations SET pay_by = now() - interval '1 second'"
                    " WHERE id = %s", (p_def,))
    wait_for("the settlement", lambda: status_of(db, d.cid) == "settled")

    # The hand computation (DESIGN.md's table), line by line.
    def paid(pid, cust, q):
        gross = price * q
        comm = rnd(gross, BP)
        return dict(participation_id=pid, customer_id=cust, status="paid", quantity=q,
                    unit_price_cents=price, gross_cents=gross, forfeited_cents=0,
                    commission_cents=comm, manufacturer_cents=COST * q,
                    leader_commission_cents=0, pickup_point_id=None,
                    distributor_net_cents=gross - comm - COST * q)

    forfeit = 8910
    expected_lines = sorted([
        paid(p_vip, vip, 2),         # 17800: comm 1335, mfr 10200, net 6265
        paid(p_mid, mid, 1),         # 8900: comm 668 (667.5 up), mfr 5100, net 3132
        paid(p_low, low2, 1),
        dict(participation_id=p_def, customer_id=low, status="defaulted", quantity=3,
             unit_price_cents=price, gross_cents=0, forfeited_cents=forfeit,
             # commission on sales only: none on a forfeited deposit, which
             # the distributor keeps whole (668 under the rule before v1.2)
             commission_cents=0,
             manufacturer_cents=0, leader_commission_cents=0, pickup_point_id=None,
             distributor_net_cents=forfeit),
    ], key=lambda l: l["participation_id"])
    assert expected_lines[0]["commission_cents"] == 1335
    assert rnd(8900, BP) == 668
    received = 990 + 8910 + 2970 + 990 + 17800 + (8900 - 990) + (8900 - 2970)
    refunded = 990  # the withdrawal
    expected_totals = dict(
        quantity=7, gross_cents=8900 * 4, forfeited_cents=8910,
        commission_cents=1335 + 668 + 668,
        manufacturer_cents=COST * 4,
        distributor_net_cents=(17800 - 1335 - 10200) + 2 * (8900 - 668 - 5100) + 8910,
        received_cents=received, refunded_cents=refunded)
    assert sum(l[k] for l in expected_lines for k in
               ("commission_cents", "manufacturer_cents", "distributor_net_cents")) \
        == received - refunded

    r = d.settlement()
    assert r.status == 200, r
    s = r.json
    assert s["campaign_id"] == d.cid
    assert s["unit_price_cents"] == price
    assert s["lines"] == expected_lines
    for k, v in expected_totals.items():
        assert s["totals"][k] == v, (k, s["totals"])
    settled_at = parse_time(s["settled_at"])
    assert abs(settled_at.timestamp() - time.time()) < 60

    # the rows behind it: one settlement, one line per paid/defaulted, the
    # three ledger movements once, the outbox row, reconciliation
    assert count_rows(db, "settlements", "campaign_id = %s", (d.cid,)) == 1
    assert count_rows(db, "settlement_lines", "campaign_id = %s", (d.cid,)) == 4
    with db.cursor() as cur:
        cur.execute("SELECT kind, amount_cents, movement_key FROM ledger_entries"
                    " WHERE campaign_id = %s AND movement_key LIKE 'settle:%%'"
                    " ORDER BY kind", (d.cid,))
        assert cur.fetchall() == [
            ("commission", expected_totals["commission_cents"],
             "settle:%d:commission" % d.cid),
            ("distributor_net", expected_totals["distributor_net_cents"],
             "settle:%d:distributor_net" % d.cid),
            ("manufacturer_payable", expected_totals["manufacturer_cents"],
             "settle:%d:manufacturer" % d.cid)]
    assert count_rows(db, "outbox", "campaign_id = %s AND kind = 'campaign.settled'",
                      (d.cid,)) == 1
    assert reconcile(db, d.cid) == (received, refunded, received - refunded, 0)
    # settling again does nothing
    assert one(db, "SELECT gb_campaign_settle(%s)", (d.cid,)) == (False,)
    assert count_rows(db, "settlements", "campaign_id = %s", (d.cid,)) == 1


def test_campaign_all_paid_at_close_settles_on_its_own(srv, db):
    """Deposits covered everything (a 100 % deposit band): paid at close,
    settled by the scheduler without any further request."""
    d = Deal(srv, db, min_participants=1)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET deposit_policy ="
                    " '[{\"min_score\": 0, \"deposit_percent\": 100}]' WHERE id = %s",
                    (d.cid,))
    cust, token = d.shopper("mid")
    pid = d.join(token, 2, 19800)
    d.close_now()
    wait_for("the settlement", lambda: status_of(db, d.cid) == "settled")
    # 1 participant: tier 1, 9900 x 2 = 19800 = the deposit: nothing refunded
    s = d.settlement().json
    gross = 19800
    assert s["lines"] == [dict(participation_id=pid, customer_id=cust, status="paid",
                               quantity=2, unit_price_cents=9900, gross_cents=gross,
                               forfeited_cents=0, commission_cents=rnd(gross, BP),
                               manufacturer_cents=2 * COST, leader_commission_cents=0,
                               pickup_point_id=None,
                               distributor_net_cents=gross - rnd(gross, BP) - 2 * COST)]
    assert reconcile(db, d.cid) == (19800, 0, 19800, 0)


@pytest.mark.parametrize("outcome", ["failed", "cancelled"])
def test_failed_or_cancelled_campaign_refunds_everything(srv, db, outcome):
    d = Deal(srv, db, min_participants=5)
    a, a_t = d.shopper("mid")
    b, b_t = d.shopper("low")
    c, c_t = d.shopper("vip")
    d.join(a_t, 1, 990)
    d.join(b_t, 2, deposit_of(2, 30))   # 5940
    d.join(c_t, 1, 0)
    if outcome == "failed":
        d.close_now()
    else:
        r = srv.post("/v1/admin/campaigns/%d/cancel" % d.cid, token=d.tenant.token)
        assert r.status == 200, r
    assert status_of(db, d.cid) == outcome
    wait_scheduler_passes(srv)  # a whole pass: nothing to settle
    assert status_of(db, d.cid) == outcome
    assert d.settlement().status == 404
    assert count_rows(db, "settlements", "campaign_id = %s", (d.cid,)) == 0
    assert count_rows(db, "ledger_entries", "campaign_id = %s AND movement_key LIKE"
                      " 'settle:%%'", (d.cid,)) == 0
    assert reconcile(db, d.cid) == (990 + 5940, 990 + 5940, 0, 0)


def test_settlement_access_and_period(srv, db):
    d = Deal(srv, db, min_participants=1)
    cust, token = d.shopper("vip")
    pid = d.join(token, 1, 0)
    d.close_now()
    pay(srv, token, pid, "balance", 9900, "pr_acc")
    wait_for("the settlement", lambda: status_of(db, d.cid) == "settled")

    finance = new_staff(srv, d.tenant.token, role="finance")
    fin_t = staff_token(srv, finance.login)
    operator = new_staff(srv, d.tenant.token, role="operator")
    op_t = staff_token(srv, operator.login)
    other = new_tenant(srv)

    assert d.settlement(fin_t).status == 200
    assert_error(d.settlement(op_t), 403, "forbidden")
    assert_error(d.settlement(other.token), 404, "not_found")
    assert_error(srv.get("/v1/admin/settlements/999999", token=fin_t), 404, "not_found")
    assert_error(srv.get("/v1/admin/settlements", token=op_t), 403, "forbidden")
    r = srv.get("/v1/admin/settlements", token=other.token)
    assert r.status == 200 and r.json["items"] == [], r

    # period: from inclusive, to exclusive, on settled_at to the microsecond
    at = one(db, "SELECT to_char(settled_at AT TIME ZONE 'UTC',"
                 " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM settlements"
                 " WHERE campaign_id = %s", (d.cid,))[0]

    def listed(query):
        r = srv.get("/v1/admin/settlements" + query, token=fin_t)
        assert r.status == 200, r
        return [i["campaign_id"] for i in r.json["items"]]

    assert listed("") == [d.cid]
    assert listed("?from=" + at) == [d.cid]
    assert listed("?to=" + at) == []
    assert listed("?from=2000-01-01T00:00:00Z&to=2000-02-01T00:00:00Z") == []
    assert listed("?from=2000-01-01T00:00:00%2B08:00") == [d.cid]
    item = srv.get("/v1/admin/settlements", token=fin_t).json["items"][0]
    full = d.settlement(fin_t).json
    assert item["settled_at"] == full["settled_at"]
    assert item["totals"] == full["totals"]
    assert "lines" not in item
    for bad in ("?from=yesterday", "?to=2026-02-30T00:00:00Z", "?from=2026-01-01"):
        assert_error(srv.get("/v1/admin/settlements" + bad, token=fin_t), 400,
                     "invalid_field", bad[1:bad.index("=")])
    assert_error(srv.get("/v1/admin/settlements?limit=0", token=fin_t), 400,
                 "invalid_field")


# Strings for a period bound, with where the instant lies against the
# settlement's settled_at (2026-06-15T12:00:00.5Z): "<", "=", ">"; None for
# strings both endpoints must refuse. Fractions past microseconds are
# dropped, as timestamptz does; an offset that moves the instant out of
# years 0001-9999 is refused (it could not be written back in UTC).
PERIOD_BOUNDS = [
    ("2026-06-15T12:00:00.5Z", "="),
    ("2026-06-15t12:00:00.500000z", "="),
    ("2026-06-15T20:00:00.5+08:00", "="),
    ("2026-06-15T12:00:00.500000999Z", "="),
    ("2026-06-15T12:00:00.499999999Z", "<"),
    ("2026-06-15T07:30:00.6-04:30", ">"),
    ("2026-06-15T12:00:00Z", "<"),
    ("2024-02-29T00:00:00Z", "<"),
    ("0001-01-01T00:00:00Z", "<"),
    ("0001-01-01T00:00:00-00:01", "<"),
    ("9999-12-31T22:59:59.999999-01:00", ">"),
    ("9999-12-31T23:59:59.999999Z", ">"),
    ("0001-01-01T00:30:00+01:00", None),
    ("9999-12-31T23:30:00-01:00", None),
    ("0000-06-15T12:00:00Z", None),
    ("2026-06-15T12:00:60Z", None),
    ("2026-06-15T24:00:00Z", None),
    ("2026-02-29T00:00:00Z", None),
    ("2026-06-15 12:00:00Z", None),
    ("2026-06-15T12:00:00", None),
    ("2026-06-15", None),
    ("2026-06-15T12:00Z", None),
    ("2026-06-15T12:00:00+0800", None),
    ("2026-06-15T12:00:00+24:00", None),
    ("2026-06-15T12:00:00.Z", None),
    ("2026-06-15T12:00:00.1234567890Z", None),
    ("2026-06-15T12:00:00Z ", None),
    (" 2026-06-15T12:00:00Z", None),
    ("+2026-06-15T12:00:00Z", None),
    ("20260615T120000Z", None),
    ("\uff12\uff10\uff12\uff16-06-15T12:00:00Z", None),
    ("infinity", None),
    ("now", None),
    ("yesterday", None),
    ("", None),
]


def test_list_and_export_read_period_bounds_alike(srv, db):
    """GET /v1/admin/settlements and its CSV export take exactly the same
    from/to strings, and an accepted one means the same instant on both."""
    import urllib.parse
    from settle_helpers import seed_succeeded_campaign

    tenant = new_tenant(srv)
    _, cid = seed_succeeded_campaign(db, 3, distributor_id=tenant.id)
    assert one(db, "SELECT gb_campaign_settle(%s)", (cid,))[0] is True
    with db.cursor() as cur:
        cur.execute("UPDATE settlements SET settled_at = '2026-06-15T12:00:00.5Z'"
                    " WHERE campaign_id = %s", (cid,))

    def listed(name, value):
        r = srv.get("/v1/admin/settlements?%s=%s" % (name, urllib.parse.quote(value, safe="")),
                    token=tenant.token)
        if r.status != 200:
            return r
        return [i["campaign_id"] for i in r.json["items"]] == [cid]

    def exported(name, value):
        r = srv.get("/v1/admin/exports/settlements.csv?%s=%s"
                    % (name, urllib.parse.quote(value, safe="")), token=tenant.token)
        if r.status != 200:
            return r
        rows = r.body.decode().split("\r\n")[1:-1]
        assert len(rows) in (0, 3), r.body
        return len(rows) == 3

    for text, where in PERIOD_BOUNDS:
        for name in ("from", "to"):
            got = (listed(name, text), exported(name, text))
            if where is None:
                for r in got:
                    assert not isinstance(r, bool), (name, text, r)
                    assert_error(r, 400, "invalid_field", name)
                continue
            # from is inclusive, to exclusive
            want = where in ("<", "=") if name == "from" else where == ">"
            assert got == (want, want), (name, text, got)

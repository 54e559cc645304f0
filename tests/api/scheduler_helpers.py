"""A world set up through the database as the join and payment paths
would leave it (distributors, customers, products, campaigns,
participations, payments), and waits that poll it every 50 ms: shared by
the scheduler tests.
"""
import time

import pytest

from helpers import *  # noqa: F401,F403
from sql_helpers import sql_stock_sync_campaign

POLL = 0.05
SLACK = 1.0  # the promise: within one second of the due time

TIERS_3 = '[{"threshold": 1, "unit_price_cents": 9900},' \
          ' {"threshold": 3, "unit_price_cents": 8900},' \
          ' {"threshold": 5, "unit_price_cents": 7900}]'
TIERS_2 = '[{"threshold": 1, "unit_price_cents": 9900},' \
          ' {"threshold": 2, "unit_price_cents": 8900}]'
POLICY = '[{"min_score": 0, "deposit_percent": 0}]'


# ---------------------------------------------------------------- world

def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def q1(db, sql, params=()):
    rows = q(db, sql, params)
    assert rows and len(rows) == 1, rows
    return rows[0]


def new_distributor(db):
    return q1(db, "INSERT INTO distributors (name, commission_bp) VALUES (%s, 500) "
                  "RETURNING id", (uniq("Dist "),))[0]


def new_shopper(db):
    return q1(db, "INSERT INTO customers (login, password_hash, display_name) "
                  "VALUES (%s, 'x', 'Shopper') RETURNING id", (new_email("sched"),))[0]


def new_campaign(db, did, status="open", starts_in=-60, ends_in=2.0,
                 tiers=TIERS_3, basis="participants", min_participants=3,
                 max_quantity=100, payment_window=3600, deposit_window=900):
    """A campaign whose times are now() + the given seconds (fractions kept)."""
    pid = q1(db, "INSERT INTO products (distributor_id, sku, name, list_price_cents, "
                 "cost_price_cents, stock) VALUES (%s, %s, 'P', 10000, 6000, 1000) "
                 "RETURNING id", (did, uniq("SKU-")))[0]
    cid = q1(db, """
        INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,
            ends_at, tier_basis, tiers, min_participants, max_quantity,
            per_customer_limit, deposit_policy, deposit_window_seconds,
            payment_window_seconds)
        VALUES (%s, %s, 'C', %s, now() + make_interval(secs => %s),
                now() + make_interval(secs => %s), %s, %s::jsonb, %s, %s, %s,
                %s::jsonb, %s, %s)
        RETURNING id""", (did, pid, status, starts_in, ends_in, basis, tiers,
                          min_participants, max_quantity, max_quantity, POLICY,
                          deposit_window, payment_window))[0]
    with db.cursor() as cur:
        sql_stock_sync_campaign(cur, cid)
    return cid


def join(db, did, cid, status="active", quantity=1, deposit=0, paid=0,
         due_in=None, unit_price=None, pay_by_in=None, payment=True):
    """A participation as the join (and deposit payment) path leaves it;
    with a paid deposit also its succeeded payment and ledger entry."""
    cust = new_shopper(db)
    pid = q1(db, """
        INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity,
            status, score_at_join, p_complete_at_join, deposit_percent, deposit_cents,
            deposit_paid_cents, deposit_due_by, unit_price_cents, pay_by)
        VALUES (%s, %s, %s, %s, %s, 75, 0.75, 10, %s, %s,
                now() + make_interval(secs => %s), %s,
                now() + make_interval(secs => %s))
        RETURNING id""", (did, cid, cust, quantity, status, deposit, paid,
                          due_in, unit_price, pay_by_in))[0]
    with db.cursor() as cur:
        sql_stock_sync_campaign(cur, cid)
    if paid > 0 and payment:
        pay = q1(db, "INSERT INTO payments (distributor_id, participation_id, kind, "
                     "amount_cents, status) VALUES (%s, %s, 'deposit', %s, 'succeeded') "
                     "RETURNING id", (did, pid, paid))[0]
        q(db, "INSERT INTO ledger_entries (distributor_id, campaign_id, participation_id, "
              "payment_id, kind, amount_cents, movement_key) VALUES "
              "(%s, %s, %s, %s, 'deposit_received', %s, %s)",
          (did, cid, pid, pay, paid, "deposit_received:payment:%d" % pay))
    return pid


def campaign(db, cid):
    row = q1(db, "SELECT status, final_unit_price_cents, extract(epoch FROM closed_at), "
                 "extract(epoch FROM ends_at), live_participants, live_quantity, "
                 "extract(epoch FROM updated_at), extract(epoch FROM starts_at) "
                 "FROM campaigns WHERE id = %s", (cid,))
    keys = ("status", "final", "closed_at", "ends_at", "live_participants",
            "live_quantity", "updated_at", "starts_at")
    return dict(zip(keys, [float(v) if k in ("closed_at", "ends_at", "updated_at", "starts_at")
                           and v is not None else v for k, v in zip(keys, row)]))


def part(db, pid):
    row = q1(db, "SELECT status, unit_price_cents, extract(epoch FROM pay_by), "
                 "extract(epoch FROM updated_at), customer_id FROM participations "
                 "WHERE id = %s", (pid,))
    return dict(status=row[0], unit_price=row[1],
                pay_by=float(row[2]) if row[2] is not None else None,
                updated_at=float(row[3]), customer_id=row[4])


def db_now(db):
    return float(q1(db, "SELECT extract(epoch FROM clock_timestamp())")[0])


def wait_until(pred, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(POLL)
    return pred()


def wait_status(db, cid, not_status, timeout):
    """Polls until the campaign leaves not_status; returns (campaign, the
    database time at which the change was seen)."""
    ok = wait_until(lambda: campaign(db, cid)["status"] != not_status, timeout)
    seen = db_now(db)
    assert ok, "campaign %d still %s after %.1f s" % (cid, not_status, timeout)
    return campaign(db, cid), seen


def ledger(db, where, params=()):
    return q(db, "SELECT kind, amount_cents, movement_key, participation_id, payment_id "
                 "FROM ledger_entries WHERE " + where + " ORDER BY id", params)


def outbox(db, where, params=()):
    """The outbox rows of the transitions: without the announcements of the
    joins' counter trigger (tier and threshold reached; test_webhooks.py)."""
    return q(db, "SELECT kind, participation_id, idempotency_key, payload, customer_id "
                 "FROM outbox WHERE kind NOT IN ('campaign.tier_reached', "
                 "'campaign.threshold_reached') AND " + where + " ORDER BY id", params)


def events(db, where, params=()):
    return q(db, "SELECT participation_id, kind FROM customer_events WHERE " + where +
                 " ORDER BY id", params)


def start(make_server, dbname):
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG)


def deposit_payment(db, pid):
    return q1(db, "SELECT id FROM payments WHERE participation_id = %s", (pid,))[0]


# ---------------------------------------------------------------- closing on time


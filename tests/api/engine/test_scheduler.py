"""The scheduler and the closing transitions (schema/functions/transitions.sql,
server/engine/scheduler.c).

The world is set up through the database (distributors, customers,
products, campaigns, participations, payments as the join and payment
paths would leave them), then a real groupbuyd process must make each
transition on time: within one second of the due time by the database's
clock, exactly once even with two processes, and on start-up for work that
fell due while no process ran. Waits poll the database every 50 ms.
"""
import time

import pytest

from helpers import *  # noqa: F401,F403  (fixtures)

from scheduler_helpers import *  # noqa: F401,F403


def test_success_closes_within_a_second_with_final_price(db, dbname, make_server):
    start(make_server, dbname)
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=2.0, min_participants=3, payment_window=3600)
    owes = join(db, did, cid, quantity=2)                             # 2 x 8900 due
    part_paid = join(db, did, cid, quantity=1, deposit=3000, paid=3000)  # 5900 due
    excess = join(db, did, cid, quantity=1, deposit=9000, paid=9000)  # 100 back
    exact = join(db, did, cid, quantity=1, deposit=8900, paid=8900)   # nothing back
    pending = join(db, did, cid, status="pending_deposit", quantity=2, deposit=2000,
                   due_in=600)
    gone = join(db, did, cid, status="withdrawn", quantity=1)

    c, seen = wait_status(db, cid, "open", 5)
    assert c["status"] == "succeeded"
    assert c["final"] == 8900  # 4 active participants: the tier of 3
    assert 0 <= c["closed_at"] - c["ends_at"] < SLACK, c
    assert seen - c["ends_at"] < SLACK + 2 * POLL, (seen, c)

    p = part(db, owes)
    assert p["status"] == "awaiting_payment" and p["unit_price"] == 8900
    assert abs(p["pay_by"] - (c["closed_at"] + 3600)) < 0.01
    assert part(db, part_paid)["status"] == "awaiting_payment"
    for pid in (excess, exact):
        p = part(db, pid)
        assert p["status"] == "paid" and p["unit_price"] == 8900 and p["pay_by"] is None
    assert part(db, pending)["status"] == "void"
    assert part(db, gone)["status"] == "withdrawn"
    assert c["live_participants"] == 0 and c["live_quantity"] == 0

    key = "refund:participation:%d:excess" % excess
    assert ledger(db, "campaign_id = %s AND kind = 'refund_issued'", (cid,)) == \
        [("refund_issued", 100, key, excess, deposit_payment(db, excess))]
    rows = outbox(db, "campaign_id = %s", (cid,))
    kinds = sorted((k, pid) for k, pid, _, _, _ in rows)
    P = "participation."
    assert kinds == sorted([("campaign.succeeded", None), (P + "balance_due", owes),
                            (P + "balance_due", part_paid), (P + "paid", excess),
                            (P + "paid", exact), (P + "refunded", excess),
                            (P + "voided", pending)]), rows
    refunded = [r for r in rows if r[0] == P + "refunded"][0]
    assert refunded[2] == key and refunded[3]["amount_cents"] == 100
    due = {r[1]: r[3] for r in rows if r[0] == P + "balance_due"}
    assert due[owes]["amount_cents"] == 17800 and due[part_paid]["amount_cents"] == 5900
    assert sorted(events(db, "participation_id IN (SELECT id FROM participations "
                             "WHERE campaign_id = %s)", (cid,))) == \
        sorted([(excess, "completed"), (exact, "completed")])


def test_failure_refunds_deposits_and_voids_the_rest(db, dbname, make_server):
    start(make_server, dbname)
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=2.0, min_participants=4)
    a = join(db, did, cid, quantity=2, deposit=1980, paid=1980)
    b = join(db, did, cid, quantity=1, deposit=990, paid=990)
    free = join(db, did, cid, quantity=1)
    pending = join(db, did, cid, status="pending_deposit", deposit=990, due_in=600)

    c, seen = wait_status(db, cid, "open", 5)
    assert c["status"] == "failed" and c["final"] is None
    assert 0 <= c["closed_at"] - c["ends_at"] < SLACK, c
    assert seen - c["ends_at"] < SLACK + 2 * POLL
    assert [part(db, x)["status"] for x in (a, b, free, pending)] == \
        ["refunded", "refunded", "void", "void"]
    keys = {a: "refund:participation:%d:failed" % a, b: "refund:participation:%d:failed" % b}
    assert ledger(db, "campaign_id = %s AND kind = 'refund_issued'", (cid,)) == [
        ("refund_issued", 1980, keys[a], a, deposit_payment(db, a)),
        ("refund_issued", 990, keys[b], b, deposit_payment(db, b))]
    rows = outbox(db, "campaign_id = %s", (cid,))
    assert sorted((k, pid, key) for k, pid, key, _, _ in rows) == sorted([
        ("campaign.failed", None, "campaign_failed:campaign:%d" % cid),
        ("participation.refunded", a, keys[a]), ("participation.refunded", b, keys[b]),
        ("participation.voided", free, "voided:participation:%d" % free),
        ("participation.voided", pending, "voided:participation:%d" % pending)]), rows
    assert events(db, "participation_id IN (%s, %s, %s, %s)", (a, b, free, pending)) == []
    # money in = money out for a failed campaign
    assert q1(db, "SELECT sum(CASE kind WHEN 'deposit_received' THEN amount_cents "
                  "ELSE -amount_cents END) FROM ledger_entries WHERE campaign_id = %s",
              (cid,))[0] == 0


def test_quantity_basis_and_tier_floor(db):
    """Directly through the SQL function: quantity basis counts units, and
    the price is that of the greatest threshold <= max(count, 1)."""
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=-1, basis="quantity", min_participants=2)
    join(db, did, cid, quantity=3)
    join(db, did, cid, quantity=1)
    assert q1(db, "SELECT gb_campaign_close(%s)", (cid,))[0] == "succeeded"
    assert campaign(db, cid)["final"] == 8900  # 4 units: the tier of 3
    cid2 = new_campaign(db, did, ends_in=-1, basis="quantity", min_participants=2)
    join(db, did, cid2, quantity=3)
    join(db, did, cid2, quantity=2)
    assert q1(db, "SELECT gb_campaign_close(%s)", (cid2,))[0] == "succeeded"
    assert campaign(db, cid2)["final"] == 7900  # 5 units: the tier of 5
    assert q1(db, "SELECT gb_tier_price(%s::jsonb, 0)", (TIERS_3,))[0] == 9900


def test_functions_are_idempotent(db):
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=-1, min_participants=1)
    p = join(db, did, cid, quantity=1, deposit=9900, paid=9900)
    not_due = new_campaign(db, did, ends_in=3600, min_participants=1)
    assert q1(db, "SELECT gb_campaign_close(%s)", (not_due,))[0] is None
    # a due function answers one row per row it claimed: (id, moved, error, ...)
    assert q(db, "SELECT o_id, o_done, o_error FROM gb_campaign_close_due(10)") == \
        [(cid, True, None)]
    assert q1(db, "SELECT gb_campaign_close(%s)", (cid,))[0] is None
    assert q(db, "SELECT * FROM gb_campaign_close_due(10)") == []
    assert part(db, p)["status"] == "paid"
    assert len(outbox(db, "campaign_id = %s", (cid,))) == 2  # succeeded, paid
    assert q1(db, "SELECT (SELECT count(*) FROM gb_campaign_open_due(10)),"
                  " (SELECT count(*) FROM gb_deposit_expire_due(10)),"
                  " (SELECT count(*) FROM gb_payment_default_due(10))") == (0, 0, 0)
    assert campaign(db, not_due)["status"] == "open"


# ---------------------------------------------------------------- catch-up, several processes

def test_work_due_while_down_is_done_at_start(db, dbname, make_server):
    did = new_distributor(db)
    late = new_campaign(db, did, ends_in=-30, starts_in=-3600, min_participants=1)
    pl = join(db, did, late, quantity=1)
    # scheduled, and both its start and its end passed while nothing ran
    missed = new_campaign(db, did, status="scheduled", starts_in=-20, ends_in=-10,
                          min_participants=1)
    expired = new_campaign(db, did, ends_in=3600)
    pe = join(db, did, expired, status="pending_deposit", quantity=2, deposit=500,
              due_in=-5)
    start(make_server, dbname)
    # from the moment the process is ready (its start-up, slow under ASan on
    # a busy machine, is not the scheduler's)
    t0 = db_now(db)
    c, seen = wait_status(db, late, "open", 5)
    assert c["status"] == "succeeded" and part(db, pl)["status"] == "awaiting_payment"
    assert c["closed_at"] - t0 < SLACK, (c, t0)
    c2 = campaign(db, missed)
    assert c2["status"] == "failed" and c2["closed_at"] - t0 < SLACK
    assert wait_until(lambda: part(db, pe)["status"] == "expired", 2)
    assert part(db, pe)["updated_at"] - t0 < SLACK


def test_two_servers_close_each_campaign_once(db, dbname, make_server):
    a = start(make_server, dbname)
    b = start(make_server, dbname)
    did = new_distributor(db)
    cids, parts = [], []
    for i in range(6):
        cid = new_campaign(db, did, ends_in=2.0, min_participants=3 if i % 2 else 2,
                           tiers=TIERS_2)
        cids.append(cid)
        parts += [join(db, did, cid, quantity=1, deposit=9900, paid=9900),   # excess
                  join(db, did, cid, quantity=1, deposit=990, paid=990),     # owes
                  join(db, did, cid, status="pending_deposit", deposit=990, due_in=600)]
    for cid in cids:
        c, _ = wait_status(db, cid, "open", 5)
        assert 0 <= c["closed_at"] - c["ends_at"] < SLACK, c
    statuses = [campaign(db, cid)["status"] for cid in cids]
    assert statuses == ["succeeded", "failed"] * 3
    for s in (a, b):  # both processes make more passes
        wait_scheduler_passes(s)
    n_ok = 3
    # per succeeded campaign: excess refund; per failed campaign: two refunds
    assert len(ledger(db, "kind = 'refund_issued'")) == n_ok * 1 + 3 * 2
    assert q1(db, "SELECT count(*), count(DISTINCT movement_key) FROM ledger_entries "
                  "WHERE kind = 'refund_issued'") == (9, 9)
    per = q(db, "SELECT kind, campaign_id, participation_id, count(*) FROM outbox "
                "WHERE kind <> 'campaign.tier_reached' GROUP BY 1, 2, 3 HAVING count(*) > 1")
    assert per == [], per
    kinds = dict(q(db, "SELECT kind, count(*) FROM outbox WHERE kind NOT IN "
                       "('campaign.tier_reached', 'campaign.threshold_reached') "
                       "GROUP BY kind"))
    assert kinds == {"campaign.succeeded": 3, "campaign.failed": 3,
                     "participation.paid": 3, "participation.balance_due": 3,
                     "participation.refunded": 9, "participation.voided": 6}, kinds
    assert q1(db, "SELECT count(*), count(DISTINCT participation_id) FROM "
                  "customer_events")[0:2] == (3, 3)
    for s in (a, b):
        assert not [l for l in s.log_text().splitlines() if "Z error " in l], s.log_text()


# ---------------------------------------------------------------- opening, deposits, payments

def test_scheduled_campaign_opens_at_starts_at(db, dbname, make_server):
    start(make_server, dbname)
    did = new_distributor(db)
    cid = new_campaign(db, did, status="scheduled", starts_in=2.0, ends_in=3600)
    later = new_campaign(db, did, status="scheduled", starts_in=60, ends_in=3600)
    c, seen = wait_status(db, cid, "scheduled", 5)
    assert c["status"] == "open"
    assert 0 <= c["updated_at"] - c["starts_at"] < SLACK, c
    assert seen - c["starts_at"] < SLACK + 2 * POLL
    assert campaign(db, later)["status"] == "scheduled"


def test_deposit_expiry_releases_units(db, dbname, make_server):
    srv = start(make_server, dbname)
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=3600, max_quantity=10)
    stay = join(db, did, cid, quantity=2)
    late = join(db, did, cid, status="pending_deposit", quantity=3, deposit=2700,
                due_in=2.0)
    waiting = join(db, did, cid, status="pending_deposit", quantity=1, deposit=900,
                   due_in=600)
    c = campaign(db, cid)
    assert (c["live_participants"], c["live_quantity"]) == (3, 6)
    due = float(q1(db, "SELECT extract(epoch FROM deposit_due_by) FROM participations "
                       "WHERE id = %s", (late,))[0])
    assert wait_until(lambda: part(db, late)["status"] != "pending_deposit", 5)
    p = part(db, late)
    assert p["status"] == "expired"
    assert 0 <= p["updated_at"] - due < SLACK
    c = campaign(db, cid)
    assert (c["live_participants"], c["live_quantity"]) == (2, 3)
    assert part(db, waiting)["status"] == "pending_deposit"
    assert part(db, stay)["status"] == "active"
    assert events(db, "participation_id = %s", (late,)) == [(late, "deposit_expired")]
    rows = outbox(db, "participation_id = %s", (late,))
    assert [(k, key) for k, _, key, _, _ in rows] == \
        [("participation.expired", "deposit_expired:participation:%d" % late)]
    assert ledger(db, "participation_id = %s", (late,)) == []
    r = srv.get("/v1/campaigns/%d" % cid)
    assert r.status == 200, r
    assert r.json["progress"]["quantity"] == 3


def test_payment_window_passing_defaults(db, dbname, make_server):
    start(make_server, dbname)
    did = new_distributor(db)
    cid = new_campaign(db, did, status="succeeded", starts_in=-3600, ends_in=-60,
                       min_participants=1)
    q(db, "UPDATE campaigns SET final_unit_price_cents = 8900, closed_at = now() "
          "WHERE id = %s", (cid,))
    with_dep = join(db, did, cid, status="awaiting_payment", quantity=1, deposit=990,
                    paid=990, unit_price=8900, pay_by_in=2.0)
    no_dep = join(db, did, cid, status="awaiting_payment", quantity=1, unit_price=8900,
                  pay_by_in=2.0)
    later = join(db, did, cid, status="awaiting_payment", quantity=1, unit_price=8900,
                 pay_by_in=600)
    for pid in (with_dep, no_dep):
        pay_by = part(db, pid)["pay_by"]
        assert wait_until(lambda: part(db, pid)["status"] != "awaiting_payment", 5)
        p = part(db, pid)
        assert p["status"] == "defaulted"
        assert 0 <= p["updated_at"] - pay_by < SLACK
        assert events(db, "participation_id = %s", (pid,)) == [(pid, "defaulted")]
        assert [r[0] for r in outbox(db, "participation_id = %s", (pid,))] == \
            ["participation.defaulted"]
    assert part(db, later)["status"] == "awaiting_payment"
    assert ledger(db, "kind = 'deposit_forfeited'") == [
        ("deposit_forfeited", 990, "forfeit:participation:%d" % with_dep, with_dep,
         deposit_payment(db, with_dep))]


# ---------------------------------------------------------------- cancel

def test_cancel_function(db):
    did = new_distributor(db)
    other = new_distributor(db)
    cid = new_campaign(db, did, ends_in=3600)
    paid = join(db, did, cid, quantity=2, deposit=1980, paid=1980)
    free = join(db, did, cid)
    pending = join(db, did, cid, status="pending_deposit", deposit=990, due_in=600)
    assert q1(db, "SELECT gb_campaign_cancel(%s, %s)", (other, cid))[0] == "not_found"
    assert q1(db, "SELECT gb_campaign_cancel(%s, %s)", (did, cid))[0] == "cancelled"
    c = campaign(db, cid)
    assert c["status"] == "cancelled" and c["closed_at"] is not None
    assert (c["live_participants"], c["live_quantity"]) == (0, 0)
    assert [part(db, x)["status"] for x in (paid, free, pending)] == \
        ["refunded", "void", "void"]
    key = "refund:participation:%d:cancelled" % paid
    assert ledger(db, "kind = 'refund_issued'") == \
        [("refund_issued", 1980, key, paid, deposit_payment(db, paid))]
    assert sorted((k, p, key_) for k, p, key_, _, _ in outbox(db, "campaign_id = %s", (cid,))) \
        == sorted([("campaign.cancelled", None, "campaign_cancelled:campaign:%d" % cid),
                   ("participation.refunded", paid, key),
                   ("participation.voided", free, "voided:participation:%d" % free),
                   ("participation.voided", pending, "voided:participation:%d" % pending)])
    # a second cancel changes nothing
    assert q1(db, "SELECT gb_campaign_cancel(%s, %s)", (did, cid))[0] == "invalid_state"
    assert len(ledger(db, "true")) == 2 and len(outbox(db, "true")) == 4
    for status in ("draft", "scheduled"):
        c2 = new_campaign(db, did, status=status, starts_in=60, ends_in=3600)
        assert q1(db, "SELECT gb_campaign_cancel(%s, %s)", (did, c2))[0] == "cancelled"
    done = new_campaign(db, did, status="failed", ends_in=-1)
    assert q1(db, "SELECT gb_campaign_cancel(%s, %s)", (did, done))[0] == "invalid_state"
    assert q1(db, "SELECT gb_campaign_cancel(%s, 999999)", (did,))[0] == "not_found"


def test_cancel_through_http(db, dbname, make_server):
    srv = start(make_server, dbname)
    t = new_tenant(srv)
    other = new_tenant(srv)
    cid = new_campaign(db, t.id, ends_in=3600)
    paid = join(db, t.id, cid, quantity=1, deposit=990, paid=990)
    r = srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=other.token)
    assert_error(r, 404, "not_found")
    r = srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=t.token)
    assert r.status == 200, r
    assert r.json["status"] == "cancelled"
    assert part(db, paid)["status"] == "refunded"
    r = srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=t.token)
    assert_error(r, 409, "invalid_state")
    assert len(ledger(db, "kind = 'refund_issued'")) == 1


# ---------------------------------------------------------------- races and outages

def test_join_racing_the_deadline_is_counted_or_refused(db, dbname, make_server):
    """Joins sent around ends_at: each is either accepted and counted by the
    close, or refused with campaign_not_open. None is left behind."""
    import threading
    srv = start(make_server, dbname)
    t = new_tenant(srv)
    did = t.id
    cid = new_campaign(db, did, ends_in=3600, min_participants=1, max_quantity=500)
    q(db, "UPDATE campaigns SET deposit_policy = %s::jsonb WHERE id = %s", (POLICY, cid))
    tokens = [customer_token(srv, new_customer(srv).login) for _ in range(40)]
    ends = float(q1(db, "UPDATE campaigns SET ends_at = now() + interval '1.5 s' "
                        "WHERE id = %s RETURNING extract(epoch FROM ends_at)", (cid,))[0])
    results = [None] * len(tokens)

    def run(i):
        # spread over [ends - 0.4 s, ends + 0.4 s] by the test's clock (same host)
        delay = ends - 0.4 + i * 0.02 - time.time()
        if delay > 0:
            time.sleep(delay)  # the race is with the clock: times are the input
        results[i] = srv.post("/v1/campaigns/%d/participations" % cid, {"quantity": 1},
                              token=tokens[i], headers={"Idempotency-Key": uniq("race")})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(tokens))]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    accepted = [r.json["id"] for r in results if r.status == 201]
    refused = [r for r in results if r.status != 201]
    for r in refused:
        assert_error(r, 409, "campaign_not_open")
    assert accepted and refused, results  # the race really straddled the deadline
    c, _ = wait_status(db, cid, "open", 5)
    assert c["status"] == "succeeded"
    rows = dict(q(db, "SELECT id, status FROM participations WHERE campaign_id = %s", (cid,)))
    assert sorted(rows) == sorted(accepted)
    assert set(rows.values()) == {"awaiting_payment"}, rows
    n = len(accepted)
    expected = 7900 if n >= 5 else 8900 if n >= 3 else 9900
    assert c["final"] == expected


def test_database_outage_is_survived_and_logged_once(make_server, tmp_path):
    """No database at all: the scheduler retries quietly (one warning), the
    process stays up and exits cleanly."""
    srv = make_server(None, url="host=%s dbname=nothing user=nobody connect_timeout=1"
                      % tmp_path, wait_ready=False, env=APP_ENV)
    # several passes fail (one warning for all of them)
    wait_metrics(srv, lambda m: m["groupbuyd_scheduler_pass_failures_total"] >= 3,
                 "three failed scheduler passes")
    assert srv.get("/healthz").status == 200
    lines = [l for l in srv.log_text().splitlines() if "scheduler" in l]
    assert len([l for l in lines if " warn " in l]) == 1, lines


def test_large_close_outlives_the_request_statement_timeout(db, dbname, make_server):
    """A close that takes longer than the pool's statement timeout (sized for
    requests) still happens: due steps run with a timeout of their own."""
    make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "db_statement_timeout_ms = 50\n")
    did = new_distributor(db)
    cid = new_campaign(db, did, ends_in=3600, min_participants=1, max_quantity=100000)
    q(db, """
        WITH c AS (
            INSERT INTO customers (login, password_hash, display_name)
            SELECT %s || g, 'x', 'S' FROM generate_series(1, 4000) g RETURNING id)
        INSERT INTO participations (distributor_id, campaign_id, customer_id, quantity,
            status, score_at_join, p_complete_at_join, deposit_percent, deposit_cents,
            deposit_paid_cents)
        SELECT %s, %s, id, 1, 'active', 75, 0.75, 10, 9900, 9900 FROM c""",
      (uniq("bulk") + "-", did, cid))
    ends = float(q1(db, "UPDATE campaigns SET ends_at = now() + interval '1 s' WHERE id = %s "
                        "RETURNING extract(epoch FROM ends_at)", (cid,))[0])
    c, _ = wait_status(db, cid, "open", 10)
    assert c["status"] == "succeeded" and c["final"] == 7900
    assert 0 <= c["closed_at"] - ends < SLACK
    assert q1(db, "SELECT count(*) FROM ledger_entries WHERE kind = 'refund_issued' "
                  "AND campaign_id = %s", (cid,))[0] == 4000

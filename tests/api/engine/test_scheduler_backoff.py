"""Due work that cannot be starved (schema/functions/scheduler.sql,
server/engine/scheduler.c).

Rows whose transition always fails are put straight into the database,
past the API's validation (a product whose cost price times a quantity
overflows bigint, a balance that overflows likewise), with lower ids and
earlier due times than a normal row of another distributor. A real
groupbuyd process must still move the normal row within a few seconds,
leave the failing ones untouched and in backoff, say so in its log (one
warn line per failure: step, row, error) and in /metrics, and forget a
row's backoff once it moves.
"""
from helpers import *  # noqa: F401,F403  (fixtures)
from settle_helpers import seed_succeeded_campaign
from scheduler_helpers import join, new_campaign, new_distributor, part, q, q1, wait_until

HUGE = 4 * 10 ** 18  # times a quantity of 3: beyond bigint


def metric(srv, line_prefix):
    r = srv.get("/metrics")
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith(line_prefix + " "):
            return int(line.split()[-1])
    raise AssertionError("no %s in /metrics" % line_prefix)


def backoff(db, kind):
    return q(db, "SELECT id, attempts, last_error FROM scheduler_backoff"
                 " WHERE kind = %s ORDER BY id", (kind,))


def status(db, cid):
    return q1(db, "SELECT status FROM campaigns WHERE id = %s", (cid,))[0]


def test_failing_settlements_do_not_starve_another_distributor(make_server, dbname, db):
    # The bounds of schema/002_bounds.sql keep such a cost price out today;
    # this is a row from before them, or from any bug that makes a
    # settlement raise: the scheduler must contain it whatever the cause.
    q(db, "ALTER TABLE products DROP CONSTRAINT IF EXISTS products_cost_price_bound")
    failing = []
    for _ in range(5):
        _, cid = seed_succeeded_campaign(db, 3)  # quantities 2, 3, 1
        q(db, "UPDATE products SET cost_price_cents = %s"
              " WHERE id = (SELECT product_id FROM campaigns WHERE id = %s)", (HUGE, cid))
        failing.append(cid)
    _, normal = seed_succeeded_campaign(db, 3)
    assert normal > max(failing)

    srv = make_server(dbname)
    assert wait_until(lambda: status(db, normal) == "settled", 5), \
        "a sound campaign was starved by failing ones"
    assert wait_until(lambda: len(backoff(db, "settle")) == 5, 5)
    rows = backoff(db, "settle")
    assert [r[0] for r in rows] == failing
    assert all(r[1] >= 1 and r[2].startswith("22003: bigint out of range") for r in rows), rows
    for cid in failing:
        # rolled back alone: nothing of the settlement was written
        assert status(db, cid) == "succeeded"
        assert q1(db, "SELECT count(*) FROM settlements WHERE campaign_id = %s", (cid,))[0] == 0
        assert q1(db, "SELECT count(*) FROM ledger_entries WHERE campaign_id = %s"
                      " AND movement_key LIKE 'settle:%%'", (cid,))[0] == 0
    log = srv.log_text()
    for cid in failing:
        assert "scheduler: settle: campaign %d failed" % cid in log, log[-3000:]
    assert "bigint out of range" in log
    assert metric(srv, 'groupbuyd_scheduler_failures_total{step="settle"}') >= 5
    assert metric(srv, 'groupbuyd_scheduler_backoff{step="settle"}') == 5

    # once its data is mended, a failing campaign settles on its next
    # attempt and leaves the backoff
    fixed = failing[0]
    q(db, "UPDATE products SET cost_price_cents = 5100"
          " WHERE id = (SELECT product_id FROM campaigns WHERE id = %s)", (fixed,))
    assert wait_until(lambda: status(db, fixed) == "settled", 20)
    assert [r[0] for r in backoff(db, "settle")] == failing[1:]
    assert metric(srv, 'groupbuyd_scheduler_backoff{step="settle"}') == 4
    assert q1(db, "SELECT count(*) FROM ledger_entries WHERE movement_key LIKE %s",
              ("settle:%d:%%" % fixed,))[0] == 3


def test_failing_defaults_do_not_stop_the_batch(make_server, dbname, db):
    did = new_distributor(db)
    cid = new_campaign(db, did, status="succeeded", starts_in=-120, ends_in=-60,
                       min_participants=1)
    q(db, "UPDATE campaigns SET final_unit_price_cents = 9900 WHERE id = %s", (cid,))
    failing = [join(db, did, cid, status="awaiting_payment", quantity=3,
                    unit_price=HUGE, pay_by_in=-5) for _ in range(5)]
    did2 = new_distributor(db)
    cid2 = new_campaign(db, did2, status="succeeded", starts_in=-120, ends_in=-60,
                        min_participants=1)
    q(db, "UPDATE campaigns SET final_unit_price_cents = 9900 WHERE id = %s", (cid2,))
    normal = join(db, did2, cid2, status="awaiting_payment", quantity=1,
                  unit_price=9900, pay_by_in=-1)
    assert normal > max(failing)

    srv = make_server(dbname)
    assert wait_until(lambda: part(db, normal)["status"] == "defaulted", 5), \
        "a sound default was held up by failing ones"
    assert wait_until(lambda: len(backoff(db, "default")) == 5, 5)
    assert [r[0] for r in backoff(db, "default")] == failing
    for p in failing:
        assert part(db, p)["status"] == "awaiting_payment"
        assert q1(db, "SELECT count(*) FROM customer_events WHERE participation_id = %s",
                  (p,))[0] == 0
    assert q1(db, "SELECT count(*) FROM customer_events WHERE participation_id = %s"
                  " AND kind = 'defaulted'", (normal,))[0] == 1
    log = srv.log_text()
    for p in failing:
        assert "scheduler: default: participation %d failed" % p in log, log[-3000:]
    assert metric(srv, 'groupbuyd_scheduler_failures_total{step="default"}') >= 5
    assert metric(srv, 'groupbuyd_scheduler_backoff{step="default"}') == 5
    # the normal campaign, no balance outstanding any more, settles too
    assert wait_until(lambda: status(db, cid2) == "settled", 5)

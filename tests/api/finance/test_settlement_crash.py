"""Settlement survives kill -9 ("exactly once ... across a crash at
any point").

A succeeded campaign of N paid and defaulted participations, consistent with
the ledger, is inserted straight into the database (settle_helpers). Then
groupbuyd (the build under test) is started and killed with SIGKILL, again
and again: first while pg_stat_activity shows its settle statement running
(at once, and a little later), then at fixed delays after the start; after
every kill the database holds either no settlement at all or one complete
one. A last server is started, left to settle, stopped cleanly (exit 0, no
sanitizer report), and the result is checked against the hand computation:
exactly one settlement, one line per paid or defaulted participation, the
three settle:* ledger movements once, one 'campaign.settled' outbox row, and the
reconciliation invariant.

The servers are managed here rather than by make_server: a killed process
cannot pass its teardown check (exit 0).
"""
import signal
import subprocess
import time

from helpers import *
from conftest import Server
from settle_helpers import expected_settlement, seed_succeeded_campaign

N = 20000  # about a second of settling: wide enough to be hit mid-statement
SETTLE_ACTIVE = ("SELECT pid FROM pg_stat_activity WHERE state = 'active'"
                 " AND query LIKE '%%gb_settle_due%%' AND pid <> pg_backend_pid()")


def one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def state(db, cid):
    return one(db, "SELECT (SELECT count(*) FROM settlements WHERE campaign_id = %s),"
                   " (SELECT count(*) FROM settlement_lines WHERE campaign_id = %s),"
                   " (SELECT count(*) FROM ledger_entries WHERE campaign_id = %s"
                   "   AND movement_key LIKE 'settle:%%'),"
                   " (SELECT count(*) FROM outbox WHERE campaign_id = %s"
                   "   AND kind = 'campaign.settled'),"
                   " (SELECT status FROM campaigns WHERE id = %s)",
               (cid, cid, cid, cid, cid))


def spawn(tmp_path, url, name):
    srv = Server(tmp_path, url, env=APP_ENV, config=FAST_CONFIG, name=name)
    srv.log = open(srv.log_path, "ab")
    srv.proc = subprocess.Popen(srv.args, env=srv.env, stdout=srv.log,
                                stderr=subprocess.STDOUT)
    return srv


def kill9(srv):
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.log.close()


def settle_running(db):
    with db.cursor() as cur:
        cur.execute(SETTLE_ACTIVE)
        return [r[0] for r in cur.fetchall()]


def wait_quiet(db, timeout=60):
    """Waits until no settle statement runs (an orphaned backend of a killed
    server rolls back when it finds its client gone)."""
    deadline = time.time() + timeout
    while settle_running(db):
        assert time.time() < deadline, "settle statement still running"
        time.sleep(0.05)


def test_kill_9_during_settlement_settles_once(tmp_path, cluster, dbname, db):
    url = cluster.url(dbname)
    # a tenant made through the API (its owner reads the settlement at the
    # end), then the campaign inserted with no server running
    srv = Server(tmp_path, url, env=APP_ENV, config=FAST_CONFIG, name="setup")
    srv.start()
    try:
        tenant = new_tenant(srv)
    finally:
        assert srv.stop() == 0
    srv.check_clean()
    did, cid = seed_succeeded_campaign(db, N, distributor_id=tenant.id)
    nothing = (0, 0, 0, 0, "succeeded")
    complete = (1, N, 3, 1, "settled")
    outcomes = []

    # 1. killed while the settle statement runs, after 0 / 0.2 / 0.5 s
    mid_statement = 0
    for i, extra in enumerate((0.0, 0.2, 0.5)):
        srv = spawn(tmp_path, url, "crash-a%d" % i)
        deadline = time.time() + 30
        seen = False
        while time.time() < deadline and state(db, cid)[4] == "succeeded":
            if settle_running(db):
                seen = True
                break
            time.sleep(0.002)
        if seen:
            time.sleep(extra)  # where in the statement the kill lands: the input
            mid_statement += 1
        kill9(srv)
        wait_quiet(db)
        st = state(db, cid)
        assert st in (nothing, complete), st
        outcomes.append(("active+%.1f" % extra, seen, st[4]))
    assert mid_statement >= 1, outcomes

    # 2. killed at fixed delays after the start
    for i, delay in enumerate((0.05, 0.1, 0.2, 0.4, 0.8, 1.6)):
        srv = spawn(tmp_path, url, "crash-b%d" % i)
        time.sleep(delay)  # when after the start the kill lands: the input
        kill9(srv)
        wait_quiet(db)
        st = state(db, cid)
        assert st in (nothing, complete), st
        outcomes.append(("%.2fs" % delay, None, st[4]))

    # 3. a clean server finishes the work and exits 0
    srv = Server(tmp_path, url, env=APP_ENV, config=FAST_CONFIG, name="final")
    srv.start()
    try:
        deadline = time.time() + 60
        while state(db, cid) != complete:
            assert time.time() < deadline, state(db, cid)
            time.sleep(0.1)
        wait_scheduler_passes(srv)  # another pass: nothing more happens
        r = srv.get("/v1/admin/settlements/%d" % cid,
                    token=staff_token(srv, tenant.owner["login"]))
        assert r.status == 200, r
        got = r.json
    finally:
        rc = srv.stop()
    assert rc == 0, srv.log_text()
    srv.check_clean()
    print("kill outcomes:", outcomes)

    assert state(db, cid) == complete
    exp = expected_settlement(N)
    for k in exp:
        assert got["totals"][k] == exp[k], (k, got["totals"], exp)
    assert len(got["lines"]) == N
    # one line per paid or defaulted participation, none other
    assert one(db, "SELECT count(*) FROM participations p"
                   " LEFT JOIN settlement_lines l ON l.participation_id = p.id"
                   " WHERE p.campaign_id = %s AND p.status IN ('paid', 'defaulted')"
                   " AND l.participation_id IS NULL", (cid,)) == (0,)
    with db.cursor() as cur:
        cur.execute("SELECT kind, amount_cents FROM ledger_entries WHERE campaign_id = %s"
                    " AND movement_key LIKE 'settle:%%' ORDER BY kind", (cid,))
        assert cur.fetchall() == [("commission", exp["commission_cents"]),
                                  ("distributor_net", exp["distributor_net_cents"]),
                                  ("manufacturer_payable", exp["manufacturer_cents"])]
    rec = one(db, "SELECT received_cents, refunded_cents, split_cents, difference_cents"
                  " FROM gb_campaign_reconcile(%s)", (cid,))
    assert rec == (exp["received_cents"], 0, exp["received_cents"], 0), rec

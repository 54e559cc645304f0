"""The scheduler's forecast snapshots (DESIGN.md "Calibration report";
server/engine/snapshots.c, schema/functions/forecast.sql): each open
campaign's success forecast taken at 25, 50 and 75 % of its duration,
exactly once per checkpoint whatever the number of processes, and on
start-up for a checkpoint passed while nothing ran.

Campaigns are moved in time through the database; the snapshot is held to
tests/api/forecast_helpers.py at the arrivals it recorded.
"""
import json
import time

import pytest

from helpers import *  # noqa: F401,F403  (fixtures)
from scheduler_helpers import *  # noqa: F401,F403
from forecast_helpers import reference_forecast

WAIT = 5.0  # a pass of the scheduler is at most a second apart


def snapshots(db, cid):
    return q(db, "SELECT checkpoint, fraction, participants, success_probability,"
                 " expected_participants, expected_arrivals, basis, campaigns_used,"
                 " extract(epoch FROM taken_at) FROM forecast_snapshots"
                 " WHERE campaign_id = %s ORDER BY checkpoint", (cid,))


def checkpoints(db, cid):
    return [r[0] for r in snapshots(db, cid)]


def move(db, cid, fraction, days=10.0):
    """Campaign cid of `days` days, `fraction` of it gone."""
    q(db, "UPDATE campaigns SET starts_at = now() - %s * interval '1 day',"
          " ends_at = now() + %s * interval '1 day' WHERE id = %s",
      (fraction * days, (1 - fraction) * days, cid))


def test_each_checkpoint_once_and_after_a_restart(db, dbname, make_server):
    did = new_distributor(db)
    cid = new_campaign(db, did, starts_in=-3 * 86400, ends_in=7 * 86400, min_participants=3)
    for _ in range(2):
        join(db, did, cid)
    young = new_campaign(db, did, starts_in=-86400, ends_in=9 * 86400)  # 10 %: none yet
    jump = new_campaign(db, did, starts_in=-86400, ends_in=9 * 86400)
    closed = new_campaign(db, did, starts_in=-5 * 86400, ends_in=5 * 86400)
    q(db, "UPDATE campaigns SET status = 'cancelled', closed_at = now() WHERE id = %s",
      (closed,))
    srv = start(make_server, dbname)
    assert wait_until(lambda: checkpoints(db, cid) == [25], WAIT), snapshots(db, cid)
    cp, frac, n, success, exp_part, arrivals, basis, used, taken = snapshots(db, cid)[0]
    assert frac == pytest.approx(0.3, abs=0.01) and n == 2
    assert basis == "prior" and used == 0
    tiers = json.loads(TIERS_3)
    ref = reference_forecast([0.75, 0.75], arrivals, 0.75, 3, tiers, q_bar=1,
                             max_quantity=100)
    assert success == pytest.approx(ref["success"], abs=1e-9)
    assert exp_part == pytest.approx(ref["participants"], abs=1e-7)
    assert arrivals == pytest.approx(2 * (1 - frac) / frac, rel=1e-3)  # the prior's F(t) = t
    # later passes leave it alone
    time.sleep(2.0)
    assert snapshots(db, cid)[0][8] == taken and checkpoints(db, cid) == [25]
    # half-way: the 50 % one; a campaign that passed two checkpoints at once
    # gets the latest only
    move(db, cid, 0.55)
    move(db, jump, 0.6)
    assert wait_until(lambda: checkpoints(db, cid) == [25, 50], WAIT), snapshots(db, cid)
    assert wait_until(lambda: checkpoints(db, jump) == [50], WAIT), snapshots(db, jump)
    # 75 % passes while no process runs: taken at start
    srv.stop()
    move(db, cid, 0.8)
    start(make_server, dbname)
    assert wait_until(lambda: checkpoints(db, cid) == [25, 50, 75], WAIT), snapshots(db, cid)
    assert checkpoints(db, young) == [] and checkpoints(db, closed) == []
    assert q(db, "SELECT count(*) FROM scheduler_backoff WHERE kind = 'forecast'")[0][0] == 0


@pytest.mark.parametrize("f, cp", [(0, 0), (0.2499, 0), (0.25, 25), (0.4999, 25),
                                   (0.5, 50), (0.7499, 50), (0.75, 75), (0.9999, 75),
                                   (1, 0), (1.5, 0)])
def test_the_checkpoint_of_a_fraction(db, f, cp):
    assert q1(db, "SELECT gb_forecast_checkpoint(%s)", (f,))[0] == cp


def test_none_once_past_the_end(db, dbname, make_server):
    """A campaign still open past its end (its close held) is not forecast:
    the snapshot would be the outcome. Before this, fraction 1 answered the
    50 % checkpoint and a campaign that had jumped to 75 % got a late 50 %
    one at fraction 1."""
    did = new_distributor(db)
    cid = new_campaign(db, did, starts_in=-86400, ends_in=9 * 86400)
    for _ in range(2):
        join(db, did, cid)
    srv = start(make_server, dbname)
    move(db, cid, 0.8)
    assert wait_until(lambda: checkpoints(db, cid) == [75], WAIT), snapshots(db, cid)
    q(db, "INSERT INTO scheduler_backoff (kind, id, attempts, next_attempt_at, last_error)"
          " VALUES ('close', %s, 1, now() + interval '1 hour', 'held by the test')", (cid,))
    move(db, cid, 1.2)
    time.sleep(2.5)  # more than two passes
    assert campaign(db, cid)["status"] == "open"
    assert checkpoints(db, cid) == [75]
    assert q(db, "SELECT count(*) FROM scheduler_backoff WHERE kind = 'forecast'")[0][0] == 0
    srv.stop()


def test_two_processes_take_each_snapshot_once(db, dbname, make_server):
    did = new_distributor(db)
    cids = []
    for i in range(8):
        cid = new_campaign(db, did, starts_in=-3 * 86400, ends_in=7 * 86400,
                           min_participants=2)
        for _ in range(i % 3):
            join(db, did, cid)
        cids.append(cid)
    a = start(make_server, dbname)
    b = start(make_server, dbname)
    assert wait_until(lambda: q(db, "SELECT count(*) FROM forecast_snapshots")[0][0] == 8,
                      WAIT)
    for cid in cids:
        move(db, cid, 0.5)
    assert wait_until(lambda: q(db, "SELECT count(*) FROM forecast_snapshots")[0][0] == 16,
                      WAIT)
    time.sleep(1.5)  # more passes of both
    rows = q(db, "SELECT campaign_id, checkpoint FROM forecast_snapshots"
                 " ORDER BY campaign_id, checkpoint")
    assert rows == [(c, k) for c in cids for k in (25, 50)]
    for s in (a, b):
        assert "ERROR" not in s.log_text()

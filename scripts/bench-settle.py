#!/usr/bin/env python3
"""Measures the settlement of one succeeded campaign of N participations
(90 % paid, 10 % defaulted; set-up of tests/api/settle_helpers.py).

    scripts/pg.sh start var/bench-pg && build/groupbuyd migrate  # or any migrated DB
    /usr/bin/python3 scripts/bench-settle.py "$(scripts/pg.sh url var/bench-pg)" 100000 [BIN]

1. direct: seeds a campaign, runs SELECT gb_campaign_settle(id) in its own
   transaction through psycopg2, reports the wall time of that statement
   (including COMMIT);
2. scheduler (when BIN, a groupbuyd binary, is given): seeds a second
   campaign, starts BIN on the database, reports the time from the moment
   pg_stat_activity first shows the scheduler's gb_settle_due statement to
   the moment the campaign is seen settled (polled every 10 ms), and the
   time from the process start; then stops the server (SIGTERM).
Both check the totals against the hand computation.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import psycopg2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "api"))
from settle_helpers import expected_settlement, seed_succeeded_campaign  # noqa: E402


def totals(cur, cid):
    cur.execute("SELECT gb_settlement_totals_json(s)::text FROM settlements s"
                " WHERE campaign_id = %s", (cid,))
    got = json.loads(cur.fetchone()[0])
    return got


def main():
    url, n = sys.argv[1], int(sys.argv[2])
    binary = sys.argv[3] if len(sys.argv) > 3 else None
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()
    exp = expected_settlement(n)

    t = time.time()
    _, cid = seed_succeeded_campaign(conn, n)
    cur.execute("VACUUM ANALYZE participations")
    cur.execute("VACUUM ANALYZE ledger_entries")
    print("seeded %d participations in %.1f s" % (n, time.time() - t))
    t = time.time()
    cur.execute("BEGIN")
    cur.execute("SELECT gb_campaign_settle(%s)", (cid,))
    ok = cur.fetchone()[0]
    cur.execute("COMMIT")
    dt = time.time() - t
    assert ok and totals(cur, cid) == exp
    print("direct: gb_campaign_settle of %d lines: %.3f s" % (n, dt))

    if binary is None:
        return
    _, cid = seed_succeeded_campaign(conn, n)
    cur.execute("VACUUM ANALYZE participations")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = dict(os.environ, GROUPBUYD_DATABASE_URL=url,
               GROUPBUYD_LISTEN="127.0.0.1:%d" % port, GROUPBUYD_LOG_LEVEL="info")
    log = open("/tmp/bench-settle-%d.log" % port, "wb")
    t0 = time.time()
    proc = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)
    seen = None
    try:
        while True:
            cur.execute("SELECT status = 'settled',"
                        " EXISTS (SELECT 1 FROM pg_stat_activity WHERE state = 'active'"
                        "         AND query LIKE '%%gb_settle_due%%'"
                        "         AND pid <> pg_backend_pid())"
                        " FROM campaigns WHERE id = %s", (cid,))
            settled, running = cur.fetchone()
            if running and seen is None:
                seen = time.time()
            if settled:
                break
            assert time.time() - t0 < 600, "not settled in 600 s"
            time.sleep(0.01)
        t1 = time.time()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    assert totals(cur, cid) == exp
    print("scheduler: settle statement seen -> settled: %s; process start -> settled:"
          " %.3f s (log %s)" % ("%.3f s" % (t1 - seen) if seen else "not seen",
                                t1 - t0, log.name))


if __name__ == "__main__":
    main()

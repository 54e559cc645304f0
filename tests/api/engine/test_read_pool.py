"""The read pool (GROUPBUYD_READ_DATABASE_URL) when the replica is down:
public campaign views and lists, stream snapshots and the settlements
export fall back to the primary, logged once; /readyz and /metrics say
what the operator needs. (That reads do go to a live replica is proven
with a real standby by tests/failover/run.sh.)
"""
import os
import subprocess

from conftest import BIN, ROOT, free_port
from helpers import *  # noqa: F401,F403
from helpers import APP_ENV, FAST_CONFIG
from join_helpers import make_campaign


def test_public_reads_fall_back_to_the_primary_when_the_replica_is_down(
        make_server, dbname, db):
    # nothing listens there: every attempt of the read pool is refused
    dead = "host=127.0.0.1 port=%d dbname=x user=postgres connect_timeout=1" % free_port()
    env = dict(APP_ENV, GROUPBUYD_READ_DATABASE_URL=dead)
    srv = make_server(dbname, env=env, config=FAST_CONFIG + "db_read_pool_size = 2\n")
    tenant = new_tenant(srv)
    cid = make_campaign(srv, db, tenant)
    for _ in range(5):
        r = srv.get("/v1/campaigns/%d" % cid)
        assert r.status == 200, r
        r = srv.get("/v1/campaigns")
        assert r.status == 200, r
        assert cid in [c["id"] for c in r.json["items"]], r.json
    r = srv.get("/v1/admin/exports/settlements.csv", token=tenant.token)
    assert r.status == 200, r
    assert srv.get("/readyz").status == 200
    log = srv.log_text()
    assert log.count("db-read: no replica connection") == 1, log
    assert "db-read: the database does not answer" in log, log
    metrics = srv.get("/metrics").body.decode()
    assert 'groupbuyd_db_up{pool="primary"} 1' in metrics, metrics
    assert 'groupbuyd_db_up{pool="read"} 0' in metrics, metrics


def test_a_bad_read_database_url_stops_the_start(cluster, dbname):
    env = dict(os.environ, GROUPBUYD_DATABASE_URL=cluster.url(dbname),
               GROUPBUYD_READ_DATABASE_URL="host=h nosuchkey=1")
    p = subprocess.run([BIN, "serve"], env=env, cwd=ROOT, capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 2, p
    assert "read_database_url (GROUPBUYD_READ_DATABASE_URL)" in p.stderr, p.stderr

"""The foundation: health, routing envelopes, HTTP limits, raw sockets,
database outages, shutdown, migrations and configuration."""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import BIN, ROOT, make_cluster
from helpers import APP_ENV, new_tenant, wait_metrics


def raw_exchange(port, data, timeout=5, read_all=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        while True:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def test_healthz_and_request_id(server):
    r = server.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}
    assert len(r.headers["X-Request-Id"]) >= 16
    r = server.get("/healthz", headers={"X-Request-Id": "trace-abc.123"})
    assert r.headers["X-Request-Id"] == "trace-abc.123"
    r = server.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces"
    assert "GET /healthz 200" in server.log_text()


def test_readyz_ready(server):
    r = server.get("/readyz")
    assert r.status == 200 and r.json == {"status": "ready"}


def test_not_found_envelope(server):
    for path in ("/nope", "/v1", "/healthz/extra", "/v1/campaigns/abc"):
        r = server.get(path)
        assert r.status == 404, path
        assert r.json["error"]["code"] == "not_found"
        assert r.json["error"]["message"]


def test_method_not_allowed_envelope(server):
    r = server.request("DELETE", "/healthz")
    assert r.status == 405
    assert r.json["error"]["code"] == "method_not_allowed"
    assert r.headers["Allow"] == "GET"


def test_payload_too_large_envelope(server):
    r = server.request("POST", "/healthz", raw_body=b"x" * (64 * 1024 + 1),
                       headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert r.json["error"]["code"] == "payload_too_large"
    # the server is still fine
    assert server.get("/healthz").status == 200


def test_oversized_headers(server):
    """Request headers over 8 KiB: 431 (API.md), whatever the size."""
    for size in (8 * 1024 + 1, 9000, 64 * 1024):
        r = server.get("/healthz", headers={"X-Big": "a" * size})
        assert r.status == 431, (size, r)
        assert r.json["error"]["code"] == "headers_too_large", (size, r)
    assert server.get("/healthz", headers={"X-Fits": "a" * 7000}).status == 200
    assert server.get("/healthz").status == 200


MALFORMED = [
    # request, status, code, what the message names
    (b"GARBAGE\r\n\r\n", 400, "bad_request", "malformed request line"),
    (b"GET / HTTP/9.9\r\n\r\n", 400, "bad_request", "HTTP/1.0 or HTTP/1.1"),
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400,
     "bad_request", "Content-Length must be digits only"),
    (b"GET /healthz HTTP/1.1\r\nBad Header Line\r\n\r\n", 400, "bad_request",
     "malformed field name"),
    (b"\x00\x01\x02\xff\xfe\r\n\r\n", 400, "bad_request", "malformed request line"),
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     400, "bad_request", "malformed chunk size"),
    (b"POST /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400,
     "bad_request", "needs one Host"),
    (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431, "headers_too_large",
     "8192 bytes"),
]


@pytest.mark.parametrize("payload,status,code,why", MALFORMED,
                         ids=[m[3] for m in MALFORMED])
def test_malformed_http_on_raw_socket(server, payload, status, code, why):
    out = raw_exchange(server.port, payload)
    # every malformed request is answered in the envelope, never just
    # dropped: a client or proxy must learn why
    head, _, body = out.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0].split(b" ")[1] == b"%d" % status, out[:200]
    err = json.loads(body)["error"]
    assert err["code"] == code and why in err["message"], err
    assert server.get("/healthz").status == 200


def test_raw_socket_keepalive_and_pipelining(server):
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(req * 3)
    data = b""
    deadline = time.time() + 5
    while data.count(b"HTTP/1.1 200") < 3 and time.time() < deadline:
        data += s.recv(65536)
    s.close()
    assert data.count(b"HTTP/1.1 200") == 3


def test_slow_drip_client_is_cut_off(make_server, dbname):
    """A client sending a header every 0.2 s never finishes its request; it
    is disconnected at the request deadline (http_timeout_s, here 2 s): not
    before, since each header is progress, and not much after."""
    srv = make_server(dbname, config="http_timeout_s = 2\n")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
    s.sendall(b"GET /healthz HTTP/1.1\r\n")
    start = time.time()
    closed_at = None
    for i in range(50):
        try:
            s.sendall(b"X-Drip-%d: 1\r\n" % i)
            # the drip's pace: the client under test is slow on purpose
            s.settimeout(0.2)
            try:
                if s.recv(1024) == b"":
                    closed_at = time.time()
                    break
            except socket.timeout:
                pass
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.time()
            break
    s.close()
    assert closed_at is not None, "connection never closed"
    assert 1.8 <= closed_at - start <= 4.0, closed_at - start
    assert srv.get("/healthz").status == 200


def test_idle_connection_closed(make_server, dbname):
    srv = make_server(dbname, config="http_timeout_s = 1\n")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    start = time.time()
    assert s.recv(10) == b""
    assert time.time() - start < 3
    s.close()


def test_metrics(server):
    server.get("/healthz")
    server.get("/nope")
    r = server.get("/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.body.decode()
    assert 'groupbuyd_http_requests_total{route="GET /healthz",status="200"}' in text
    assert 'groupbuyd_http_requests_total{route="unmatched",status="404"} 1' in text
    assert "groupbuyd_http_request_duration_seconds_bucket" in text
    assert "groupbuyd_db_pool_connections{state=\"busy\"}" in text
    assert "groupbuyd_db_pool_waiting" in text
    assert "groupbuyd_joins_total 0" in text
    assert 'groupbuyd_transitions_total{kind="close"}' in text
    # campaigns by status, from the database (none yet); a scrape that could
    # not read them within its lock timeout leaves them out, so ask again
    deadline = time.time() + 10
    while 'groupbuyd_campaigns{status="open"}' not in text and time.time() < deadline:
        text = server.get("/metrics").body.decode()
    assert 'groupbuyd_campaigns{status="open"} 0' in text


def test_metrics_never_wait_for_a_lock(server, db):
    """A transaction holding the campaigns table (a migration, say) does not
    hold up monitoring: /metrics answers at once, without the gauges it
    reads from the database, and with them once the lock is gone."""
    db.autocommit = False
    db.cursor().execute("LOCK TABLE campaigns IN ACCESS EXCLUSIVE MODE")
    try:
        t0 = time.time()
        r = server.get("/metrics", timeout=5)
        assert r.status == 200 and time.time() - t0 < 3, r
        assert "groupbuyd_http_requests_total" in r.body.decode()
        assert "groupbuyd_campaigns{" not in r.body.decode()
    finally:
        db.rollback()
        db.autocommit = True
    assert 'groupbuyd_campaigns{status="open"} 0' in server.get("/metrics").body.decode()


@pytest.mark.expect_5xx(503)
def test_readyz_follows_database_outage(make_server, tmp_path):
    """/readyz is 503 while the database is down and 200 again within 5 s
    after it is back; /healthz answers throughout."""
    c = make_cluster("test-pg-outage-%d" % os.getpid())
    try:
        subprocess.run([BIN, "migrate"], check=True, capture_output=True, cwd=ROOT,
                       env=dict(os.environ, GROUPBUYD_DATABASE_URL=c.url("groupbuyd")))
        srv = make_server(None, url=c.url("groupbuyd"))
        assert srv.get("/readyz").status == 200
        c.stop()
        deadline = time.time() + 10
        status = None
        while time.time() < deadline:
            r = srv.get("/readyz")
            status = r.status
            if status == 503:
                assert r.json["error"]["code"] == "unavailable"
                break
            time.sleep(0.1)
        assert status == 503
        assert srv.get("/healthz").status == 200
        c.start()
        back = time.time()
        while time.time() - back < 5:
            if srv.get("/readyz").status == 200:
                break
            time.sleep(0.1)
        assert srv.get("/readyz").status == 200, "not ready 5 s after the database came back"
    finally:
        c.destroy()


def wait_for_lock_waiters(cluster, dbname, n, timeout=10):
    """Waits until n server statements are blocked on a lock."""
    conn = cluster.connect(dbname)
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'groupbuyd'"
                            " AND wait_event_type = 'Lock'")
                if cur.fetchone()[0] >= n:
                    return
            time.sleep(0.05)
        raise AssertionError("no statement waiting on the lock")
    finally:
        conn.close()


def test_sigterm_finishes_in_flight_request(make_server, cluster, dbname, db):
    """SIGTERM: stop accepting, finish what is in flight, exit 0."""
    srv = make_server(dbname)
    lock = db.cursor()
    db.autocommit = False
    lock.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
    result = {}

    def call():
        result["r"] = srv.get("/readyz", timeout=20)

    t = threading.Thread(target=call)
    t.start()
    wait_for_lock_waiters(cluster, dbname, 1)
    srv.proc.send_signal(signal.SIGTERM)
    # no longer accepting: connections are refused while the request in
    # flight still waits for its answer
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        except (ConnectionRefusedError, ConnectionResetError):
            break  # (reset: the listener closed while this one was queued)
        except TimeoutError:
            # a SYN that met the listener while it closed is dropped, not
            # refused: ask again (a listener still open would answer)
            pass
        assert time.time() < deadline, "still accepting 10 s after SIGTERM"
        time.sleep(0.05)
    assert "r" not in result
    db.rollback()
    db.autocommit = True
    t.join(10)
    assert result["r"].status == 200
    assert srv.proc.wait(timeout=10) == 0


def leave_mid_request(srv, cluster, dbname, db, reset=False):
    """Five clients send GET /readyz while its query waits on a lock, then
    leave (reset: with an RST, so that the replies cannot be written);
    the lock is released and the server still answers."""
    db.autocommit = False
    cur = db.cursor()
    cur.execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
    socks = []
    for _ in range(5):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
        socks.append(s)
    wait_for_lock_waiters(cluster, dbname, 5)
    for s in socks:
        if reset:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    # the server must read the clients' leaving before their answers exist,
    # and nothing outside the process shows when it has: a short time
    time.sleep(0.2)
    db.rollback()
    db.autocommit = True
    # the five answers went to no one: the requests are done (the only one
    # in flight is the /metrics request asking)
    wait_metrics(srv, lambda m: m["groupbuyd_http_requests_in_flight"] == 1,
                 "the departed clients' requests to end")
    assert srv.get("/readyz").status == 200


def test_client_disconnects_while_query_runs(make_server, cluster, dbname, db):
    """The client leaves while its query waits on a lock; the reply then
    goes nowhere, and nothing crashes or leaks (ASan checks at exit)."""
    srv = make_server(dbname)
    leave_mid_request(srv, cluster, dbname, db)
    assert srv.get("/healthz").status == 200


def wait_for_metric(srv, line, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if line in srv.get("/metrics").body.decode().splitlines():
            return
        time.sleep(0.05)
    raise AssertionError("metric never showed " + line)


@pytest.mark.expect_5xx(503)
def test_pool_queue_full_answers_503(make_server, cluster, dbname, db):
    """One connection, a queue of one: with the connection held and the
    queue taken (by a request or by the scheduler's own wait), further
    requests are refused at once with 503 and nothing else goes wrong."""
    srv = make_server(dbname, config="db_pool_size = 1\ndb_queue_max = 1\n")
    db.autocommit = False
    db.cursor().execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
    results = []

    def call():
        results.append(srv.get("/readyz", timeout=20).status)

    first = threading.Thread(target=call)
    first.start()
    wait_for_lock_waiters(cluster, dbname, 1)
    others = [threading.Thread(target=call) for _ in range(3)]
    for t in others:
        t.start()
    wait_for_metric(srv, "groupbuyd_db_pool_waiting 1")
    t0 = time.time()
    r = srv.get("/readyz")
    assert r.status == 503 and r.json["error"]["code"] == "unavailable"
    assert time.time() - t0 < 1, "a full queue must refuse at once"
    db.rollback()
    db.autocommit = True
    for t in [first] + others:
        t.join(10)
    assert len(results) == 4
    assert set(results) <= {200, 503}
    assert results.count(503) >= 2  # at most one of the three could wait


def test_queue_max_zero_still_serves(make_server, dbname):
    """db_queue_max bounds waiting requests only: with 0, a request that
    finds a free connection still runs."""
    srv = make_server(dbname, config="db_queue_max = 0\n")
    for _ in range(5):
        assert srv.get("/readyz").status == 200


@pytest.mark.expect_5xx(503)
def test_queue_wait_times_out(make_server, cluster, dbname, db):
    srv = make_server(dbname, config="db_pool_size = 1\ndb_queue_timeout_ms = 300\n")
    db.autocommit = False
    db.cursor().execute("LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE")
    blocked = threading.Thread(target=lambda: srv.get("/readyz", timeout=20))
    blocked.start()
    wait_for_lock_waiters(cluster, dbname, 1)
    t0 = time.time()
    r = srv.get("/readyz")
    assert r.status == 503
    assert time.time() - t0 < 2
    db.rollback()
    db.autocommit = True
    blocked.join(10)


@pytest.mark.expect_5xx(503)
def test_statement_timeout_answers_503(make_server, cluster, dbname, db):
    """A statement the database gives up on (statement timeout) is the
    database busy: 503 unavailable with Retry-After, logged as a warning,
    not 500; the same request goes through once the database is free."""
    srv = make_server(dbname, env=APP_ENV, config="db_statement_timeout_ms = 300\n")
    t = new_tenant(srv)
    db.autocommit = False
    db.cursor().execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
    try:
        t0 = time.time()
        r = srv.get("/v1/admin/products", token=t.token)
        assert r.status == 503 and r.json["error"]["code"] == "unavailable", r
        assert r.headers["Retry-After"] == "1"
        assert time.time() - t0 < 5
    finally:
        db.rollback()
        db.autocommit = True
    assert srv.get("/v1/admin/products", token=t.token).status == 200
    log = srv.log_text()
    assert "database busy 57014" in log and "database error" not in log


def run_migrate(url, schema_dir=None, tmp_path=None):
    args = [BIN]
    if schema_dir:
        conf = os.path.join(str(tmp_path), "migrate.conf")
        with open(conf, "w") as f:
            f.write("schema_dir = %s\n" % schema_dir)
        args += ["-c", conf]
    args.append("migrate")
    return subprocess.run(args, env=dict(os.environ, GROUPBUYD_DATABASE_URL=url),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def copy_schema(tmp_path):
    """A copy of schema/ (migrations and function files) to edit."""
    schema = tmp_path / "schema"
    shutil.copytree(os.path.join(ROOT, "schema"), str(schema))
    return schema


def bookkeeping(db):
    with db.cursor() as cur:
        cur.execute("SELECT version, sha256, applied_at FROM schema_migrations ORDER BY version")
        migrations = cur.fetchall()
        cur.execute("SELECT name, sha256, applied_at FROM schema_functions ORDER BY name")
        return migrations, cur.fetchall()


def test_migrate_twice_is_a_noop(cluster, dbname, db):
    before = bookkeeping(db)
    functions = sorted(f for f in os.listdir(os.path.join(ROOT, "schema", "functions"))
                       if f.endswith(".sql"))
    assert [name for name, _, _ in before[1]] == functions
    r = run_migrate(cluster.url(dbname))
    assert r.returncode == 0, r.stderr
    assert "0 applied" in r.stderr
    assert "function files: 0 applied, %d unchanged" % len(functions) in r.stderr
    assert bookkeeping(db) == before


PROBE = """
CREATE OR REPLACE FUNCTION gb_probe() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT '%s' $$;
"""


def probe(db):
    with db.cursor() as cur:
        cur.execute("SELECT gb_probe()")
        return cur.fetchone()[0]


def test_edited_function_file_is_applied_by_next_migrate(make_server, cluster, dbname, db,
                                                         tmp_path):
    schema = copy_schema(tmp_path)
    base = schema / "functions" / "base.sql"
    original = base.read_text()
    migrations_before, functions_before = bookkeeping(db)
    base.write_text(original + PROBE % "one")
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode == 0, m.stderr
    assert "applied functions/base.sql" in m.stderr
    assert "function files: 1 applied, %d unchanged" % (len(functions_before) - 1) in m.stderr
    assert probe(db) == "one"
    _, functions_after = bookkeeping(db)
    changed = [a[0] for a, b in zip(functions_before, functions_after) if a != b]
    assert changed == ["base.sql"]
    # editing the file again replaces the function in place
    base.write_text(original + PROBE % "two")
    assert run_migrate(cluster.url(dbname), str(schema), tmp_path).returncode == 0
    assert probe(db) == "two"
    # a body that does not compile is refused at migrate time, and nothing
    # of that run is kept: not the file, not a migration that came with it
    base.write_text(original + PROBE.replace("SELECT '%s'", "SELEC '%s'") % "three")
    (schema / "900_extra.sql").write_text("CREATE TABLE extra_thing (id int);\n")
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode != 0 and "nothing of this run was applied" in m.stderr
    assert probe(db) == "two"
    with db.cursor() as cur:
        cur.execute("SELECT to_regclass('extra_thing') IS NULL, max(version) FROM schema_migrations")
        assert cur.fetchone() == (True, migrations_before[-1][0])
    # a function file whose body calls a function of a later file is fine:
    # bodies are checked once every file is in
    (schema / "900_extra.sql").unlink()
    base.write_text(original + PROBE.replace("SELECT '%s'", "SELECT gb_later_probe()"))
    (schema / "functions" / "zz_later.sql").write_text(
        "CREATE OR REPLACE FUNCTION gb_later_probe() RETURNS text\n"
        "    LANGUAGE sql IMMUTABLE AS $$ SELECT 'later' $$;\n")
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode == 0, m.stderr
    assert probe(db) == "later"


@pytest.mark.expect_5xx(503)
def test_older_function_files_make_readyz_503(make_server, cluster, dbname, db, tmp_path):
    """A server whose database holds older function files than the ones it
    ships is not ready until migrate has run."""
    schema = copy_schema(tmp_path)
    join = schema / "functions" / "join.sql"
    join.write_text(join.read_text() + PROBE % "new")
    srv = make_server(dbname, config="schema_dir = %s\n" % schema, wait_ready=False)
    r = srv.get("/readyz")
    assert r.status == 503 and r.json["error"]["code"] == "unavailable"
    assert "functions" in r.json["error"]["message"]
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode == 0, m.stderr
    assert "applied functions/join.sql" in m.stderr
    assert srv.get("/readyz").status == 200
    assert probe(db) == "new"


@pytest.mark.expect_5xx(503)
def test_pending_migration_makes_readyz_503(make_server, cluster, dbname, db, tmp_path):
    schema = copy_schema(tmp_path)
    (schema / "900_extra.sql").write_text("CREATE TABLE extra_thing (id int);\n")
    srv = make_server(dbname, config="schema_dir = %s\n" % schema, wait_ready=False)
    r = srv.get("/readyz")
    assert r.status == 503 and r.json["error"]["code"] == "unavailable"
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode == 0, m.stderr
    assert "applied 900_extra.sql" in m.stderr
    assert srv.get("/readyz").status == 200
    # a failing migration leaves nothing behind
    (schema / "901_broken.sql").write_text("CREATE TABLE half_done (id int);\nSELECT no_such_function();\n")
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode != 0
    with db.cursor() as cur:
        cur.execute("SELECT to_regclass('half_done') IS NULL, max(version) FROM schema_migrations")
        assert cur.fetchone() == (True, 900)
    # an applied file that changed is refused
    (schema / "901_broken.sql").unlink()
    (schema / "900_extra.sql").write_text("CREATE TABLE extra_thing (id bigint);\n")
    m = run_migrate(cluster.url(dbname), str(schema), tmp_path)
    assert m.returncode != 0 and "changed after it was applied" in m.stderr


def test_concurrent_migrations_do_not_interleave(cluster):
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS mig_race")
        cur.execute("CREATE DATABASE mig_race")
    url = cluster.url("mig_race")
    procs = [subprocess.Popen([BIN, "migrate"], env=dict(os.environ, GROUPBUYD_DATABASE_URL=url),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    conn = cluster.connect("mig_race")
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM schema_migrations")
        n = cur.fetchone()[0]
    conn.close()
    assert n == len([f for f in os.listdir(os.path.join(ROOT, "schema")) if f.endswith(".sql")])
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE mig_race WITH (FORCE)")
    admin.close()


def check_config(args, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("GROUPBUYD_"):
            del e[k]
    e.update(env or {})
    return subprocess.run([BIN] + args + ["check-config"], env=e, cwd=ROOT,
                          capture_output=True, text=True)


def test_check_config_masks_secrets_and_env_overrides(tmp_path):
    conf = tmp_path / "g.conf"
    conf.write_text("# comment\nlisten = 127.0.0.1:9999\nplatform_token = s3cret-platform\n"
                    "database_url = postgresql://u:hunter2@localhost/db\n")
    r = check_config(["-c", str(conf)], {"GROUPBUYD_LOG_LEVEL": "debug",
                                         "GROUPBUYD_PAYMENT_WEBHOOK_SECRET": "whsec"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "listen = 127.0.0.1:9999" in out
    assert "log_level = debug" in out
    assert "s3cret-platform" not in out and "whsec" not in out and "hunter2" not in out
    assert "platform_token = ***" in out
    assert "payment_webhook_secret = ***" in out
    r = check_config(["-c", str(conf)], {"GROUPBUYD_LISTEN": "127.0.0.1:7000"})
    assert "listen = 127.0.0.1:7000" in r.stdout


def test_config_errors_name_key_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("listen = 127.0.0.1:8080\n\nno_such_key = 1\n")
    r = check_config(["-c", str(conf)])
    assert r.returncode != 0
    assert "bad.conf:3" in r.stderr and "no_such_key" in r.stderr
    conf.write_text("db_pool_size = lots\n")
    r = check_config(["-c", str(conf)])
    assert r.returncode != 0 and "bad.conf:1" in r.stderr and "db_pool_size" in r.stderr
    r = check_config([], {"GROUPBUYD_LOG_LEVEL": "loud"})
    assert r.returncode != 0 and "GROUPBUYD_LOG_LEVEL" in r.stderr
    r = check_config(["-c", str(tmp_path / "missing.conf")])
    assert r.returncode != 0


def test_replies_to_departed_clients_do_not_hold_up_shutdown(make_server, cluster, dbname, db):
    """Replies written to connections whose clients left are not waited
    for at shutdown: the grace period is for replies still on their way,
    and these never arrive (the server exits at once, not after the 10 s
    shutdown_grace_s)."""
    srv = make_server(dbname)
    leave_mid_request(srv, cluster, dbname, db, reset=True)
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=15) == 0
    assert time.time() - t0 < 5, time.time() - t0

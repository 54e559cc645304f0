"""GET /v1/admin/exports/settlements.csv: the streamed finance export.

Settlements are seeded straight into the database (settlements and
settlement_lines with the campaigns, products, customers and
participations they reference, consistent with the CHECKs of
schema/001_baseline.sql); the export is read over real HTTP and parsed with
Python's csv module, then checked against the JSON settlement view.

Memory: the server must hold one batch, not the file. The big-export test
reads with a small socket buffer so that backpressure really holds the
server back, samples the server's VmRSS while it streams, and compares a
5,000-row export with a 50,000-row one. That server runs with a small
AddressSanitizer quarantine, so that freed batches are reused rather than
parked (the default quarantine of 256 MB would look like growth).
"""
import csv
import http.client
import io
import json
import socket
import time

import pytest

from helpers import *  # noqa: F401,F403  (fixtures and helpers)

PATH = "/v1/admin/exports/settlements.csv"
HEADER = ["settled_at", "campaign_id", "campaign_title", "participation_id",
          "customer_id", "status", "quantity", "unit_price", "gross",
          "forfeited", "commission", "manufacturer", "distributor_net",
          "leader_commission"]
TRICKY_TITLE = '=SUM(A1), "quoted"\n团购 第二行'
BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------- seeding

def _one(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def seed_customers(db, n=3):
    ids = []
    for _ in range(n):
        ids.append(_one(db, "INSERT INTO customers (login, password_hash, display_name) "
                            "VALUES (%s, 'x', 'Seeded') RETURNING id", (new_email("seed"),)))
    return ids


def seed_campaign(db, distributor_id, title, unit_price=1999):
    product = _one(db, "INSERT INTO products (distributor_id, sku, name, list_price_cents, "
                       "cost_price_cents, stock) VALUES (%s, %s, 'Seeded', 2999, 1000, 1000000000) "
                       "RETURNING id", (distributor_id, uniq("sku")))
    return _one(db, "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at, "
                    "ends_at, tier_basis, tiers, min_participants, max_quantity, "
                    "per_customer_limit, deposit_policy, final_unit_price_cents, closed_at) "
                    "VALUES (%s, %s, %s, 'settled', now() - interval '3 days', "
                    "now() - interval '1 day', 'participants', %s, 1, 1000000, 1000000, "
                    "'[]', %s, now() - interval '1 day') RETURNING id",
                (distributor_id, product, title,
                 json.dumps([{"threshold": 1, "unit_price_cents": unit_price}]), unit_price))


def _settle_totals(db, campaign_id):
    """Sets the settlement's totals from its lines (received = what was
    split, nothing refunded: the CHECKs hold)."""
    with db.cursor() as cur:
        cur.execute(
            "UPDATE settlements s SET lines = t.n, quantity = t.q, gross_cents = t.g, "
            "forfeited_cents = t.f, commission_cents = t.c, manufacturer_cents = t.m, "
            "distributor_net_cents = t.d, received_cents = t.g + t.f, refunded_cents = 0 "
            "FROM (SELECT count(*)::int n, coalesce(sum(quantity), 0) q, "
            "      coalesce(sum(gross_cents), 0) g, coalesce(sum(forfeited_cents), 0) f, "
            "      coalesce(sum(commission_cents), 0) c, coalesce(sum(manufacturer_cents), 0) m, "
            "      coalesce(sum(distributor_net_cents), 0) d "
            "      FROM settlement_lines WHERE campaign_id = %s) t "
            "WHERE s.campaign_id = %s", (campaign_id, campaign_id))


def seed_settlement(db, distributor_id, title, lines, settled_at=None, unit_price=1999):
    """A settled campaign with explicit lines: dicts with status, quantity,
    gross, forfeited, commission, manufacturer, net (cents). Returns the
    campaign id."""
    cid = seed_campaign(db, distributor_id, title, unit_price)
    customers = seed_customers(db, len(lines))
    with db.cursor() as cur:
        cur.execute("INSERT INTO settlements (campaign_id, distributor_id, settled_at, "
                    "unit_price_cents, unit_cost_cents, commission_bp, lines, quantity, "
                    "gross_cents, forfeited_cents, commission_cents, manufacturer_cents, "
                    "distributor_net_cents, received_cents, refunded_cents) "
                    "VALUES (%s, %s, coalesce(%s::timestamptz, now()), %s, 0, 500, 0, 0, 0, "
                    "0, 0, 0, 0, 0, 0)", (cid, distributor_id, settled_at, unit_price))
        for cust, ln in zip(customers, lines):
            cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id, "
                        "quantity, status, score_at_join, p_complete_at_join, deposit_percent, "
                        "deposit_cents, unit_price_cents) VALUES (%s, %s, %s, %s, %s, 50, 0.5, "
                        "0, 0, %s) RETURNING id",
                        (distributor_id, cid, cust, ln["quantity"], ln["status"], unit_price))
            pid = cur.fetchone()[0]
            cur.execute("INSERT INTO settlement_lines (participation_id, campaign_id, "
                        "distributor_id, customer_id, status, quantity, unit_price_cents, "
                        "gross_cents, forfeited_cents, commission_cents, manufacturer_cents, "
                        "distributor_net_cents) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
                        "%s, %s, %s)",
                        (pid, cid, distributor_id, cust, ln["status"], ln["quantity"],
                         unit_price, ln["gross"], ln["forfeited"], ln["commission"],
                         ln["manufacturer"], ln["net"]))
    _settle_totals(db, cid)
    return cid


def seed_bulk_settlement(db, distributor_id, rows, title="Bulk campaign", unit_price=1999):
    """A settled campaign with `rows` paid lines, generated in SQL."""
    cid = seed_campaign(db, distributor_id, title, unit_price)
    cust = seed_customers(db, 1)[0]
    with db.cursor() as cur:
        cur.execute("INSERT INTO settlements (campaign_id, distributor_id, unit_price_cents, "
                    "unit_cost_cents, commission_bp, lines, quantity, gross_cents, "
                    "forfeited_cents, commission_cents, manufacturer_cents, "
                    "distributor_net_cents, received_cents, refunded_cents) VALUES (%s, %s, "
                    "%s, 0, 500, 0, 0, 0, 0, 0, 0, 0, 0, 0)", (cid, distributor_id, unit_price))
        cur.execute("WITH p AS (INSERT INTO participations (distributor_id, campaign_id, "
                    "customer_id, quantity, status, score_at_join, p_complete_at_join, "
                    "deposit_percent, deposit_cents, unit_price_cents) "
                    "SELECT %s, %s, %s, 1 + i %% 3, 'paid', 50, 0.5, 0, 0, %s "
                    "FROM generate_series(1, %s) i RETURNING id, quantity) "
                    "INSERT INTO settlement_lines (participation_id, campaign_id, "
                    "distributor_id, customer_id, status, quantity, unit_price_cents, "
                    "gross_cents, forfeited_cents, commission_cents, manufacturer_cents, "
                    "distributor_net_cents) "
                    "SELECT id, %s, %s, %s, 'paid', quantity, %s, quantity * %s, 0, "
                    "quantity * %s * 5 / 100, quantity * %s / 2, "
                    "quantity * %s - quantity * %s * 5 / 100 - quantity * %s / 2 FROM p",
                    (distributor_id, cid, cust, unit_price, rows, cid, distributor_id, cust,
                     unit_price, unit_price, unit_price, unit_price, unit_price, unit_price,
                     unit_price))
    _settle_totals(db, cid)
    return cid


def line(status="paid", quantity=1, gross=1999, forfeited=0, commission=None,
         manufacturer=None, net=None):
    commission = gross * 5 // 100 if commission is None else commission
    manufacturer = gross // 2 if manufacturer is None else manufacturer
    if net is None:
        net = gross + forfeited - commission - manufacturer
    assert commission + manufacturer + net == gross + forfeited
    return {"status": status, "quantity": quantity, "gross": gross, "forfeited": forfeited,
            "commission": commission, "manufacturer": manufacturer, "net": net}


# ---------------------------------------------------------------- reading

def money(cents):
    sign = "-" if cents < 0 else ""
    return "%s%d.%02d" % (sign, abs(cents) // 100, abs(cents) % 100)


def parse_csv(body, bom=False):
    if bom:
        assert body.startswith(BOM), body[:10]
        body = body[len(BOM):]
    else:
        assert not body.startswith(BOM)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert rows[0] == HEADER
    return rows[1:]


def export(srv, token, query="", **kw):
    return srv.get(PATH + query, token=token, **kw)


def open_stream(srv, token, query="", rcvbuf=None):
    """Starts an export on a socket of our own (optionally with a small
    receive buffer); returns (connection, response) with the headers read."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect(("127.0.0.1", srv.port))
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    conn.sock = s
    conn.request("GET", PATH + query, headers={"Authorization": "Bearer " + token})
    return conn, conn.getresponse()


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])  # kB
    raise AssertionError(key)


def idle_in_transaction(db):
    return _one(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()")


# ---------------------------------------------------------------- tests

def test_export_matches_json_settlement_view(app, db):
    t = new_tenant(app)
    other = new_tenant(app)
    tricky = seed_settlement(db, t.id, TRICKY_TITLE, [
        line(quantity=2, gross=246900, forfeited=0, commission=12345, manufacturer=123456),
        line(status="defaulted", quantity=1, gross=0, forfeited=3000, commission=150,
             manufacturer=0),
        line(quantity=1, gross=1000, commission=50, manufacturer=2184, net=-1234),
    ], settled_at="2026-11-02T10:00:00Z")
    plain = seed_settlement(db, t.id, "Plain, simple", [line(quantity=3, gross=5997)],
                            settled_at="2026-11-03T10:00:00Z")
    seed_settlement(db, other.id, "Not yours", [line(gross=777)],
                    settled_at="2026-11-02T12:00:00Z")

    r = export(app, t.token)
    assert r.status == 200, r
    assert header(r, "Content-Type") == "text/csv; charset=utf-8"
    disp = header(r, "Content-Disposition")
    assert disp.startswith("attachment;") and 'filename="settlements-' in disp, disp
    assert header(r, "X-Request-Id")
    body = r.body
    rows = parse_csv(body)
    # CRLF after every record and nowhere else (the title's LF is quoted)
    assert body.endswith(b"\r\n")
    assert body.count(b"\r\n") == len(rows) + 1
    assert b"\n\xe5\x9b\xa2" in body  # the title's newline went out raw, inside quotes

    assert [row[1] for row in rows] == [str(tricky)] * 3 + [str(plain)]
    for cid in (tricky, plain):
        view = app.get("/v1/admin/settlements/%d" % cid, token=t.token)
        assert view.status == 200, view
        v = view.json
        mine = [row for row in rows if row[1] == str(cid)]
        assert len(mine) == len(v["lines"])
        for row, ln in zip(mine, sorted(v["lines"], key=lambda x: x["participation_id"])):
            assert row == [
                v["settled_at"], str(cid), row[2], str(ln["participation_id"]),
                str(ln["customer_id"]), ln["status"], str(ln["quantity"]),
                money(ln["unit_price_cents"]), money(ln["gross_cents"]),
                money(ln["forfeited_cents"]), money(ln["commission_cents"]),
                money(ln["manufacturer_cents"]), money(ln["distributor_net_cents"]),
                money(ln["leader_commission_cents"])]
        # the CSV's lines add up to the settlement's totals
        for col, key in (("gross", "gross_cents"), ("commission", "commission_cents"),
                         ("distributor_net", "distributor_net_cents")):
            i = HEADER.index(col)
            total = sum(int(row[i].replace(".", "")) for row in mine)
            assert total == v["totals"][key]

    titles = {row[2] for row in rows}
    # formula injection: a leading '=' gets an apostrophe; the rest intact
    assert titles == {"'" + TRICKY_TITLE, "Plain, simple"}
    assert rows[0][0] == "2026-11-02T10:00:00Z"
    nets = [row[HEADER.index("distributor_net")] for row in rows[:3]]
    assert "-12.34" in nets  # negative amounts stay plain numbers
    assert rows[0][HEADER.index("gross")] == "2469.00"
    assert rows[0][HEADER.index("commission")] == "123.45"
    assert rows[1][HEADER.index("forfeited")] == "30.00"
    assert "Not yours" not in body.decode()
    # the other distributor sees only its own line
    theirs = parse_csv(export(app, other.token).body)
    assert len(theirs) == 1 and theirs[0][2] == "Not yours"


def test_bom_only_when_asked(app, db):
    t = new_tenant(app)
    seed_settlement(db, t.id, "Bom", [line()])
    plain = export(app, t.token)
    assert plain.status == 200 and plain.body.startswith(b"settled_at,")
    assert len(parse_csv(plain.body)) == 1
    off = export(app, t.token, "?bom=0")
    assert off.status == 200 and off.body == plain.body
    on = export(app, t.token, "?bom=1")
    assert on.status == 200 and on.body == BOM + plain.body
    assert len(parse_csv(on.body, bom=True)) == 1
    assert_error(export(app, t.token, "?bom=yes"), 400, "invalid_field", "bom")


def test_empty_export_is_the_header_row(app):
    t = new_tenant(app)
    r = export(app, t.token)
    assert r.status == 200, r
    assert r.body == (",".join(HEADER) + "\r\n").encode()


def test_period_filter(app, db):
    t = new_tenant(app)
    times = ["2026-10-31T23:59:59.999999Z", "2026-11-01T00:00:00Z",
             "2026-11-30T23:59:59.5Z", "2026-12-01T00:00:00Z"]
    ids = [seed_settlement(db, t.id, "Period %d" % i, [line()], settled_at=s)
           for i, s in enumerate(times)]
    nov = "?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z"
    r = export(app, t.token, nov)
    assert r.status == 200, r
    assert [int(row[1]) for row in parse_csv(r.body)] == ids[1:3]
    assert header(r, "Content-Disposition") == \
        'attachment; filename="settlements-20261101T000000Z-20261201T000000Z.csv"'
    # the same period as the JSON list
    lst = app.get("/v1/admin/settlements" + nov, token=t.token)
    assert lst.status == 200, lst
    assert sorted(i["campaign_id"] for i in lst.json["items"]) == ids[1:3]
    # offsets mean the same instants
    r2 = export(app, t.token, "?from=2026-11-01T08:00:00%2B08:00&to=2026-11-30T19:00:00-05:00")
    assert [int(row[1]) for row in parse_csv(r2.body)] == ids[1:3]
    # open ends
    assert [int(row[1]) for row in parse_csv(export(app, t.token, "?from=2026-11-30T23:59:59.5Z").body)] == ids[2:]
    r3 = export(app, t.token, "?to=2026-11-01T00:00:00Z")
    assert [int(row[1]) for row in parse_csv(r3.body)] == ids[:1]
    assert 'filename="settlements-beginning-20261101T000000Z.csv"' in header(r3, "Content-Disposition")
    assert [int(row[1]) for row in parse_csv(export(app, t.token).body)] == ids
    # from >= to: empty, as the list
    assert parse_csv(export(app, t.token, "?from=2026-12-01T00:00:00Z&to=2026-11-01T00:00:00Z").body) == []
    for q, field in (("?from=2026-11-01", "from"), ("?to=yesterday", "to"),
                     ("?from=2026-02-30T00:00:00Z", "from"), ("?to=2026-11-01T00:00:00", "to"),
                     ("?from=2026-11-01T24:00:00Z", "from")):
        assert_error(export(app, t.token, q), 400, "invalid_field", field)


def test_roles(app, db):
    t = new_tenant(app)
    seed_settlement(db, t.id, "Roles", [line()])
    finance = new_staff(app, t.token, role="finance")
    operator = new_staff(app, t.token, role="operator")
    r = export(app, staff_token(app, finance.login))
    assert r.status == 200 and len(parse_csv(r.body)) == 1
    assert_error(export(app, staff_token(app, operator.login)), 403, "forbidden")
    cust = new_customer(app)
    assert export(app, customer_token(app, cust.login)).status == 403
    assert export(app, None).status == 401


def test_head_sends_headers_only(app, db):
    t = new_tenant(app)
    seed_settlement(db, t.id, "Head", [line()])
    r = app.request("HEAD", PATH, token=t.token)
    assert r.status == 200 and r.body == b""
    assert header(r, "Content-Type") == "text/csv; charset=utf-8"
    assert export(app, t.token).status == 200


def test_client_disconnect_mid_export_frees_everything(app, db):
    """Clients that leave at every stage: right after the request, after the
    headers, mid-body with a slow reader. The server must roll back and
    release each borrowed connection (more exports than the pool holds
    succeed afterwards, nothing stays idle in transaction) and the asan
    server's log must stay clean (checked at teardown)."""
    t = new_tenant(app)
    cid = seed_bulk_settlement(db, t.id, 30000)
    for i in range(12):
        conn, resp = None, None
        if i % 3 == 0:
            s = socket.create_connection(("127.0.0.1", app.port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % (PATH, t.token)).encode())
            s.close()
            continue
        conn, resp = open_stream(app, t.token, rcvbuf=8192)
        assert resp.status == 200
        if i % 3 == 2:
            got = 0
            while got < 200000:
                got += len(resp.read(16384))
                time.sleep(0.001)
        conn.close()
    # a departed client is noticed at the export's next write; on a loaded
    # machine that can take a while, so wait up to 30 s, and say what stayed.
    # Stuck means idle in transaction for over a second: a transaction of the
    # server's own (the scheduler's) may be between two statements at the
    # moment of the check; one left by a departed export stays and is seen
    # by the check made a second and a half after the wait.
    def stuck():
        with db.cursor() as cur:
            cur.execute("SELECT state, now() - state_change, query FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND state LIKE 'idle in transaction%%'"
                        " AND now() - state_change > interval '1 second'")
            return cur.fetchall()
    deadline = time.time() + 30
    while time.time() < deadline and idle_in_transaction(db):
        time.sleep(0.1)
    time.sleep(1.5)  # stuck() is an age (over a second): it needs the time to pass
    assert stuck() == [], stuck()
    for _ in range(10):  # more than the pool's 8 connections
        r = export(app, t.token)
        assert r.status == 200, r
        rows = parse_csv(r.body)
        assert len(rows) == 30000 and rows[-1][1] == str(cid)
    assert "client gone" in app.log_text()


# The backend ends during a FETCH ("FETCH: ...") or between two, when the
# next one cannot be sent ("FETCH not sent: ..."): which one is timing.
@pytest.mark.expect_log_errors(r"export cut short after \d+ rows: FETCH( not sent)?: ")
def test_database_failure_mid_stream_truncates_the_body(app, db):
    """After the headers the status cannot change: a failure ends the
    stream without its terminating chunk, so the client sees an incomplete
    body instead of a short file that looks whole."""
    t = new_tenant(app)
    seed_bulk_settlement(db, t.id, 20000)
    conn, resp = open_stream(app, t.token, rcvbuf=8192)
    assert resp.status == 200
    resp.read(4096)
    deadline = time.time() + 10
    killed = 0
    while not killed and time.time() < deadline:
        killed = _one(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND query LIKE 'FETCH%%'")
        time.sleep(0.01)
    assert killed == 1
    with pytest.raises(http.client.IncompleteRead):
        while True:
            if not resp.read(65536):
                break
    conn.close()
    assert "cut short" in app.log_text()
    # the pool heals and the next export is whole
    deadline = time.time() + 10
    while True:
        r = export(app, t.token)
        if r.status == 200 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert r.status == 200 and len(parse_csv(r.body)) == 20000


def _stream_and_sample(srv, token, expect_rows):
    """Reads an export slowly through a small socket buffer; returns the
    largest VmRSS (kB) seen while it streamed and the rows."""
    pid = srv.proc.pid
    conn, resp = open_stream(srv, token, rcvbuf=16384)
    assert resp.status == 200
    peak = vm(pid, "VmRSS")
    chunks = []
    n = 0
    while True:
        b = resp.read(32768)
        if not b:
            break
        chunks.append(b)
        n += 1
        if n % 8 == 0:
            peak = max(peak, vm(pid, "VmRSS"))
        time.sleep(0.006)  # ~5 MB/s: slower than the server can produce
    conn.close()
    rows = parse_csv(b"".join(chunks))
    assert len(rows) == expect_rows
    return peak


def test_big_export_memory_stays_flat(make_server, dbname, db):
    env = dict(APP_ENV, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99:"
                                     "quarantine_size_mb=1")
    srv = make_server(dbname, env=env, config=FAST_CONFIG)
    small, big = new_tenant(srv), new_tenant(srv)
    # titles of 100 CJK characters make each row ~400 bytes: 50,000 rows
    # are ~20 MB of CSV, far beyond what the kernel's socket buffers absorb
    wide = "团购" * 50
    seed_bulk_settlement(db, small.id, 5000, title=wide)
    seed_bulk_settlement(db, big.id, 50000, title=wide)
    base = vm(srv.proc.pid, "VmRSS")
    # warm up (statement preparation, allocator pools), then measure
    _stream_and_sample(srv, small.token, 5000)
    peak_small = _stream_and_sample(srv, small.token, 5000)
    peak_big = _stream_and_sample(srv, big.token, 50000)
    after = vm(srv.proc.pid, "VmRSS")
    # holding the 50,000 rows (or running ahead of the reader) would show
    # as ten MB or more; one batch of 1,000 rows is ~0.4 MB.
    assert peak_big - peak_small < 3 * 1024, (base, peak_small, peak_big, after)
    assert after - peak_small < 3 * 1024, (base, peak_small, peak_big, after)


def test_slow_download_outlives_the_request_timeout(make_server, dbname, db):
    """http_timeout_s bounds reading a request, not a download that keeps
    moving: an export read slowly for longer than it still completes."""
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "http_timeout_s = 1\n")
    t = new_tenant(srv)
    seed_bulk_settlement(db, t.id, 4000)
    conn, resp = open_stream(srv, t.token, rcvbuf=4096)
    assert resp.status == 200
    started = time.time()
    chunks = []
    while True:
        b = resp.read(8192)
        if not b:
            break
        chunks.append(b)
        time.sleep(0.1)
    conn.close()
    assert time.time() - started > 2.5
    assert len(parse_csv(b"".join(chunks))) == 4000


def test_stalled_reader_is_dropped_after_the_timeout(make_server, dbname, db):
    """A client that stops reading holds no database connection forever:
    after http_timeout_s without progress the server drops it and rolls
    the export's transaction back."""
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "http_timeout_s = 1\n")
    t = new_tenant(srv)
    seed_bulk_settlement(db, t.id, 30000)
    conn, resp = open_stream(srv, t.token, rcvbuf=4096)
    assert resp.status == 200
    resp.read(1024)
    deadline = time.time() + 15
    while time.time() < deadline and "client gone" not in srv.log_text():
        time.sleep(0.2)
    assert "client gone" in srv.log_text()
    # the export's transaction is rolled back once the connection is freed
    deadline = time.time() + 10
    while idle_in_transaction(db):
        assert time.time() < deadline, "the export's transaction is still open"
        time.sleep(0.05)
    conn.close()
    assert len(parse_csv(export(srv, t.token).body)) == 30000


def test_shutdown_mid_stream_exits_cleanly(make_server, dbname, db):
    """SIGTERM while a slow client downloads: after the grace period the
    server frees the stream with its connection and exits 0 with a clean
    sanitizer log (the fixture checks both)."""
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "shutdown_grace_s = 1\n")
    t = new_tenant(srv)
    seed_bulk_settlement(db, t.id, 30000)
    conn, resp = open_stream(srv, t.token, rcvbuf=4096)
    assert resp.status == 200
    resp.read(1024)
    assert srv.stop() == 0
    conn.close()
    assert "client gone" in srv.log_text()


def test_http10_client_gets_the_body_until_close(app, db):
    """HTTP/1.0 has no chunked encoding: the body ends with the connection."""
    t = new_tenant(app)
    seed_bulk_settlement(db, t.id, 3000)
    s = socket.create_connection(("127.0.0.1", app.port), timeout=30)
    s.sendall(("GET %s HTTP/1.0\r\nAuthorization: Bearer %s\r\n\r\n" % (PATH, t.token)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"), head
    assert b"chunked" not in head.lower()
    assert len(parse_csv(body)) == 3000

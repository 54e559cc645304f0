"""Live progress over Server-Sent Events (API.md "Live progress"):
GET /v1/campaigns/{id}/events. The first event at once; a change committed
through another server process reaches an open stream within 1 s; changes
inside one window are coalesced; Last-Event-ID; keep-alive comments, and
no request deadline cutting a waiting stream; the end after a terminal
status (and 204 for a client that saw it); 404; 503 past the maximum; a
client that stops reading is dropped; shutdown ends streams; the LISTEN
connection comes back after it was killed.
"""
import json
import signal
import socket
import time

import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403


class Stream:
    """A raw-socket SSE client: reads the head, then the chunked body as
    events and comments (an HTTP/1.0 client: the body as it comes, ended by
    the close)."""

    def __init__(self, srv, cid, last_event_id=None, rcvbuf=None, http10=False, path=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", srv.port))
        extra = "Last-Event-ID: %s\r\n" % last_event_id if last_event_id is not None else ""
        path = path or "/v1/campaigns/%d/events" % cid
        self.sock.sendall(("GET %s HTTP/1.%d\r\nHost: t\r\n%s\r\n"
                           % (path, 0 if http10 else 1, extra)).encode())
        self.buf = b""
        self.body = b""  # de-chunked, not yet parsed
        self.ended = False  # the terminating chunk arrived
        self.closed = False  # EOF
        self.status = None
        self.headers = {}

    def _fill(self, deadline):
        left = deadline - time.time()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            raise EOFError
        self.buf += data

    def head(self, timeout=5):
        deadline = time.time() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, v = line.split(":", 1)
            self.headers[k.strip().lower()] = v.strip()
        return self.status

    def error_body(self, timeout=5):
        deadline = time.time() + timeout
        n = int(self.headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill(deadline)
        return json.loads(self.buf[:n])

    def _dechunk(self, deadline):
        if self.headers.get("transfer-encoding") != "chunked":
            if not self.buf:
                self._fill(deadline)
            self.body += self.buf
            self.buf = b""
            return
        while True:
            if b"\r\n" in self.buf:
                size_line, rest = self.buf.split(b"\r\n", 1)
                size = int(size_line, 16)
                if len(rest) >= size + 2:
                    self.buf = rest[size + 2:]
                    if size == 0:
                        self.ended = True
                        return
                    self.body += rest[:size]
                    return
            self._fill(deadline)

    def next_block(self, timeout=5):
        """The next event (dict) or comment (str)."""
        deadline = time.time() + timeout
        while b"\n\n" not in self.body:
            if self.ended:
                raise EOFError
            self._dechunk(deadline)
        block, self.body = self.body.split(b"\n\n", 1)
        lines = block.decode().split("\n")
        if all(line.startswith(":") for line in lines):
            return lines[0]
        ev = {}
        for line in lines:
            k, v = line.split(": ", 1)
            ev[k] = v
        ev["data"] = json.loads(ev["data"])
        # a one-campaign stream's id is a number, a many-campaign one's a cursor
        ev["id"] = int(ev["id"]) if ev["id"].isdigit() else ev["id"]
        return ev

    def next_event(self, timeout=5):
        deadline = time.time() + timeout
        while True:
            b = self.next_block(max(0.01, deadline - time.time()))
            if isinstance(b, dict):
                return b

    def wait_end(self, timeout=5):
        deadline = time.time() + timeout
        while not self.ended:
            self._dechunk(deadline)
        return self.body

    def close(self):
        self.sock.close()


def change_seq(db, cid):
    with db.cursor() as cur:
        cur.execute("SELECT change_seq FROM campaigns WHERE id = %s", (cid,))
        return cur.fetchone()[0]


def touch(db, cid):
    """A change of the campaign that is not a status change."""
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET title = title WHERE id = %s", (cid,))


def metric(srv, name):
    """The value of an unlabelled sample in srv's /metrics."""
    r = srv.get("/metrics")
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise AssertionError("%s not in /metrics" % name)


def wait_metric(srv, name, value, timeout=5):
    deadline = time.time() + timeout
    while metric(srv, name) != value:
        assert time.time() < deadline, "%s never reached %d" % (name, value)
        time.sleep(0.05)


def server_with(make_server, dbname, extra):
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG + extra)


@pytest.fixture
def t(app):
    return new_tenant(app)


def test_first_event_at_once_is_the_public_progress(app, db, t):
    cid = make_campaign(app, db, t)
    s = Stream(app, cid)
    t0 = time.time()
    assert s.head() == 200
    assert s.headers["content-type"] == "text/event-stream"
    ev = s.next_event(timeout=1)
    assert time.time() - t0 < 1
    assert ev["event"] == "progress"
    assert ev["id"] == change_seq(db, cid)
    view = app.get("/v1/campaigns/%d" % cid).json
    assert ev["data"] == {"campaign_id": cid, "status": "open", "progress": view["progress"]}
    s.close()


def test_join_through_another_process_reaches_the_stream(app, db, t, make_server, dbname):
    other = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    cid = make_campaign(app, db, t)
    shopper = db_customers(db, 1)[0]
    s = Stream(app, cid)
    assert s.head() == 200
    first = s.next_event(timeout=1)
    assert first["data"]["progress"]["participants"] == 0
    t0 = time.time()
    assert join(other, shopper.token, cid, 2).status == 201
    ev = s.next_event(timeout=1)
    assert time.time() - t0 < 1
    assert ev["id"] > first["id"]
    assert ev["event"] == "progress"
    assert ev["data"]["progress"]["participants"] == 1
    assert ev["data"]["progress"]["quantity"] == 2
    s.close()


def test_changes_in_one_window_are_coalesced(make_server, dbname, db):
    srv = server_with(make_server, dbname, "sse_coalesce_ms = 1000\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    s = Stream(srv, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    for _ in range(10):
        touch(db, cid)
    # the first change is read at once (the window had passed), the nine
    # after it together at the window's end
    evs = [s.next_event(timeout=3)]
    while evs[-1]["id"] < change_seq(db, cid):
        evs.append(s.next_event(timeout=3))
    assert len(evs) <= 2, evs
    with pytest.raises(TimeoutError):
        s.next_event(timeout=1.5)
    s.close()


def test_last_event_id_waits_or_catches_up(app, db, t):
    cid = make_campaign(app, db, t)
    seq = change_seq(db, cid)
    current = Stream(app, cid, last_event_id=seq)
    behind = Stream(app, cid, last_event_id=seq - 1)
    assert current.head() == 200 and behind.head() == 200
    assert behind.next_event(timeout=1)["id"] == seq
    with pytest.raises(TimeoutError):
        current.next_event(timeout=1.5)
    touch(db, cid)
    ev = current.next_event(timeout=1)
    assert ev["id"] == seq + 1
    assert ev["event"] == "progress"
    current.close()
    behind.close()


def test_keep_alive_comments_and_no_request_deadline(make_server, dbname, db):
    srv = server_with(make_server, dbname, "sse_keepalive_s = 1\nhttp_timeout_s = 1\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    s = Stream(srv, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    t0 = time.time()
    assert s.next_block(timeout=2) == ": keep-alive"
    # well past http_timeout_s: the stream is still there and live
    deadline = t0 + 3.5
    while time.time() < deadline:
        assert s.next_block(timeout=2) == ": keep-alive"
    touch(db, cid)
    assert s.next_event(timeout=2)["data"]["status"] == "open"
    s.close()


def test_terminal_status_ends_the_stream(app, db, t):
    cid = make_campaign(app, db, t)
    s = Stream(app, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    close_campaign_in_db(db, cid, "failed")
    ev = s.next_event(timeout=1)
    assert ev["event"] == "status"
    assert ev["data"]["status"] == "failed"
    assert s.wait_end(timeout=2) == b""
    s.close()
    # a client that saw the end is told not to reconnect; a new one gets
    # the final state, then the end
    again = Stream(app, cid, last_event_id=ev["id"])
    assert again.head() == 204
    again.close()
    fresh = Stream(app, cid)
    assert fresh.head() == 200
    last = fresh.next_event(timeout=1)
    assert last["event"] == "status" and last["id"] == ev["id"]
    fresh.wait_end(timeout=2)
    fresh.close()


def test_unknown_or_unpublished_campaign_is_404(app, db, t):
    draft = make_campaign(app, db, t, status="draft")
    for cid in (draft, 999999999):
        s = Stream(app, cid)
        assert s.head() == 404
        assert s.headers["content-type"] == "application/json"
        assert s.error_body()["error"]["code"] == "not_found"
        s.close()


@pytest.mark.expect_5xx(503)
def test_more_streams_than_the_maximum_is_503(make_server, dbname, db):
    srv = server_with(make_server, dbname, "sse_max_streams = 2\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    a, b = Stream(srv, cid), Stream(srv, cid)
    assert a.head() == 200 and b.head() == 200
    c = Stream(srv, cid)
    assert c.head() == 503
    assert c.error_body()["error"]["code"] == "unavailable"
    c.close()
    a.close()
    # a closed stream frees its place
    deadline = time.time() + 5
    while True:
        d = Stream(srv, cid)
        if d.head() == 200:
            break
        d.close()
        assert time.time() < deadline
        time.sleep(0.1)
    d.close()
    b.close()


def test_client_that_stops_reading_is_dropped(make_server, dbname, db):
    srv = server_with(make_server, dbname,
                      "sse_max_buffer_bytes = 1024\nsse_coalesce_ms = 0\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    slow = Stream(srv, cid, rcvbuf=1024)
    assert slow.head() == 200
    deadline = time.time() + 30
    while "dropping a client that stopped reading" not in srv.log_text():
        assert time.time() < deadline, "slow client never dropped"
        for _ in range(50):
            touch(db, cid)
        time.sleep(0.05)
    # its connection is cut: reading on finds the end of the socket, never
    # the terminating chunk
    with pytest.raises(EOFError):
        while True:
            slow.next_block(timeout=10)
    assert not slow.ended
    slow.close()
    assert metric(srv, "groupbuyd_sse_dropped_total") == 1
    # others are unaffected
    s = Stream(srv, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    s.close()


def test_shutdown_ends_streams(make_server, dbname, db):
    srv = server_with(make_server, dbname, "shutdown_grace_s = 20\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    s = Stream(srv, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    s.wait_end(timeout=5)
    assert srv.proc.wait(timeout=10) == 0
    assert time.time() - t0 < 5
    s.close()


def test_listen_connection_comes_back(app, db, t):
    cid = make_campaign(app, db, t)
    s = Stream(app, cid)
    assert s.head() == 200
    s.next_event(timeout=1)
    with db.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = 'groupbuyd-listen'"
                    "   AND datname = current_database()")
        assert cur.rowcount == 1
    touch(db, cid)  # maybe while nobody listens: the resync catches it
    ev = s.next_event(timeout=5)
    assert ev["id"] == change_seq(db, cid)
    touch(db, cid)
    assert s.next_event(timeout=2)["id"] == change_seq(db, cid)
    assert app.log_text().count("listen: LISTEN gb_campaign_changed") >= 2
    s.close()


def _notifications(conn, wait=0.3):
    """The notifications conn has received within wait seconds."""
    import select
    got = []
    end = time.time() + wait
    while time.time() < end:
        select.select([conn], [], [], max(0.0, end - time.time()))
        conn.poll()
        while conn.notifies:
            got.append(conn.notifies.pop(0))
    return got


def test_join_commits_do_not_notify_but_are_announced(app, db, t, cluster, dbname):
    """A NOTIFY inside the join's transaction would serialise every join
    commit (a cluster-wide lock held through the WAL flush). The batch
    statement (p_notify false) sends none; the server announces the campaign
    after the commit (server/live/livenotify.c); a keyed join, inside the key's
    longer transaction (p_notify true), notifies at that commit."""
    cid = make_campaign(app, db, t)
    a, b, c = db_customers(db, 3)
    listener = cluster.connect(dbname)
    with listener.cursor() as cur:
        cur.execute("LISTEN gb_campaign_changed")
    with db.cursor() as cur:
        cur.execute("SELECT version FROM campaigns WHERE id = %s", (cid,))
        version = cur.fetchone()[0]
    call = ("SELECT o_reason FROM gb_join_batches(%s::bigint[], %s::integer[], %s::bigint[],"
            " '{1}', '{75}', '{0.75}', '{0}', '{0}', '{NULL}', '{NULL}', '{NULL}', %s)")
    with db.cursor() as cur:
        cur.execute(call, ([cid], [version], [a.id], False))
        assert cur.fetchone()[0] is None
    assert _notifications(listener) == []
    with db.cursor() as cur:
        cur.execute(call, ([cid], [version], [b.id], True))
        assert cur.fetchone()[0] is None
    assert [n.payload for n in _notifications(listener)] == [str(cid)]
    # through the server: the coalesced join is announced after its commit
    assert join(app, c.token, cid).status == 201
    got = _notifications(listener, wait=1.0)
    assert [n.payload for n in got] == [str(cid)], got
    listener.close()


def test_metrics_count_streams_and_events_of_a_wide_fan_out(make_server, dbname, db):
    """/metrics shows the open streams, the campaigns they watch and the
    events sent (one per stream); a change reaches every stream of a
    fan-out wider than one slice (64 streams a loop turn), an HTTP/1.0 one
    (no chunks) too, after a third of them left."""
    # 151 streams from one address: its share set wide enough
    srv = server_with(make_server, dbname, "sse_coalesce_ms = 0\n"
                                           "sse_max_streams_per_client = 1000\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    streams = [Stream(srv, cid) for _ in range(150)] + [Stream(srv, cid, http10=True)]
    for s in streams:
        assert s.head() == 200
        assert s.next_event(timeout=2)["id"] == change_seq(db, cid)
    assert "transfer-encoding" not in streams[-1].headers
    assert metric(srv, "groupbuyd_sse_streams") == 151
    assert metric(srv, "groupbuyd_sse_campaigns") == 1
    assert metric(srv, "groupbuyd_sse_events_total") == 151
    for s in streams[:150:3]:
        s.close()
    left = [s for i, s in enumerate(streams) if i % 3 or i == 150]
    wait_metric(srv, "groupbuyd_sse_streams", len(left))
    touch(db, cid)
    seq = change_seq(db, cid)
    for s in left:
        ev = s.next_event(timeout=2)
        assert ev["id"] == seq and ev["event"] == "progress"
    assert metric(srv, "groupbuyd_sse_events_total") == 151 + len(left)
    assert metric(srv, "groupbuyd_sse_notifications_total") >= 1
    for s in left:
        s.close()
    wait_metric(srv, "groupbuyd_sse_streams", 0)
    wait_metric(srv, "groupbuyd_sse_campaigns", 0)

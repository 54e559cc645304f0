"""Fair shares of the live streams (issue 26): a cap of open streams per
client address (sse_max_streams_per_client, default 20; IPv6 by its /64;
behind a trusted proxy the forwarded address, as for logins) answering 429
beyond it while another address still gets its stream; a many-campaign
stream counts as one; a client that takes nothing of its stream while its
socket's queue stays full past sse_stall_s is cut.
"""
import socket
import time

import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403
from test_sse import Stream, metric, server_with, touch


class From(Stream):
    """A Stream of any path, from a chosen local address, with extra
    request headers."""

    def __init__(self, srv, path, source="127.0.0.1", headers=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", srv.port))
        extra = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n%s\r\n" % (path, extra)).encode())
        self.buf = b""
        self.body = b""
        self.ended = False
        self.closed = False
        self.status = None
        self.headers = {}


def events(cid):
    return "/v1/campaigns/%d/events" % cid


def open_all(srv, path, n, **kw):
    streams = [From(srv, path, **kw) for _ in range(n)]
    return streams, [s.head() for s in streams]


def close_all(streams):
    for s in streams:
        s.close()


def test_two_hundred_streams_from_one_address(make_server, dbname, db):
    srv = server_with(make_server, dbname, "")  # the default cap: 20
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    mine, codes = open_all(srv, events(cid), 200)
    try:
        assert codes.count(200) == 20 and codes.count(429) == 180, codes
        refused = next(s for s in mine if s.status == 429)
        assert refused.headers.get("retry-after")
        assert refused.error_body()["error"]["code"] == "rate_limited"
        # another address still gets its stream, and its events
        other = From(srv, events(cid), source="127.0.0.2")
        assert other.head() == 200
        assert other.next_event()["event"] in ("progress", "status")
        other.close()
        # a closed stream gives its place back
        next(s for s in mine if s.status == 200).close()
        deadline = time.time() + 5
        while True:
            again = From(srv, events(cid))
            if again.head() == 200:
                break
            again.close()
            assert time.time() < deadline, "a closed stream never freed its place"
            time.sleep(0.1)
        again.close()
    finally:
        close_all(mine)


def test_a_many_campaign_stream_counts_as_one(make_server, dbname, db):
    srv = server_with(make_server, dbname, "sse_max_streams_per_client = 3\n")
    t = new_tenant(srv)
    a, b, c = (make_campaign(srv, db, t) for _ in range(3))
    many = "/v1/campaigns/events?ids=%d,%d,%d" % (a, b, c)
    held = [From(srv, many), From(srv, events(a))]
    assert [s.head() for s in held] == [200, 200]
    third = From(srv, many)
    assert third.head() == 200  # the third stream, of three campaigns
    held.append(third)
    fourth = From(srv, events(b))
    assert fourth.head() == 429
    fourth.close()
    fifth = From(srv, many)
    assert fifth.head() == 429
    fifth.close()
    close_all(held)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(make_server, dbname, db):
    srv = server_with(make_server, dbname, "sse_max_streams_per_client = 2\n"
                                           "http_trusted_proxies = 127.0.0.1\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)

    def via(xff, n):
        return open_all(srv, events(cid), n, headers={"X-Forwarded-For": xff})

    held = []
    for xff, n, want in (("203.0.113.5", 3, [200, 200, 429]),
                         ("203.0.113.6", 2, [200, 200]),
                         # IPv6: one /64 is one client
                         ("2001:db8::1", 2, [200, 200]),
                         ("2001:db8::ffff:2", 1, [429]),
                         ("2001:db8:0:1::1", 1, [200]),
                         # what the client wrote left of the proxy's entry
                         # proves nothing
                         ("198.51.100.9, 203.0.113.6", 1, [429])):
        streams, codes = via(xff, n)
        held += streams
        assert codes == want, (xff, codes)
    # from an address that is not a trusted proxy the header is ignored
    direct = From(srv, events(cid), source="127.0.0.2",
                  headers={"X-Forwarded-For": "203.0.113.77"})
    other = From(srv, events(cid), source="127.0.0.2",
                 headers={"X-Forwarded-For": "203.0.113.78"})
    assert (direct.head(), other.head()) == (200, 200)
    third = From(srv, events(cid), source="127.0.0.2")
    assert third.head() == 429
    close_all(held + [direct, other, third])


def test_a_client_that_takes_nothing_is_cut(make_server, dbname, db):
    """The review's client never reads: keep-alives alone fit in the socket
    buffers for hours. Here it stops with its receive window full and a few
    kilobytes waiting, far below sse_max_buffer_bytes: it is cut once its
    queue has not moved for sse_stall_s; a client that reads is not."""
    srv = server_with(make_server, dbname, "sse_keepalive_s = 1\nsse_stall_s = 2\n"
                                           "sse_coalesce_ms = 0\n")
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    stalled = From(srv, events(cid), rcvbuf=1024)
    reader = From(srv, events(cid))
    assert stalled.head() == 200 and reader.head() == 200
    for _ in range(60):  # about 20 KB of events: the window fills
        touch(db, cid)
        time.sleep(0.01)
    got = 0
    deadline = time.time() + 15
    while "taken nothing" not in srv.log_text():
        assert time.time() < deadline, "a client that takes nothing was never cut"
        try:
            reader.next_block(timeout=0.5)
            got += 1
        except TimeoutError:
            pass
    assert got > 0
    assert metric(srv, "groupbuyd_sse_dropped_total") == 1
    # the stalled one finds its connection cut, never the terminating chunk
    with pytest.raises(EOFError):
        while True:
            stalled.next_block(timeout=10)
    assert not stalled.ended
    stalled.close()
    # the reader goes on: keep-alives and events, never cut
    time.sleep(3)
    touch(db, cid)
    reader.next_event(timeout=5)
    assert metric(srv, "groupbuyd_sse_dropped_total") == 1
    reader.close()

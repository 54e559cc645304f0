"""HTTP/1.1 framing and HEAD on raw sockets:
every request whose framing two parsers could read differently is 400 in
the error envelope and the connection is closed; valid pipelined and
chunked requests still work; HEAD sends the GET's headers and no body."""
import json
import socket
import time

import pytest

from helpers import PASSWORD, app, new_email, new_tenant  # noqa: F401 (app)


class Conn:
    """One raw keep-alive connection that parses responses strictly."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError("connection closed")
        self.buf += b

    def response(self, head_only=False):
        """(status, headers (lower-case names), body) of the next reply."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            assert k.lower() not in headers, "duplicate header " + k
            headers[k.lower()] = v.strip()
        if head_only:
            return status, headers, b""
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def closed(self, wait=3.0):
        """True when the server closes with nothing more sent."""
        self.s.settimeout(wait)
        try:
            while True:
                b = self.s.recv(65536)
                if not b:
                    return self.buf == b""
                self.buf += b
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.s.close()


@pytest.fixture
def conn(server):
    c = Conn(server.port)
    yield c
    c.close()


GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def test_head_then_get_on_one_connection(conn):
    conn.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    status, headers, _ = conn.response(head_only=True)
    assert status == 200
    assert headers["content-length"] == str(len(b'{"status":"ok"}'))
    assert headers["content-type"] == "application/json"
    # the next bytes are the GET's reply, not the HEAD's body
    status, headers, body = conn.response()
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_head_of_a_404_has_no_body(conn):
    conn.send(b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n" + GET)
    status, headers, _ = conn.response(head_only=True)
    assert status == 404 and int(headers["content-length"]) > 0
    status, _, body = conn.response()
    assert status == 200 and json.loads(body) == {"status": "ok"}


BAD = {
    "two content-length": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab",
    "space before colon": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
    "plus content-length": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                           b"Content-Length: +7\r\n\r\n1234567",
    "bare LF": b"GET /healthz HTTP/1.1\nHost: x\n\n",
    "NUL in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "ESC in a value": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: \x1b[1m\r\n\r\n",
    "no host": b"GET /healthz HTTP/1.1\r\nX-A: 1\r\n\r\n",
    "two hosts": b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
    "te with cl": b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te gzip": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
               b"Transfer-Encoding: gzip\r\n\r\n",
    "te chunked twice": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked, chunked\r\n\r\n",
    "obs-fold": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "GET with a body": b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                       b"Content-Length: 5\r\n\r\nhello",
    "bad chunk size": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n"
                      b"0\r\n\r\n",
    "chunk extension": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n2;a=b\r\n{}\r\n"
                       b"0\r\n\r\n",
    "chunk data longer than its size": b"POST /healthz HTTP/1.1\r\nHost: x\r\n"
                                       b"Transfer-Encoding: chunked\r\n\r\n"
                                       b"2\r\n{}}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_lenient_framing_is_400_and_closed(conn, name):
    # a good request first, so the error must come after its reply
    conn.send(GET + BAD[name] + GET)
    status, _, body = conn.response()
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, headers, body = conn.response()
    assert status == 400, (name, status, body)
    assert headers["connection"].lower() == "close"
    err = json.loads(body)["error"]
    assert err["code"] == "bad_request" and err["message"]
    # the request after the bad one is never answered
    assert conn.closed(), name


def test_framing_errors_in_the_log_and_server_fine(server, conn):
    conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n")
    status, _, _ = conn.response()
    assert status == 400 and conn.closed()
    assert server.get("/healthz").status == 200
    assert "- 400" in server.log_text()


@pytest.mark.expect_5xx(501)
def test_unknown_method_is_501_in_the_envelope(conn):
    conn.send(b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status, _, body = conn.response()
    assert status == 501
    assert json.loads(body)["error"]["code"] == "not_implemented"
    assert conn.closed()


def test_head_beyond_the_hard_limit_is_431_in_the_envelope(conn):
    # 16 times the 8 KiB header limit, not evhttp's HTML page
    conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 140000)
    status, _, body = conn.response()
    assert status == 431
    assert json.loads(body)["error"]["code"] == "headers_too_large"


def test_pipelined_requests_with_bodies(conn):
    post = (b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
    conn.send(b"\r\n" + GET + post + b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              + GET)
    assert conn.response()[0] == 200
    status, _, body = conn.response()
    assert status == 400 and json.loads(body)["error"]["code"] == "invalid_field"
    assert conn.response(head_only=True)[0] == 200
    assert conn.response()[0] == 200


def test_chunked_body_still_works(conn):
    # A sign-up without its password: the answer names the field only if
    # the JSON was read whole (its first chunk alone is not JSON, 400
    # invalid_json), and it costs no password hash.
    body = b'{"login":"nobody@example.com","display_name":"x"}'
    chunked = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (
        10, body[:10], len(body) - 10, body[10:])
    conn.send(b"POST /v1/customers HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n" + chunked + GET)
    status, _, reply = conn.response()
    assert status == 400, reply
    err = json.loads(reply)["error"]
    assert (err["code"], err.get("field")) == ("invalid_field", "password"), reply
    assert conn.response()[0] == 200


def test_requests_dripped_byte_by_byte(conn):
    data = (b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + GET)
    for i in range(len(data)):
        conn.send(data[i:i + 1])
        if i % 16 == 0:
            time.sleep(0.001)
    assert conn.response()[0] == 400
    assert conn.response()[0] == 200


# ---------------------------------------------------------------- request ids

def test_audit_rows_carry_the_servers_request_id(app):
    """Issue 17, item 9: a client-chosen X-Request-Id is echoed and logged
    beside the server's, but the audit row records the server's own."""
    t = new_tenant(app)
    forged = "forged-id.1"
    r = app.post("/v1/admin/staff",
                 {"login": new_email("op"), "password": PASSWORD,
                  "role": "operator"},
                 token=t.token, headers={"X-Request-Id": forged})
    assert r.status == 201, r
    assert r.headers["X-Request-Id"] == forged
    r = app.get("/v1/admin/audit-log", token=t.token)
    rows = [i for i in r.json["items"] if i["entity"] == "staff"
            and i["action"] != "login"]
    assert rows, r.json
    rid = rows[-1]["request_id"]
    assert rid != forged and len(rid) == 16
    int(rid, 16)
    assert "%s client-id %s" % (rid, forged) in app.log_text()


# ---------------------------------------------------------------- /metrics

METRICS_TOKEN = "metrics-test-token-3b9d1e"


def test_metrics_token_required_when_set(make_server, dbname):
    srv = make_server(dbname, env={"GROUPBUYD_METRICS_TOKEN": METRICS_TOKEN})
    r = srv.get("/metrics")
    assert r.status == 401 and r.json["error"]["code"] == "unauthenticated"
    assert r.headers["WWW-Authenticate"] == "Bearer"
    assert srv.get("/metrics", token="wrong-" + METRICS_TOKEN).status == 401
    r = srv.get("/metrics", token=METRICS_TOKEN)
    assert r.status == 200 and b"groupbuyd_http_requests_total" in r.body
    # the token is a secret: masked by check-config like the others
    assert METRICS_TOKEN not in srv.log_text()


def test_metrics_closed_off_loopback_without_token(make_server, dbname):
    srv = make_server(dbname, start=False)
    srv.env["GROUPBUYD_LISTEN"] = "0.0.0.0:%d" % srv.port
    srv.start()
    r = srv.get("/metrics")
    assert r.status == 401 and r.json["error"]["code"] == "unauthenticated"
    assert srv.get("/healthz").status == 200


def test_metrics_open_on_loopback_without_token(server):
    r = server.get("/metrics")
    assert r.status == 200 and b"groupbuyd_http_requests_total" in r.body

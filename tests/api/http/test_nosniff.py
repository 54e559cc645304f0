"""X-Content-Type-Options: nosniff on every answer (issue 26): JSON of
every kind (ok, 404, 405, 401, 400, 413, a framing error, HEAD), the
metrics text, a CSV export, a live stream's head and a static file, each
header once."""
import os
import socket

import pytest

from helpers import *  # noqa: F401,F403
from campaign_helpers import open_campaign


def raw_answers(port, request_bytes, n=1):
    """The heads (status, {lower-case name: [values]}) of the first n
    answers on one connection; bodies are skipped by Content-Length, a
    chunked or event-stream body ends the reading."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    out, buf = [], b""
    try:
        s.sendall(request_bytes)
        while len(out) < n:
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                k, v = line.split(":", 1)
                headers.setdefault(k.strip().lower(), []).append(v.strip())
            out.append((int(lines[0].split()[1]), headers))
            if "content-length" not in headers:
                break
            need = int(headers["content-length"][0])
            if request_bytes.startswith(b"HEAD"):
                need = 0
            while len(buf) < need:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                buf += chunk
            buf = buf[need:]
        return out
    finally:
        s.close()


def once_nosniff(headers):
    return headers.get("x-content-type-options") == ["nosniff"]


def test_every_json_answer_says_nosniff(app):
    t = new_tenant(app)
    for r in (app.get("/healthz"), app.get("/readyz"), app.get("/v1/nope"),
              app.request("DELETE", "/healthz"),
              app.get("/v1/admin/campaigns"),
              app.get("/v1/admin/campaigns", token=t.token),
              app.post("/v1/admin/products", raw_body=b"{", token=t.token,
                       headers={"Content-Type": "application/json"}),
              app.post("/v1/admin/products", raw_body=b"x" * 70000, token=t.token,
                       headers={"Content-Type": "application/json"})):
        assert header(r, "X-Content-Type-Options") == "nosniff", r
    assert app.get("/metrics").headers.get("X-Content-Type-Options") == "nosniff"


def test_raw_answers_carry_it_once(app):
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    heads = raw_answers(app.port, b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n")
    heads += raw_answers(app.port, get + b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                         b"Content-Length: 2\r\nContent-Length: 2\r\n\r\nab", 2)
    assert [s for s, _ in heads] == [404, 200, 400]
    for _, h in heads:
        assert once_nosniff(h), h


def test_csv_and_stream_and_static_file(make_server, dbname, tmp_path):
    root = tmp_path / "web"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "index.html").write_text("<!doctype html><title>shop</title>")
    srv = make_server(dbname, env=APP_ENV,
                      config=FAST_CONFIG + "http.web_root = %s\n" % root)
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    csv = raw_answers(srv.port, ("GET /v1/admin/exports/settlements.csv HTTP/1.1\r\n"
                                 "Host: x\r\nAuthorization: Bearer %s\r\n"
                                 "Connection: close\r\n\r\n" % t.token).encode())
    stream = raw_answers(srv.port, ("GET /v1/campaigns/%d/events HTTP/1.1\r\nHost: x\r\n\r\n"
                                    % c["id"]).encode())
    static = raw_answers(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    for (status, h), kind in ((csv[0], "text/csv"), (stream[0], "text/event-stream"),
                              (static[0], "text/html")):
        assert status == 200 and h["content-type"][0].startswith(kind), (status, h)
        assert once_nosniff(h), h

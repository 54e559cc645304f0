"""The web app's static files (API.md "Web app"): GET / and /admin/, the
headers (Content-Type, ETag and 304, Cache-Control, CSP, nosniff), gzip
to a client that takes it, and every path that could leave the web root
answering 404.

Most tests serve a small web root made in the test's temporary folder
(config http.web_root), with a secret file beside it and a symlink
pointing at it, so that a traversal that worked would be seen."""
import gzip
import os
import socket

import pytest

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")


BIG_JS = "".join("export const line%d = 'a module line that repeats';\n" % i
                 for i in range(200))


@pytest.fixture
def site(tmp_path, make_server, dbname):
    root = tmp_path / "web"
    (root / "shop").mkdir(parents=True)
    (root / "admin").mkdir()
    (root / "lib").mkdir()
    (root / "shop" / "index.html").write_text("<!doctype html><title>shop</title>")
    (root / "shop" / "app.js").write_text("export const shop = 1;\n")
    (root / "admin" / "index.html").write_text("<!doctype html><title>admin</title>")
    (root / "lib" / "style.css").write_text("body{margin:0}\n")
    (root / "lib" / "big.js").write_text(BIG_JS)
    (root / "lib" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 4000)
    (root / "lib" / ".hidden.js").write_text("hidden\n")
    (tmp_path / "secret.txt").write_text("TOPSECRET\n")
    os.symlink(str(tmp_path / "secret.txt"), str(root / "lib" / "leak.txt"))
    os.symlink(str(root / "lib" / "style.css"), str(root / "lib" / "alias.css"))
    return make_server(dbname, config="http.web_root = %s\n" % root)


def raw_request(port, request_bytes):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(request_bytes)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                if len(rest) >= length:
                    break
        return data
    finally:
        s.close()


def test_root_serves_the_shop_and_admin_the_staff_app(site):
    r = site.get("/")
    assert r.status == 200
    assert r.body == b"<!doctype html><title>shop</title>"
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    a = site.get("/admin/")
    assert a.status == 200 and b"admin" in a.body
    js = site.get("/shop/app.js")
    assert js.status == 200
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    css = site.get("/lib/style.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    head = site.request("HEAD", "/lib/style.css")
    assert head.status == 200 and head.body == b""
    assert head.headers["ETag"] == css.headers["ETag"]


def test_html_carries_the_csp_and_is_revalidated(site):
    r = site.get("/")
    assert r.headers["Content-Security-Policy"] == CSP
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-cache"
    js = site.get("/shop/app.js")
    assert js.headers["Cache-Control"] == "public, max-age=300"
    assert js.headers["X-Content-Type-Options"] == "nosniff"
    # the API keeps its own no-store
    assert site.get("/healthz").headers["Cache-Control"] == "no-store"


def test_if_none_match_gives_304(site):
    r = site.get("/shop/app.js")
    etag = r.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 8
    again = site.get("/shop/app.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""
    assert again.headers["ETag"] == etag
    listed = site.get("/shop/app.js", headers={"If-None-Match": 'W/"x", ' + "W/" + etag})
    assert listed.status == 304
    other = site.get("/shop/app.js", headers={"If-None-Match": '"nope"'})
    assert other.status == 200 and other.body == b"export const shop = 1;\n"
    # a different file has a different tag
    assert site.get("/").headers["ETag"] != etag


def test_gzip_to_a_client_that_takes_it(site):
    plain = site.get("/lib/big.js")
    assert plain.status == 200 and plain.body == BIG_JS.encode()
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    for accept in ("gzip", "gzip, deflate, br", "br;q=1, gzip;q=0.5", "*", "x-gzip"):
        gz = site.get("/lib/big.js", headers={"Accept-Encoding": accept})
        assert gz.status == 200, accept
        assert gz.headers["Content-Encoding"] == "gzip", accept
        assert gz.headers["Vary"] == "Accept-Encoding"
        assert gz.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert int(gz.headers["Content-Length"]) == len(gz.body) < len(BIG_JS) // 5
        assert gzip.decompress(gz.body) == BIG_JS.encode()
    # each form its own tag: a cache never answers one for the other
    tag, gz_tag = plain.headers["ETag"], gz.headers["ETag"]
    assert gz_tag == tag[:-1] + '-gz"'
    again = site.get("/lib/big.js", headers={"Accept-Encoding": "gzip", "If-None-Match": gz_tag})
    assert again.status == 304 and again.headers["ETag"] == gz_tag
    assert again.headers["Vary"] == "Accept-Encoding"
    stale = site.get("/lib/big.js", headers={"Accept-Encoding": "gzip", "If-None-Match": tag})
    assert stale.status == 200 and stale.headers["Content-Encoding"] == "gzip"
    assert site.get("/lib/big.js", headers={"If-None-Match": tag}).status == 304
    head = site.request("HEAD", "/lib/big.js", headers={"Accept-Encoding": "gzip"})
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Encoding"] == "gzip" and head.headers["ETag"] == gz_tag


@pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "*;q=0", "deflate, br",
                                    "*, gzip;q=0", "gzip;q=2", ""])
def test_no_gzip_where_it_is_refused(site, accept):
    r = site.get("/lib/big.js", headers={"Accept-Encoding": accept})
    assert r.status == 200 and r.body == BIG_JS.encode()
    assert "Content-Encoding" not in r.headers
    assert r.headers["Vary"] == "Accept-Encoding"


def test_small_and_binary_files_go_as_they_are(site):
    # a file gzip would not shrink by a tenth, and a PNG
    small = site.get("/shop/app.js", headers={"Accept-Encoding": "gzip"})
    assert small.body == b"export const shop = 1;\n"
    assert "Content-Encoding" not in small.headers and small.headers["Vary"] == "Accept-Encoding"
    png = site.get("/lib/logo.png", headers={"Accept-Encoding": "gzip"})
    assert png.status == 200 and png.headers["Content-Type"] == "image/png"
    assert "Content-Encoding" not in png.headers and "Vary" not in png.headers


@pytest.mark.parametrize("path", [
    "/../secret.txt", "/shop/../../secret.txt", "/lib/../../secret.txt",
    "/%2e%2e/secret.txt", "/shop/%2e%2e/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/shop%2fapp.js", "/shop%2Fapp.js", "/..%2fsecret.txt", "/shop/app.js%00",
    "/shop/app.js%00.css", "/lib/.hidden.js", "/lib/leak.txt", "/./shop/app.js",
    "/shop//app.js", "//secret.txt", "/shop/app.js/", "/nope.html", "/secret.txt",
    "/" + "a" * 300, "/shop/" + "b/" * 200 + "app.js", "/shop/app.js?x=1#",
    "/shop\\app.js",
])
def test_paths_leaving_web_are_404(site, path):
    r = site.get(path)
    if path == "/shop/app.js?x=1#":
        assert r.status == 200  # the query is not part of the path
        return
    if path == "//secret.txt":
        # evhttp reads "//secret.txt" as an authority and an empty path
        assert b"TOPSECRET" not in r.body
        return
    assert r.status == 404, (path, r)
    assert r.json["error"]["code"] == "not_found"
    assert b"TOPSECRET" not in r.body


def test_nul_and_very_long_paths_on_a_raw_socket(site):
    for target in (b"/shop/app.js\x00", b"/\x00/../secret.txt"):
        data = raw_request(site.port, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status = data.split(b" ", 2)[1]
        assert status == b"400" and b"malformed request target" in data, data[:200]
        assert b"TOPSECRET" not in data
    # a long path within the header limit is looked up: no such file
    data = raw_request(site.port, b"GET /" + b"x" * 6000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert data.split(b" ", 2)[1] == b"404" and b'"not_found"' in data, data[:200]
    assert site.get("/").status == 200  # still serving


def test_symlink_inside_root_is_served(site):
    r = site.get("/lib/alias.css")
    assert r.status == 200 and r.body == b"body{margin:0}\n"


def test_only_get_and_head(site):
    r = site.post("/shop/app.js", {})
    assert r.status == 404
    assert site.request("DELETE", "/").status == 404


def test_the_project_web_app_is_served(make_server, dbname):
    srv = make_server(dbname)
    shop = srv.get("/")
    assert shop.status == 200 and b'<html lang="zh-CN"' in shop.body
    assert shop.headers["Content-Security-Policy"] == CSP
    assert b"<script>" not in shop.body  # no inline script
    admin = srv.get("/admin/")
    assert admin.status == 200 and b'<html lang="zh-CN"' in admin.body
    total = len(shop.body)
    # the first load stays small: every file the shop page names, as it
    # is and as a browser gets it (gzip)
    import re
    sent = len(srv.get("/", headers={"Accept-Encoding": "gzip"}).body)
    for ref in re.findall(rb'(?:src|href)="(/[^"]+)"', shop.body):
        f = srv.get(ref.decode())
        assert f.status == 200, ref
        total += len(f.body)
        sent += len(srv.get(ref.decode(), headers={"Accept-Encoding": "gzip"}).body)
    assert total <= 150 * 1024
    assert sent < total // 2


def test_missing_web_root_serves_the_api_only(tmp_path, make_server, dbname):
    srv = make_server(dbname, config="http.web_root = %s\n" % (tmp_path / "none"))
    assert srv.get("/").status == 404
    assert srv.get("/healthz").status == 200

"""docs/openapi.json against the binary, and the failures that must be clear.

The document and the route table agree both ways (`groupbuyd routes` prints
the table); every $ref resolves and every schema is a valid JSON Schema; the
server serves the document byte for byte. conftest.py holds every answer of
the suite to the document; here its own checker is shown to catch a wrong
answer. Then the start-up and configuration failures: each names its cause
in one line.
"""
import json
import os
import re
import subprocess
import time

import jsonschema
import pytest

from conftest import BIN, OPENAPI, OPENAPI_METHODS, OPENAPI_PATH, ROOT, Response, free_port
from helpers import (APP_ENV, FAST_CONFIG, PLATFORM_TOKEN, assert_error, create_customer,
                     customer_token, new_phone, wait_metrics)


def load_doc():
    with open(OPENAPI_PATH, encoding="utf-8") as f:
        return json.load(f)


def table_routes():
    out = subprocess.run([BIN, "routes"], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    routes = set()
    for line in out.splitlines():
        method, pattern, _who = line.split(" ")
        routes.add((method, normal(pattern)))  # {id}, {code}: named alike
    assert routes, "groupbuyd routes printed nothing"
    return routes


def normal(pattern):
    """server/api/routes.c names its parameters {id} or {code}; the document may name them."""
    return re.sub(r"\{[^}]*\}", "{id}", pattern)


def test_document_and_route_table_agree():
    doc = load_doc()
    documented = {}
    for path, item in doc["paths"].items():
        for method in item:
            if method in OPENAPI_METHODS:
                documented[(method.upper(), normal(path))] = (path, method)
    table = table_routes()
    problems = []
    for method, pattern in sorted(table - set(documented)):
        problems.append(
            "%s %s is in server/api/routes.c but not in docs/openapi.json: add "
            "paths[%r][%r] with tags, summary, x-access, security, parameters (a second {id} gets its own name, e.g. {delivery_id}), requestBody "
            "and every status it answers (its errors as "
            '{"$ref": "#/components/responses/BadRequest"} and so on), its objects '
            "under components/schemas" % (method, pattern, pattern, method.lower()))
    for key in sorted(set(documented) - table):
        path, method = documented[key]
        problems.append(
            "docs/openapi.json documents %s %s but server/api/routes.c has no such route: "
            "add its line to api_routes or remove paths[%r][%r]"
            % (method.upper(), path, path, method))
    assert not problems, "\n".join(problems)


def test_every_operation_is_complete_and_every_ref_resolves():
    doc = load_doc()
    assert doc["openapi"].startswith("3.1")
    resolver = jsonschema.RefResolver.from_schema(doc)
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)

    def walk(node, where):
        if isinstance(node, dict):
            if "$ref" in node:
                try:
                    resolver.resolve(node["$ref"])
                except jsonschema.RefResolutionError:
                    pytest.fail("%s: $ref %s does not resolve" % (where, node["$ref"]))
            for k, v in node.items():
                walk(v, where + "/" + k)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))

    walk(doc, "#")
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = "%s %s" % (method.upper(), path)
            assert op.get("summary") and op.get("x-access"), where
            codes = set(op["responses"])
            assert any(c.startswith("2") for c in codes), where + ": no success status"
            # every failure any request can meet: a bad body, a large body,
            # large headers, a fault, a database that does not answer
            assert {"400", "413", "431", "500", "503"} <= codes, where
            if op["x-access"] != "public":
                assert {"401", "403"} <= codes and op["security"], where
            if "{" in path:
                assert "404" in codes, where


def test_served_document_is_the_file(server):
    r = server.get("/openapi.json")
    assert r.status == 200, r
    assert r.headers["Content-Type"].startswith("application/json")
    with open(OPENAPI_PATH, "rb") as f:
        assert r.body == f.read()


def test_conformance_check_catches_a_wrong_answer():
    """The suite-wide check is not vacuous: a body missing a required field
    and an undocumented status are both reported."""
    start = len(OPENAPI.problems)
    bad = Response(200, {"Content-Type": "application/json"}, b'{"status":"fine"}')
    OPENAPI.check("GET", "/healthz", bad)
    teapot = Response(418, {"Content-Type": "application/json"},
                      b'{"error":{"code":"x","message":"y"}}')
    OPENAPI.check("GET", "/v1/campaigns/7?x=1", teapot)
    missing = Response(200, {"Content-Type": "application/json"}, b'{"id": 1}')
    OPENAPI.check("GET", "/v1/admin/products/3", missing)
    with OPENAPI.lock:
        found = OPENAPI.problems[start:]
        del OPENAPI.problems[start:]  # expected here: not this test's failure
    assert len(found) == 3, found
    assert "GET /healthz" in found[0] and "status" in found[0], found
    assert "418" in found[1] and "'/v1/campaigns/{id}'" in found[1], found
    assert "GET /v1/admin/products/{id}" in found[2] and "required" in found[2], found


# ---------------------------------------------------------------- clear failures

def run_bin(args, env=None, config=None, tmp_path=None):
    e = dict(os.environ)
    e.pop("GROUPBUYD_DATABASE_URL", None)
    e.update(env or {})
    argv = [BIN]
    if config is not None:
        path = os.path.join(str(tmp_path), "bad.conf")
        with open(path, "w") as f:
            f.write(config)
        argv += ["-c", path]
    return subprocess.run(argv + args, env=e, capture_output=True, text=True, cwd=ROOT,
                          timeout=30)


@pytest.mark.parametrize("url, problem", [
    ("host=/tmp dbname=x colour=blue", 'invalid connection option "colour"'),
    ("postgresql://u@localhost/x?colour=blue", 'invalid URI query parameter: "colour"'),
    ("host=/tmp port", 'missing "=" after "port"'),
])
@pytest.mark.parametrize("command", ["serve", "check-config"])
def test_unparseable_database_url_stops_with_one_line(url, problem, command):
    r = run_bin([command], env={"GROUPBUYD_DATABASE_URL": url})
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "GROUPBUYD_DATABASE_URL" in lines[0] and problem in lines[0], lines
    assert r.stdout == ""


@pytest.mark.parametrize("key, hint", [
    ("db_pol_size", 'did you mean "db_pool_size"?'),
    ("platfrom_token", 'did you mean "platform_token"?'),
    ("Listen", 'did you mean "listen"?'),
    ("colour_scheme", None),
])
def test_unknown_config_key_suggests_the_nearest(tmp_path, key, hint):
    r = run_bin(["check-config"], config="# comment\n%s = 3\n" % key, tmp_path=tmp_path)
    assert r.returncode == 2, r
    line = r.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert 'bad.conf:2: unknown key "%s"' % key in line, line
    if hint:
        assert line.endswith("(%s)" % hint), line
    else:
        assert "did you mean" not in line, line


@pytest.mark.expect_5xx(503)
def test_unreachable_database_warns_once_and_readyz_waits(make_server, cluster, dbname):
    """A database that does not exist yet: the server starts, warns once (not
    once per pooled connection), answers /readyz 503, and is ready as soon
    as the database answers."""
    missing = "late_%d_%d" % (os.getpid(), free_port())
    srv = make_server(dbname, url=cluster.url(missing), wait_ready=False,
                      config="db_pool_size = 4\ndb_reconnect_ms = 20\n")
    r = srv.get("/readyz")
    assert_error(r, 503, "unavailable")
    # many failed attempts on every connection (still one warning)
    wait_metrics(srv, lambda m: m["groupbuyd_db_reconnects_total"] >= 40,
                 "40 reconnection attempts")
    assert_error(srv.get("/readyz"), 503, "unavailable")
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE %s TEMPLATE gb_template" % missing)
    admin.close()
    try:
        deadline = time.time() + 20
        while srv.get("/readyz").status != 200:
            assert time.time() < deadline, srv.log_text()
            time.sleep(0.05)
        log = srv.log_text()
        warnings = [l for l in log.splitlines() if " warn " in l and "db:" in l]
        assert len(warnings) == 1, log
        assert "does not answer" in warnings[0] and "/readyz" in warnings[0], warnings
        assert "db: connected to " in log and "(read-write) after" in log, log
    finally:
        srv.stop()
        admin = cluster.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % missing)
        admin.close()


def test_disabled_platform_api_says_how_to_enable_it(make_server, dbname):
    srv = make_server(dbname, config=FAST_CONFIG)  # no GROUPBUYD_PLATFORM_TOKEN
    body = {"name": "x", "commission_bp": 100, "currency": "CNY",
            "owner": {"login": "o@example.com", "password": "long password"}}
    for token in (None, PLATFORM_TOKEN):
        err = assert_error(srv.post("/v1/platform/distributors", body, token=token),
                           401, "unauthenticated")
        assert "GROUPBUYD_PLATFORM_TOKEN" in err["message"], err
    login = new_phone()
    assert create_customer(srv, login).status == 201
    err = assert_error(srv.post("/v1/platform/distributors", body,
                                token=customer_token(srv, login)), 403, "forbidden")
    assert "GROUPBUYD_PLATFORM_TOKEN" in err["message"], err
    # other routes keep their own messages
    err = assert_error(srv.get("/v1/me"), 401, "unauthenticated")
    assert "GROUPBUYD_PLATFORM_TOKEN" not in err["message"]


def test_enabled_platform_api_keeps_its_messages(make_server, dbname):
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    err = assert_error(srv.post("/v1/platform/distributors", {}), 401, "unauthenticated")
    assert "GROUPBUYD_PLATFORM_TOKEN" not in err["message"]


@pytest.mark.expect_5xx(503)
def test_payment_webhook_without_secret_names_the_variable(server):
    r = server.request("POST", "/v1/payments/webhook", raw_body=b"{}",
                       headers={"Content-Type": "application/json", "X-Signature": "t=1,v1=00"})
    err = assert_error(r, 503, "unavailable")
    assert "GROUPBUYD_PAYMENT_WEBHOOK_SECRET" in err["message"], err

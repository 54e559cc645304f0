"""Shared helpers and fixtures for the identity and authorisation API tests.

Test modules do `from helpers import *`: pytest finds fixtures among a test
module's attributes, so the fixtures defined here (`app`, `shared`) become
usable there without touching conftest.py.

Servers started here carry the platform token and hash passwords with only
1000 PBKDF2 iterations, which keeps logins cheap.
"""
import datetime
import hashlib
import itertools
import os
import re
import secrets
import time
import types

import pytest

from conftest import Server

__all__ = [
    "PLATFORM_TOKEN", "APP_ENV", "FAST_CONFIG", "PASSWORD", "TOKEN_RE",
    "app", "shared", "start_module_server",
    "uniq", "new_email", "new_phone", "parse_time", "assert_time_near",
    "assert_error", "header", "json_post", "idem",
    "create_distributor", "new_tenant", "staff_login", "staff_token",
    "create_staff", "new_staff", "create_customer", "new_customer",
    "customer_login", "customer_token", "token_hash", "expire_session",
    "count_rows", "assert_staff_object", "assert_customer_object",
    "Tenant", "Person", "random_token", "metrics", "wait_metrics",
    "wait_scheduler_passes", "TableLock", "waiting_on_lock", "wait_for",
]

PLATFORM_TOKEN = "platform-test-token-9f3c2a7e5b1d4c8f"
APP_ENV = {"GROUPBUYD_PLATFORM_TOKEN": PLATFORM_TOKEN}
# Cheap hashes, and a per-address allowance no test from 127.0.0.1 reaches
# (test_identity.py checks the limit itself with its own configuration).
FAST_CONFIG = "password_iterations = 1000\nclient_auth_attempts_per_minute = 100000\n"
PASSWORD = "correct horse battery staple"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_RFC3339_UTC = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$")
_seq = itertools.count(1)


# ---------------------------------------------------------------- fixtures

@pytest.fixture
def app(make_server, dbname):
    """A fresh database and a server on it with the platform API enabled."""
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG)


def start_module_server(cluster, tmp_path_factory, config=FAST_CONFIG, env=APP_ENV):
    """Creates a database from the migrated template and starts a server on
    it; returns (server, db connection, database name). Meant for
    module-scoped fixtures shared by tests that only create uniquely named
    things."""
    name = "m%d_%d" % (os.getpid(), next(_seq))
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE %s TEMPLATE gb_template" % name)
    admin.close()
    srv = Server(tmp_path_factory.mktemp("shared"), cluster.url(name),
                 env=env, config=config, name="shared")
    srv.start()
    return srv, cluster.connect(name), name


def _stop_module_server(cluster, srv, conn, name):
    conn.close()
    rc = srv.stop()
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    admin.close()
    problems = []
    if rc != 0:
        problems.append("shared server exited %s:\n%s" % (rc, srv.log_text()[-6000:]))
    try:
        srv.check_clean()
    except AssertionError as e:
        problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems))


@pytest.fixture(scope="module")
def shared(cluster, tmp_path_factory):
    """One server and database for a whole module, for tests that need no
    isolation (validation of request bodies, unique logins). Its teardown
    holds it to the same standard as make_server: exit 0 on SIGTERM and no
    sanitizer report in its log."""
    srv, conn, name = start_module_server(cluster, tmp_path_factory)
    yield types.SimpleNamespace(srv=srv, db=conn)
    _stop_module_server(cluster, srv, conn, name)


# ---------------------------------------------------------------- values

def uniq(prefix="u"):
    return "%s%d" % (prefix, next(_seq))


def new_email(prefix="user"):
    return "%s.%d.%d@example.com" % (prefix, os.getpid() % 10000, next(_seq))


def new_phone():
    """A unique, valid mainland mobile number in its bare 11-digit form."""
    return "139%08d" % (next(_seq) * 7919 % 100000000)


def random_token():
    """43 characters of base64url: looks like a token, matches no session."""
    return secrets.token_urlsafe(32)


def parse_time(s):
    """Parses an RFC 3339 UTC time ending in Z; fails on anything else."""
    assert isinstance(s, str), s
    m = _RFC3339_UTC.match(s)
    assert m, "not an RFC 3339 UTC time: %r" % s
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    return t.replace(tzinfo=datetime.timezone.utc)


def assert_time_near(s, expected_epoch, slack=120):
    t = parse_time(s).timestamp()
    assert abs(t - expected_epoch) <= slack, (s, expected_epoch)


# ---------------------------------------------------------------- responses

def header(r, name):
    """Case-insensitive response header lookup (None when absent)."""
    for k, v in r.headers.items():
        if k.lower() == name.lower():
            return v
    return None


def assert_error(r, status, code, field=None):
    """The response is the error envelope with this status and code (and,
    when given, this field; a tuple allows any of several names)."""
    assert r.status == status, r
    err = r.json["error"]
    assert err["code"] == code, r
    assert isinstance(err.get("message"), str) and err["message"], r
    if field is not None:
        allowed = field if isinstance(field, tuple) else (field,)
        assert err.get("field") in allowed, r
    return err


def json_post(srv, path, raw, token=None, headers=None):
    """POSTs raw bytes labelled as JSON."""
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return srv.request("POST", path, raw_body=raw, token=token, headers=h)


def idem(key):
    return {"Idempotency-Key": key} if key is not None else None


# ---------------------------------------------------------------- objects

def assert_staff_object(obj, login=None, role=None, distributor_id=None, created_at=True):
    assert isinstance(obj["id"], int) and obj["id"] > 0, obj
    assert isinstance(obj["distributor_id"], int), obj
    assert obj["role"] in ("owner", "operator", "finance"), obj
    if login is not None:
        assert obj["login"] == login, obj
    if role is not None:
        assert obj["role"] == role, obj
    if distributor_id is not None:
        assert obj["distributor_id"] == distributor_id, obj
    if created_at:
        parse_time(obj["created_at"])
    assert not any("password" in k for k in obj), obj


def assert_customer_object(obj, login=None, display_name=None):
    assert isinstance(obj["id"], int) and obj["id"] > 0, obj
    if login is not None:
        assert obj["login"] == login, obj
    if display_name is not None:
        assert obj["display_name"] == display_name, obj
    parse_time(obj["created_at"])
    assert not any("password" in k for k in obj), obj


class Person:
    """Someone who can log in: login as sent, password, the object the
    server answered with at creation."""

    def __init__(self, login, password, obj):
        self.login = login
        self.password = password
        self.obj = obj

    @property
    def id(self):
        return self.obj["id"]


class Tenant:
    """A distributor with its owner logged in."""

    def __init__(self, distributor, owner, password, token):
        self.distributor = distributor
        self.owner = owner
        self.password = password
        self.token = token

    @property
    def id(self):
        return self.distributor["id"]


# ---------------------------------------------------------------- platform

def create_distributor(srv, owner_login=None, password=PASSWORD, name=None,
                       commission_bp=500, currency=None, key=None, token=PLATFORM_TOKEN):
    body = {"name": uniq("Distributor ") if name is None else name,
            "commission_bp": commission_bp,
            "owner": {"login": new_email("owner") if owner_login is None else owner_login,
                      "password": password}}
    if currency is not None:
        body["currency"] = currency
    return srv.post("/v1/platform/distributors", body, token=token, headers=idem(key))


def new_tenant(srv, owner_login=None, password=PASSWORD):
    r = create_distributor(srv, owner_login=owner_login, password=password)
    assert r.status == 201, r
    owner = r.json["owner"]
    token = staff_token(srv, owner["login"], password)
    return Tenant(r.json["distributor"], owner, password, token)


# ---------------------------------------------------------------- staff

def staff_login(srv, login, password):
    return srv.post("/v1/admin/sessions", {"login": login, "password": password})


def staff_token(srv, login, password=PASSWORD):
    r = staff_login(srv, login, password)
    assert r.status == 201, r
    return r.json["token"]


def create_staff(srv, owner_token, role="operator", login=None, password=PASSWORD, key=None):
    body = {"login": new_email(role) if login is None else login, "password": password,
            "role": role}
    return srv.post("/v1/admin/staff", body, token=owner_token, headers=idem(key))


def new_staff(srv, owner_token, role="operator", login=None, password=PASSWORD):
    r = create_staff(srv, owner_token, role=role, login=login, password=password)
    assert r.status == 201, r
    return Person(r.json["login"], password, r.json)


# ---------------------------------------------------------------- customers

def create_customer(srv, login=None, password=PASSWORD, display_name="Test Shopper", key=None):
    body = {"login": new_email("shopper") if login is None else login, "password": password,
            "display_name": display_name}
    return srv.post("/v1/customers", body, headers=idem(key))


def new_customer(srv, login=None, password=PASSWORD, display_name="Test Shopper"):
    r = create_customer(srv, login=login, password=password, display_name=display_name)
    assert r.status == 201, r
    return Person(r.json["login"], password, r.json)


def customer_login(srv, login, password):
    return srv.post("/v1/sessions", {"login": login, "password": password})


def customer_token(srv, login, password=PASSWORD):
    r = customer_login(srv, login, password)
    assert r.status == 201, r
    return r.json["token"]


# ---------------------------------------------------------------- database

def token_hash(token):
    return hashlib.sha256(token.encode()).digest()


def expire_session(db, token):
    """Moves one session's expiry into the past, as if a day had gone by."""
    with db.cursor() as cur:
        cur.execute("UPDATE sessions SET expires_at = now() - interval '1 second' "
                    "WHERE token_sha256 = %s", (token_hash(token),))
        assert cur.rowcount == 1, "no session row for that token"


def count_rows(db, table, where="true", params=()):
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM %s WHERE %s" % (table, where), params)
        return cur.fetchone()[0]


def metrics(srv):
    """/metrics as {'name{labels}': value} (the sample lines, as numbers)."""
    r = srv.get("/metrics")
    assert r.status == 200, r
    out = {}
    for line in r.body.decode().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def wait_for(what, pred, timeout=15.0, step=0.05):
    """Polls pred until it returns something truthy, and returns that;
    fails the test naming `what` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def wait_metrics(srv, pred, what, timeout=30.0):
    """Polls /metrics until pred(metrics) holds; returns those metrics."""
    deadline = time.time() + timeout
    while True:
        m = metrics(srv)
        if pred(m):
            return m
        if time.time() > deadline:
            raise AssertionError("timed out waiting for %s; /metrics: %s" % (
                what, {k: v for k, v in m.items() if "join" in k or "pool" in k}))
        time.sleep(0.01)


def wait_scheduler_passes(srv, n=2, timeout=30.0):
    """Waits until srv's scheduler has begun n more passes than now: the
    one after the pass in progress has run whole."""
    start = metrics(srv)["groupbuyd_scheduler_passes_total"]
    wait_metrics(srv, lambda m: m["groupbuyd_scheduler_passes_total"] >= start + n,
                 "%d scheduler passes" % n, timeout)


def statement_executions(srv, statement):
    """How many times srv executed the prepared statement named statement
    (groupbuyd_db_statements_total in /metrics; 0 before its first use)."""
    r = srv.get("/metrics")
    assert r.status == 200, r
    key = 'groupbuyd_db_statements_total{statement="%s"} ' % statement
    for line in r.body.decode().splitlines():
        if line.startswith(key):
            return int(line[len(key):])
    return 0


class TableLock:
    """A table locked ACCESS EXCLUSIVE by a transaction of the test: every
    statement reading it waits until release()."""

    def __init__(self, cluster, dbname, table):
        self.conn = cluster.connect(dbname)
        self.conn.autocommit = False
        with self.conn.cursor() as cur:
            cur.execute("LOCK TABLE %s IN ACCESS EXCLUSIVE MODE" % table)

    def release(self):
        self.conn.rollback()
        self.conn.close()


def waiting_on_lock(db, text):
    """How many backends wait on a lock in a statement containing text."""
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND query LIKE %s", ("%" + text + "%",))
        return cur.fetchone()[0]

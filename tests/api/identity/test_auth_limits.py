"""What an anonymous client can make the server spend on passwords, and
what one distributor can learn about another's staff, tested from
outside over HTTP.

- the per-login throttle (10 failures a minute) holds for concurrent
  attempts, and a success does not wipe the failures of other attempts;
- password jobs wait in a short queue (4 per worker by default), beyond
  which 503 with Retry-After;
- logins and registrations take from a per-client allowance (config
  client_auth_attempts_per_minute), 429 with Retry-After beyond it; the
  client is the socket peer unless it is a configured trusted proxy;
- an owner asking for a staff login held by another distributor's staff
  gets the same answer as for a free one, and the real holder is untouched.
"""
import threading

import pytest

from helpers import *  # noqa: F401,F403

SESSIONS = "/v1/sessions"


def _burst(n, fn):
    """Runs fn(i) for i in 0..n-1 on n threads released together."""
    results = [None] * n
    gate = threading.Barrier(n)

    def run(i):
        gate.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _assert_429(r):
    assert_error(r, 429, "rate_limited")
    ra = header(r, "Retry-After")
    assert ra is not None and ra.isdigit() and 1 <= int(ra) <= 60, r.headers


# ---------------------------------------------------------------- item 2

def test_concurrent_wrong_passwords_are_counted_before_hashing(make_server, dbname):
    """40 wrong passwords for one login at once: at most 10 are checked
    (401), every other one is 429 before any hashing. Hashes of ~10 ms keep
    the attempts overlapping; the queue is long enough that none is 503."""
    srv = make_server(dbname, env=APP_ENV,
                      config=FAST_CONFIG + "password_iterations = 20000\nworker_queue_max = 64\n")
    c = new_customer(srv)
    rs = _burst(40, lambda i: customer_login(srv, c.login, "wrong-%d-password" % i))
    statuses = [r.status for r in rs]
    assert statuses.count(401) <= 10, statuses
    assert statuses.count(401) + statuses.count(429) == 40, statuses
    for r in rs:
        if r.status == 429:
            _assert_429(r)
    _assert_429(customer_login(srv, c.login, PASSWORD))


def test_a_success_does_not_wipe_other_failures(app):
    """5 failures, the right password, 5 more failures: the 10 failures of
    the minute still count, so the next attempt is 429 even with the right
    password (before, the success cleared the count)."""
    c = new_customer(app)
    for i in range(5):
        assert_error(customer_login(app, c.login, "wrong-%d-password" % i), 401, "unauthenticated")
    assert customer_login(app, c.login, PASSWORD).status == 201
    for i in range(5):
        assert_error(customer_login(app, c.login, "again-%d-password" % i), 401, "unauthenticated")
    _assert_429(customer_login(app, c.login, PASSWORD))


def test_staff_success_keeps_other_failures_too(app):
    t = new_tenant(app)
    op = new_staff(app, t.token, "operator")
    for i in range(9):
        assert_error(staff_login(app, op.login, "wrong-%d-password" % i), 401, "unauthenticated")
    assert staff_login(app, op.login, PASSWORD).status == 201
    assert_error(staff_login(app, op.login, "wrong-x-password"), 401, "unauthenticated")
    _assert_429(staff_login(app, op.login, PASSWORD))


# ---------------------------------------------------------------- item 3

@pytest.mark.expect_5xx(503)
def test_password_queue_is_short_by_default(make_server, dbname):
    """One worker and the default queue (4 a worker): of 16 logins at once
    for unknown addresses, most are refused at once with 503 and
    Retry-After instead of waiting behind the others."""
    srv = make_server(dbname, env=APP_ENV,
                      config="password_iterations = 300000\nworker_threads = 1\n")
    # the five let in hash one after another on one worker: on a loaded
    # machine that is slow, so the client waits longer than its default
    rs = _burst(16, lambda i: srv.post("/v1/sessions", {"login": new_email("flood"),
                                                        "password": "some password"},
                                       timeout=120))
    statuses = [r.status for r in rs]
    assert statuses.count(401) + statuses.count(503) == 16, statuses
    assert statuses.count(401) <= 5 + 2, statuses  # running + 4 waiting, and slack
    refused = [r for r in rs if r.status == 503]
    assert refused, statuses
    for r in refused:
        assert_error(r, 503, "unavailable")
        assert header(r, "Retry-After") == "1", r.headers


def test_one_client_has_a_per_minute_allowance(make_server, dbname, db):
    """With 5 attempts a minute per client, the 6th login or registration
    from the same address is 429 with Retry-After, changes nothing and is
    not hashed (no login slot is taken)."""
    srv = make_server(dbname, env=APP_ENV,
                      config="password_iterations = 1000\nclient_auth_attempts_per_minute = 5\n")
    c = new_customer(srv)  # 1
    assert customer_login(srv, c.login, PASSWORD).status == 201  # 2
    for i in range(3):  # 3..5
        assert_error(customer_login(srv, new_email("probe"), "wrong password"), 401, "unauthenticated")
    before = count_rows(db, "login_failures")
    _assert_429(customer_login(srv, c.login, PASSWORD))
    _assert_429(staff_login(srv, new_email("probe"), "wrong password"))
    customers = count_rows(db, "customers")
    _assert_429(create_customer(srv, login=new_email("late")))
    assert count_rows(db, "customers") == customers
    assert count_rows(db, "login_failures") == before


def test_forwarded_for_counts_only_from_trusted_proxies(make_server, dbname):
    """Without trusted proxies X-Forwarded-For is ignored (a client cannot
    pose as many); with 127.0.0.1 trusted, each forwarded address has its
    own allowance."""
    conf = "password_iterations = 1000\nclient_auth_attempts_per_minute = 2\n"
    direct = make_server(dbname, env=APP_ENV, config=conf)
    behind = make_server(dbname, env=APP_ENV,
                         config=conf + "http_trusted_proxies = 10.0.0.0/8, 127.0.0.1\n")

    def login(srv, xff):
        return srv.post(SESSIONS, {"login": new_email("x"), "password": "wrong password"},
                        headers={"X-Forwarded-For": xff})

    for srv, spoofs_help in ((direct, False), (behind, True)):
        assert login(srv, "198.51.100.1").status == 401
        assert login(srv, "198.51.100.1").status == 401
        _assert_429(login(srv, "198.51.100.1"))
        r = login(srv, "198.51.100.2")
        if spoofs_help:
            assert r.status == 401, r
        else:
            _assert_429(r)
    # behind the proxy, a client cannot escape by prepending addresses
    _assert_429(login(behind, "203.0.113.5, 198.51.100.1"))


def test_trusted_proxies_are_checked_at_start(make_server, dbname):
    """A valid list is taken and shown by check-config; a malformed one
    stops the start naming the key."""
    import subprocess

    def check(value):
        srv = make_server(dbname, config="http_trusted_proxies = %s\n" % value, start=False)
        return subprocess.run(srv.args[:-1] + ["check-config"], env=srv.env,
                              capture_output=True, text=True)

    ok = check("10.0.0.0/8, ::1")
    assert ok.returncode == 0, ok.stderr
    assert "http_trusted_proxies = 10.0.0.0/8, ::1" in ok.stdout
    for bad in ("10.0.0.0/40", "proxy.example.com", "10.0.0.1,"):
        p = check(bad)
        assert p.returncode != 0, bad
        assert "bad value for \"http_trusted_proxies\"" in p.stderr + p.stdout, p.stderr


# ---------------------------------------------------------------- item 10

def test_staff_login_held_elsewhere_answers_like_a_free_one(app, db):
    """Owner B asks for a login held by distributor A's operator: the
    answer has the same shape and status as for a free login; B's new row
    never logs in (not even with B's password); A's operator logs in as
    before, to A; B's audit log records the creation like any other."""
    a, b = new_tenant(app), new_tenant(app)
    held = new_staff(app, a.token, "operator")
    free = create_staff(app, b.token, "finance", login=new_email("free"))
    taken = create_staff(app, b.token, "finance", login="  " + held.login.upper(),
                         password="b's own password")
    assert free.status == taken.status == 201, (free, taken)
    assert sorted(free.json) == sorted(taken.json)
    assert_staff_object(taken.json, login=held.login, role="finance",
                        distributor_id=b.id)
    got = app.get("/v1/admin/staff/%d" % taken.json["id"], token=b.token)
    assert got.status == 200 and got.json["login"] == held.login
    # the holder is untouched; B's row cannot log in
    assert_error(staff_login(app, held.login, "b's own password"), 401, "unauthenticated")
    s = staff_login(app, held.login, PASSWORD)
    assert s.status == 201 and s.json["staff"]["distributor_id"] == a.id
    assert s.json["staff"]["id"] == held.obj["id"]
    audit = app.get("/v1/admin/audit-log", token=b.token).json["items"]
    assert [e["entity_id"] for e in audit if e["entity"] == "staff"][-2:] == \
        [free.json["id"], taken.json["id"]]
    # the second time, it is B's own login: 409, like any own duplicate
    assert_error(create_staff(app, b.token, "operator", login=held.login), 409, "duplicate")


def test_staff_login_held_elsewhere_is_not_told_by_idempotent_replay(app):
    """Replaying the creation returns the first answer, as for a free login."""
    a, b = new_tenant(app), new_tenant(app)
    held = new_staff(app, a.token, "operator")
    first = create_staff(app, b.token, "operator", login=held.login, key="k-elsewhere")
    again = create_staff(app, b.token, "operator", login=held.login, key="k-elsewhere")
    assert first.status == again.status == 201
    assert first.json == again.json

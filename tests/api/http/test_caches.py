"""The in-memory caches: sessions (auth.c) and public campaign
views (api/shop/catalog.c).

Sessions: served from memory for at most session_cache_ttl_ms and never
past expires_at; a logout in the same process is honoured at once, one in
another process (or a change in the database) within the TTL; unknown
tokens are not cached; a cached principal is exactly the token's own.

Campaign views: GET /v1/campaigns/{id} is served from memory for at most
campaign_view_cache_ms; a write through the same process drops the entry at
once; with 0 the view is read from the database every time.

Where a test shows that a cache is on (a change made straight in the
database not yet visible), it uses a long TTL so that the assertion does
not race the clock; bounds are checked by sleeping a little past the TTL.
"""
import secrets
import time

import pytest

from helpers import *  # noqa: F401,F403
from helpers import (token_hash, expire_session, FAST_CONFIG, APP_ENV, statement_executions,
                     TableLock, waiting_on_lock,
                     wait_metrics)
from join_helpers import make_campaign, db_customers, join

LONG = 60000  # ms: long enough that nothing expires during a test


def cfg(session_ms=None, view_ms=None):
    text = FAST_CONFIG
    if session_ms is not None:
        text += "session_cache_ttl_ms = %d\n" % session_ms
    if view_ms is not None:
        text += "campaign_view_cache_ms = %d\n" % view_ms
    return text


def me(srv, token):
    return srv.get("/v1/me", token=token)


def revoke_in_db(db, token):
    with db.cursor() as cur:
        cur.execute("UPDATE sessions SET revoked_at = now() WHERE token_sha256 = %s",
                    (token_hash(token),))
        assert cur.rowcount == 1


# ------------------------------------------------------------- sessions

def test_session_cache_is_on_and_bounded_by_ttl(make_server, dbname, db):
    """A revocation made in the database (as another process's logout) is
    not seen while the entry lives (the cache is really used), and is
    honoured once the TTL has passed."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=1500))
    p = new_customer(srv)
    tok = customer_token(srv, p.login)
    assert me(srv, tok).status == 200
    revoke_in_db(db, tok)
    assert me(srv, tok).status == 200  # served from memory
    time.sleep(1.7)  # past the TTL: the bound under test is a time
    assert_error(me(srv, tok), 401, "unauthenticated")


def test_logout_revokes_at_once_in_the_same_process(make_server, dbname):
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=LONG))
    t = new_tenant(srv)
    p = new_customer(srv)
    ctok = customer_token(srv, p.login)
    for tok in (ctok, t.token):
        assert me(srv, tok).status == 200
        assert me(srv, tok).status == 200  # now cached
        r = srv.request("DELETE", "/v1/sessions/current", token=tok)
        assert r.status == 204, r
        assert_error(me(srv, tok), 401, "unauthenticated")
        assert_error(srv.get("/v1/me/participations", token=tok), 401,
                     "unauthenticated")


def test_logout_in_another_process_within_ttl(make_server, dbname):
    ttl = 300
    a = make_server(dbname, env=APP_ENV, config=cfg(session_ms=ttl))
    b = make_server(dbname, env=APP_ENV, config=cfg(session_ms=ttl))
    p = new_customer(a)
    tok = customer_token(a, p.login)
    assert me(b, tok).status == 200  # B caches it
    assert me(a, tok).status == 200
    r = a.request("DELETE", "/v1/sessions/current", token=tok)
    assert r.status == 204, r
    assert_error(me(a, tok), 401, "unauthenticated")
    time.sleep(ttl / 1000.0 + 0.1)  # past the TTL: the bound under test is a time
    assert_error(me(b, tok), 401, "unauthenticated")


def test_expired_session_refused_within_ttl(make_server, dbname, db):
    ttl = 300
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=ttl))
    t = new_tenant(srv)
    assert me(srv, t.token).status == 200
    expire_session(db, t.token)
    time.sleep(ttl / 1000.0 + 0.1)  # past the TTL: the bound under test is a time
    assert_error(me(srv, t.token), 401, "unauthenticated")


def test_cached_session_never_outlives_expires_at(make_server, dbname, db):
    """With a long TTL, an entry still ends at the session's expires_at."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=LONG))
    p = new_customer(srv)
    tok = customer_token(srv, p.login)
    with db.cursor() as cur:
        cur.execute("UPDATE sessions SET expires_at = now() + interval '1.5 seconds'"
                    " WHERE token_sha256 = %s", (token_hash(tok),))
    assert me(srv, tok).status == 200  # cached, until expires_at
    assert me(srv, tok).status == 200
    time.sleep(1.7)  # past expires_at: the bound under test is a time
    assert_error(me(srv, tok), 401, "unauthenticated")


def test_unknown_tokens_are_not_cached(make_server, dbname, db):
    """A token refused once is accepted as soon as its session exists: the
    refusal was not remembered (and a flood of random tokens costs no
    memory)."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=LONG))
    for _ in range(50):
        assert_error(me(srv, secrets.token_urlsafe(32)), 401, "unauthenticated")
    shopper = db_customers(db, 1)[0]
    with db.cursor() as cur:
        cur.execute("UPDATE sessions SET revoked_at = now() WHERE token_sha256 = %s",
                    (token_hash(shopper.token),))
    assert_error(me(srv, shopper.token), 401, "unauthenticated")
    with db.cursor() as cur:
        cur.execute("UPDATE sessions SET revoked_at = NULL WHERE token_sha256 = %s",
                    (token_hash(shopper.token),))
    r = me(srv, shopper.token)
    assert r.status == 200, r
    assert r.json["id"] == shopper.id


def test_cache_keeps_principals_apart(make_server, dbname):
    """Cached sessions of two tenants' staff and of customers each answer
    as their own principal, with their own tenant's data only."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=LONG))
    t1, t2 = new_tenant(srv), new_tenant(srv)
    op2 = new_staff(srv, t2.token, role="operator")
    op2_tok = staff_token(srv, op2.login)
    c1, c2 = new_customer(srv), new_customer(srv)
    ctok1, ctok2 = customer_token(srv, c1.login), customer_token(srv, c2.login)
    expect = [(t1.token, t1.owner["id"], t1.id, "owner"),
              (t2.token, t2.owner["id"], t2.id, "owner"),
              (op2_tok, op2.id, t2.id, "operator")]
    for _ in range(3):  # first pass fills the cache, then hits
        for tok, sid, did, role in expect:
            r = me(srv, tok)
            assert r.status == 200, r
            assert (r.json["id"], r.json["distributor_id"], r.json["role"]) == \
                (sid, did, role)
            if role == "owner":
                staff = srv.get("/v1/admin/staff", token=tok)
                assert staff.status == 200, staff
                assert {s["distributor_id"] for s in staff.json["items"]} == {did}
            else:
                assert_error(srv.get("/v1/admin/staff", token=tok), 403, "forbidden")
        for tok, c in ((ctok1, c1), (ctok2, c2)):
            r = me(srv, tok)
            assert r.status == 200, r
            assert r.json["id"] == c.id and r.json["login"] == c.login
            # a customer's cached session is no staff session
            assert_error(srv.get("/v1/admin/staff", token=tok), 403, "forbidden")


# ------------------------------------------------------------- campaign views

def view(srv, cid):
    r = srv.get("/v1/campaigns/%d" % cid)
    assert r.status == 200, r
    return r.json


def set_description_in_db(db, cid, text):
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET description = %s WHERE id = %s", (text, cid))


def test_view_cache_is_on_and_bounded(make_server, dbname, db):
    """A change made behind the process's back (another process) shows
    once the bound has passed, and not before (the cache is used)."""
    ttl = 1500
    srv = make_server(dbname, env=APP_ENV, config=cfg(view_ms=ttl))
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    view(srv, cid)
    set_description_in_db(db, cid, "changed in the database")
    assert view(srv, cid)["description"] != "changed in the database"
    time.sleep(ttl / 1000.0 + 0.2)  # past the bound: the bound under test is a time
    assert view(srv, cid)["description"] == "changed in the database"


def test_view_reflects_a_join_within_the_bound(make_server, dbname, db):
    ttl = 300
    a = make_server(dbname, env=APP_ENV, config=cfg(view_ms=ttl))
    b = make_server(dbname, env=APP_ENV, config=cfg(view_ms=ttl))
    t = new_tenant(a)
    cid = make_campaign(a, db, t)
    s1, s2 = db_customers(db, 2)
    assert view(a, cid)["progress"]["participants"] == 0
    assert view(b, cid)["progress"]["participants"] == 0
    r = join(a, s1.token, cid, 2)
    assert r.status == 201, r
    # the same process: at once
    assert (view(a, cid)["progress"]["participants"],
            view(a, cid)["progress"]["quantity"]) == (1, 2)
    # another process: within the bound (a time: the bound under test)
    time.sleep(ttl / 1000.0 + 0.1)
    assert view(b, cid)["progress"]["participants"] == 1
    # a join through B shows at once in B, within the bound in A
    view(a, cid)
    r = join(b, s2.token, cid, 1)
    assert r.status == 201, r
    assert view(b, cid)["progress"]["quantity"] == 3
    time.sleep(ttl / 1000.0 + 0.1)  # past the bound, as above
    assert view(a, cid)["progress"]["quantity"] == 3


def test_patch_description_visible_at_once(make_server, dbname, db):
    srv = make_server(dbname, env=APP_ENV, config=cfg(view_ms=10000))
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    before = view(srv, cid)
    assert view(srv, cid) == before
    r = srv.request("PATCH", "/v1/admin/campaigns/%d" % cid,
                    body={"description": "fresh words"}, token=t.token)
    assert r.status == 200, r
    assert view(srv, cid)["description"] == "fresh words"
    r = srv.post("/v1/admin/campaigns/%d/cancel" % cid, token=t.token,
                 headers={"Idempotency-Key": uniq("k")})
    assert r.status == 200, r
    assert_error(srv.get("/v1/campaigns/%d" % cid), 404, "not_found")


def test_view_cache_off_reads_every_time(make_server, dbname, db):
    srv = make_server(dbname, env=APP_ENV, config=cfg(view_ms=0))
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    view(srv, cid)
    set_description_in_db(db, cid, "straight from the database")
    assert view(srv, cid)["description"] == "straight from the database"
    s = db_customers(db, 1)[0]
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'cancelled' WHERE id = %s", (cid,))
    assert_error(srv.get("/v1/campaigns/%d" % cid), 404, "not_found")
    assert s.id > 0


def test_session_cache_off_reads_every_time(make_server, dbname, db):
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=0))
    p = new_customer(srv)
    tok = customer_token(srv, p.login)
    assert me(srv, tok).status == 200
    revoke_in_db(db, tok)
    assert_error(me(srv, tok), 401, "unauthenticated")


# ------------------------------------------------------------- coalescing

def in_parallel(fns):
    import threading
    out = [None] * len(fns)

    def run(i):
        out[i] = fns[i]()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in ts:
        t.start()
    return ts, out


def settle(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_session_lookups_that_queue_go_in_one_statement(make_server, dbname, db, cluster):
    """Tokens looked up while a lookup is in flight wait and then go
    together: 30 new clients cost 2 statements, not 30, and each request
    still gets its own principal (or 401 for a bad token)."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(session_ms=0))
    shoppers = db_customers(db, 30)
    me(srv, shoppers[0].token)  # prepared, warm
    before = statement_executions(srv, "auth_sessions")
    lock = TableLock(cluster, dbname, "sessions")
    first, out_first = in_parallel([lambda: me(srv, shoppers[0].token)])
    settle(lambda: waiting_on_lock(db, "gb_sessions_lookup") >= 1)
    rest = shoppers[1:]
    fns = [lambda s=s: me(srv, s.token) for s in rest]
    fns.append(lambda: me(srv, secrets.token_urlsafe(32)))  # unknown token
    ts, out = in_parallel(fns)
    wait_metrics(srv, lambda m: m["groupbuyd_auth_lookups_queued"] == len(fns),
                 "all queued behind the one in flight")
    lock.release()
    for t in first + ts:
        t.join(30)
    for s, r in zip(shoppers[:1] + rest, out_first + out[:-1]):
        assert r.status == 200, r
        assert r.json["id"] == s.id
    assert_error(out[-1], 401, "unauthenticated")
    n = statement_executions(srv, "auth_sessions") - before
    assert n == 2, n


def test_viewers_without_an_entry_share_one_query(make_server, dbname, db, cluster):
    """Requests for a view with no entry, while a query for it is in
    flight, wait for that query's answer instead of sending their own."""
    srv = make_server(dbname, env=APP_ENV, config=cfg(view_ms=10000))
    t = new_tenant(srv)
    cid = make_campaign(srv, db, t)
    other = make_campaign(srv, db, t)
    view(srv, other)  # prepared, warm
    before = statement_executions(srv, "campaign_public_get")
    lock = TableLock(cluster, dbname, "campaigns")
    first, out_first = in_parallel([lambda: srv.get("/v1/campaigns/%d" % cid)])
    settle(lambda: waiting_on_lock(db, "FROM campaigns") >= 1)
    ts, out = in_parallel([lambda: srv.get("/v1/campaigns/%d" % cid) for _ in range(20)])
    wait_metrics(srv, lambda m: m["groupbuyd_view_waiting"] == 20,
                 "20 requests waiting for the query in flight")
    lock.release()
    for th in first + ts:
        th.join(30)
    bodies = {r.body for r in out_first + out}
    assert all(r.status == 200 for r in out_first + out), out
    assert len(bodies) == 1
    assert statement_executions(srv, "campaign_public_get") - before == 1

"""Authorisation matrix: every admin and platform route that exists, called
by every kind of caller, answers the status in TABLE below.

One server and one world serve the whole module: distributor A (owner,
operator, finance), distributor B (its owner: "other_owner") and one
customer. Each test logs its caller in afresh, so a logout or an expired
session in one test cannot change another; refused writes are checked to
have created nothing.
"""
import pytest

from helpers import *  # noqa: F401,F403  (fixtures and helpers)

# Who calls:
#   none         no Authorization header
#   bad          a random 43-character base64url string
#   expired      A's owner with a session past its expires_at
#   revoked      A's owner with a session ended by DELETE /v1/sessions/current
#   customer     a customer session
#   owner        A's owner
#   operator     A's operator
#   finance      A's finance member
#   other_owner  B's owner
#   platform     the platform token
CALLERS = ("none", "bad", "expired", "revoked", "customer",
           "owner", "operator", "finance", "other_owner", "platform")

# (401, 403): API.md is silent on the platform token where a person's
# session is asked for; either refusal is fine, success is not.
EITHER = (401, 403)

TABLE = [
    # method    route                         none bad  expired revoked customer owner operator finance other_owner platform
    ("POST",   "/v1/platform/distributors", (401, 401, 401, 401, 403, 403, 403, 403, 403, 201)),
    ("POST",   "/v1/admin/staff",           (401, 401, 401, 401, 403, 201, 403, 403, 201, 403)),
    ("GET",    "/v1/admin/staff",           (401, 401, 401, 401, 403, 200, 403, 403, 200, 403)),
    ("GET",    "/v1/admin/staff/{id}",      (401, 401, 401, 401, 403, 200, 403, 403, 404, 403)),
    ("GET",    "/v1/admin/audit-log",       (401, 401, 401, 401, 403, 200, 403, 403, 200, 403)),
    ("GET",    "/v1/me",                    (401, 401, 401, 401, 200, 200, 200, 200, 200, EITHER)),
    ("DELETE", "/v1/sessions/current",      (401, 401, 401, 401, 204, 204, 204, 204, 204, EITHER)),
]

CASES = [(method, route, caller, statuses[i])
         for method, route, statuses in TABLE
         for i, caller in enumerate(CALLERS)]

CODES = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}


class World:
    pass


@pytest.fixture(scope="module")
def world(shared):
    """Distributor A with owner, operator and finance; distributor B with
    its owner; one customer. Logins only, so tests log in afresh."""
    srv = shared.srv
    w = World()
    w.srv, w.db = srv, shared.db
    w.a = new_tenant(srv)
    w.b = new_tenant(srv)
    w.operator = new_staff(srv, w.a.token, "operator")
    w.finance = new_staff(srv, w.a.token, "finance")
    w.customer = new_customer(srv)
    return w


def credentials(w, caller):
    """(token or None, the id /v1/me should show or None) for a caller,
    with a session made just now."""
    srv = w.srv
    if caller == "none":
        return None, None
    if caller == "bad":
        return random_token(), None
    if caller == "platform":
        return PLATFORM_TOKEN, None
    if caller == "customer":
        return customer_token(srv, w.customer.login), w.customer.id
    if caller in ("expired", "revoked"):
        tok = staff_token(srv, w.a.owner["login"])
        if caller == "expired":
            expire_session(w.db, tok)
        else:
            r = srv.request("DELETE", "/v1/sessions/current", token=tok)
            assert r.status == 204, r
        return tok, None
    person = {"owner": (w.a.owner["login"], w.a.owner["id"]),
              "operator": (w.operator.login, w.operator.id),
              "finance": (w.finance.login, w.finance.id),
              "other_owner": (w.b.owner["login"], w.b.owner["id"])}[caller]
    return staff_token(srv, person[0]), person[1]


def request_for(w, method, route):
    """The concrete request for a route: path, body, and the staff login
    the body would create (for the nothing-was-created check)."""
    if route == "/v1/platform/distributors":
        login = new_email("authz-owner")
        return route, {"name": uniq("AuthZ "), "commission_bp": 300,
                       "owner": {"login": login, "password": PASSWORD}}, login
    if route == "/v1/admin/staff" and method == "POST":
        login = new_email("authz-staff")
        return route, {"login": login, "password": PASSWORD, "role": "operator"}, login
    if route == "/v1/admin/staff/{id}":
        return "/v1/admin/staff/%d" % w.operator.id, None, None
    return route, None, None


@pytest.mark.parametrize("method,route,caller,expected", CASES,
                         ids=["%s %s as %s" % (m, r, c) for m, r, c, _ in CASES])
def test_authorisation_matrix(world, method, route, caller, expected):
    """One cell of TABLE: this caller on this route gets this status (and
    the matching error code); refusals change nothing, successes answer
    the caller's own data."""
    w = world
    token, my_id = credentials(w, caller)
    path, body, login = request_for(w, method, route)
    r = w.srv.request(method, path, body=body, token=token)
    allowed = expected if isinstance(expected, tuple) else (expected,)
    assert r.status in allowed, "%s %s as %s: expected %s, got %r" % (
        method, path, caller, expected, r)

    if r.status >= 400:
        assert_error(r, r.status, CODES[r.status])
        if login is not None:
            assert count_rows(w.db, "staff", "login = %s", (login,)) == 0, \
                "a refused %s %s created %s" % (method, route, login)
        return

    # successes: the answer belongs to the caller's own distributor / self
    mine = w.b if caller == "other_owner" else w.a
    if method == "POST" and route == "/v1/admin/staff":
        assert r.json["login"] == login and r.json["distributor_id"] == mine.id
    elif route == "/v1/platform/distributors":
        assert r.json["owner"]["login"] == login
        assert count_rows(w.db, "staff", "login = %s", (login,)) == 1
    elif route == "/v1/admin/staff":
        items = r.json["items"]
        assert items and all(s["distributor_id"] == mine.id for s in items), items
    elif route == "/v1/admin/staff/{id}":
        assert r.json["id"] == w.operator.id and r.json["distributor_id"] == w.a.id
    elif route == "/v1/admin/audit-log":
        ids = [e["id"] for e in r.json["items"]]
        with w.db.cursor() as cur:
            cur.execute("SELECT id FROM audit_log WHERE distributor_id IS DISTINCT FROM %s",
                        (mine.id,))
            foreign = {row[0] for row in cur.fetchall()}
        assert not set(ids) & foreign
    elif route == "/v1/me":
        assert r.json["id"] == my_id
        if caller == "customer":
            assert r.json["login"] == w.customer.login and "display_name" in r.json
        else:
            assert r.json["distributor_id"] == mine.id and "role" in r.json
    elif route == "/v1/sessions/current":
        assert r.body == b""
        assert_error(w.srv.get("/v1/me", token=token), 401, "unauthenticated")

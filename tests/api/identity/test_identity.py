"""Identity: distributors, staff, customers, sessions, login throttling,
idempotent creation and tenant isolation, tested from outside over HTTP.

Most tests get a fresh database and server (`app`, `db`); tests that only
check how one request body is judged share one server per module (`shared`)
and use unique logins. Decisions where API.md is silent are marked
"(decision)" in the docstrings.
"""
import hashlib
import json
import statistics
import threading
import time

import psycopg2
import pytest

from helpers import *  # noqa: F401,F403  (fixtures app, shared and the helpers)
from sql_helpers import sql_campaign, sql_customer, sql_one, sql_product, sql_tenant

CUSTOMERS = "/v1/customers"
SESSIONS = "/v1/sessions"
ADMIN_SESSIONS = "/v1/admin/sessions"
STAFF = "/v1/admin/staff"
AUDIT = "/v1/admin/audit-log"
DISTRIBUTORS = "/v1/platform/distributors"
ME = "/v1/me"
CURRENT = "/v1/sessions/current"


# ======================================================================
# Platform: creating distributors
# ======================================================================

def test_create_distributor_answers_distributor_and_owner(app, db):
    """The platform token creates a distributor and its owner in one call;
    the answer has the documented shape, currency defaults to CNY, and both
    rows exist."""
    login = new_email("boss")
    before = time.time()
    r = app.post(DISTRIBUTORS, {"name": "华东团购", "commission_bp": 750,
                                "owner": {"login": login, "password": PASSWORD}},
                 token=PLATFORM_TOKEN)
    assert r.status == 201, r
    d, o = r.json["distributor"], r.json["owner"]
    assert isinstance(d["id"], int) and d["id"] > 0
    assert d["name"] == "华东团购"
    assert d["commission_bp"] == 750
    assert d["currency"] == "CNY"
    assert_time_near(d["created_at"], before)
    assert isinstance(o["id"], int) and o["id"] > 0
    assert o["login"] == login and o["role"] == "owner" and o["distributor_id"] == d["id"]
    assert not any("password" in k for k in o)
    assert count_rows(db, "distributors", "id = %s AND commission_bp = 750", (d["id"],)) == 1
    assert count_rows(db, "staff", "id = %s AND role = 'owner' AND distributor_id = %s",
                      (o["id"], d["id"])) == 1


@pytest.mark.parametrize("commission_bp,currency,expected_currency", [
    (0, None, "CNY"),
    (10000, "USD", "USD"),
    (1, "HKD", "HKD"),
])
def test_create_distributor_accepts_edges_and_currency(shared, commission_bp, currency,
                                                       expected_currency):
    """commission_bp 0 and 10000 are in range; an explicit three-letter
    upper-case currency is kept."""
    r = create_distributor(shared.srv, commission_bp=commission_bp, currency=currency)
    assert r.status == 201, r
    assert r.json["distributor"]["commission_bp"] == commission_bp
    assert r.json["distributor"]["currency"] == expected_currency


def _dist_body(**over):
    body = {"name": "Valid Name", "commission_bp": 500, "currency": "CNY",
            "owner": {"login": new_email("owner"), "password": PASSWORD}}
    for k, v in over.items():
        if v is _DROP:
            del body[k]
        else:
            body[k] = v
    return body


_DROP = object()
# nested fields may be reported as "owner.login" or just "login"
BAD_DISTRIBUTOR_BODIES = [
    ("commission_bp -1", dict(commission_bp=-1), "commission_bp"),
    ("commission_bp 10001", dict(commission_bp=10001), "commission_bp"),
    ("commission_bp string", dict(commission_bp="500"), "commission_bp"),
    ("commission_bp fraction", dict(commission_bp=1.5), "commission_bp"),
    ("commission_bp bool", dict(commission_bp=True), "commission_bp"),
    ("commission_bp missing", dict(commission_bp=_DROP), "commission_bp"),
    ("currency lower-case", dict(currency="cny"), "currency"),
    ("currency two letters", dict(currency="CN"), "currency"),
    ("currency four letters", dict(currency="CNYY"), "currency"),
    ("currency number", dict(currency=156), "currency"),
    ("name empty", dict(name=""), "name"),
    ("name 129 characters", dict(name="n" * 129), "name"),
    ("name number", dict(name=5), "name"),
    ("name missing", dict(name=_DROP), "name"),
    ("owner missing", dict(owner=_DROP), "owner"),
    ("owner a string", dict(owner="boss@example.com"), "owner"),
    ("unknown top-level field", dict(vip=True), "vip"),
    ("owner login not a login", dict(owner={"login": "boss", "password": PASSWORD}),
     ("owner.login", "login")),
    ("owner password short", dict(owner={"login": "short.pw@example.com", "password": "1234567"}),
     ("owner.password", "password")),
    ("owner unknown field", dict(owner={"login": "x.role@example.com", "password": PASSWORD,
                                        "role": "finance"}), ("owner.role", "role")),
]


@pytest.mark.parametrize("body_over,field", [(b, f) for _, b, f in BAD_DISTRIBUTOR_BODIES],
                         ids=[n for n, _, _ in BAD_DISTRIBUTOR_BODIES])
def test_create_distributor_refuses_bad_fields(shared, body_over, field):
    """Each bad field answers 400 invalid_field naming that field, and no
    distributor is created."""
    before = count_rows(shared.db, "distributors")
    r = shared.srv.post(DISTRIBUTORS, _dist_body(**body_over), token=PLATFORM_TOKEN)
    assert_error(r, 400, "invalid_field", field)
    assert count_rows(shared.db, "distributors") == before


def test_create_distributor_needs_the_platform_token(app, db):
    """No token or a wrong one is 401; an owner's session is 403; nothing is
    created in either case."""
    t = new_tenant(app)
    for token, status, code in ((None, 401, "unauthenticated"),
                                (PLATFORM_TOKEN + "x", 401, "unauthenticated"),
                                (random_token(), 401, "unauthenticated"),
                                (t.token, 403, "forbidden")):
        login = new_email("intruder")
        r = create_distributor(app, owner_login=login, token=token)
        assert_error(r, status, code)
        assert count_rows(db, "staff", "login = %s", (login,)) == 0


def test_platform_api_disabled_without_configured_token(make_server, dbname, db):
    """With no platform token configured the platform API is off: not even
    an empty bearer token or the word "null" creates a distributor."""
    srv = make_server(dbname, env={"GROUPBUYD_PLATFORM_TOKEN": ""}, config=FAST_CONFIG)
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer null"},
                    {"Authorization": "Bearer " + PLATFORM_TOKEN}, {}):
        r = srv.post(DISTRIBUTORS, _dist_body(), headers=headers)
        err = assert_error(r, 401, "unauthenticated")
        assert "GROUPBUYD_PLATFORM_TOKEN" in err["message"], err
    assert count_rows(db, "distributors") == 0


@pytest.mark.parametrize("sent,stored", [
    ("+86 139-0013-9000", "+8613900139000"),
    ("  Boss.Wang@Example.COM ", "boss.wang@example.com"),
])
def test_owner_login_is_normalised(app, sent, stored):
    """Staff logins follow the customer rules: the stored form is shown, and
    every equivalent form logs in."""
    r = create_distributor(app, owner_login=sent)
    assert r.status == 201, r
    assert r.json["owner"]["login"] == stored
    for form in (sent, stored):
        s = staff_login(app, form, PASSWORD)
        assert s.status == 201, (form, s)
        assert s.json["staff"]["login"] == stored


def test_duplicate_owner_login_is_refused(app, db):
    """An owner login already used by any staff member, of this or another
    distributor, in any equivalent form, is 409 duplicate; nothing is left
    behind by the refused call."""
    phone = new_phone()
    a = new_tenant(app, owner_login=phone)
    op = new_staff(app, a.token, "operator")
    for login in (phone, "+86 " + phone, op.login, op.login.upper()):
        before = count_rows(db, "distributors")
        r = create_distributor(app, owner_login=login)
        assert_error(r, 409, "duplicate")
        assert count_rows(db, "distributors") == before, login


# ======================================================================
# Staff sessions
# ======================================================================

def test_staff_login_answers_token_and_staff(app, db):
    """A staff login answers a 43-character base64url token, an expiry a
    day ahead and the staff member; only the token's SHA-256 is stored."""
    t = new_tenant(app)
    now = time.time()
    r = staff_login(app, t.owner["login"], PASSWORD)
    assert r.status == 201, r
    tok = r.json["token"]
    assert TOKEN_RE.match(tok), tok
    assert_time_near(r.json["expires_at"], now + 86400)
    s = r.json["staff"]
    assert s["id"] == t.owner["id"] and s["login"] == t.owner["login"]
    assert s["role"] == "owner" and s["distributor_id"] == t.id
    assert count_rows(db, "sessions", "token_sha256 = %s AND staff_id = %s",
                      (token_hash(tok), s["id"])) == 1
    # a second login is a second, different session
    tok2 = staff_token(app, t.owner["login"])
    assert tok2 != tok


def test_staff_bad_password_and_unknown_login_look_alike(app):
    """A wrong password and an unknown login both answer 401
    unauthenticated with the very same error body."""
    t = new_tenant(app)
    wrong = staff_login(app, t.owner["login"], "not the password")
    unknown = staff_login(app, new_email("nobody"), "not the password")
    assert_error(wrong, 401, "unauthenticated")
    assert_error(unknown, 401, "unauthenticated")
    assert wrong.json == unknown.json


def test_session_ttl_is_configurable(make_server, dbname, db):
    """session_ttl_s sets expires_at for customer and staff sessions, and the
    stored expiry is the one announced."""
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "session_ttl_s = 3600\n")
    t = new_tenant(srv)
    c = new_customer(srv)
    now = time.time()
    for r in (customer_login(srv, c.login, PASSWORD), staff_login(srv, t.owner["login"], PASSWORD)):
        assert r.status == 201, r
        assert_time_near(r.json["expires_at"], now + 3600, slack=30)
        with db.cursor() as cur:
            cur.execute("SELECT extract(epoch FROM expires_at) FROM sessions "
                        "WHERE token_sha256 = %s", (token_hash(r.json["token"]),))
            (stored,) = cur.fetchone()
        assert abs(float(stored) - parse_time(r.json["expires_at"]).timestamp()) < 1.0
        assert srv.get(ME, token=r.json["token"]).status == 200


# ======================================================================
# Staff management
# ======================================================================

@pytest.mark.parametrize("role", ["operator", "finance"])
def test_owner_creates_staff(app, db, role):
    """The owner creates an operator or finance member in its own
    distributor; the new member can log in with that role; the password is
    stored hashed, not as given."""
    t = new_tenant(app)
    login = new_email(role)
    r = create_staff(app, t.token, role=role, login=login)
    assert r.status == 201, r
    assert_staff_object(r.json, login=login, role=role, distributor_id=t.id)
    s = staff_login(app, login, PASSWORD)
    assert s.status == 201, s
    assert s.json["staff"]["role"] == role and s.json["staff"]["id"] == r.json["id"]
    with db.cursor() as cur:
        cur.execute("SELECT password_hash FROM staff WHERE id = %s", (r.json["id"],))
        (stored,) = cur.fetchone()
    assert PASSWORD not in stored


BAD_STAFF_BODIES = [
    ("role owner", {"role": "owner"}, "role"),
    ("role admin", {"role": "admin"}, "role"),
    ("role upper-case", {"role": "Operator"}, "role"),
    ("role empty", {"role": ""}, "role"),
    ("role number", {"role": 1}, "role"),
    ("role null", {"role": None}, "role"),
    ("login not a login", {"login": "operator"}, "login"),
    ("login number", {"login": 13800138000}, "login"),
    ("password short", {"password": "1234567"}, "password"),
    ("password 257 bytes", {"password": "p" * 257}, "password"),
    ("password array", {"password": [PASSWORD]}, "password"),
    ("distributor_id smuggled", {"distributor_id": 1}, "distributor_id"),
    ("unknown field", {"nickname": "x"}, "nickname"),
]


@pytest.mark.parametrize("over,field", [(o, f) for _, o, f in BAD_STAFF_BODIES],
                         ids=[n for n, _, _ in BAD_STAFF_BODIES])
def test_create_staff_refuses_bad_fields(shared, over, field):
    """A bad role (owner included), login, password, or any field the
    endpoint does not take answers 400 invalid_field naming it; nothing is
    created."""
    t = shared_tenant(shared)
    body = {"login": new_email("staff"), "password": PASSWORD, "role": "operator"}
    body.update(over)
    before = count_rows(shared.db, "staff")
    r = shared.srv.post(STAFF, body, token=t.token)
    assert_error(r, 400, "invalid_field", field)
    assert count_rows(shared.db, "staff") == before


@pytest.mark.parametrize("missing", ["login", "password", "role"])
def test_create_staff_missing_field(shared, missing):
    """Each required field, when missing, is named in the 400."""
    t = shared_tenant(shared)
    body = {"login": new_email("staff"), "password": PASSWORD, "role": "finance"}
    del body[missing]
    assert_error(shared.srv.post(STAFF, body, token=t.token), 400, "invalid_field", missing)


_shared_tenants = {}


def shared_tenant(shared):
    """One tenant per shared server, created on first use."""
    key = id(shared)
    if key not in _shared_tenants:
        _shared_tenants[key] = new_tenant(shared.srv)
    return _shared_tenants[key]


def test_duplicate_staff_login_is_refused(app, db):
    """A staff login taken in the same distributor, in any equivalent form,
    answers 409 duplicate and leaves nothing behind (the owner can list its
    own staff: nothing is revealed). Logins held by another distributor's
    staff: test_auth_limits.py."""
    a = new_tenant(app)
    phone = new_phone()
    new_staff(app, a.token, "operator", login=phone)
    for login in (phone, "0086 " + phone, "+86 " + phone, a.owner["login"],
                  a.owner["login"].upper()):
        before = count_rows(db, "staff")
        assert_error(create_staff(app, a.token, "finance", login=login), 409, "duplicate")
        assert count_rows(db, "staff") == before


def test_list_staff_pages_by_id(app):
    """GET /v1/admin/staff lists the distributor's staff (owner included)
    in id order, pages with limit/after and ends with next_after null."""
    t = new_tenant(app)
    made = [new_staff(app, t.token, role).obj for role in ("operator", "finance", "operator")]
    r = app.get(STAFF, token=t.token)
    assert r.status == 200, r
    items = r.json["items"]
    assert [s["id"] for s in items] == [t.owner["id"]] + [m["id"] for m in made]
    assert r.json["next_after"] is None
    for s in items:
        assert_staff_object(s, distributor_id=t.id)
    p1 = app.get(STAFF + "?limit=3", token=t.token)
    assert p1.status == 200, p1
    assert [s["id"] for s in p1.json["items"]] == [s["id"] for s in items[:3]]
    assert p1.json["next_after"] == items[2]["id"]
    p2 = app.get(STAFF + "?limit=3&after=%d" % p1.json["next_after"], token=t.token)
    assert p2.status == 200, p2
    assert [s["id"] for s in p2.json["items"]] == [items[3]["id"]]
    assert p2.json["next_after"] is None


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
    ("limit=-1", "limit"), ("after=abc", "after"),
])
def test_list_staff_refuses_bad_paging(shared, query, field):
    """limit outside 1..200 or non-numeric paging parameters are 400
    invalid_field naming the parameter."""
    t = shared_tenant(shared)
    assert_error(shared.srv.get(STAFF + "?" + query, token=t.token), 400, "invalid_field", field)


def test_list_staff_accepts_limit_200(shared):
    """The upper edge of limit is accepted."""
    t = shared_tenant(shared)
    r = shared.srv.get(STAFF + "?limit=200", token=t.token)
    assert r.status == 200, r
    assert t.owner["id"] in [s["id"] for s in r.json["items"]]


def test_get_staff_by_id(app):
    """GET /v1/admin/staff/{id} answers the same member the creation did;
    an id nobody has is 404 not_found."""
    t = new_tenant(app)
    op = new_staff(app, t.token, "operator")
    r = app.get("%s/%d" % (STAFF, op.id), token=t.token)
    assert r.status == 200, r
    for k in ("id", "login", "role", "distributor_id", "created_at"):
        assert r.json[k] == op.obj[k], k
    assert_error(app.get("%s/%d" % (STAFF, op.id + 1000), token=t.token), 404, "not_found")


def test_audit_log_records_staff_creation(app):
    """Creating a staff member writes an audit entry (create / staff /
    the new id) that never carries the password or its hash."""
    t = new_tenant(app)
    secret = "audit-secret-pw-123"
    op = new_staff(app, t.token, "finance", password=secret)
    r = app.get(AUDIT, token=t.token)
    assert r.status == 200, r
    items = r.json["items"]
    assert "next_after" in r.json
    ids = [e["id"] for e in items]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    entries = [e for e in items if e["entity"] == "staff" and e["entity_id"] == op.id]
    assert len(entries) == 1, items
    e = entries[0]
    assert e["action"] == "create"
    assert isinstance(e["actor"], str) and e["actor"]
    parse_time(e["created_at"])
    text = json.dumps(items)
    assert secret not in text
    assert "password_hash" not in text and "pbkdf2" not in text.lower()


# ======================================================================
# Tenant isolation
# ======================================================================

def test_owner_cannot_see_other_distributors_staff(app):
    """B's staff ids answer 404 to A's owner, and B's staff never appear in
    A's list, on any page."""
    a, b = new_tenant(app), new_tenant(app)
    b_op = new_staff(app, b.token, "operator")
    a_op = new_staff(app, a.token, "operator")
    for sid in (b_op.id, b.owner["id"]):
        assert_error(app.get("%s/%d" % (STAFF, sid), token=a.token), 404, "not_found")
    listed = [s["id"] for s in app.get(STAFF + "?limit=200", token=a.token).json["items"]]
    assert sorted(listed) == sorted([a.owner["id"], a_op.id])
    # after= an id of B's does not open a window into B either
    r = app.get(STAFF + "?after=%d" % (b.owner["id"] - 1), token=a.token)
    assert r.status == 200, r
    assert [s["id"] for s in r.json["items"]] == [a_op.id]


def test_audit_log_is_per_distributor(app, db):
    """A's audit log holds none of B's entries."""
    a, b = new_tenant(app), new_tenant(app)
    new_staff(app, b.token, "operator")
    new_staff(app, b.token, "finance")
    new_staff(app, a.token, "operator")
    with db.cursor() as cur:
        cur.execute("SELECT id FROM audit_log WHERE distributor_id = %s", (b.id,))
        b_ids = {row[0] for row in cur.fetchall()}
    assert len(b_ids) >= 2
    r = app.get(AUDIT + "?limit=200", token=a.token)
    assert r.status == 200, r
    a_ids = {e["id"] for e in r.json["items"]}
    assert a_ids and not (a_ids & b_ids)
    r = app.get(AUDIT + "?limit=200", token=b.token)
    assert b_ids <= {e["id"] for e in r.json["items"]}


# ======================================================================
# Customers
# ======================================================================

def test_register_customer(app, db):
    """POST /v1/customers (no auth) answers 201 with the customer; the
    password is stored hashed; /v1/me later shows the same customer."""
    login = new_email("alice")
    before = time.time()
    r = create_customer(app, login=login, display_name="Alice 爱丽丝")
    assert r.status == 201, r
    assert_customer_object(r.json, login=login, display_name="Alice 爱丽丝")
    assert_time_near(r.json["created_at"], before)
    with db.cursor() as cur:
        cur.execute("SELECT password_hash FROM customers WHERE id = %s", (r.json["id"],))
        (stored,) = cur.fetchone()
    assert PASSWORD not in stored
    tok = customer_token(app, login)
    me = app.get(ME, token=tok)
    assert me.status == 200, me
    for k in ("id", "login", "display_name", "created_at"):
        assert me.json[k] == r.json[k], k


PHONE_FORMS = ["13800138000", "+8613800138000", "+86 138-0013-8000",
               "0086 13800138000", "8613800138000", "+86 (138) 0013 8000",
               "0086-138-0013-8000", "138 0013 8000"]


@pytest.mark.parametrize("form", PHONE_FORMS)
def test_phone_logins_are_normalised(app, form):
    """Every spelling of one mainland mobile number is stored as +86 and 11
    digits; all spellings are then the same login (duplicate, and each
    logs in)."""
    r = create_customer(app, login=form)
    assert r.status == 201, r
    assert r.json["login"] == "+8613800138000"
    for other in PHONE_FORMS:
        assert_error(create_customer(app, login=other), 409, "duplicate")
        s = customer_login(app, other, PASSWORD)
        assert s.status == 201, (other, s)
        assert s.json["customer"]["id"] == r.json["id"]


def test_email_logins_are_trimmed_and_lower_cased(app):
    """E-mail logins are trimmed and lower-cased; case variants are the same
    login."""
    r = create_customer(app, login="  Zhang.San@Example.COM  ")
    assert r.status == 201, r
    assert r.json["login"] == "zhang.san@example.com"
    assert_error(create_customer(app, login="ZHANG.SAN@example.com"), 409, "duplicate")
    s = customer_login(app, "Zhang.San@EXAMPLE.com", PASSWORD)
    assert s.status == 201, s
    assert s.json["customer"]["id"] == r.json["id"]


BAD_LOGINS = [
    "", "   ", "alice", "alice@", "@example.com", "alice@example", "a b@example.com",
    "alice@@example.com", "12345", "1380013800", "138001380000", "12800138000",
    "23800138000", "+1 13800138000", "+85213800138000", "138-0013-800x",
    "+86+8613800138000", "０１３８００１３８０００",
]


@pytest.mark.parametrize("login", BAD_LOGINS)
def test_customer_login_must_be_phone_or_email(shared, login):
    """Anything that is neither a mainland mobile number nor an e-mail
    address is 400 invalid_field "login"."""
    before = count_rows(shared.db, "customers")
    assert_error(create_customer(shared.srv, login=login), 400, "invalid_field", "login")
    assert count_rows(shared.db, "customers") == before


@pytest.mark.parametrize("password,ok", [
    ("12345678", True),
    ("1234567", False),
    ("密码12", True),            # 4 characters, 8 bytes
    ("密码1", False),            # 3 characters, 7 bytes
    ("p" * 256, True),
    ("p" * 257, False),
    ("密" * 85, True),           # 255 bytes
    ("密" * 86, False),          # 86 characters but 258 bytes
], ids=["8-ascii", "7-ascii", "8-bytes-4-chars", "7-bytes", "256-bytes", "257-bytes",
        "255-bytes-85-chars", "258-bytes-86-chars"])
def test_password_length_counts_utf8_bytes(shared, password, ok):
    """Passwords are 8..256 bytes of UTF-8, whatever their character count;
    an accepted one then logs in."""
    login = new_email("pw")
    r = create_customer(shared.srv, login=login, password=password)
    if ok:
        assert r.status == 201, r
        assert customer_login(shared.srv, login, password).status == 201
    else:
        assert_error(r, 400, "invalid_field", "password")


@pytest.mark.parametrize("name,ok", [
    ("团" * 64, True),
    ("团" * 65, False),
    ("a" * 64, True),
    ("a" * 65, False),
    ("😀" * 64, True),
    ("😀" * 65, False),
    ("", False),
    ("X", True),
], ids=["64-han", "65-han", "64-ascii", "65-ascii", "64-emoji", "65-emoji", "empty", "one"])
def test_display_name_counts_code_points(shared, name, ok):
    """display_name is 1..64 characters (code points, not bytes) and comes
    back unchanged."""
    r = create_customer(shared.srv, display_name=name)
    if ok:
        assert r.status == 201, r
        assert r.json["display_name"] == name
    else:
        assert_error(r, 400, "invalid_field", "display_name")


def _cust_body(**over):
    body = {"login": new_email("c"), "password": PASSWORD, "display_name": "Shopper"}
    body.update(over)
    return body


BAD_CUSTOMER_FIELDS = [
    ("role smuggled", dict(role="owner"), "role"),
    ("vip_level smuggled", dict(vip_level=3), "vip_level"),
    ("id smuggled", dict(id=1), "id"),
    ("key case", dict(Login="x.case@example.com"), "Login"),
    ("login number", dict(login=13800138000), "login"),
    ("login null", dict(login=None), "login"),
    ("password number", dict(password=12345678), "password"),
    ("password object", dict(password={"p": PASSWORD}), "password"),
    ("display_name number", dict(display_name=5), "display_name"),
    ("display_name null", dict(display_name=None), "display_name"),
    ("display_name array", dict(display_name=["Shopper"]), "display_name"),
]


@pytest.mark.parametrize("over,field", [(o, f) for _, o, f in BAD_CUSTOMER_FIELDS],
                         ids=[n for n, _, _ in BAD_CUSTOMER_FIELDS])
def test_customer_body_fields_are_checked(shared, over, field):
    """Unknown fields (keys are case-sensitive) and fields of the wrong type
    answer 400 invalid_field naming the field; nothing is created."""
    before = count_rows(shared.db, "customers")
    r = shared.srv.post(CUSTOMERS, _cust_body(**over))
    assert_error(r, 400, "invalid_field", field)
    assert count_rows(shared.db, "customers") == before


@pytest.mark.parametrize("missing", ["login", "password", "display_name"])
def test_customer_missing_field(shared, missing):
    """A missing required field is named in the 400."""
    body = _cust_body()
    del body[missing]
    assert_error(shared.srv.post(CUSTOMERS, body), 400, "invalid_field", missing)


def _nested(depth):
    """A valid registration plus an unknown field "x" whose value makes the
    whole body `depth` levels deep (the outer object is level 1)."""
    return (b'{"login":"nested@example.com","password":"correct horse",'
            b'"display_name":"R","x":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}")


INVALID_JSON = [
    ("not json", b"login=alice&password=x"),
    ("empty body", b""),
    ("truncated", b'{"login":"a@example.com","password":'),
    ("single quotes", b"{'login':'a@example.com'}"),
    ("trailing comma", b'{"login":"a@example.com",}'),
    ("duplicate key", b'{"login":"a@example.com","login":"b@example.com",'
                      b'"password":"correct horse","display_name":"R"}'),
    ("invalid utf-8 in value", b'{"login":"a@example.com","password":"correct horse",'
                               b'"display_name":"\xff\xfe"}'),
    ("invalid utf-8 in key", b'{"login":"a@example.com","password":"correct horse",'
                             b'"display_name":"R","\xc3":1}'),
    ("overlong utf-8", b'{"login":"a@example.com","password":"correct horse",'
                       b'"display_name":"\xc0\xaf"}'),
    ("escaped NUL", b'{"login":"a@example.com","password":"correct\\u0000horse",'
                    b'"display_name":"R"}'),
    ("raw NUL", b'{"login":"a@example.com","password":"correct\x00horse",'
                b'"display_name":"R"}'),
    ("raw control character", b'{"login":"a@example.com","password":"correct\x01horse",'
                              b'"display_name":"R"}'),
    ("trailing garbage", b'{"login":"a@example.com","password":"correct horse",'
                         b'"display_name":"R"} x'),
    ("two objects", b'{"login":"a@example.com","password":"correct horse",'
                    b'"display_name":"R"}{}'),
    ("array instead of object", b'[{"login":"a@example.com","password":"correct horse",'
                                b'"display_name":"R"}]'),
    ("nesting 40 deep", _nested(40)),
    ("nesting 1000 deep", _nested(1000)),
]


@pytest.mark.parametrize("raw", [r for _, r in INVALID_JSON], ids=[n for n, _ in INVALID_JSON])
def test_invalid_json_is_refused(shared, raw):
    """Bodies that are not one strict JSON object answer 400 invalid_json
    and create nothing; the server stays up."""
    before = count_rows(shared.db, "customers")
    assert_error(json_post(shared.srv, CUSTOMERS, raw), 400, "invalid_json")
    assert count_rows(shared.db, "customers") == before
    assert shared.srv.get("/healthz").status == 200


def test_moderate_nesting_is_parsed(shared):
    """Nesting well under the 32-level limit is valid JSON: the body is then
    judged on its fields (the unknown "x"), not refused as invalid_json."""
    assert_error(json_post(shared.srv, CUSTOMERS, _nested(30)), 400, "invalid_field", "x")


def test_oversized_body_is_413(shared):
    """A body over 64 KiB is refused with 413 payload_too_large."""
    big = json.dumps(_cust_body(display_name="x" * (70 * 1024))).encode()
    assert_error(json_post(shared.srv, CUSTOMERS, big), 413, "payload_too_large")


# ======================================================================
# Customer sessions, /v1/me, logout, expiry
# ======================================================================

def test_customer_login_answers_token_and_customer(app, db):
    """POST /v1/sessions answers a base64url token of 43 characters, an
    expiry a day ahead and the customer; the database holds only the
    token's SHA-256."""
    c = new_customer(app, display_name="李雷")
    now = time.time()
    r = customer_login(app, c.login, PASSWORD)
    assert r.status == 201, r
    tok = r.json["token"]
    assert TOKEN_RE.match(tok), tok
    assert_time_near(r.json["expires_at"], now + 86400)
    cust = r.json["customer"]
    assert cust["id"] == c.id and cust["login"] == c.login and cust["display_name"] == "李雷"
    assert count_rows(db, "sessions", "token_sha256 = %s AND customer_id = %s",
                      (hashlib.sha256(tok.encode()).digest(), c.id)) == 1


def test_customer_bad_password_and_unknown_login_look_alike(app):
    """Wrong password and unknown login: both 401 unauthenticated, same
    body."""
    c = new_customer(app)
    wrong = customer_login(app, c.login, "wrong password!")
    unknown = customer_login(app, new_email("ghost"), "wrong password!")
    assert_error(wrong, 401, "unauthenticated")
    assert_error(unknown, 401, "unauthenticated")
    assert wrong.json == unknown.json


def test_customer_session_is_not_a_staff_session(app):
    """The realms are separate: a customer's credentials do not open a
    staff session, and a staff member's do not open a customer session."""
    t = new_tenant(app)
    c = new_customer(app)
    assert_error(staff_login(app, c.login, PASSWORD), 401, "unauthenticated")
    assert_error(customer_login(app, t.owner["login"], PASSWORD), 401, "unauthenticated")


@pytest.mark.parametrize("body,field", [
    ({"login": 5, "password": PASSWORD}, "login"),
    ({"login": "a@example.com", "password": None}, "password"),
    ({"login": "a@example.com"}, "password"),
    ({"password": PASSWORD}, "login"),
    ({"login": "a@example.com", "password": PASSWORD, "remember": True}, "remember"),
])
@pytest.mark.parametrize("path", [SESSIONS, ADMIN_SESSIONS])
def test_login_body_fields_are_checked(shared, path, body, field):
    """Login bodies follow the body rules too: wrong type, missing or
    unknown fields are 400 invalid_field, not 401."""
    assert_error(shared.srv.post(path, body), 400, "invalid_field", field)


def test_me_shows_customer_or_staff(app):
    """GET /v1/me answers the customer for a customer token and (decision)
    the staff object for a staff token; no password material in either."""
    c = new_customer(app, display_name="韩梅梅")
    r = app.get(ME, token=customer_token(app, c.login))
    assert r.status == 200, r
    assert_customer_object(r.json, login=c.login, display_name="韩梅梅")
    assert r.json["id"] == c.id
    t = new_tenant(app)
    op = new_staff(app, t.token, "operator")
    r = app.get(ME, token=staff_token(app, op.login))
    assert r.status == 200, r
    assert_staff_object(r.json, login=op.login, role="operator", distributor_id=t.id)
    assert r.json["id"] == op.id


def test_logout_ends_only_the_current_session(app):
    """DELETE /v1/sessions/current answers 204 with no body; that token is
    then refused everywhere, while another session of the same person keeps
    working."""
    c = new_customer(app)
    tok, other = customer_token(app, c.login), customer_token(app, c.login)
    r = app.request("DELETE", CURRENT, token=tok)
    assert r.status == 204, r
    assert r.body == b""
    assert_error(app.get(ME, token=tok), 401, "unauthenticated")
    assert_error(app.request("DELETE", CURRENT, token=tok), 401, "unauthenticated")
    assert app.get(ME, token=other).status == 200

    t = new_tenant(app)
    stok = staff_token(app, t.owner["login"])
    r = app.request("DELETE", CURRENT, token=stok)
    assert r.status == 204 and r.body == b"", r
    assert_error(app.get(STAFF, token=stok), 401, "unauthenticated")
    assert_error(app.get(ME, token=stok), 401, "unauthenticated")
    assert app.get(STAFF, token=t.token).status == 200


def test_expired_sessions_are_refused(make_server, dbname, db):
    """A session past its expires_at is 401 unauthenticated, for customers
    and staff; other sessions are unaffected. (The session cache is off:
    test_caches.py holds the cache to expires_at.)"""
    app = make_server(dbname, env=APP_ENV, config=FAST_CONFIG + "session_cache_ttl_ms = 0\n")
    c = new_customer(app)
    t = new_tenant(app)
    ctok, stok = customer_token(app, c.login), staff_token(app, t.owner["login"])
    assert app.get(ME, token=ctok).status == 200
    expire_session(db, ctok)
    expire_session(db, stok)
    assert_error(app.get(ME, token=ctok), 401, "unauthenticated")
    assert_error(app.get(ME, token=stok), 401, "unauthenticated")
    assert_error(app.get(STAFF, token=stok), 401, "unauthenticated")
    assert_error(app.request("DELETE", CURRENT, token=ctok), 401, "unauthenticated")
    assert app.get(STAFF, token=t.token).status == 200


@pytest.mark.parametrize("auth", [
    "Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "Token {tok}", "Bearer {tok}x",
    "Bearer {tok_prefix}", "{tok}",
])
def test_malformed_authorization_is_401(shared, auth):
    """Anything but "Bearer <valid token>" is 401 unauthenticated, even
    when it contains a valid token."""
    c = new_customer(shared.srv)
    tok = customer_token(shared.srv, c.login)
    value = auth.format(tok=tok, tok_prefix=tok[:42])
    assert_error(shared.srv.get(ME, headers={"Authorization": value}), 401, "unauthenticated")
    assert shared.srv.get(ME, token=tok).status == 200


# ======================================================================
# Login throttling
# ======================================================================

def _assert_rate_limited(r):
    assert_error(r, 429, "rate_limited")
    ra = header(r, "Retry-After")
    assert ra is not None and ra.isdigit(), r.headers
    assert 1 <= int(ra) <= 60, ra


def test_customer_login_throttled_after_ten_failures(app):
    """Ten wrong passwords in a minute: the eleventh attempt is 429
    rate_limited with Retry-After, even with the right password. Another
    login is unaffected."""
    c, bystander = new_customer(app), new_customer(app)
    for i in range(10):
        assert_error(customer_login(app, c.login, "wrong-%d-password" % i), 401, "unauthenticated")
    _assert_rate_limited(customer_login(app, c.login, PASSWORD))
    _assert_rate_limited(customer_login(app, c.login, "wrong again!"))
    assert customer_login(app, bystander.login, PASSWORD).status == 201


def test_unknown_login_is_throttled_the_same_way(app):
    """An unknown login is throttled exactly like a known one, so the
    throttle does not reveal which logins exist."""
    ghost = new_email("ghost")
    for i in range(10):
        assert_error(customer_login(app, ghost, "wrong-%d-password" % i), 401, "unauthenticated")
    _assert_rate_limited(customer_login(app, ghost, "wrong-x-password"))


def test_staff_login_throttled_after_ten_failures(app):
    """Staff logins are throttled too, per login."""
    t = new_tenant(app)
    op = new_staff(app, t.token, "operator")
    for i in range(10):
        assert_error(staff_login(app, op.login, "wrong-%d-password" % i), 401, "unauthenticated")
    _assert_rate_limited(staff_login(app, op.login, PASSWORD))
    assert staff_login(app, t.owner["login"], PASSWORD).status == 201


def test_throttle_is_per_realm(app):
    """Failures as a customer do not block the same login as staff: the
    two realms count separately."""
    t = new_tenant(app)
    login = t.owner["login"]
    for i in range(10):
        assert_error(customer_login(app, login, "wrong-%d-password" % i), 401, "unauthenticated")
    _assert_rate_limited(customer_login(app, login, PASSWORD))
    assert staff_login(app, login, PASSWORD).status == 201


def test_throttle_counts_equivalent_forms_as_one_login(app):
    """Spelling a phone number differently does not reset the count: the
    throttle is keyed on the normalised login."""
    phone = new_phone()
    new_customer(app, login=phone)
    forms = [phone, "+86" + phone, "0086 " + phone, "86" + phone,
             "+86 %s-%s-%s" % (phone[:3], phone[3:7], phone[7:])]
    for i in range(10):
        r = customer_login(app, forms[i % len(forms)], "wrong-%d-password" % i)
        assert_error(r, 401, "unauthenticated")
    _assert_rate_limited(customer_login(app, "+86 " + phone, PASSWORD))


def test_throttle_window_is_one_minute(app, db):
    """Failures older than a minute no longer count: once the recorded
    failures are aged past 60 s, the right password logs in again."""
    c = new_customer(app)
    for i in range(10):
        assert_error(customer_login(app, c.login, "wrong-%d-password" % i), 401,
                     "unauthenticated")
    _assert_rate_limited(customer_login(app, c.login, PASSWORD))
    with db.cursor() as cur:
        cur.execute("UPDATE login_failures SET failed_at = failed_at - interval '61 seconds'")
        assert cur.rowcount >= 10
    assert customer_login(app, c.login, PASSWORD).status == 201


def test_unknown_login_costs_as_much_as_wrong_password(make_server, dbname):
    """With ~40 ms password hashes, an unknown login is not answered
    noticeably faster than a wrong password (the server hashes either way),
    and the bodies are identical. Weak check: medians within 5x."""
    srv = make_server(dbname, env=APP_ENV, config="password_iterations = 100000\n")
    known = [new_customer(srv).login for _ in range(5)]
    unknown = [new_email("nobody") for _ in range(5)]
    # warm up connections and code paths on logins that are not measured
    assert customer_login(srv, new_email("warmup"), "wrong password").status == 401
    wrong_t, unknown_t, bodies = [], [], set()
    for k, u in zip(known, unknown):
        for login, sink in ((k, wrong_t), (u, unknown_t)):
            t0 = time.perf_counter()
            r = customer_login(srv, login, "definitely wrong")
            sink.append(time.perf_counter() - t0)
            assert_error(r, 401, "unauthenticated")
            bodies.add(json.dumps(r.json, sort_keys=True))
    assert len(bodies) == 1, bodies
    mw, mu = statistics.median(wrong_t), statistics.median(unknown_t)
    assert mu <= 5 * mw and mw <= 5 * mu, (wrong_t, unknown_t)


# ======================================================================
# Idempotency
# ======================================================================

def test_idempotent_customer_replay(app, db):
    """Same key and body: the first answer again, byte for byte the same
    customer, and no second row."""
    key = uniq("key-")
    body = _cust_body()
    r1 = app.post(CUSTOMERS, body, headers=idem(key))
    assert r1.status == 201, r1
    r2 = app.post(CUSTOMERS, body, headers=idem(key))
    assert r2.status == 201, r2
    assert r2.json == r1.json
    assert count_rows(db, "customers", "login = %s", (body["login"],)) == 1
    assert count_rows(db, "customers") == 1
    # without the key the same body is a new request: duplicate
    assert_error(app.post(CUSTOMERS, body), 409, "duplicate")


def test_idempotency_key_with_different_body_conflicts(app, db):
    """Reusing a key with another body is 409 idempotency_conflict and
    creates nothing."""
    key = uniq("key-")
    assert create_customer(app, key=key).status == 201
    other = new_email("other")
    assert_error(create_customer(app, login=other, key=key), 409, "idempotency_conflict")
    assert count_rows(db, "customers", "login = %s", (other,)) == 0
    assert count_rows(db, "customers") == 1


def test_idempotent_staff_creation(app, db):
    """POST /v1/admin/staff replays for the same key and body: one staff
    row and one audit entry; a different body with the key conflicts."""
    t = new_tenant(app)
    key = uniq("staff-key-")
    login = new_email("op")
    r1 = create_staff(app, t.token, "operator", login=login, key=key)
    r2 = create_staff(app, t.token, "operator", login=login, key=key)
    assert r1.status == 201 and r2.status == 201, (r1, r2)
    assert r2.json == r1.json
    assert count_rows(db, "staff", "login = %s", (login,)) == 1
    assert count_rows(db, "audit_log", "entity = 'staff' AND action = 'create' AND entity_id = %s",
                      (r1.json["id"],)) == 1
    assert_error(create_staff(app, t.token, "finance", login=login, key=key),
                 409, "idempotency_conflict")


def test_idempotent_distributor_creation(app, db):
    """POST /v1/platform/distributors replays for the same key and body:
    one distributor, one owner."""
    key = uniq("dist-key-")
    body = _dist_body()
    h = idem(key)
    r1 = app.post(DISTRIBUTORS, body, token=PLATFORM_TOKEN, headers=h)
    r2 = app.post(DISTRIBUTORS, body, token=PLATFORM_TOKEN, headers=h)
    assert r1.status == 201 and r2.status == 201, (r1, r2)
    assert r2.json == r1.json
    assert count_rows(db, "distributors") == 1
    assert count_rows(db, "staff") == 1
    body2 = dict(body, name="Another Name")
    assert_error(app.post(DISTRIBUTORS, body2, token=PLATFORM_TOKEN, headers=h),
                 409, "idempotency_conflict")
    assert count_rows(db, "distributors") == 1


def test_idempotency_keys_are_scoped_to_principal(app, db):
    """One key used by two owners is two independent keys: B's different
    body is no conflict, and B's copy of A's body is run afresh (a row of
    B's, the login being held elsewhere), not answered with A's stored
    response."""
    a, b = new_tenant(app), new_tenant(app)
    key = "shared-key-1"
    login_a = new_email("a-op")
    ra = create_staff(app, a.token, "operator", login=login_a, key=key)
    assert ra.status == 201, ra
    rb = create_staff(app, b.token, "operator", key=key)
    assert rb.status == 201, rb
    assert rb.json["distributor_id"] == b.id
    rb2 = create_staff(app, b.token, "operator", login=login_a, key="b-other-key")
    assert rb2.status == 201, rb2
    assert rb2.json["distributor_id"] == b.id and rb2.json["id"] != ra.json["id"]
    # B replaying its own key gets its own answer, never A's
    rb3 = create_staff(app, b.token, "operator", login=rb.json["login"], key=key)
    assert rb3.status == 201 and rb3.json == rb.json


def test_idempotency_keys_are_scoped_to_route(app, db):
    """The same key on two routes (and so two callers: anonymous and the
    platform) is two keys: creating a customer and a distributor with one
    key both succeed."""
    key = "route-key-1"
    r1 = create_customer(app, key=key)
    assert r1.status == 201, r1
    r2 = create_distributor(app, key=key)
    assert r2.status == 201, r2
    assert count_rows(db, "customers") == 1 and count_rows(db, "distributors") == 1


@pytest.mark.parametrize("key", ["", "a b", "x" * 256, "ключ", "tab\there", "del\x7f"],
                         ids=["empty", "space", "256-chars", "non-ascii", "tab", "del"])
def test_bad_idempotency_key_is_refused(shared, key):
    """A key that is not 1..255 visible ASCII characters is 400
    invalid_field "Idempotency-Key", and nothing is created."""
    before = count_rows(shared.db, "customers")
    r = shared.srv.request("POST", CUSTOMERS, body=_cust_body(),
                           headers={"Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    if "\x7f" in key:
        # a control byte in any header value breaks the request's framing
        # (RFC 9110 field-vchar): refused before any handler sees it
        assert_error(r, 400, "bad_request")
    else:
        assert_error(r, 400, "invalid_field", "Idempotency-Key")
    assert count_rows(shared.db, "customers") == before


def test_idempotency_key_of_255_characters_is_accepted(shared):
    """255 visible ASCII characters is the longest key and is fine."""
    key = ("k%d-" % id(shared) + "~" * 255)[:255]
    body = _cust_body()
    r1 = shared.srv.post(CUSTOMERS, body, headers=idem(key))
    assert r1.status == 201, r1
    r2 = shared.srv.post(CUSTOMERS, body, headers=idem(key))
    assert r2.status == 201 and r2.json == r1.json


def test_failed_request_is_not_stored_under_its_key(app, db):
    """(decision) Only successful answers are kept: a request refused for
    a bad field, or as a duplicate, can be retried with the same key once
    the problem is gone."""
    key = uniq("retry-key-")
    body = _cust_body(display_name="")
    assert_error(app.post(CUSTOMERS, body, headers=idem(key)), 400, "invalid_field", "display_name")
    fixed = dict(body, display_name="Fixed")
    r = app.post(CUSTOMERS, fixed, headers=idem(key))
    assert r.status == 201, r

    taken = new_customer(app)
    key2 = uniq("retry-key-")
    body2 = _cust_body(login=taken.login)
    assert_error(app.post(CUSTOMERS, body2, headers=idem(key2)), 409, "duplicate")
    with db.cursor() as cur:
        cur.execute("UPDATE customers SET login = %s WHERE id = %s",
                    (new_email("renamed"), taken.id))
    r = app.post(CUSTOMERS, body2, headers=idem(key2))
    assert r.status == 201, r
    assert r.json["login"] == taken.login and r.json["id"] != taken.id


def test_concurrent_requests_with_one_key_create_once(app, db):
    """Two requests with one key and one body, started together, create one
    customer: one answers 201, the other 201 with the same body (replay) or
    409 idempotency_conflict. Ten rounds."""
    for round_no in range(10):
        key = "race-%d" % round_no
        body = _cust_body(login=new_email("race"))
        barrier = threading.Barrier(2)
        out = [None, None]

        def call(i):
            barrier.wait()
            out[i] = app.post(CUSTOMERS, body, headers=idem(key))

        threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert all(out), out
        assert count_rows(db, "customers", "login = %s", (body["login"],)) == 1, out
        ok = [r for r in out if r.status == 201]
        assert ok, out
        if len(ok) == 2:
            assert ok[0].json == ok[1].json, out
        else:
            other = [r for r in out if r.status != 201][0]
            assert_error(other, 409, "idempotency_conflict")


# ======================================================================
# The identity writes, through SQL (schema/functions/identity.sql, idem.sql)
# ======================================================================

def test_login_succeed_makes_the_session_and_frees_only_its_slot(db):
    """gb_login_succeed: the session (its token's SHA-256, the TTL), the
    stored hash replaced only when a rehash is given, and of the login's
    failure slots only the attempt's own deleted; the account as the login
    answers it, for both realms."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        customer = sql_customer(cur)
        for realm, account in (("staff", staff), ("customer", customer)):
            table = "staff" if realm == "staff" else "customers"
            login = sql_one(cur, "SELECT login FROM %s WHERE id = %%s" % table, (account,))[0]
            cur.execute("INSERT INTO login_failures (realm, login) VALUES (%s, %s) RETURNING id",
                        (realm, login))
            earlier = cur.fetchone()[0]
            slot = sql_one(cur, "SELECT slot FROM gb_login_begin(%s, %s)", (realm, login))[0]
            for token, rehash in ((random_token(), None), (random_token(), "pbkdf2$new")):
                h = token_hash(token).hex()
                expires, obj = sql_one(cur, "SELECT * FROM gb_login_succeed(%s, %s, %s, %s,"
                                            " 3600, %s)", (realm, slot, account, h, rehash))
                assert_time_near(expires, time.time() + 3600, slack=60)
                row = sql_one(cur, "SELECT staff_id, customer_id, gb_ts(expires_at),"
                                   " revoked_at FROM sessions WHERE token_sha256 ="
                                   " decode(%s, 'hex')", (h,))
                assert row == ((account, None) if realm == "staff" else (None, account)) \
                    + (expires, None)
                stored = sql_one(cur, "SELECT password_hash FROM %s WHERE id = %%s" % table,
                                 (account,))[0]
                assert stored == ("x" if rehash is None else rehash)
            cur.execute("SELECT id FROM login_failures WHERE realm = %s AND login = %s",
                        (realm, login))
            assert cur.fetchall() == [(earlier,)]
            if realm == "staff":
                assert obj == {"id": staff, "login": login, "role": "owner",
                               "distributor_id": did}
            else:
                assert obj == sql_one(cur, "SELECT gb_customer_json(c) FROM customers c"
                                           " WHERE id = %s", (customer,))[0]


def test_session_revoke_ends_one_session_once(db):
    with db.cursor() as cur:
        customer = sql_customer(cur)
        tokens = [token_hash(random_token()).hex() for _ in range(2)]
        for h in tokens:
            cur.execute("SELECT gb_login_succeed('customer', NULL, %s, %s, 3600, NULL)",
                        (customer, h))
        cur.execute("SELECT gb_session_revoke(%s)", (tokens[0],))
        first = sql_one(cur, "SELECT revoked_at FROM sessions WHERE token_sha256 ="
                             " decode(%s, 'hex')", (tokens[0],))[0]
        assert first is not None
        cur.execute("SELECT gb_session_revoke(%s)", (tokens[0],))
        cur.execute("SELECT encode(token_sha256, 'hex'), revoked_at FROM sessions"
                    " ORDER BY revoked_at NULLS LAST")
        assert cur.fetchall() == [(tokens[0], first), (tokens[1], None)]


def test_customer_create_answers_the_customer_or_unique_violation(db):
    with db.cursor() as cur:
        obj = sql_one(cur, "SELECT gb_customer_create('a@example.com', 'h', 'A')")[0]
        assert obj == sql_one(cur, "SELECT gb_customer_json(c) FROM customers c"
                                   " WHERE login = 'a@example.com'")[0]
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute("SELECT gb_customer_create('a@example.com', 'h', 'B')")


def test_vip_level_is_set_only_for_a_visible_customer(db):
    """gb_customer_vip_set: a customer who never took part in one of the
    distributor's campaigns is not visible to it (false, nothing written);
    a visible one gets the level and an audit line with the level before (0
    when none was set) and after."""
    with db.cursor() as cur:
        did, staff = sql_tenant(cur)
        other, _ = sql_tenant(cur)
        customer = sql_customer(cur)
        cid = sql_campaign(cur, did, sql_product(cur, did))
        assert sql_one(cur, "SELECT gb_customer_vip_set(%s, %s, 2, %s, 'r1')",
                       (did, customer, staff))[0] is False
        cur.execute("INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                    " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                    " deposit_cents) VALUES (%s, %s, %s, 1, 'active', 75, 0.75, 0, 0)",
                    (did, cid, customer))
        assert sql_one(cur, "SELECT gb_customer_vip_set(%s, %s, 2, %s, 'r1')",
                       (other, customer, staff))[0] is False
        for level, req in ((2, "r2"), (3, "r3")):
            assert sql_one(cur, "SELECT gb_customer_vip_set(%s, %s, %s, %s, %s)",
                           (did, customer, level, staff, req))[0] is True
        cur.execute("SELECT distributor_id, vip_level FROM customer_vip WHERE customer_id = %s",
                    (customer,))
        assert cur.fetchall() == [(did, 3)]
        cur.execute("SELECT distributor_id, staff_id, actor, action, entity, entity_id,"
                    " before, after, request_id FROM audit_log WHERE entity = 'customer_vip'"
                    " ORDER BY id")
        actor = "staff:%d" % staff
        assert cur.fetchall() == [
            (did, staff, actor, "update", "customer_vip", customer, {"vip_level": 0},
             {"vip_level": 2}, "r2"),
            (did, staff, actor, "update", "customer_vip", customer, {"vip_level": 2},
             {"vip_level": 3}, "r3")]


def test_idem_store_keeps_a_live_answer_and_replaces_an_expired_one(db):
    """gb_idem_store: a key's answer younger than 24 hours stays the answer
    (a replay must get it); one older is replaced by the new answer."""
    sha = hashlib.sha256(b"{}").hexdigest()
    other = hashlib.sha256(b"{ }").hexdigest()
    with db.cursor() as cur:
        cur.execute("SELECT gb_idem_store('staff:1', 'POST /v1/x', 'k', %s, 201, '{\"a\":1}')",
                    (sha,))
        cur.execute("SELECT gb_idem_store('staff:1', 'POST /v1/x', 'k', %s, 200, '{\"a\":2}')",
                    (other,))
        row = "SELECT encode(request_sha256, 'hex'), response_status, response_body," \
              " created_at > now() - interval '1 minute' FROM idempotency_keys"
        cur.execute(row)
        assert cur.fetchall() == [(sha, 201, '{"a":1}', True)]
        cur.execute("UPDATE idempotency_keys SET created_at = now() - interval '24 hours'")
        cur.execute("SELECT gb_idem_store('staff:1', 'POST /v1/x', 'k', %s, 200, '{\"a\":2}')",
                    (other,))
        cur.execute(row)
        assert cur.fetchall() == [(other, 200, '{"a":2}', True)]

"""Customers as a distributor's staff see them (API.md "Customers and
reliability, staff side"; DESIGN.md "Privacy between distributors"): the
list and its search, one customer with its history, and the customer in
every staff view (the audience, a campaign's participations, orders,
after-sales, the leader's pickup list). What one distributor's staff see
is its own: logins masked, counts, history and audience reasons from its
own campaigns; the score alone uses the whole history. A delivery
address of the distributor's own order keeps its phone.
"""
import pytest

from helpers import *
from join_helpers import add_event, join, make_campaign


@pytest.fixture(scope="module")
def srv(shared):
    return shared.srv


@pytest.fixture(scope="module")
def sdb(shared):
    """The shared server's database (history events are inserted there)."""
    return shared.db


def masked(login):
    """A phone login ("+86" and 11 digits) as staff see it: 139****0001."""
    assert login.startswith("+86") and len(login) == 14, login
    return login[3:6] + "****" + login[-4:]


def shopper(srv, name="李小明"):
    phone = new_phone()
    p = new_customer(srv, login=phone, display_name=name)
    return p, customer_token(srv, phone)


def customers(srv, token, query=""):
    r = srv.get("/v1/admin/customers" + query, token=token)
    assert r.status == 200, r
    return r.json


def test_list_shows_own_customers_masked_with_own_counts(srv, sdb):
    t, other = new_tenant(srv), new_tenant(srv)
    mine, tok = shopper(srv, "张三丰")
    both, tok2 = shopper(srv, "李四")
    theirs, tok3 = shopper(srv, "王五")
    c1 = make_campaign(srv, sdb, t)
    c2 = make_campaign(srv, sdb, other)
    assert join(srv, tok, c1).status == 201
    assert join(srv, tok2, c1).status == 201
    assert join(srv, tok2, c2).status == 201
    assert join(srv, tok3, c2).status == 201
    add_event(sdb, t.id, mine.id, "completed")
    add_event(sdb, other.id, both.id, "completed")
    add_event(sdb, other.id, both.id, "completed")
    items = customers(srv, t.token)["items"]
    assert [x["customer"]["id"] for x in items] == [mine.id, both.id]
    by = {x["customer"]["id"]: x for x in items}
    # the login masked, the name shown
    assert by[mine.id]["customer"]["login"] == masked(mine.login)
    assert by[mine.id]["customer"]["display_name"] == "张三丰"
    # the counts are this distributor's: the other's completed do not show
    assert (by[mine.id]["participations"], by[mine.id]["completed"]) == (2, 1)
    assert (by[both.id]["participations"], by[both.id]["completed"]) == (1, 0)
    assert by[both.id]["vip_level"] == 0
    parse_time(by[both.id]["last_joined_at"])
    # nothing of a login in clear anywhere in the answer
    r = srv.get("/v1/admin/customers", token=t.token)
    for p in (mine, both, theirs):
        assert p.login not in r.body.decode()
    # the other distributor: its own two, with its own counts
    items = customers(srv, other.token)["items"]
    assert [x["customer"]["id"] for x in items] == [both.id, theirs.id]
    assert items[0]["completed"] == 2


def test_list_search_and_pages(srv, sdb):
    t = new_tenant(srv)
    cid = make_campaign(srv, sdb, t)
    people = []
    for name in ("Alice Zhang", "Bob Li", "alice wang"):
        p, tok = shopper(srv, name)
        assert join(srv, tok, cid).status == 201
        people.append(p)
    ids = [p.id for p in people]
    q = lambda s: [x["customer"]["id"] for x in customers(srv, t.token, s)["items"]]  # noqa: E731
    assert q("?q=ALICE") == [ids[0], ids[2]]
    assert q("?q=%E6%9D%8E") == []                 # 李: nobody here
    phone = people[1].login[3:]                    # the 11 digits
    assert q("?q=" + phone) == [ids[1]]
    assert q("?q=%2B86" + phone) == [ids[1]]       # +86 and the 11 digits
    assert q("?q=" + phone[:3] + "%20" + phone[3:7] + "-" + phone[7:]) == [ids[1]]
    assert q("?q=" + phone[:7]) == []              # a part of a login finds nobody
    assert q("?q=%d" % ids[2]) == [ids[2]]
    assert q("?q=") == ids
    page = customers(srv, t.token, "?limit=2")
    assert [x["customer"]["id"] for x in page["items"]] == ids[:2]
    assert page["next_after"] == ids[1]
    assert q("?after=%d" % ids[1]) == [ids[2]]
    assert q("?q=alice&after=%d" % ids[0]) == [ids[2]]
    for bad in ("?q=" + "x" * 101, "?q=%FF", "?q=a%01b"):
        assert_error(srv.get("/v1/admin/customers" + bad, token=t.token),
                     400, "invalid_field", "q")
    fin = new_staff(srv, t.token, role="finance")
    assert_error(srv.get("/v1/admin/customers", token=staff_token(srv, fin.login)),
                 403, "forbidden")
    op = new_staff(srv, t.token, role="operator")
    assert srv.get("/v1/admin/customers", token=staff_token(srv, op.login)).status == 200


def test_one_customer_history_is_own(srv, sdb):
    t, other = new_tenant(srv), new_tenant(srv)
    p, tok = shopper(srv)
    c1 = make_campaign(srv, sdb, t)
    c2 = make_campaign(srv, sdb, other)
    assert join(srv, tok, c1, 2).status == 201
    assert join(srv, tok, c2).status == 201
    r = srv.get("/v1/admin/customers/%d" % p.id, token=t.token)
    assert r.status == 200, r
    assert r.json["customer"]["login"] == masked(p.login)
    (h,) = r.json["history"]
    assert (h["campaign_id"], h["quantity"], h["status"], h["campaign_status"]) == \
        (c1, 2, "pending_deposit", "open")
    assert h["campaign_title"]
    r = srv.get("/v1/admin/customers/%d" % p.id, token=other.token)
    assert [x["campaign_id"] for x in r.json["history"]] == [c2]


def test_masking_rule(sdb):
    cases = {"13900000001": "139****0001", "+8613900000001": "139****0001",
             "+861390000000": "+86****0000", "+442079460000": "+44****0000",
             "8613800138000": "861****8000", "zhang@example.com": "z***@example.com",
             "1234567": "****", "": "****", "@example.com": "****",
             "12345678": "123****5678", "张@例子.中国": "张***@例子.中国"}
    with sdb.cursor() as cur:
        for given, want in cases.items():
            cur.execute("SELECT gb_customer_masked(%s)", (given,))
            assert cur.fetchone()[0] == want, given


def test_every_staff_view_masks_the_login(srv, sdb):
    """The audience (reasons from own campaigns) and a campaign's
    participations show the customer masked (orders and after-sales:
    test_fulfilment.py, with payments)."""
    t, other = new_tenant(srv), new_tenant(srv)
    p, tok = shopper(srv, "赵六")
    past = make_campaign(srv, sdb, t)
    assert join(srv, tok, past).status == 201
    add_event(sdb, other.id, p.id, "completed")   # completed elsewhere, twice
    add_event(sdb, other.id, p.id, "completed")
    add_event(sdb, t.id, p.id, "completed")       # and once here
    cid = make_campaign(srv, sdb, t)
    r = srv.get("/v1/admin/campaigns/%d/audience" % cid, token=t.token)
    assert r.status == 200, r
    (a,) = [x for x in r.json["items"] if x["customer"]["id"] == p.id]
    assert a["customer"]["login"] == masked(p.login)
    assert a["completed"] == 1, a
    assert "1 completed" in a["reason"], a
    assert p.login not in r.body.decode()
    r = srv.get("/v1/admin/campaigns/%d/participations" % past, token=t.token)
    assert r.status == 200, r
    (x,) = r.json["items"]
    assert (x["customer"]["id"], x["customer"]["login"], x["customer"]["display_name"]) == \
        (p.id, masked(p.login), "赵六")
    assert isinstance(x["score"], int)

"""Share links and referrals (API.md "Share links and referrals"): one link
per customer and campaign with a CSPRNG code, the link's page with its Open
Graph tags (escaped: a hostile title stays text), the join that names a
code (its sharer recorded, one's own ignored, a forged or foreign code 400),
the sharer's counts after three friends join, one withdraws and one pays,
the share.joined event.
"""
import html.parser
import re
import time

import pytest

from helpers import *
from campaign_helpers import open_campaign, scheduled_campaign, create_campaign, create_product
from join_helpers import http_customer, join, withdraw
from payment_helpers import SECRET

CODE_RE = re.compile(r"^[a-km-np-z2-9]{12}$")
SHARE_ENV = dict(APP_ENV, GROUPBUYD_PAYMENT_SANDBOX="1",
                 GROUPBUYD_PAYMENT_WEBHOOK_SECRET=SECRET)
ZERO = [{"min_score": 0, "deposit_percent": 0}]


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=SHARE_ENV, config=FAST_CONFIG)


def share(srv, token, cid, key=None):
    return srv.post("/v1/campaigns/%d/shares" % cid, token=token, headers=idem(key))


def my_shares(srv, token):
    r = srv.get("/v1/me/shares", token=token)
    assert r.status == 200, r
    return r.json["items"]


class Tags(html.parser.HTMLParser):
    """The page as a browser or a chat app's crawler parses it."""

    def __init__(self):
        super().__init__()
        self.meta, self.title, self.scripts, self.links = {}, None, [], []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and "property" in a:
            assert a["property"] not in self.meta, "two %s tags" % a["property"]
            self.meta[a["property"]] = a.get("content")
        elif tag == "title":
            self._in_title = True
            self.title = ""
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "a":
            self.links.append(a.get("href"))

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def page(srv, code):
    r = srv.get("/s/" + code)
    tags = Tags()
    tags.feed(r.body.decode())
    return r, tags


# ---------------------------------------------------------------- the link

def test_one_link_per_customer_and_campaign(srv):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    a, b = http_customer(srv), http_customer(srv)
    r = share(srv, a.token, c["id"])
    assert r.status == 201, r
    assert CODE_RE.match(r.json["code"]), r.json
    assert r.json["url"] == "/s/" + r.json["code"] and r.json["campaign_id"] == c["id"]
    again = share(srv, a.token, c["id"])
    assert again.status == 200 and again.json["code"] == r.json["code"], again
    other = share(srv, b.token, c["id"])
    assert other.status == 201 and other.json["code"] != r.json["code"], other
    # an Idempotency-Key replays the first answer
    k = share(srv, b.token, c["id"], key="share-k")
    assert share(srv, b.token, c["id"], key="share-k").json == k.json


def test_shares_of_scheduled_campaigns_but_not_of_drafts_or_closed_ones(srv, db):
    t = new_tenant(srv)
    s = http_customer(srv)
    assert share(srv, s.token, scheduled_campaign(srv, t.token)["id"]).status == 201
    draft = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    assert_error(share(srv, s.token, draft["id"]), 404, "not_found")
    assert_error(share(srv, s.token, 999999999), 404, "not_found")
    c = open_campaign(srv, t.token)
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'failed', closed_at = now() WHERE id = %s",
                    (c["id"],))
    assert_error(share(srv, s.token, c["id"]), 409, "invalid_state")
    # staff and the anonymous cannot share
    assert_error(share(srv, t.token, c["id"]), 403, "forbidden")
    assert_error(srv.post("/v1/campaigns/%d/shares" % c["id"]), 401, "unauthenticated")


# ---------------------------------------------------------------- the page

def test_the_page_shows_the_offer_in_its_tags(srv):
    t = new_tenant(srv)
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 3, "unit_price_cents": 8900}]
    c = open_campaign(srv, t.token, title="五常大米 5kg", tiers=tiers, min_participants=4,
                      deposit_policy=ZERO)
    a = http_customer(srv)
    code = share(srv, a.token, c["id"]).json["code"]
    assert join(srv, a.token, c["id"]).status == 201
    r, tags = page(srv, code)
    assert r.status == 200, r
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert tags.title == "五常大米 5kg"
    assert tags.meta["og:title"] == "五常大米 5kg"
    assert tags.meta["og:description"] == "现价 ¥99.00 · 再 2 人享 ¥89.00 · 还差 3 人成团"
    assert tags.meta["og:url"] == "/s/" + code
    assert tags.meta["og:type"] == "website"
    # no inline script: a module of the web app, and a plain link into it
    assert tags.scripts == [{"type": "module", "src": "/shop/share.js"}]
    assert "/?share=%s#/c/%d" % (code, c["id"]) in tags.links
    assert srv.request("HEAD", "/s/" + code).status == 200


def test_og_url_names_the_configured_origin(make_server, dbname):
    srv = make_server(dbname, env=APP_ENV,
                      config=FAST_CONFIG + "http.public_url = https://tuan.example.com\n")
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    code = share(srv, http_customer(srv).token, c["id"]).json["code"]
    _, tags = page(srv, code)
    assert tags.meta["og:url"] == "https://tuan.example.com/s/" + code


@pytest.mark.parametrize("title", [
    '"><script>alert(1)</script>',
    "</title><script>alert(1)</script>",
    "x' onload='alert(1)",
    '<meta property="og:title" content="fake">',
    "A & B <i>&amp;</i>",
])
def test_html_special_characters_in_a_title_stay_text(srv, title):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, title=title)
    code = share(srv, http_customer(srv).token, c["id"]).json["code"]
    r, tags = page(srv, code)
    assert r.status == 200, r
    # the parser reads the title back whole, as text, in each place
    assert tags.title == title
    assert tags.meta["og:title"] == title
    assert tags.scripts == [{"type": "module", "src": "/shop/share.js"}]
    body = r.body.decode()
    assert "<script>alert" not in body and "onload='" not in body
    assert body.count('property="og:title"') == 1


def test_an_unknown_or_forged_code_is_a_404_page(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    code = share(srv, http_customer(srv).token, c["id"]).json["code"]
    for bad in ("aaaaaaaaaaaa", code[:-1] + ("a" if code[-1] != "a" else "b"), "ABC",
                "x" * 64):
        r = srv.get("/s/" + bad)
        assert r.status == 404, (bad, r)
        assert r.headers["Content-Type"].startswith("text/html")
        assert "Content-Security-Policy" in r.headers
    assert srv.get("/s/" + "x" * 65).status == 404
    assert srv.get("/s/a%3Cb").status == 404
    # a cancelled campaign's link leads nowhere either
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'cancelled' WHERE id = %s", (c["id"],))
    assert srv.get("/s/" + code).status == 404


# ---------------------------------------------------------------- the join

def test_a_join_records_its_sharer_but_not_ones_own_code(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    sharer, friend = http_customer(srv), http_customer(srv)
    code = share(srv, sharer.token, c["id"]).json["code"]
    mine = join(srv, sharer.token, c["id"], body={"quantity": 1, "share_code": code})
    assert mine.status == 201, mine
    r = join(srv, friend.token, c["id"], body={"quantity": 2, "share_code": code})
    assert r.status == 201, r
    with db.cursor() as cur:
        cur.execute("SELECT id, referred_by_customer_id FROM participations"
                    " WHERE campaign_id = %s ORDER BY id", (c["id"],))
        assert cur.fetchall() == [(mine.json["id"], None), (r.json["id"], sharer.id)]
    # staff see who brought it
    rows = srv.get("/v1/admin/campaigns/%d/participations" % c["id"], token=t.token).json
    by = {p["id"]: p["referred_by_customer_id"] for p in rows["items"]}
    assert by == {mine.json["id"]: None, r.json["id"]: sharer.id}
    # the keyed join path records it too
    k = http_customer(srv)
    rk = join(srv, k.token, c["id"], key="kj-1", body={"quantity": 1, "share_code": code})
    assert rk.status == 201, rk
    with db.cursor() as cur:
        cur.execute("SELECT referred_by_customer_id FROM participations WHERE id = %s",
                    (rk.json["id"],))
        assert cur.fetchone()[0] == sharer.id


def test_a_forged_or_foreign_code_is_refused_and_changes_nothing(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    other = open_campaign(srv, t.token)
    sharer = http_customer(srv)
    foreign = share(srv, sharer.token, other["id"]).json["code"]
    s = http_customer(srv)
    for code, key in ((foreign, None), (foreign, "k-foreign"), ("abcdefghjkmn", None),
                      ("abcdefghjkmn", "k-forged")):
        r = join(srv, s.token, c["id"], key=key, body={"quantity": 1, "share_code": code})
        assert_error(r, 400, "invalid_field", "share_code")
    for bad in ("short", "ABCDEFGHJKMN", "abcdefgh<kmn", 12345, "", "o" * 12):
        r = join(srv, s.token, c["id"], body={"quantity": 1, "share_code": bad})
        assert_error(r, 400, "invalid_field", "share_code")
    assert count_rows(db, "participations", "campaign_id = %s", (c["id"],)) == 0
    # and the same customer then joins without one
    assert join(srv, s.token, c["id"]).status == 201


def pay_balance(srv, token, pid, key):
    r = srv.post("/v1/participations/%d/payments" % pid, token=token,
                 headers={"Idempotency-Key": key})
    assert r.status == 201, r
    r2 = srv.post("/v1/sandbox/payments/%d" % r.json["payment"]["id"], {"outcome": "succeeded"},
                  token=token)
    assert r2.status == 200, r2


def wait_status(srv, token, pid, status, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = srv.get("/v1/participations/%d" % pid, token=token)
        if r.json["status"] == status:
            return
        time.sleep(0.05)
    raise AssertionError("participation %d never became %s" % (pid, status))


def test_three_friends_one_withdraws_one_pays_the_counts(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, min_participants=1, deposit_policy=ZERO)
    sharer = http_customer(srv)
    code = share(srv, sharer.token, c["id"]).json["code"]
    friends = [http_customer(srv) for _ in range(3)]
    pids = []
    for f in friends:
        r = join(srv, f.token, c["id"], body={"quantity": 1, "share_code": code})
        assert r.status == 201, r
        pids.append(r.json["id"])
    assert withdraw(srv, friends[0].token, pids[0]).status == 200
    mine = my_shares(srv, sharer.token)
    assert [(s["code"], s["joined"], s["completed"]) for s in mine] == [(code, 3, 0)]
    assert [f["status"] for f in mine[0]["friends"]] == ["withdrawn", "active", "active"]
    assert all(f["name"] == "T*" for f in mine[0]["friends"])  # "Test Shopper", masked
    # the campaign closes: the two left owe their balance; one pays
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() WHERE id = %s", (c["id"],))
    wait_status(srv, friends[1].token, pids[1], "awaiting_payment")
    pay_balance(srv, friends[1].token, pids[1], "pay-share-1")
    wait_status(srv, friends[1].token, pids[1], "paid")
    mine = my_shares(srv, sharer.token)
    assert (mine[0]["joined"], mine[0]["completed"]) == (3, 1)
    # staff: the referral list and the invitation report's shares part
    ref = srv.get("/v1/admin/campaigns/%d/referrals" % c["id"], token=t.token)
    assert ref.status == 200, ref
    assert [(i["customer"]["id"], i["joined"], i["completed"]) for i in ref.json["items"]] == \
        [(sharer.id, 3, 1)]
    rep = srv.get("/v1/admin/reports/invitations?campaign_id=%d" % c["id"], token=t.token)
    assert rep.status == 200, rep
    assert rep.json["shares"] == {"shares": 1, "joined": 3, "completed": 1, "conversion": 3}
    # share.joined, one per friend, with the campaign, the sharer and the participation
    items = [i for i in srv.get("/v1/admin/events?limit=200", token=t.token).json["items"]
             if i["type"] == "share.joined"]
    assert [i["data"]["participation"]["id"] for i in items] == pids
    assert all(i["data"]["sharer"]["id"] == sharer.id and i["data"]["campaign"]["id"] == c["id"]
               for i in items)


def test_my_shares_are_mine_only(srv):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    a, b = http_customer(srv), http_customer(srv)
    share(srv, a.token, c["id"])
    assert my_shares(srv, b.token) == []
    assert len(my_shares(srv, a.token)) == 1
    assert_error(srv.get("/v1/me/shares"), 401, "unauthenticated")

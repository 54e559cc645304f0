"""Questions and complaints, the shopper's side (API.md "Questions and
complaints"): asking on a campaign, the public answered questions (askers
masked, newest first, only those staff made public), one's own questions;
complaining about one's own campaign or order (else 404), with the staff's
replies; bodies stored exactly as sent; at most 10 questions and 5
complaints per customer an hour (429 with Retry-After, whichever process
takes them).
"""
import json
import threading

import pytest

from helpers import *
from campaign_helpers import open_campaign, create_campaign, create_product
from join_helpers import db_customers, http_customer, join

ZERO = [{"min_score": 0, "deposit_percent": 0}]
# text that must come back exactly, and be shown as text by every screen
ODD = "<script>alert('x')</script> & \"quotes\"\n第二行 \\ tab\t end "


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG)


def ask(srv, token, cid, body, key=None):
    return srv.post("/v1/campaigns/%d/questions" % cid, {"body": body}, token=token,
                    headers=idem(key))


def complain(srv, token, body, key=None, **ids):
    return srv.post("/v1/me/complaints", dict({"body": body}, **ids), token=token,
                    headers=idem(key))


def answer(srv, token, qid, body, public=True):
    return srv.post("/v1/admin/questions/%d/answer" % qid, {"body": body, "public": public},
                    token=token)


# ---------------------------------------------------------------- questions

def test_a_question_is_stored_as_sent_and_answered_in_public_by_choice(srv):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    s = new_customer(srv, display_name="李小龙")
    tok = customer_token(srv, s.login)
    r = ask(srv, tok, c["id"], ODD)
    assert r.status == 201, r
    assert (r.json["body"], r.json["status"], r.json["answer"]) == (ODD, "open", None)
    other = ask(srv, tok, c["id"], "是否包邮？").json
    public = srv.get("/v1/campaigns/%d/questions" % c["id"])
    assert public.status == 200 and public.json == {"items": [], "next_after": None}, public
    assert answer(srv, t.token, r.json["id"], "不会 <b>的</b>", public=True).status == 200
    assert answer(srv, t.token, other["id"], "private", public=False).status == 200
    items = srv.get("/v1/campaigns/%d/questions" % c["id"]).json["items"]
    assert [(i["id"], i["body"], i["asked_by"], i["answer"]) for i in items] == \
        [(r.json["id"], ODD, "李*", "不会 <b>的</b>")]
    assert "customer_id" not in items[0] and "login" not in json.dumps(items)
    mine = srv.get("/v1/me/questions", token=tok).json["items"]
    assert [(q["id"], q["status"], q["public"]) for q in mine] == \
        [(r.json["id"], "answered", True), (other["id"], "answered", False)]
    assert mine[1]["answer"] == "private" and mine[0]["campaign_title"] == c["title"]


def test_public_questions_are_newest_first_and_paged(srv):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    s = http_customer(srv)
    ids = [ask(srv, s.token, c["id"], "q%d" % i).json["id"] for i in range(5)]
    for qid in ids:
        assert answer(srv, t.token, qid, "a").status == 200
    first = srv.get("/v1/campaigns/%d/questions?limit=2" % c["id"]).json
    assert [i["id"] for i in first["items"]] == ids[:-3:-1]
    nxt = srv.get("/v1/campaigns/%d/questions?limit=2&after=%d"
                  % (c["id"], first["next_after"])).json
    assert [i["id"] for i in nxt["items"]] == [ids[2], ids[1]]


def test_questions_on_drafts_or_nothing_are_404(srv):
    t = new_tenant(srv)
    s = http_customer(srv)
    draft = create_campaign(srv, t.token, create_product(srv, t.token)["id"])
    assert_error(ask(srv, s.token, draft["id"], "hi"), 404, "not_found")
    assert_error(srv.get("/v1/campaigns/%d/questions" % draft["id"]), 404, "not_found")
    assert_error(ask(srv, s.token, 999999999, "hi"), 404, "not_found")
    c = open_campaign(srv, t.token)
    assert_error(ask(srv, s.token, c["id"], ""), 400, "invalid_field", "body")
    assert_error(ask(srv, s.token, c["id"], "x" * 1001), 400, "invalid_field", "body")
    assert ask(srv, s.token, c["id"], "字" * 1000).status == 201  # characters, not bytes
    assert_error(srv.post("/v1/campaigns/%d/questions" % c["id"], {"body": "x", "more": 1},
                          token=s.token), 400, "invalid_field")
    assert_error(ask(srv, t.token, c["id"], "staff?"), 403, "forbidden")
    assert_error(srv.post("/v1/campaigns/%d/questions" % c["id"], {"body": "x"}),
                 401, "unauthenticated")


def test_ten_questions_an_hour_across_two_processes(make_server, dbname, db):
    one = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    two = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    t = new_tenant(one)
    c = open_campaign(one, t.token)
    s = db_customers(db, 1)[0]
    results = []

    def go(i):
        results.append(ask(one if i % 2 else two, s.token, c["id"], "q%d" % i))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(14)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status for r in results) == [201] * 10 + [429] * 4
    limited = [r for r in results if r.status == 429][0]
    assert_error(limited, 429, "rate_limited")
    assert 3500 <= int(limited.headers["Retry-After"]) <= 3600
    # an idempotent replay is no new question
    assert count_rows(db, "questions", "customer_id = %s", (s.id,)) == 10
    # an hour later, the budget is back
    q_ = "UPDATE questions SET created_at = created_at - interval '1 hour' WHERE customer_id = %s"
    with db.cursor() as cur:
        cur.execute(q_, (s.id,))
    assert ask(one, s.token, c["id"], "again").status == 201
    # another customer has a budget of their own
    assert ask(one, http_customer(one).token, c["id"], "me too").status == 201


# ---------------------------------------------------------------- complaints

def test_a_complaint_is_about_ones_own_campaign_or_order(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    other = open_campaign(srv, t.token)
    s, stranger = http_customer(srv), http_customer(srv)
    assert join(srv, s.token, c["id"]).status == 201
    r = complain(srv, s.token, ODD, campaign_id=c["id"])
    assert r.status == 201, r
    assert (r.json["body"], r.json["status"], r.json["campaign_id"], r.json["replies"]) == \
        (ODD, "open", c["id"], [])
    assert_error(complain(srv, s.token, "x", campaign_id=other["id"]), 404, "not_found")
    assert_error(complain(srv, stranger.token, "x", campaign_id=c["id"]), 404, "not_found")
    assert_error(complain(srv, s.token, "x", order_id=999999), 404, "not_found")
    assert_error(complain(srv, s.token, "x"), 400, "invalid_field", "campaign_id")
    assert_error(complain(srv, s.token, ""), 400, "invalid_field", "body")
    assert_error(complain(srv, s.token, "x" * 2001, campaign_id=c["id"]), 400,
                 "invalid_field", "body")
    mine = srv.get("/v1/me/complaints", token=s.token).json["items"]
    assert [(k["id"], k["body"]) for k in mine] == [(r.json["id"], ODD)]
    assert srv.get("/v1/me/complaints", token=stranger.token).json["items"] == []
    assert count_rows(db, "complaints") == 1


def test_a_complaint_about_an_order_names_its_campaign(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    s, stranger = http_customer(srv), http_customer(srv)
    pid = join(srv, s.token, c["id"]).json["id"]
    with db.cursor() as cur:  # set-up: the order a paid participation becomes
        cur.execute("INSERT INTO orders (distributor_id, participation_id, campaign_id,"
                    " customer_id, quantity, fulfilment) VALUES (%s, %s, %s, %s, 1,"
                    " 'delivery') RETURNING id", (t.id, pid, c["id"], s.id))
        oid = cur.fetchone()[0]
    r = complain(srv, s.token, "broken", order_id=oid)
    assert r.status == 201 and (r.json["order_id"], r.json["campaign_id"]) == (oid, c["id"]), r
    assert complain(srv, s.token, "both", order_id=oid, campaign_id=c["id"]).status == 201
    other = open_campaign(srv, t.token)
    assert_error(complain(srv, s.token, "disagree", order_id=oid, campaign_id=other["id"]),
                 404, "not_found")
    assert_error(complain(srv, stranger.token, "not mine", order_id=oid), 404, "not_found")


def test_five_complaints_an_hour(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    s = http_customer(srv)
    assert join(srv, s.token, c["id"]).status == 201
    got = [complain(srv, s.token, "n%d" % i, key="k%d" % i, campaign_id=c["id"]).status
           for i in range(5)]
    assert got == [201] * 5
    # a replay answers again without spending the budget
    assert complain(srv, s.token, "n0", key="k0", campaign_id=c["id"]).status == 201
    r = complain(srv, s.token, "n6", campaign_id=c["id"])
    assert_error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert count_rows(db, "complaints", "customer_id = %s", (s.id,)) == 5

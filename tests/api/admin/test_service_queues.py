"""The staff's side of growth and service (API.md "Share links and
referrals", "Questions and complaints"): the questions and complaints
queues oldest first with their age, answering (again: replaced, with an
audit line holding the answer before), replying and resolving, the events,
the roles, another distributor's ids; the referral list best first.
"""
import pytest

from helpers import *
from campaign_helpers import open_campaign
from join_helpers import http_customer, join

ZERO = [{"min_score": 0, "deposit_percent": 0}]


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG)


def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def ask(srv, token, cid, body):
    r = srv.post("/v1/campaigns/%d/questions" % cid, {"body": body}, token=token)
    assert r.status == 201, r
    return r.json


def events(srv, token, prefix):
    r = srv.get("/v1/admin/events?limit=200", token=token)
    assert r.status == 200, r
    return [i for i in r.json["items"] if i["type"].startswith(prefix)]


# ---------------------------------------------------------------- questions

def test_the_questions_queue_oldest_first_with_its_age(srv, db):
    t, other = new_tenant(srv), new_tenant(srv)
    c1, c2 = open_campaign(srv, t.token), open_campaign(srv, t.token)
    s = http_customer(srv)
    a = ask(srv, s.token, c1["id"], "first?")
    b = ask(srv, s.token, c2["id"], "second?")
    elsewhere = ask(srv, s.token, open_campaign(srv, other.token)["id"], "not yours")
    q(db, "UPDATE questions SET created_at = now() - interval '2 hours' WHERE id = %s",
      (a["id"],))
    r = srv.get("/v1/admin/questions?status=open", token=t.token)
    assert r.status == 200, r
    items = r.json["items"]
    assert [i["id"] for i in items] == [a["id"], b["id"]]
    assert items[0]["age_seconds"] >= 7200 and items[1]["age_seconds"] < 60
    assert items[0]["customer"]["id"] == s.id and items[0]["campaign_title"] == c1["title"]
    only = srv.get("/v1/admin/questions?campaign_id=%d" % c2["id"], token=t.token).json
    assert [i["id"] for i in only["items"]] == [b["id"]]
    op = new_staff(srv, t.token, role="operator")
    r = srv.post("/v1/admin/questions/%d/answer" % a["id"], {"body": "yes", "public": True},
                 token=staff_token(srv, op.login))
    assert r.status == 200 and r.json["status"] == "answered" and r.json["answer"] == "yes", r
    assert [i["id"] for i in srv.get("/v1/admin/questions?status=open",
                                     token=t.token).json["items"]] == [b["id"]]
    assert [i["id"] for i in srv.get("/v1/admin/questions?status=answered",
                                     token=t.token).json["items"]] == [a["id"]]
    # another distributor's question is not found; bad filters are 400
    assert_error(srv.post("/v1/admin/questions/%d/answer" % elsewhere["id"],
                          {"body": "x", "public": True}, token=t.token), 404, "not_found")
    assert_error(srv.get("/v1/admin/questions?status=closed", token=t.token), 400,
                 "invalid_field", "status")
    assert_error(srv.get("/v1/admin/questions?campaign_id=x", token=t.token), 400,
                 "invalid_field", "campaign_id")
    assert_error(srv.post("/v1/admin/questions/%d/answer" % b["id"], {"body": "x"},
                          token=t.token), 400, "invalid_field", "public")
    fin = new_staff(srv, t.token, role="finance")
    assert_error(srv.get("/v1/admin/questions", token=staff_token(srv, fin.login)),
                 403, "forbidden")


def test_a_replaced_answer_is_audited_with_the_one_before(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    s = http_customer(srv)
    qu = ask(srv, s.token, c["id"], "包邮吗？")
    url = "/v1/admin/questions/%d/answer" % qu["id"]
    assert srv.post(url, {"body": "包邮", "public": False}, token=t.token).status == 200
    r = srv.post(url, {"body": "偏远地区不包邮", "public": True}, token=t.token)
    assert r.status == 200 and r.json["answer"] == "偏远地区不包邮" and r.json["public"], r
    rows = q(db, "SELECT action, before ->> 'answer', after ->> 'answer', staff_id"
                 " FROM audit_log WHERE entity = 'question' AND entity_id = %s ORDER BY id",
             (qu["id"],))
    assert rows == [("answer", None, "包邮", t.owner["id"]),
                    ("replace_answer", "包邮", "偏远地区不包邮", t.owner["id"])]
    log = srv.get("/v1/admin/audit-log", token=t.token).json["items"]
    assert any(e["action"] == "replace_answer" for e in log)
    evs = events(srv, t.token, "question.")
    assert [e["type"] for e in evs] == ["question.asked", "question.answered",
                                        "question.answered"]
    assert evs[0]["data"]["body"] == "包邮吗？" and evs[-1]["data"]["answer"] == "偏远地区不包邮"


# ---------------------------------------------------------------- complaints

def test_the_complaints_queue_reply_and_resolve(srv, db):
    t, other = new_tenant(srv), new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    s = http_customer(srv)
    assert join(srv, s.token, c["id"]).status == 201
    k1 = srv.post("/v1/me/complaints", {"body": "太慢了", "campaign_id": c["id"]},
                  token=s.token).json
    k2 = srv.post("/v1/me/complaints", {"body": "<b>坏了</b>", "campaign_id": c["id"]},
                  token=s.token).json
    q(db, "UPDATE complaints SET created_at = now() - interval '1 day' WHERE id = %s",
      (k1["id"],))
    items = srv.get("/v1/admin/complaints?status=open", token=t.token).json["items"]
    assert [(i["id"], i["body"]) for i in items] == [(k1["id"], "太慢了"), (k2["id"], "<b>坏了</b>")]
    assert items[0]["age_seconds"] >= 86400 and items[0]["customer"]["id"] == s.id
    assert srv.get("/v1/admin/complaints", token=other.token).json["items"] == []
    # a reply, seen by the customer
    r = srv.post("/v1/admin/complaints/%d/reply" % k1["id"], {"body": "已加急"},
                 token=t.token, headers={"Idempotency-Key": "rep-1"})
    assert r.status == 201 and r.json["body"] == "已加急", r
    again = srv.post("/v1/admin/complaints/%d/reply" % k1["id"], {"body": "已加急"},
                     token=t.token, headers={"Idempotency-Key": "rep-1"})
    assert again.json == r.json
    mine = srv.get("/v1/me/complaints", token=s.token).json["items"]
    assert [x["body"] for x in mine[0]["replies"]] == ["已加急"]
    assert "staff_id" not in mine[0]["replies"][0]
    # resolved once; then neither replies nor a second resolution
    r = srv.post("/v1/admin/complaints/%d/resolve" % k1["id"], {"note": "refunded 5 yuan"},
                 token=t.token)
    assert r.status == 200 and r.json["status"] == "resolved", r
    assert r.json["resolution_note"] == "refunded 5 yuan"
    assert_error(srv.post("/v1/admin/complaints/%d/resolve" % k1["id"], {"note": ""},
                          token=t.token), 409, "invalid_state")
    assert_error(srv.post("/v1/admin/complaints/%d/reply" % k1["id"], {"body": "x"},
                          token=t.token), 409, "invalid_state")
    assert [i["id"] for i in srv.get("/v1/admin/complaints?status=resolved",
                                     token=t.token).json["items"]] == [k1["id"]]
    assert [i["id"] for i in srv.get("/v1/admin/complaints?status=open",
                                     token=t.token).json["items"]] == [k2["id"]]
    # another distributor's staff cannot touch it
    assert_error(srv.post("/v1/admin/complaints/%d/reply" % k2["id"], {"body": "x"},
                          token=other.token), 404, "not_found")
    assert_error(srv.post("/v1/admin/complaints/%d/resolve" % k2["id"], {},
                          token=other.token), 404, "not_found")
    assert_error(srv.get("/v1/admin/complaints?status=new", token=t.token), 400,
                 "invalid_field", "status")
    assert [e["type"] for e in events(srv, t.token, "complaint.")] == [
        "complaint.opened", "complaint.opened", "complaint.replied", "complaint.resolved"]
    actions = q(db, "SELECT action FROM audit_log WHERE entity = 'complaint' ORDER BY id")
    assert actions == [("reply",), ("resolve",)]


# ---------------------------------------------------------------- referrals

def test_the_referral_list_is_best_first_and_the_distributors_own(srv):
    t, other = new_tenant(srv), new_tenant(srv)
    c = open_campaign(srv, t.token, deposit_policy=ZERO)
    a, b, idle = http_customer(srv), http_customer(srv), http_customer(srv)
    codes = {}
    for s in (a, b, idle):
        r = srv.post("/v1/campaigns/%d/shares" % c["id"], token=s.token)
        codes[s.id] = r.json["code"]
    for sharer, n in ((a, 1), (b, 2)):
        for _ in range(n):
            f = http_customer(srv)
            assert join(srv, f.token, c["id"],
                        body={"quantity": 1, "share_code": codes[sharer.id]}).status == 201
    r = srv.get("/v1/admin/campaigns/%d/referrals" % c["id"], token=t.token)
    assert r.status == 200, r
    assert [(i["customer"]["id"], i["code"], i["joined"], i["completed"])
            for i in r.json["items"]] == [(b.id, codes[b.id], 2, 0), (a.id, codes[a.id], 1, 0)]
    assert_error(srv.get("/v1/admin/campaigns/%d/referrals" % c["id"], token=other.token),
                 404, "not_found")
    rep = srv.get("/v1/admin/reports/invitations?campaign_id=%d" % c["id"], token=t.token).json
    assert rep["shares"] == {"shares": 3, "joined": 3, "completed": 0, "conversion": 1}

"""Payments: intents for deposits and balances, and the provider's signed
webhook (API.md "Payments").

Webhooks are signed here exactly as the provider signs them: HMAC-SHA256
with the shared secret over t + "." + the raw body, sent as
X-Signature: t=UNIX_SECONDS,v1=HEX. Participations are set up by inserting
rows directly (the join endpoint is another part of the work); behaviour is
observed through HTTP and the resulting rows.
"""
import hashlib
import hmac
import json
import time

import pytest

from helpers import *

from payment_helpers import *  # noqa: F401,F403


@pytest.fixture
def pay(make_server, dbname, db):
    srv = make_server(dbname, env=PAY_ENV, config=FAST_CONFIG)
    return World(srv, db)


# ---------------------------------------------------------------- intents

def test_deposit_flow_intent_webhook_active(pay):
    pid = pay.participation(deposit=1980, deposit_paid=0)
    p = pay.new_intent(pid)
    assert p["participation_id"] == pid
    assert p["kind"] == "deposit"
    assert p["amount_cents"] == 1980
    assert p["status"] == "pending"
    assert isinstance(p["id"], int)

    r = webhook(pay.srv, event(p, ref="ch_deposit_1"))
    assert r.status == 200, r
    assert r.json["payment"]["status"] == "succeeded"
    assert pay.participation_row(pid) == ("active", 1980, 0)
    assert pay.ledger(pid) == [("deposit_received", 1980,
                                "deposit_received:payment:%d" % p["id"])]
    assert [o[:2] for o in pay.outbox(pid)] == [("participation.activated",
                                                 "deposit_paid:participation:%d" % pid)]
    assert pay.payment_status(p["id"]) == "succeeded"
    evs = pay.events(p["id"])
    assert len(evs) == 1 and evs[0][0] == "succeeded" and evs[0][3] == "ch_deposit_1"
    assert json.loads(evs[0][4]) == event(p, ref="ch_deposit_1")
    # the campaign's live counters are unchanged: still one live participation
    assert pay.row("SELECT live_participants, live_quantity FROM campaigns"
                   " WHERE id = %s", (pay.campaign_id,)) == (1, 2)


def test_deposit_partly_paid_intent_is_for_the_rest(pay):
    pid = pay.participation(deposit=1980, deposit_paid=500)
    p = pay.new_intent(pid)
    assert (p["kind"], p["amount_cents"]) == ("deposit", 1480)
    assert webhook(pay.srv, event(p)).status == 200
    assert pay.participation_row(pid) == ("active", 1980, 0)


def test_replayed_webhook_changes_nothing(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    ev = event(p, ref="ch_replay")
    raw = json.dumps(ev).encode()
    first = webhook(pay.srv, ev, raw=raw)
    assert first.status == 200, first
    for _ in range(2):
        again = webhook(pay.srv, ev, raw=raw)
        assert again.status == 200, again
        assert again.json["outcome"] == "duplicate"
    assert len(pay.ledger(pid)) == 1
    assert len(pay.outbox(pid)) == 1
    assert pay.participation_row(pid) == ("active", 1980, 0)
    assert [e[2] for e in pay.events(p["id"])] == ["applied", "duplicate", "duplicate"]


def test_concurrent_deliveries_apply_once(pay):
    """The provider retries while the first delivery is still running: the
    row locks serialise them, one applies, the others are duplicates."""
    import concurrent.futures
    pid = pay.participation()
    p = pay.new_intent(pid)
    raw = json.dumps(event(p, ref="ch_race")).encode()
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        got = list(ex.map(lambda _: webhook(pay.srv, None, raw=raw), range(16)))
    assert all(r.status == 200 for r in got), got
    assert sorted(r.json["outcome"] for r in got) == ["applied"] + ["duplicate"] * 15
    assert len(pay.ledger(pid)) == 1 and len(pay.outbox(pid)) == 1
    assert pay.participation_row(pid) == ("active", 1980, 0)


def test_concurrent_intents_make_one_payment(pay):
    import concurrent.futures
    pid = pay.participation()
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        got = list(ex.map(lambda _: pay.intent(pid), range(8)))
    assert all(r.status == 201 for r in got), got
    assert len({r.json["payment"]["id"] for r in got}) == 1
    assert count_rows(pay.db, "payments", "participation_id = %s", (pid,)) == 1


def test_second_intent_while_pending_is_the_same_payment(pay):
    pid = pay.participation()
    a = pay.new_intent(pid)
    b = pay.new_intent(pid)
    assert a == b
    assert count_rows(pay.db, "payments", "participation_id = %s", (pid,)) == 1


def test_intent_idempotency_key_replays(pay):
    pid = pay.participation()
    first = pay.intent(pid, key="pay-key-1")
    assert first.status == 201, first
    again = pay.intent(pid, key="pay-key-1")
    assert again.status == 201 and again.body == first.body
    assert header(again, "Idempotent-Replayed") == "true"
    assert count_rows(pay.db, "payments", "participation_id = %s", (pid,)) == 1
    # the same key with another (valid) body: the conflict, nothing made
    assert_error(pay.intent(pid, key="pay-key-1", body={}), 409, "idempotency_conflict")
    assert count_rows(pay.db, "payments", "participation_id = %s", (pid,)) == 1
    # an invalid body is refused as such, before the key is looked at
    assert_error(pay.intent(pid, key="pay-key-1", body={"x": 1}), 400, "invalid_field", "x")


def test_intent_refuses_unknown_fields(pay):
    pid = pay.participation()
    assert_error(pay.intent(pid, body={"amount_cents": 1}), 400, "invalid_field",
                 "amount_cents")
    assert pay.intent(pid, body={}).status == 201


def test_intent_nothing_due_is_409(pay):
    for status in ("active", "expired", "withdrawn", "void", "paid", "refunded",
                   "defaulted"):
        other = pay.campaign()
        pid = pay.participation(status=status, deposit=0 if status == "active" else 1980,
                                campaign_id=other)
        assert_error(pay.intent(pid), 409, "invalid_state")
    assert count_rows(pay.db, "payments") == 0


def test_intent_deposit_window_passed_is_409(pay):
    pid = pay.participation(due_in="-1 second")
    assert_error(pay.intent(pid), 409, "invalid_state")


def test_intent_campaign_ended_is_409(pay):
    pay.db.cursor().execute("UPDATE campaigns SET starts_at = now() - interval '2 hours',"
                            " ends_at = now() - interval '1 second' WHERE id = %s",
                            (pay.campaign_id,))
    pid = pay.participation()
    assert_error(pay.intent(pid), 409, "invalid_state")


def test_intent_other_customers_participation_is_404(pay):
    pid = pay.participation()
    stranger = new_customer(pay.srv)
    token = customer_token(pay.srv, stranger.login)
    assert_error(pay.intent(pid, token=token), 404, "not_found")
    assert_error(pay.intent(pid + 1000), 404, "not_found")
    assert count_rows(pay.db, "payments") == 0


def test_intent_needs_a_customer(pay):
    pid = pay.participation()
    assert_error(pay.srv.post("/v1/participations/%d/payments" % pid), 401,
                 "unauthenticated")
    assert_error(pay.intent(pid, token=pay.tenant.token), 403, "forbidden")


# ---------------------------------------------------------------- balance

def test_balance_flow_paid_and_completed(pay):
    closed = pay.campaign(status="succeeded", final_price=8900)
    pid = pay.participation(status="awaiting_payment", quantity=2, deposit=1980,
                            deposit_paid=1980, unit_price=8900, pay_in="1 day",
                            campaign_id=closed)
    p = pay.new_intent(pid)
    assert (p["kind"], p["amount_cents"]) == ("balance", 8900 * 2 - 1980)
    r = webhook(pay.srv, event(p, ref="ch_balance"))
    assert r.status == 200, r
    assert pay.participation_row(pid) == ("paid", 1980, 8900 * 2 - 1980)
    assert pay.ledger(pid) == [("balance_received", 15820,
                                "balance_received:payment:%d" % p["id"])]
    assert [o[:2] for o in pay.outbox(pid)] == [("participation.paid",
                                                 "paid:participation:%d" % pid)]
    assert pay.rows("SELECT kind FROM customer_events WHERE participation_id = %s",
                    (pid,)) == [("completed",)]
    assert_error(pay.intent(pid), 409, "invalid_state")
    # replay: no second event, ledger row or outbox row
    assert webhook(pay.srv, event(p, ref="ch_balance")).json["outcome"] == "duplicate"
    assert len(pay.ledger(pid)) == 1 and len(pay.outbox(pid)) == 1
    assert count_rows(pay.db, "customer_events", "participation_id = %s", (pid,)) == 1


def test_balance_after_payment_window_is_refunded(pay):
    closed = pay.campaign(status="succeeded", final_price=8900)
    pid = pay.participation(status="awaiting_payment", quantity=1, deposit=0,
                            unit_price=8900, pay_in="1 day", campaign_id=closed)
    p = pay.new_intent(pid)
    pay.db.cursor().execute("UPDATE participations SET pay_by = now() - interval '1 second'"
                            " WHERE id = %s", (pid,))
    assert_error(pay.intent(pid), 409, "invalid_state")
    r = webhook(pay.srv, event(p))
    assert r.status == 200 and r.json["outcome"] == "refunded", r
    assert pay.participation_row(pid) == ("awaiting_payment", 0, 0)
    assert [l[0] for l in pay.ledger(pid)] == ["balance_received", "refund_issued"]


# ---------------------------------------------------------------- webhook checks

def test_wrong_amount_is_400_recorded_and_changes_nothing(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    r = webhook(pay.srv, event(p, amount=p["amount_cents"] - 1))
    assert_error(r, 400, "invalid_field", "amount_cents")
    assert pay.participation_row(pid) == ("pending_deposit", 0, 0)
    assert pay.payment_status(p["id"]) == "pending"
    assert pay.ledger(pid) == [] and pay.outbox(pid) == []
    evs = pay.events(p["id"])
    assert [(e[1], e[2]) for e in evs] == [(p["amount_cents"] - 1, "amount_mismatch")]
    # the right amount afterwards still goes through
    assert webhook(pay.srv, event(p)).status == 200
    assert pay.participation_row(pid)[0] == "active"


def test_bad_signature_is_401_and_not_recorded(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    ev = event(p)
    assert_error(webhook(pay.srv, ev, secret="not-the-secret"), 401, "unauthenticated")
    raw = json.dumps(ev).encode()
    other = json.dumps(dict(ev, provider_ref="x")).encode()
    assert_error(webhook(pay.srv, ev, raw=raw, signature=sign(other)), 401,
                 "unauthenticated")
    # a signature over the same body with one hex digit changed
    good = sign(raw)
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert_error(webhook(pay.srv, ev, raw=raw, signature=flipped), 401,
                 "unauthenticated")
    assert pay.events(p["id"]) == []
    assert pay.participation_row(pid) == ("pending_deposit", 0, 0)
    assert webhook(pay.srv, ev, raw=raw, signature=good).status == 200


@pytest.mark.parametrize("skew", [-301, 301, -100000, 100000])
def test_stale_or_future_timestamp_is_401(pay, skew):
    pid = pay.participation()
    p = pay.new_intent(pid)
    r = webhook(pay.srv, event(p), t=int(time.time()) + skew)
    assert_error(r, 401, "unauthenticated")
    assert pay.payment_status(p["id"]) == "pending"
    assert pay.events(p["id"]) == []


def test_timestamp_within_tolerance_is_accepted(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    r = webhook(pay.srv, event(p), t=int(time.time()) - 290)
    assert r.status == 200, r


@pytest.mark.parametrize("sig", [
    False, "", "t=123", "v1=" + "a" * 64, "t=abc,v1=" + "a" * 64,
    "t=1700000000, v1=" + "a" * 64, "t=1700000000,v1=xyz", "sha256=" + "a" * 64,
])
def test_missing_or_malformed_header_is_401(pay, sig):
    pid = pay.participation()
    p = pay.new_intent(pid)
    assert_error(webhook(pay.srv, event(p), signature=sig), 401, "unauthenticated")
    assert pay.payment_status(p["id"]) == "pending"


def test_webhook_body_is_strict(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    bad = [dict(event(p), extra=1), dict(event(p), status="pending"),
           {k: v for k, v in event(p).items() if k != "provider_ref"},
           dict(event(p), amount_cents="1980"), dict(event(p), payment_id=1.5)]
    for ev in bad:
        assert_error(webhook(pay.srv, ev), 400, "invalid_field")
    assert_error(webhook(pay.srv, None, raw=b"{not json"), 400, "invalid_json")
    assert pay.payment_status(p["id"]) == "pending"


def test_unknown_payment_is_404_and_recorded(pay):
    r = webhook(pay.srv, {"payment_id": 987654, "status": "succeeded",
                          "amount_cents": 100, "provider_ref": "ch_x"})
    assert_error(r, 404, "not_found")
    assert [e[2] for e in pay.events(987654)] == ["not_found"]


@pytest.mark.expect_5xx(503)
def test_webhook_without_secret_is_503(make_server, dbname):
    srv = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    raw = b'{"payment_id": 1, "status": "failed", "amount_cents": 1, "provider_ref": "r"}'
    r = srv.request("POST", WEBHOOK, raw_body=raw,
                    headers={"Content-Type": "application/json", "X-Signature": sign(raw)})
    assert_error(r, 503, "unavailable")


def test_webhook_needs_no_bearer_token(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    r = pay.srv.request("POST", WEBHOOK, raw_body=json.dumps(event(p)).encode(),
                        headers={"Content-Type": "application/json",
                                 "Authorization": "Bearer " + random_token(),
                                 "X-Signature": sign(json.dumps(event(p)).encode())})
    assert r.status == 200, r


# ---------------------------------------------------------------- outcomes

def test_failed_payment_leaves_participation_and_allows_a_new_intent(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    r = webhook(pay.srv, event(p, status="failed", ref="ch_f"))
    assert r.status == 200 and r.json["payment"]["status"] == "failed", r
    assert pay.participation_row(pid) == ("pending_deposit", 0, 0)
    assert pay.ledger(pid) == [] and pay.outbox(pid) == []
    assert webhook(pay.srv, event(p, status="failed", ref="ch_f")).json["outcome"] == "duplicate"
    q = pay.new_intent(pid)
    assert q["id"] != p["id"] and q["amount_cents"] == p["amount_cents"]
    assert webhook(pay.srv, event(q, ref="ch_ok")).status == 200
    assert pay.participation_row(pid)[0] == "active"
    # the first intent succeeding as well is a second deposit: refunded
    r = webhook(pay.srv, event(p, ref="ch_late"))
    assert r.status == 200 and r.json["outcome"] == "refunded", r
    assert pay.participation_row(pid) == ("active", 1980, 0)
    kinds = [l[0] for l in pay.ledger(pid)]
    assert kinds == ["deposit_received", "deposit_received", "refund_issued"]


def test_failure_after_success_is_ignored(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    assert webhook(pay.srv, event(p, ref="ch_1")).status == 200
    r = webhook(pay.srv, event(p, status="failed", ref="ch_1"))
    assert r.status == 200 and r.json["outcome"] == "ignored", r
    assert pay.payment_status(p["id"]) == "succeeded"
    assert pay.participation_row(pid)[0] == "active"


def test_second_success_under_other_ref_is_409(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    assert webhook(pay.srv, event(p, ref="ch_1")).status == 200
    assert_error(webhook(pay.srv, event(p, ref="ch_2")), 409, "invalid_state")
    assert len(pay.ledger(pid)) == 1
    assert [e[2] for e in pay.events(p["id"])] == ["applied", "conflict"]


def assert_late_refund(pay, pid, p, status):
    r = webhook(pay.srv, event(p, ref="ch_late"))
    assert r.status == 200, r
    assert r.json["outcome"] == "refunded"
    assert pay.participation_row(pid) == (status, 0, 0)
    assert pay.payment_status(p["id"]) == "refunded"
    key = "refund:participation:%d:late:%d" % (pid, p["id"])
    assert pay.ledger(pid) == [
        ("deposit_received", p["amount_cents"], "deposit_received:payment:%d" % p["id"]),
        ("refund_issued", p["amount_cents"], key)]
    out = pay.outbox(pid)
    assert [(o[0], o[1]) for o in out] == [("participation.refunded", key)]
    assert out[0][2]["amount_cents"] == p["amount_cents"]
    assert [e[2] for e in pay.events(p["id"])] == ["refunded"]
    again = webhook(pay.srv, event(p, ref="ch_late"))
    assert again.status == 200 and again.json["outcome"] == "duplicate"
    assert len(pay.ledger(pid)) == 2 and len(pay.outbox(pid)) == 1


@pytest.mark.parametrize("later", ["expired", "void", "withdrawn"])
def test_success_for_dead_participation_is_refunded(pay, later):
    pid = pay.participation()
    p = pay.new_intent(pid)
    pay.db.cursor().execute("UPDATE participations SET status = %s WHERE id = %s",
                            (later, pid))
    assert_late_refund(pay, pid, p, later)


def test_success_after_deposit_window_is_refunded(pay):
    """The scheduler has not expired it yet, but the database clock says the
    window has passed."""
    pid = pay.participation()
    p = pay.new_intent(pid)
    pay.db.cursor().execute("UPDATE participations SET deposit_due_by = now()"
                            " - interval '1 second' WHERE id = %s", (pid,))
    assert_late_refund(pay, pid, p, "pending_deposit")


def test_deposit_for_closed_campaign_is_refunded(pay):
    pid = pay.participation()
    p = pay.new_intent(pid)
    pay.db.cursor().execute("UPDATE campaigns SET status = 'failed', closed_at = now()"
                            " WHERE id = %s", (pay.campaign_id,))
    assert_late_refund(pay, pid, p, "pending_deposit")


# ---------------------------------------------------------------- end to end

def test_join_pay_deposit_end_to_end(pay):
    """Through the public API only: a new customer (score 75, 10 % band)
    joins, pays the deposit, and the participation turns active."""
    from campaign_helpers import open_campaign
    c = open_campaign(pay.srv, pay.tenant.token)
    r = pay.srv.post("/v1/campaigns/%d/participations" % c["id"], {"quantity": 2},
                     token=pay.token)
    assert r.status == 201, r
    part = r.json.get("participation", r.json)
    assert part["status"] == "pending_deposit", part
    due = part["amount_due_cents"]
    assert due == part["deposit_cents"] > 0
    p = pay.new_intent(part["id"])
    assert (p["kind"], p["amount_cents"]) == ("deposit", due)
    assert webhook(pay.srv, event(p)).status == 200
    got = pay.srv.get("/v1/participations/%d" % part["id"], token=pay.token)
    assert got.status == 200, got
    now = got.json.get("participation", got.json)
    assert now["status"] == "active" and now["deposit_paid_cents"] == due
    assert now["amount_due_cents"] == 0

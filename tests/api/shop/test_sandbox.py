"""The sandbox payment provider (API.md "Sandbox payment provider"): with
GROUPBUYD_PAYMENT_SANDBOX=1 a payment intent answers a checkout_url, and
POST /v1/sandbox/payments/{id} delivers the provider's signed webhook
through the webhook's own code path (the payment_events row holds the
exact body that was signed and verified). Off, /v1/sandbox/ is 404."""
import hashlib
import hmac
import json

import pytest

from helpers import *
from payment_helpers import SECRET, PAY_ENV, World, sign

SANDBOX_ENV = dict(PAY_ENV, GROUPBUYD_PAYMENT_SANDBOX="1")


@pytest.fixture
def sandbox(make_server, dbname, db):
    return World(make_server(dbname, env=SANDBOX_ENV, config=FAST_CONFIG), db)


def outcome(world, payment_id, body, token=None):
    return world.srv.post("/v1/sandbox/payments/%d" % payment_id, body,
                          token=token or world.token)


def test_intent_answers_a_checkout_url_of_the_web_app(sandbox):
    pid = sandbox.participation(deposit=1980)
    r = sandbox.intent(pid, key="k-checkout")
    assert r.status == 201, r
    p = r.json["payment"]
    assert r.json["checkout_url"] == "/#/checkout/%d" % p["id"]
    # the page it names is served
    assert sandbox.srv.get("/").status == 200
    # a replay of the same key answers the same, URL included
    assert sandbox.intent(pid, key="k-checkout").json == r.json


def test_confirm_delivers_the_signed_webhook(sandbox):
    pid = sandbox.participation(deposit=1980)
    p = sandbox.new_intent(pid)
    r = outcome(sandbox, p["id"], {"outcome": "succeeded"})
    assert r.status == 200, r
    assert r.json["outcome"] == "applied"
    assert r.json["payment"]["status"] == "succeeded"
    assert sandbox.participation_row(pid) == ("active", 1980, 0)
    evs = sandbox.events(p["id"])
    assert len(evs) == 1
    status, amount, applied, ref, body = evs[0]
    assert (status, amount, applied, ref) == ("succeeded", 1980, "applied",
                                             "sandbox-%d" % p["id"])
    assert json.loads(body) == {"payment_id": p["id"], "status": "succeeded",
                                "amount_cents": 1980,
                                "provider_ref": "sandbox-%d" % p["id"]}
    # the same confirmation again is the same event: a replay
    again = outcome(sandbox, p["id"], {"outcome": "succeeded"})
    assert again.status == 200 and again.json["outcome"] == "duplicate"
    assert len(sandbox.ledger(pid)) == 1


def test_decline_fails_the_payment_and_a_new_intent_can_follow(sandbox):
    pid = sandbox.participation(deposit=1980)
    p = sandbox.new_intent(pid)
    r = outcome(sandbox, p["id"], {"outcome": "failed"})
    assert r.status == 200, r
    assert sandbox.payment_status(p["id"]) == "failed"
    assert sandbox.participation_row(pid) == ("pending_deposit", 0, 0)
    q = sandbox.new_intent(pid)
    assert q["id"] != p["id"]
    assert outcome(sandbox, q["id"], {"outcome": "succeeded"}).status == 200
    assert sandbox.participation_row(pid) == ("active", 1980, 0)


def test_only_the_paying_customer(sandbox):
    pid = sandbox.participation()
    p = sandbox.new_intent(pid)
    other = new_customer(sandbox.srv)
    r = outcome(sandbox, p["id"], {"outcome": "succeeded"},
                token=customer_token(sandbox.srv, other.login))
    assert_error(r, 404, "not_found")
    assert_error(outcome(sandbox, p["id"] + 1000, {"outcome": "succeeded"}),
                 404, "not_found")
    r = sandbox.srv.post("/v1/sandbox/payments/%d" % p["id"], {"outcome": "succeeded"})
    assert_error(r, 401, "unauthenticated")
    owner = sandbox.tenant.token
    assert_error(outcome(sandbox, p["id"], {"outcome": "succeeded"}, token=owner),
                 403, "forbidden")
    assert sandbox.payment_status(p["id"]) == "pending"
    assert sandbox.events(p["id"]) == []


@pytest.mark.parametrize("body,field", [
    ({"outcome": "paid"}, "outcome"),
    ({}, "outcome"),
    ({"outcome": "succeeded", "amount_cents": 1}, "amount_cents"),
    ({"outcome": 1}, "outcome"),
])
def test_bad_bodies_change_nothing(sandbox, body, field):
    pid = sandbox.participation()
    p = sandbox.new_intent(pid)
    assert_error(outcome(sandbox, p["id"], body), 400, "invalid_field", field)
    assert sandbox.payment_status(p["id"]) == "pending"
    assert sandbox.events(p["id"]) == []


def test_the_real_webhook_still_takes_the_provider_signature(sandbox):
    pid = sandbox.participation(deposit=1980)
    p = sandbox.new_intent(pid)
    ev = {"payment_id": p["id"], "status": "succeeded", "amount_cents": 1980,
          "provider_ref": "pr_real"}
    raw = json.dumps(ev).encode()
    r = sandbox.srv.request("POST", "/v1/payments/webhook", raw_body=raw,
                            headers={"X-Signature": sign(raw)})
    assert r.status == 200, r


def test_off_every_sandbox_path_is_404(make_server, dbname, db):
    world = World(make_server(dbname, env=PAY_ENV, config=FAST_CONFIG), db)
    pid = world.participation()
    r = world.intent(pid)
    assert r.status == 201 and "checkout_url" not in r.json
    p = r.json["payment"]
    for token in (world.token, None):
        res = world.srv.post("/v1/sandbox/payments/%d" % p["id"],
                             {"outcome": "succeeded"}, token=token)
        assert_error(res, 404, "not_found")
    assert_error(world.srv.get("/v1/sandbox/payments/%d" % p["id"]), 404, "not_found")
    assert_error(world.srv.get("/v1/sandbox/"), 404, "not_found")
    assert world.payment_status(p["id"]) == "pending"


def test_sandbox_without_a_secret_makes_an_ephemeral_one(make_server, dbname, db):
    env = dict(APP_ENV, GROUPBUYD_PAYMENT_SANDBOX="1")
    world = World(make_server(dbname, env=env, config=FAST_CONFIG), db)
    assert "ephemeral" in world.srv.log_text()
    pid = world.participation(deposit=1980)
    p = world.new_intent(pid)
    assert outcome(world, p["id"], {"outcome": "succeeded"}).status == 200
    assert world.participation_row(pid) == ("active", 1980, 0)
    # nobody outside knows it: a webhook signed with any other key is refused
    raw = json.dumps({"payment_id": p["id"], "status": "succeeded",
                      "amount_cents": 1980, "provider_ref": "x"}).encode()
    r = world.srv.request("POST", "/v1/payments/webhook", raw_body=raw,
                          headers={"X-Signature": sign(raw, secret="")})
    assert_error(r, 401, "unauthenticated")

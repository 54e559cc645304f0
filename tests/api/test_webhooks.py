"""Issue 12: every event under API.md's type name, outbound webhooks
(endpoints, the relay, signatures, retries, SSRF guard), the audience and
invitations.

Events: campaign.published / opened from the status trigger, tier_reached
and threshold_reached once when the live count first reaches them (not
again after a withdrawal and a rejoin), the feed's API shape.
"""
import json

import pytest

from helpers import *
from campaign_helpers import open_campaign, scheduled_campaign
from join_helpers import http_customer, join, withdraw

FEED = "/v1/admin/events"


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=APP_ENV, config=FAST_CONFIG)


def q(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def campaign_events(db, cid):
    return [r[0] for r in q(db, "SELECT kind FROM outbox WHERE campaign_id = %s"
                                " AND participation_id IS NULL ORDER BY id", (cid,))]


def feed(srv, token):
    r = srv.get(FEED + "?limit=200", token=token)
    assert r.status == 200, r
    return r.json["items"]


# ---------------------------------------------------------------- events

def test_publish_and_open_write_their_events(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    assert campaign_events(db, c["id"]) == ["campaign.published", "campaign.opened"]
    s = scheduled_campaign(srv, t.token)
    assert campaign_events(db, s["id"]) == ["campaign.published"]
    q(db, "UPDATE campaigns SET starts_at = now() - interval '1 s' WHERE id = %s", (s["id"],))
    q(db, "SELECT gb_campaign_open(ARRAY[%s]::bigint[])", (s["id"],))
    assert campaign_events(db, s["id"]) == ["campaign.published", "campaign.opened"]
    items = [i for i in feed(srv, t.token) if i["data"].get("id") == s["id"]
             and i["type"].startswith("campaign.")]
    assert [i["type"] for i in items] == ["campaign.published", "campaign.opened"]
    assert items[0]["data"]["status"] == "scheduled"
    assert items[1]["data"]["status"] == "open"
    for i in items:
        assert set(i) >= {"id", "type", "created_at", "distributor_id", "data"}
        assert i["distributor_id"] == t.id and i["data"]["title"] == s["title"]


def test_tiers_and_threshold_are_announced_once(srv, db):
    t = new_tenant(srv)
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 3, "unit_price_cents": 9500},
             {"threshold": 4, "unit_price_cents": 9000}]
    c = open_campaign(srv, t.token, tiers=tiers, min_participants=2,
                      deposit_policy=[{"min_score": 0, "deposit_percent": 0}])
    shoppers = [http_customer(srv) for _ in range(5)]
    ids = []
    for s in shoppers[:2]:
        r = join(srv, s.token, c["id"], 1)
        assert r.status == 201, r
        ids.append(r.json["id"])
    assert campaign_events(db, c["id"])[2:] == ["campaign.threshold_reached"]
    # a withdrawal drops below the threshold; reaching it again is no news
    assert withdraw(srv, shoppers[0].token, ids[0]).status == 200
    assert join(srv, shoppers[2].token, c["id"], 1).status == 201
    assert campaign_events(db, c["id"])[2:] == ["campaign.threshold_reached"]
    # 2 -> 4 live participants in one statement would pass two tiers;
    # here two joins: tier 3, then tier 4, each once
    assert join(srv, shoppers[3].token, c["id"], 1).status == 201
    assert join(srv, shoppers[4].token, c["id"], 1).status == 201
    assert campaign_events(db, c["id"])[2:] == [
        "campaign.threshold_reached", "campaign.tier_reached", "campaign.tier_reached"]
    rows = q(db, "SELECT payload FROM outbox WHERE campaign_id = %s AND"
                 " kind = 'campaign.tier_reached' ORDER BY id", (c["id"],))
    assert [(p["threshold"], p["unit_price_cents"]) for p, in rows] == [(3, 9500), (4, 9000)]


def test_one_statement_passing_two_tiers_announces_both(srv, db):
    t = new_tenant(srv)
    tiers = [{"threshold": 1, "unit_price_cents": 9900},
             {"threshold": 2, "unit_price_cents": 9500},
             {"threshold": 3, "unit_price_cents": 9000}]
    c = open_campaign(srv, t.token, tiers=tiers, tier_basis="quantity", min_participants=1)
    s = http_customer(srv)
    assert join(srv, s.token, c["id"], 3).status == 201
    assert sorted(campaign_events(db, c["id"])[2:]) == [
        "campaign.threshold_reached", "campaign.tier_reached", "campaign.tier_reached"]
    items = [i for i in feed(srv, t.token) if i["type"] == "campaign.tier_reached"]
    assert [i["data"]["threshold"] for i in items] == [2, 3]
    assert all(i["data"]["id"] == c["id"] for i in items)


def test_participation_events_carry_the_participation(srv, db):
    t = new_tenant(srv)
    c = open_campaign(srv, t.token)
    s = http_customer(srv)
    r = join(srv, s.token, c["id"], 2)
    assert r.status == 201, r
    assert withdraw(srv, s.token, r.json["id"]).status == 200
    items = [i for i in feed(srv, t.token) if i["type"].startswith("participation.")]
    assert [i["type"] for i in items][0] == "participation.created"
    assert items[-1]["type"] == "participation.withdrawn"
    assert items[0]["data"]["id"] == r.json["id"] and items[0]["data"]["quantity"] == 2
    assert items[0]["data"]["status"] == r.json["status"]
    assert items[-1]["data"]["status"] == "withdrawn"
    assert items[0]["data"]["customer_id"] == s.id

"""Issue 26: webhooks are fair and cannot amplify, and their URLs and logs
tell no more than they must.

- Fair shares: one distributor's receivers that never answer hold at most
  its share of the relay (webhooks.distributor_slots, endpoint_slots), so
  another distributor's deliveries go out at once; the claim's rules are
  tested in SQL too (shares, turns between distributors, the host rate).
- No amplification: at most webhooks.max_endpoints (20) endpoints per
  distributor, and one publish to many endpoints of one host keeps to the
  host's rate (webhooks.host_rate, host_burst).
- URLs: IPv6 literals are delivered to; internationalised hosts are
  checked and pinned in their ASCII form, in the C and a UTF-8 locale; a
  refused address, or a name that does not resolve, gets one sentence.
- The delivery log shows a class of error, not curl's words.
"""
import socket
import threading
import time

import pytest

from helpers import *
from campaign_helpers import open_campaign
from sql_helpers import sql_tenant
from test_webhooks import (HOOKS, HOOK_CONFIG, create_hook, deliveries, insert_events,  # noqa: F401
                           q, receiver)

REFUSED = "url: the address of this host is not allowed"


def env_allowing(hosts):
    return dict(APP_ENV, GROUPBUYD_WEBHOOK_ALLOW_HOSTS=hosts)


# ---------------------------------------------------------------- fair shares

def test_dead_receivers_of_one_distributor_do_not_delay_another(make_server, dbname, receiver):
    """The review's scenario: distributor B's 64 endpoints on a receiver
    that never answers, B publishes; then A publishes: A's events arrive
    within 2 s, while B holds no more than its 16 slots. The production
    shares and timeout; 64 endpoints allowed for the scenario."""
    srv = make_server(dbname, env=env_allowing("127.0.0.1, 127.0.0.2"),
                      config=FAST_CONFIG + "webhooks.poll_ms = 50\n"
                                           "webhooks.max_endpoints = 64\n")
    dead = receiver(lambda n, ev: ("hang", 15), host="127.0.0.2")
    live = receiver()
    a, b = new_tenant(srv), new_tenant(srv)
    for i in range(64):
        r = create_hook(srv, b.token, dead.url + "/%d" % i, ["campaign.*"])
        assert r.status == 201, r
    assert create_hook(srv, a.token, live.url, ["campaign.*"]).status == 201
    open_campaign(srv, b.token)
    wait_for("B's receiver to hold its share", lambda: len(dead.got) >= 16, timeout=20)
    time.sleep(0.5)  # more than its share would arrive meanwhile: an absence takes a time
    held = len(dead.got)
    assert held == 16, held  # webhooks.distributor_slots, all hanging
    start = time.time()
    c = open_campaign(srv, a.token)
    wait_for("A's events", lambda: len(live.delivered()) >= 2, timeout=15)
    took = time.time() - start
    print("\nwebhooks: A's publish delivered in %.2f s beside B's 64 dead endpoints" % took)
    assert took < 2, took
    assert [e["type"] for e in live.delivered()] == ["campaign.published", "campaign.opened"]
    assert all(e["data"]["id"] == c["id"] for e in live.delivered())
    assert len(dead.got) == held  # B's dead requests still hang: no more sent


def test_claim_shares_turns_and_host_rate_in_sql(db):
    """gb_webhook_claim(limit, lease_ms, endpoint_slots, distributor_slots,
    host_rate, host_burst) on rows made here (no relay runs)."""
    with db.cursor() as cur:
        d1, _ = sql_tenant(cur)
        d2, _ = sql_tenant(cur)

    def endpoint(did, host):
        return q(db, "INSERT INTO webhook_endpoints (distributor_id, url, host, events, secret)"
                     " VALUES (%s, %s, %s, '{*}', 's') RETURNING id",
                 (did, "https://%s/h" % host, host))[0][0]

    def due(eid, did, n):
        ids = insert_events(db, did, n)
        q(db, "INSERT INTO webhook_deliveries (endpoint_id, event_id, participation_id)"
              " SELECT %s, o.id, o.participation_id FROM outbox o WHERE o.id = ANY(%s)",
          (eid, ids))

    def claim(limit=64, eslots=3, dslots=4, rate=1000, burst=1000):
        rows = q(db, "SELECT c.delivery_id, d.endpoint_id FROM gb_webhook_claim(%s, 60000, %s, %s,"
                     " %s, %s) c JOIN webhook_deliveries d ON d.id = c.delivery_id",
                 (limit, eslots, dslots, rate, burst))
        per = {}
        for _, eid in rows:
            per[eid] = per.get(eid, 0) + 1
        return rows, per

    e1, e2, e3 = endpoint(d1, "one.example"), endpoint(d1, "one.example"), \
        endpoint(d2, "two.example")
    for e, d in ((e1, d1), (e2, d1), (e3, d2)):
        due(e, d, 10)
    # turns: with room for two, one delivery of each distributor
    rows, per = claim(limit=2)
    assert sorted(per.values()) == [1, 1] and e3 in per, per
    # shares: an endpoint at most 3 in flight, a distributor at most 4
    rows, per = claim()
    assert per.get(e3) == 2 and per.get(e1, 0) + per.get(e2, 0) == 3, per
    assert claim()[0] == []  # every share is full
    # a recorded attempt frees its slot, for its distributor only
    did = q(db, "SELECT id, attempts FROM webhook_deliveries WHERE endpoint_id = %s"
                " AND lease_until IS NOT NULL ORDER BY id LIMIT 1", (e1,))[0]
    assert q(db, "SELECT gb_webhook_record(%s, %s, 200, NULL, 5, true, 0, 86400)", did)[0][0] \
        == "delivered"
    rows, per = claim()
    assert len(rows) == 1 and set(per) <= {e1, e2}, per
    # an expired lease is free again (a process died mid-request)
    q(db, "UPDATE webhook_deliveries SET lease_until = now() - interval '1 s'"
          " WHERE endpoint_id = %s AND lease_until IS NOT NULL", (e3,))
    assert claim()[1] == {e3: 3}
    # the host rate: two.example's budget is its burst, then rate a second
    q(db, "UPDATE webhook_deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
    q(db, "DELETE FROM webhook_host_budgets")
    e4 = endpoint(d2, "two.example")
    due(e4, d2, 10)
    rows, per = claim(eslots=10, dslots=10, rate=2, burst=3)
    assert per.get(e3, 0) + per.get(e4, 0) == 3, per
    assert per.get(e1, 0) + per.get(e2, 0) == 3, per  # one.example: its own burst
    q(db, "UPDATE webhook_deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
    rows, per = claim(eslots=10, dslots=10, rate=2, burst=3)
    assert per.get(e3, 0) + per.get(e4, 0) == 0, per  # no room yet
    time.sleep(1.1)  # the rate is per second: a second refills it
    q(db, "UPDATE webhook_deliveries SET lease_until = NULL WHERE lease_until IS NOT NULL")
    rows, per = claim(eslots=10, dslots=10, rate=2, burst=3)
    assert per.get(e3, 0) + per.get(e4, 0) == 2, per  # 2 a second


# ---------------------------------------------------------------- no amplification

def test_at_most_20_endpoints_per_distributor(make_server, dbname, db, receiver):
    srv = make_server(dbname, env=env_allowing("127.0.0.1"), config=HOOK_CONFIG)
    rec = receiver()
    t, other = new_tenant(srv), new_tenant(srv)
    # creates in parallel cannot pass the cap
    codes = []

    def make(i):
        codes.append(create_hook(srv, t.token, rec.url + "/%d" % i).status)
    threads = [threading.Thread(target=make, args=(i,)) for i in range(26)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(codes) == [201] * 20 + [409] * 6, codes
    r = create_hook(srv, t.token, rec.url)
    assert_error(r, 409, "invalid_state")
    assert "20" in r.json["error"]["message"]
    assert count_rows(db, "webhook_endpoints", "distributor_id = %s", (t.id,)) == 20
    assert create_hook(srv, other.token, rec.url).status == 201  # per distributor
    first = srv.get(HOOKS + "?limit=1", token=t.token).json["items"][0]["id"]
    assert srv.request("DELETE", "%s/%d" % (HOOKS, first), token=t.token).status == 204
    assert create_hook(srv, t.token, rec.url).status == 201


def test_one_publish_to_many_endpoints_of_one_host_keeps_its_rate(make_server, dbname,
                                                                   receiver):
    rate, burst = 10, 5
    srv = make_server(dbname, env=env_allowing("127.0.0.1"), config=FAST_CONFIG + (
        "webhooks.poll_ms = 20\nwebhooks.host_rate = %d\nwebhooks.host_burst = %d\n"
        % (rate, burst)))
    rec = receiver()
    t = new_tenant(srv)
    for i in range(20):
        assert create_hook(srv, t.token, rec.url + "/%d" % i, ["campaign.*"]).status == 201
    open_campaign(srv, t.token)  # published and opened: 40 requests
    wait_for("40 requests", lambda: len(rec.delivered()) >= 40, timeout=30)
    times = sorted(g[0] for g in rec.got)
    assert len(times) == 40
    # any n consecutive arrivals span at least (n - burst) / rate seconds
    # (0.15 s allowed for the way from claim to receiver: a new connection
    # takes longer than one reused)
    for i in range(len(times)):
        for j in range(i + burst, len(times)):
            n = j - i + 1
            assert times[j] - times[i] >= (n - burst) / rate - 0.15, (i, j, times[j] - times[i])
    print("\nwebhooks: 40 requests to one host over %.1f s" % (times[-1] - times[0]))


# ---------------------------------------------------------------- URLs

def test_ipv6_literals_are_delivered_to(make_server, dbname, db, receiver):
    srv = make_server(dbname, env=env_allowing("::1"), config=HOOK_CONFIG)
    rec = receiver(host="::1")
    t = new_tenant(srv)
    r = create_hook(srv, t.token, rec.url)
    assert r.status == 201 and r.json["url"] == rec.url, r
    insert_events(db, t.id, 2)
    wait_for("deliveries to [::1]", lambda: len(rec.delivered()) >= 2, timeout=20)
    # the server records a delivery after the receiver's answer, not with it
    wait_for("both recorded as delivered",
             lambda: [d["status"] for d in deliveries(srv, t.token, r.json["id"])]
             == ["delivered"] * 2, timeout=20)
    assert rec.got[0][1]["Host"] == "[::1]:%d" % rec.httpd.server_address[1]
    assert q(db, "SELECT host FROM webhook_endpoints WHERE id = %s", (r.json["id"],)) == \
        [("::1",)]
    # a public literal is taken (no lookup needed); tunnels and private
    # ranges in any form are not
    r = create_hook(srv, t.token, "https://[2606:4700:4700::1111]/hook")
    assert r.status == 201, r
    for url in ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "https://192.88.99.1/",
                "https://[2002:c058:6301::1]/", "https://[fd00::1]/",
                "https://[fe80::1%25eth0]/"):
        assert_error(create_hook(srv, t.token, url), 400, "invalid_field", "url")


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_internationalised_hosts_are_checked_and_pinned_in_ascii(make_server, dbname, db,
                                                                  receiver, locale):
    """ｌｏｃａｌｈｏｓｔ (full-width letters) is, under IDNA's mapping,
    localhost: allow-listed as such it is delivered to; not allow-listed
    it is a loopback name and refused, in either locale."""
    env = env_allowing("localhost")
    env.update(LC_ALL=locale, LANG=locale)
    srv = make_server(dbname, env=env, config=HOOK_CONFIG)
    rec = receiver()
    port = rec.httpd.server_address[1]
    t = new_tenant(srv)
    url = "http://ｌｏｃａｌｈｏｓｔ:%d/hook" % port
    r = create_hook(srv, t.token, url)
    assert r.status == 201, r
    assert r.json["url"] == url  # kept as given
    assert q(db, "SELECT host FROM webhook_endpoints") == [("localhost",)]
    insert_events(db, t.id, 1)
    wait_for("the delivery", lambda: rec.delivered(), timeout=20)
    assert rec.got[0][1]["Host"] == "localhost:%d" % port
    plain = make_server(dbname, env=dict(APP_ENV, LC_ALL=locale, LANG=locale),
                        config=HOOK_CONFIG)
    for bad in ("https://ｌｏｃａｌｈｏｓｔ/", "https://ｌｏｃａｌｈｏｓｔ:%d/" % port):
        r = create_hook(plain, t.token, bad)
        assert_error(r, 400, "invalid_field", "url")
        assert r.json["error"]["message"] == REFUSED
    r = create_hook(plain, t.token, "https://a\u200db.example/")  # not a valid name
    assert_error(r, 400, "invalid_field", "url")


def test_refusals_tell_nothing_of_the_resolver(make_server, dbname):
    srv = make_server(dbname, env=APP_ENV, config=HOOK_CONFIG)
    t = new_tenant(srv)
    said = set()
    for url in ("https://localhost/", "https://127.0.0.1/", "https://10.20.30.40/",
                "https://[::1]/", "https://no-such-host-3f9a.invalid/"):
        r = create_hook(srv, t.token, url)
        assert_error(r, 400, "invalid_field", "url")
        said.add(r.json["error"]["message"])
    assert said == {REFUSED}


# ---------------------------------------------------------------- the delivery log

def test_the_log_shows_a_class_of_error(make_server, dbname, db, receiver):
    srv = make_server(dbname, env=env_allowing("127.0.0.1"),
                      config=HOOK_CONFIG + "webhooks.timeout_ms = 8000\n")
    t = new_tenant(srv)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = s.getsockname()[1]
    s.close()  # nobody listens there
    plain = receiver()  # speaks HTTP, not TLS
    failing = receiver(lambda n, ev: 500)
    hooks = {
        "connection refused": create_hook(srv, t.token, "http://127.0.0.1:%d/h" % closed),
        "TLS failure": create_hook(srv, t.token, plain.url.replace("http:", "https:")),
        "HTTP status 500": create_hook(srv, t.token, failing.url),
    }
    for r in hooks.values():
        assert r.status == 201, r
    insert_events(db, t.id, 1)
    for want, r in hooks.items():
        d = wait_for(want, lambda: [d for d in deliveries(srv, t.token, r.json["id"])
                                    if d["last_error"]], timeout=20)[0]
        assert d["last_error"] == want, d
    errors = [e for (e,) in q(db, "SELECT DISTINCT error FROM webhook_attempts")]
    assert set(errors) <= set(hooks), errors
    assert not any(("port" in e or "Failed" in e or str(closed) in e) for e in errors)

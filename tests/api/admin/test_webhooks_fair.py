"""Issue 26: webhook URLs and logs tell no more than they must.

- URLs: IPv6 literals are delivered to; internationalised hosts are
  checked and pinned in their ASCII form, in the C and a UTF-8 locale; a
  refused address, or a name that does not resolve, gets one sentence.
- The delivery log shows a class of error, not curl's words.
"""
import socket
import time

import pytest

from helpers import *
from campaign_helpers import open_campaign
from test_webhooks import (HOOKS, HOOK_CONFIG, create_hook, deliveries, insert_events,  # noqa: F401
                           q, receiver, wait_for)

REFUSED = "url: the address of this host is not allowed"


def env_allowing(hosts):
    return dict(APP_ENV, GROUPBUYD_WEBHOOK_ALLOW_HOSTS=hosts)


# ---------------------------------------------------------------- URLs

def test_ipv6_literals_are_delivered_to(make_server, dbname, db, receiver):
    srv = make_server(dbname, env=env_allowing("::1"), config=HOOK_CONFIG)
    rec = receiver(host="::1")
    t = new_tenant(srv)
    r = create_hook(srv, t.token, rec.url)
    assert r.status == 201 and r.json["url"] == rec.url, r
    insert_events(db, t.id, 2)
    wait_for("deliveries to [::1]", lambda: len(rec.delivered()) >= 2, timeout=20)
    assert all(d["status"] == "delivered" for d in deliveries(srv, t.token, r.json["id"]))
    assert rec.got[0][1]["Host"] == "[::1]:%d" % rec.httpd.server_address[1]
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

"""Many campaigns on one live stream (API.md "Many campaigns on one live
stream"): GET /v1/campaigns/events?ids=... First the state of each listed
campaign; then each change of any of them, within 1 s of its commit through
another server process, for 50 campaigns on one stream; the id of every
event is a cursor of the whole stream, and a reconnection with it is sent
only the campaigns that changed since; a campaign leaves at its terminal
status and the stream ends when none is left (then 204 for a client that
saw it); an unknown or unpublished id is 404 naming it; 51 ids or a
malformed list is 400; keep-alive, the maximum of streams and shutdown as
for the single stream; a change is read once per campaign however many
streams follow it.
"""
import random
import re
import signal
import time

import pytest

from helpers import *  # noqa: F401,F403
from helpers import statement_executions
from join_helpers import *  # noqa: F401,F403
from test_sse import Stream, change_seq, metric, server_with, touch, wait_metric

CURSOR_RE = re.compile(r"^[0-9a-f]{8}:\d*(,\d*)*$")


def many(srv, ids, last_event_id=None, **kw):
    path = "/v1/campaigns/events?ids=" + ",".join(str(i) for i in ids)
    return Stream(srv, None, last_event_id=last_event_id, path=path, **kw)


def events(s, n, timeout=3):
    """The next n events of s, within timeout."""
    deadline = time.time() + timeout
    return [s.next_event(timeout=max(0.01, deadline - time.time())) for _ in range(n)]


def touch_all(db, ids):
    """One change of each campaign, in one statement."""
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET title = title WHERE id = ANY(%s)", (list(ids),))


@pytest.fixture
def t(app):
    return new_tenant(app)


def test_fifty_campaigns_on_one_stream_across_processes(app, db, t, make_server, dbname):
    other = make_server(dbname, env=APP_ENV, config=FAST_CONFIG)
    ids = [make_campaign(app, db, t) for _ in range(50)]
    shuffled = ids[:]
    random.shuffle(shuffled)
    s = many(app, shuffled)
    t0 = time.time()
    assert s.head() == 200
    assert s.headers["content-type"] == "text/event-stream"
    first = events(s, 50, timeout=2)
    assert time.time() - t0 < 2
    # the current state of each, the same data as the single stream
    assert sorted(ev["data"]["campaign_id"] for ev in first) == sorted(ids)
    for ev in first[:3]:
        cid = ev["data"]["campaign_id"]
        view = app.get("/v1/campaigns/%d" % cid).json
        assert ev["event"] == "progress"
        assert ev["data"] == {"campaign_id": cid, "status": "open", "progress": view["progress"]}
    assert all(CURSOR_RE.match(ev["id"]) for ev in first), first[0]["id"]
    # the last cursor holds every campaign's counter, in id order
    assert first[-1]["id"].split(":")[1] == ",".join(str(change_seq(db, c)) for c in sorted(ids))
    assert metric(app, "groupbuyd_sse_streams") == 1
    assert metric(app, "groupbuyd_sse_streams_many") == 1
    assert metric(app, "groupbuyd_sse_follows") == 50
    assert metric(app, "groupbuyd_sse_campaigns") == 50

    # a join in each campaign through the other process: its event within 1 s
    shoppers = db_customers(db, 50)
    slow = []
    for cid, shopper in zip(shuffled, shoppers):
        t0 = time.time()
        assert join(other, shopper.token, cid).status == 201
        ev = s.next_event(timeout=2)
        took = time.time() - t0
        assert ev["data"]["campaign_id"] == cid
        assert ev["data"]["progress"]["participants"] == 1
        if took >= 1:
            slow.append((cid, round(took, 3)))
    assert slow == []

    # a change of all fifty at once, while a second stream follows them
    # too: every change reaches both within 1 s, and each campaign is read
    # once, not once per stream
    s2 = many(app, ids)
    assert s2.head() == 200
    events(s2, 50)
    reads = statement_executions(app, "sse_state")
    t0 = time.time()
    touch_all(db, ids)
    for stream in (s, s2):
        got = events(stream, 50, timeout=max(0.05, t0 + 1 - time.time()))
        assert sorted(ev["data"]["campaign_id"] for ev in got) == sorted(ids)
    assert time.time() - t0 < 1
    assert statement_executions(app, "sse_state") - reads == 50
    s.close()
    s2.close()
    wait_metric(app, "groupbuyd_sse_streams", 0)
    wait_metric(app, "groupbuyd_sse_follows", 0)
    wait_metric(app, "groupbuyd_sse_campaigns", 0)


def test_resume_sends_only_what_changed(app, db, t):
    ids = sorted(make_campaign(app, db, t) for _ in range(5))
    s = many(app, ids)
    assert s.head() == 200
    cursor = events(s, 5)[-1]["id"]
    s.close()
    touch(db, ids[1])
    touch(db, ids[3])
    again = many(app, ids, last_event_id=cursor)
    assert again.head() == 200
    got = events(again, 2, timeout=1)
    assert sorted(ev["data"]["campaign_id"] for ev in got) == [ids[1], ids[3]]
    with pytest.raises(TimeoutError):
        again.next_event(timeout=1.5)
    cursor = got[-1]["id"]
    again.close()
    # a client that is current waits, then gets the next change only
    current = many(app, ids, last_event_id=cursor)
    assert current.head() == 200
    with pytest.raises(TimeoutError):
        current.next_event(timeout=1)
    touch(db, ids[4])
    ev = current.next_event(timeout=1)
    assert ev["data"]["campaign_id"] == ids[4]
    seqs = ev["id"].split(":")[1].split(",")
    assert seqs == [str(change_seq(db, c)) for c in ids]
    current.close()
    # the cursor of another list, or a malformed one, is ignored: all five
    for bad in (cursor.replace(cursor[:8], "%08x" % (int(cursor[:8], 16) ^ 1)), "garbage", "7"):
        fresh = many(app, ids, last_event_id=bad)
        assert fresh.head() == 200
        assert len(events(fresh, 5)) == 5
        fresh.close()
    # the same list spelled in another order, with a repeat, is the same list
    same = many(app, [ids[4], ids[0], ids[2], ids[1], ids[3], ids[0]], last_event_id=ev["id"])
    assert same.head() == 200
    with pytest.raises(TimeoutError):
        same.next_event(timeout=1)
    same.close()


def test_campaigns_leave_at_their_end_and_the_stream_ends(app, db, t):
    a, b = sorted(make_campaign(app, db, t) for _ in range(2))
    s = many(app, [a, b])
    assert s.head() == 200
    events(s, 2)
    close_campaign_in_db(db, a, "failed")
    ev = s.next_event(timeout=1)
    assert ev["event"] == "status" and ev["data"]["campaign_id"] == a
    assert ev["data"]["status"] == "failed"
    # a left: its later changes are not sent; b's are
    touch(db, a)
    touch(db, b)
    ev = s.next_event(timeout=1)
    assert ev["data"]["campaign_id"] == b and ev["event"] == "progress"
    with pytest.raises(TimeoutError):
        s.next_event(timeout=1)
    assert metric(app, "groupbuyd_sse_follows") == 1
    close_campaign_in_db(db, b, "succeeded")
    ev = s.next_event(timeout=1)
    assert ev["event"] == "status" and ev["data"] == {
        "campaign_id": b, "status": "succeeded", "progress": ev["data"]["progress"]}
    assert s.wait_end(timeout=2) == b""
    s.close()
    # a came back with its end (it changed after it), then the stream
    # ends; a client that has seen both ends is told not to come back
    again = many(app, [a, b], last_event_id=ev["id"])
    assert again.head() == 200
    ev = again.next_event(timeout=1)
    assert ev["event"] == "status" and ev["data"]["campaign_id"] == a
    again.wait_end(timeout=2)
    again.close()
    done = many(app, [a, b], last_event_id=ev["id"])
    assert done.head() == 204
    done.close()
    # a new client gets both final states, then the end
    fresh = many(app, [a, b])
    assert fresh.head() == 200
    last = events(fresh, 2)
    assert [e["event"] for e in last] == ["status", "status"]
    fresh.wait_end(timeout=2)
    fresh.close()


def test_a_scheduled_campaign_that_opens_stays_on_the_stream(app, db, t):
    soon = make_campaign(app, db, t, status="scheduled")
    s = many(app, [soon])
    assert s.head() == 200
    assert s.next_event(timeout=1)["data"]["status"] == "scheduled"
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET status = 'open', starts_at = now() WHERE id = %s", (soon,))
    ev = s.next_event(timeout=1)
    assert ev["event"] == "status" and ev["data"]["status"] == "open"
    touch(db, soon)
    assert s.next_event(timeout=1)["event"] == "progress"
    s.close()


def test_unknown_or_unpublished_id_is_404_naming_it(app, db, t):
    live = make_campaign(app, db, t)
    draft = make_campaign(app, db, t, status="draft")
    cancelled = make_campaign(app, db, t)
    close_campaign_in_db(db, cancelled, "cancelled")
    for bad in (draft, cancelled, 999999999):
        r = app.get("/v1/campaigns/events?ids=%d,%d" % (live, bad))
        assert_error(r, 404, "not_found", "ids")
        assert str(bad) in r.json["error"]["message"], r
    # the stream of the public one alone is fine
    s = many(app, [live])
    assert s.head() == 200
    s.close()


def test_fifty_one_ids_or_a_malformed_list_is_400(app, db, t):
    live = make_campaign(app, db, t)
    fifty_one = ",".join(str(live + i) for i in range(51))
    for q in ("?ids=" + fifty_one, "", "?ids=", "?ids=abc", "?ids=%d," % live,
              "?ids=%d,,%d" % (live, live), "?ids=0", "?ids=-1", "?ids=1;2"):
        r = app.get("/v1/campaigns/events" + q)
        assert_error(r, 400, "invalid_field", "ids")
    # the single stream's path is unchanged beside it
    s = Stream(app, live)
    assert s.head() == 200
    assert isinstance(s.next_event(timeout=1)["id"], int)
    s.close()


@pytest.mark.expect_5xx(503)
def test_keep_alive_limit_and_shutdown_as_the_single_stream(make_server, dbname, db):
    srv = server_with(make_server, dbname,
                      "sse_keepalive_s = 1\nhttp_timeout_s = 1\nsse_max_streams = 2\n"
                      "shutdown_grace_s = 20\n")
    t = new_tenant(srv)
    ids = [make_campaign(srv, db, t) for _ in range(3)]
    s = many(srv, ids)
    single = Stream(srv, ids[0])
    assert s.head() == 200 and single.head() == 200
    events(s, 3)
    # a stream of three campaigns is one stream of the maximum
    over = many(srv, ids)
    assert over.head() == 503
    assert over.error_body()["error"]["code"] == "unavailable"
    over.close()
    single.close()
    # keep-alive comments, past http_timeout_s
    deadline = time.time() + 2.5
    while time.time() < deadline:
        assert s.next_block(timeout=2) == ": keep-alive"
    touch(db, ids[2])
    assert s.next_event(timeout=2)["data"]["campaign_id"] == ids[2]
    t0 = time.time()
    srv.proc.send_signal(signal.SIGTERM)
    s.wait_end(timeout=5)
    assert srv.proc.wait(timeout=10) == 0
    assert time.time() - t0 < 5
    s.close()

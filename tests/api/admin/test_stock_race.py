"""Twenty campaigns of one product race for its stock: each is published,
and grown (a larger max_quantity), all at once, through two server
processes on one database. However the requests interleave, the campaigns
never hold more than the product's stock: the product's reserved units are
exactly the caps of its live campaigns, at most its stock, and every
refusal is a 409 (never a 500, never a lost reservation). A sampler reads
the product throughout and never sees more reserved than stock. After
each race, what is left is taken to the unit (a publish, then a cancel's
units by a live campaign's growth) and not one unit more.
"""
import concurrent.futures
import random
import threading
import time

from helpers import *
from campaign_helpers import create_campaign, create_product, ts

STOCK = 100
CAMPAIGNS = 20


def patch(srv, token, cid, body):
    return srv.request("PATCH", "/v1/admin/campaigns/%d" % cid, body, token=token)


def test_twenty_campaigns_race_for_one_stock(make_server, dbname, db):
    servers = [make_server(dbname, env=APP_ENV, config=FAST_CONFIG) for _ in range(2)]
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    t = new_tenant(servers[0])
    for rnd in range(3):
        pid = create_product(servers[0], t.token, stock=STOCK)["id"]
        caps = [rng.randint(5, 20) for _ in range(CAMPAIGNS)]
        cids = [create_campaign(servers[0], t.token, pid, max_quantity=m, min_participants=1,
                                per_customer_limit=1, starts_at=ts(-60))["id"]
                for m in caps]
        barrier = threading.Barrier(2 * CAMPAIGNS + 1)
        stop = threading.Event()
        seen = []

        def sampler():
            conn = db  # autocommit reads while the race runs
            with conn.cursor() as cur:
                barrier.wait()
                while not stop.is_set():
                    cur.execute("SELECT stock, reserved, committed FROM products"
                                " WHERE id = %s", (pid,))
                    seen.append(cur.fetchone())
                    time.sleep(0.002)

        def publish(i):
            srv = servers[i % 2]
            barrier.wait()
            return ("publish", i, srv.post("/v1/admin/campaigns/%d/publish" % cids[i],
                                           token=t.token))

        def grow(i):
            srv = servers[(i + 1) % 2]
            barrier.wait()
            time.sleep(rng.random() * 0.05)
            got = srv.get("/v1/admin/campaigns/%d" % cids[i], token=t.token).json
            return ("grow", i, patch(srv, t.token, cids[i],
                                     {"max_quantity": got["max_quantity"] + 1 + i % 7}))

        with concurrent.futures.ThreadPoolExecutor(2 * CAMPAIGNS + 1) as pool:
            watcher = pool.submit(sampler)
            futures = [pool.submit(publish, i) for i in range(CAMPAIGNS)]
            futures += [pool.submit(grow, i) for i in range(CAMPAIGNS)]
            answers = [f.result(timeout=120) for f in futures]
            stop.set()
            watcher.result(timeout=30)

        where = "seed %d, round %d" % (seed, rnd)
        for kind, i, r in answers:
            assert r.status in (200, 409), (where, kind, i, r)
            if r.status == 409:
                assert r.json["error"]["code"] == "invalid_state", (where, kind, i, r)
        with db.cursor() as cur:
            cur.execute("SELECT id, status, max_quantity FROM campaigns WHERE id = ANY (%s)",
                        (cids,))
            rows = {cid: (st, m) for cid, st, m in cur.fetchall()}
            cur.execute("SELECT stock, reserved, committed FROM products WHERE id = %s", (pid,))
            stock, reserved, committed = cur.fetchone()
        live = sum(m for st, m in rows.values() if st in ("scheduled", "open"))
        assert (stock, committed) == (STOCK, 0), where
        assert reserved == live <= STOCK, (where, reserved, live, rows)
        # a campaign is live exactly when its publish answered 200
        published = {cids[i] for kind, i, r in answers if kind == "publish" and r.status == 200}
        assert published == {cid for cid, (st, _) in rows.items() if st == "open"}, where
        assert any(kind == "publish" and r.status == 409 for kind, i, r in answers), where
        assert seen and all(r + c <= s for s, r, c in seen), (where, max(seen))
        # what is left can still be taken, to the unit, and no further
        left = STOCK - reserved
        if left:
            extra = create_campaign(servers[1], t.token, pid, max_quantity=left,
                                    min_participants=1, per_customer_limit=1,
                                    starts_at=ts(-60))["id"]
            r = servers[0].post("/v1/admin/campaigns/%d/publish" % extra, token=t.token)
            assert r.status == 200, (where, r)
        one = create_campaign(servers[1], t.token, pid, max_quantity=1, min_participants=1,
                              per_customer_limit=1, starts_at=ts(-60))["id"]
        assert_error(servers[0].post("/v1/admin/campaigns/%d/publish" % one, token=t.token),
                     409, "invalid_state", "max_quantity")
        # a cancel gives its units back, and a live campaign grows by them,
        # to the unit, and no further
        live = sorted(published) + ([extra] if left else [])
        given, taker = live[0], live[1]
        freed = servers[1].post("/v1/admin/campaigns/%d/cancel" % given, token=t.token)
        assert freed.status == 200, (where, freed)
        cap = servers[0].get("/v1/admin/campaigns/%d" % taker, token=t.token).json["max_quantity"]
        r = patch(servers[0], t.token, taker, {"max_quantity": cap + freed.json["max_quantity"]})
        assert r.status == 200, (where, r)
        assert_error(patch(servers[1], t.token, taker,
                           {"max_quantity": cap + freed.json["max_quantity"] + 1}),
                     409, "invalid_state", "max_quantity")
        with db.cursor() as cur:
            cur.execute("SELECT reserved FROM products WHERE id = %s", (pid,))
            assert cur.fetchone()[0] == STOCK, where

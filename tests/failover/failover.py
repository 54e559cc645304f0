#!/usr/bin/env python3
"""Failover without loss: the test behind tests/failover/run.sh.

A primary and a synchronous standby (synchronous_commit = on,
synchronous_standby_names = '*', waited for until pg_stat_replication says
sync) on loopback ports under var/; two groupbuyd processes (the asan
build) on the multi-host URL `host=127.0.0.1,127.0.0.1 port=P1,P2
target_session_attrs=read-write`, the second also with the standby as its
read database. Then:

 1. Reads on the replica: with the standby's replay paused, a title changed
    and a campaign settled on the primary; the second process's public view
    and settlements export (read pool) do not show them yet, the first's
    (primary) do. Replay resumed.
 2. A join storm through both processes (threads, each join with its own
    Idempotency-Key, a 503 retried with the same key, every 201 recorded).
 3. Mid-storm: a campaign's deadline set to fall in the outage, the primary
    postmaster killed with SIGKILL; during the outage the first process
    answers 503 (its /readyz too) while the second still serves the public
    view from the standby. After a pause (the failover manager's detection
    time) the standby is promoted with pg_ctl promote; the storm goes on.
 4. On the new primary: every participation answered 201 is there and every
    participation there was answered 201 (lost = 0, none phantom); no
    campaign oversold, live counters equal the live rows; every settled
    campaign reconciles; the campaign whose deadline fell in the outage was
    closed exactly once (one outbox row) within 1 s of the service
    answering again. No 500 at all, no request past its timeout, both
    processes exit 0 on SIGTERM with clean sanitizer logs.

Prints: acknowledged, present, lost, 503s, seconds without service.
Without the pool's reconnection the storm never recovers and it fails.
"""
import hashlib
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "api"))
from settle_helpers import seed_succeeded_campaign  # noqa: E402

BIN = os.environ.get("GROUPBUYD_BIN", os.path.join(ROOT, "build", "asan", "groupbuyd"))
PG = os.path.join(ROOT, "scripts", "pg.sh")
PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")
CUSTOMERS = 300
THREADS = 12
REQUEST_TIMEOUT = 15.0   # the client's; the server's own is 10 s
OUTAGE_PAUSE = 1.5       # kill -> promote: the failover manager's detection
DEADLINE_IN = 0.6        # the campaign's deadline, seconds after the kill
RECOVER_WITHIN = 8.0     # promote -> first 201, or the pool did not heal


def log(msg):
    print("failover: " + msg, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_pg(args, **kw):
    """Runs a PostgreSQL tool as the postgres user when we are root."""
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, cwd="/", check=True, capture_output=True, text=True, **kw)


class Clusters:
    """The primary (scripts/pg.sh, with TCP on) and its standby, a
    pg_basebackup -R of it in the primary's own folder (owned by postgres
    however the checkout is)."""

    def __init__(self):
        self.dir = os.path.join(ROOT, "var", "failover-%d" % os.getpid())
        self.p1, self.p2 = free_port(), free_port()
        while self.p2 == self.p1:
            self.p2 = free_port()
        self.real = None

    def _pgsh(self, cmd, extra=""):
        # PGPORT: pg.sh's psql and createdb reach the cluster on its port
        env = dict(os.environ, GROUPBUYD_DBNAME="groupbuyd", PG_INITDB_OPTS="--no-sync",
                   PG_EXTRA_CONF=extra, PGPORT=str(self.p1))
        return subprocess.run([PG, cmd, self.dir], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self._pgsh("start", "\n".join([
            "listen_addresses = '127.0.0.1'",
            "port = %d" % self.p1,
            "wal_level = replica",
            "max_wal_senders = 5",
            "synchronous_commit = on",
            "hot_standby = on",
            "wal_keep_size = '256MB'",
            "max_connections = 100",
        ]))
        self.real = os.path.realpath(self.dir)
        self.standby = os.path.join(self.real, "standby")
        as_pg([PGBIN + "/pg_basebackup", "-D", self.standby, "-R", "-X", "stream",
               "-c", "fast", "-d", "host=127.0.0.1 port=%d user=postgres "
               "application_name=standby1" % self.p1])
        with open(os.path.join(self.standby, "postgresql.conf"), "a") as f:
            f.write("\nport = %d\nhot_standby_feedback = on\n" % self.p2)
        as_pg([PGBIN + "/pg_ctl", "-D", self.standby, "-l",
               os.path.join(self.real, "standby.log"), "-w", "-t", "60", "start"])
        admin = self.connect(self.p1, "postgres")
        with admin.cursor() as cur:
            cur.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            cur.execute("SELECT pg_reload_conf()")
        deadline = time.time() + 30
        while True:
            with admin.cursor() as cur:
                cur.execute("SELECT sync_state FROM pg_stat_replication")
                states = [r[0] for r in cur.fetchall()]
            if states == ["sync"]:
                break
            assert time.time() < deadline, "standby not synchronous: %r" % states
            time.sleep(0.1)
        admin.close()
        log("primary :%d, synchronous standby :%d" % (self.p1, self.p2))

    def url(self, port, dbname="groupbuyd"):
        return "host=127.0.0.1 port=%d dbname=%s user=postgres" % (port, dbname)

    def multi_url(self):
        return ("host=127.0.0.1,127.0.0.1 port=%d,%d dbname=groupbuyd user=postgres "
                "target_session_attrs=read-write" % (self.p1, self.p2))

    def connect(self, port, dbname="groupbuyd"):
        conn = psycopg2.connect(self.url(port, dbname), connect_timeout=5)
        conn.autocommit = True
        return conn

    def postmaster_pid(self):
        with open(os.path.join(self.real, "data", "postmaster.pid")) as f:
            return int(f.readline())

    def promote(self):
        as_pg([PGBIN + "/pg_ctl", "-D", self.standby, "-w", "-t", "60", "promote"])

    def destroy(self):
        if self.real is None:
            self.real = os.path.realpath(self.dir)
        standby = os.path.join(self.real, "standby")
        if os.path.exists(os.path.join(standby, "PG_VERSION")):
            try:
                as_pg([PGBIN + "/pg_ctl", "-D", standby, "-m", "immediate", "-w", "stop"])
            except subprocess.CalledProcessError:
                pass
        try:
            self._pgsh("destroy")
        except subprocess.CalledProcessError:
            shutil.rmtree(self.real, ignore_errors=True)
            if os.path.islink(self.dir):
                os.unlink(self.dir)


class Server:
    """One groupbuyd process on its own port, logging to a file."""

    def __init__(self, name, url, read_url=None):
        self.name = name
        self.port = free_port()
        self.log_path = os.path.join(ROOT, "var", "failover-%d-%s.log" % (os.getpid(), name))
        self.env = dict(os.environ, GROUPBUYD_DATABASE_URL=url,
                        GROUPBUYD_LISTEN="127.0.0.1:%d" % self.port,
                        GROUPBUYD_LOG_LEVEL="info",
                        ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
                        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
        if read_url:
            self.env["GROUPBUYD_READ_DATABASE_URL"] = read_url
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, "%s exited:\n%s" % (self.name, self.log_text())
            try:
                if self.request("GET", "/readyz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("%s not ready in 60 s:\n%s" % (self.name, self.log_text()))

    def request(self, method, path, body=None, token=None, headers=None,
                timeout=REQUEST_TIMEOUT):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "no exit within 30 s of SIGTERM"
        finally:
            self.log.close()


def token_hash(token):
    return hashlib.sha256(token.encode()).digest()


POLICY = json.dumps([{"min_score": 0, "deposit_percent": 0}])
TIERS = json.dumps([{"threshold": 1, "unit_price_cents": 9900},
                    {"threshold": 50, "unit_price_cents": 7900}])


def seed(db):
    """A distributor with an owner session, three open campaigns (a small
    cap that sells out, a large one, the one whose deadline will fall in
    the outage), customers with sessions."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('HA', 750)"
                    " RETURNING id")
        did = cur.fetchone()[0]
        cur.execute("INSERT INTO staff (distributor_id, login, password_hash, role)"
                    " VALUES (%s, 'owner@ha.example', 'x', 'owner') RETURNING id", (did,))
        staff = cur.fetchone()[0]
        owner = secrets.token_urlsafe(32)
        cur.execute("INSERT INTO sessions (token_sha256, staff_id, expires_at)"
                    " VALUES (%s, %s, now() + interval '1 day')", (token_hash(owner), staff))
        cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                    " cost_price_cents, stock) VALUES (%s, 'HA-1', 'HA widget', 10000,"
                    " 6000, 100000) RETURNING id", (did,))
        pid = cur.fetchone()[0]
        camps = {}
        for name, cap in (("small", 120), ("large", 100000), ("deadline", 100000)):
            cur.execute("INSERT INTO campaigns (distributor_id, product_id, title, status,"
                        " starts_at, ends_at, tier_basis, tiers, min_participants,"
                        " max_quantity, per_customer_limit, deposit_policy, min_score)"
                        " VALUES (%s, %s, %s, 'open', now() - interval '1 minute',"
                        " now() + interval '1 day', 'participants', %s, 1, %s, 3, %s, 0)"
                        " RETURNING id", (did, pid, "HA " + name, TIERS, cap, POLICY))
            camps[name] = cur.fetchone()[0]
        # written straight in: the product's stock buckets made to say what
        # the rows say, as publishing would have left them
        cur.execute("UPDATE products p SET reserved = e.reserved, committed = e.committed,"
                    " sold = e.sold, stock = greatest(p.stock, e.reserved + e.committed)"
                    " FROM gb_stock_expected(%s) e WHERE p.id = %s", (pid, pid))
        cur.execute("WITH c AS (INSERT INTO customers (login, password_hash, display_name)"
                    " SELECT 'ha.' || g || '@example.com', 'x', 'HA ' || g"
                    " FROM generate_series(1, %s) g RETURNING id) SELECT id FROM c ORDER BY id",
                    (CUSTOMERS,))
        ids = [r[0] for r in cur.fetchall()]
        tokens = [secrets.token_urlsafe(32) for _ in ids]
        cur.executemany("INSERT INTO sessions (token_sha256, customer_id, expires_at)"
                        " VALUES (%s, %s, now() + interval '1 day')",
                        [(token_hash(t), i) for t, i in zip(tokens, ids)])
    return did, owner, camps, list(zip(ids, tokens))


def wait_for(what, pred, timeout=30, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


def one(db, sql, args=()):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def check_read_replica(cl, s1, s2, db, did, owner, camps):
    """Part 1: with replay paused on the standby, what the primary has and
    the replica has not yet shows which pool a read went to."""
    standby = cl.connect(cl.p2)
    # the settled campaign of before the pause is on both
    settled_before = wait_for("the first settlement", lambda: one(
        db, "SELECT c.id FROM campaigns c WHERE c.distributor_id = %s AND c.status = 'settled'",
        (did,)))[0]
    wait_for("the standby to replay it", lambda: one(
        standby, "SELECT count(*) FROM campaigns WHERE id = %s AND status = 'settled'",
        (settled_before,))[0] == 1)
    with standby.cursor() as cur:
        cur.execute("SELECT pg_wal_replay_pause()")
    try:
        with db.cursor() as cur:
            cur.execute("UPDATE campaigns SET title = 'HA large, renamed' WHERE id = %s",
                        (camps["large"],))
        with db.cursor() as cur:  # the helper's product sku is fixed
            cur.execute("UPDATE products SET sku = 'CRASH-0' WHERE distributor_id = %s"
                        " AND sku = 'CRASH-1'", (did,))
        _, settled_after = seed_succeeded_campaign(db, 20, distributor_id=did)
        wait_for("the second settlement", lambda: one(
            db, "SELECT status FROM campaigns WHERE id = %s", (settled_after,))[0] == "settled")

        def title(srv):
            st, _, body = srv.request("GET", "/v1/campaigns/%d" % camps["large"])
            assert st == 200, (srv.name, st, body)
            return json.loads(body)["title"]

        assert title(s1) == "HA large, renamed", "the primary's view"
        assert title(s2) == "HA large", "s2's public view must come from the replica"

        def export(srv):
            st, _, body = srv.request("GET", "/v1/admin/exports/settlements.csv", token=owner)
            assert st == 200, (srv.name, st, body[:300])
            rows = body.decode().splitlines()[1:]
            return {int(r.split(",")[1]) for r in rows if r}

        from_primary, from_replica = export(s1), export(s2)
        assert from_primary == {settled_before, settled_after}, from_primary
        assert from_replica == {settled_before}, (
            "s2's export must come from the replica: %r" % from_replica)
        with standby.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = 'groupbuyd-read'")
            assert cur.fetchone()[0] >= 1, "no read-pool connection on the standby"
    finally:
        with standby.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_resume()")
        standby.close()
    wait_for("s2's view to catch up", lambda: json.loads(
        s2.request("GET", "/v1/campaigns/%d" % camps["large"])[2])["title"] == "HA large, renamed")
    log("reads on the replica: s2's public view and export lagged with replay paused,"
        " s1's did not")


class Storm:
    """Join requests from THREADS threads, alternating between servers.
    Each join has its own Idempotency-Key; a 503 is retried with the same
    key (the client's part of exactly-once) until it gets an answer."""

    def __init__(self, servers, camps, customers):
        items = []
        rnd = random.Random(15)
        for cust, token in customers:
            items.append((camps["small"], cust, token, 1))
            items.append((camps["large"], cust, token, rnd.randint(1, 3)))
            items.append((camps["deadline"], cust, token, 1))
        rnd.shuffle(items)
        self.items = items
        self.servers = servers
        self.lock = threading.Lock()
        self.next = 0
        self.done = 0
        self.acked = {}        # participation id -> (campaign, customer, quantity)
        self.ack_times = []    # receive time of every 201
        self.refused = {}      # error code -> count
        self.unavailable = 0   # 503 answers
        self.errors = []       # 5xx other than 503, other statuses, hangs
        self.stop_at = None

    def take(self):
        with self.lock:
            if self.next >= len(self.items):
                return None
            self.next += 1
            return self.items[self.next - 1]

    def run_one(self, srv, item):
        cid, cust, token, qty = item
        key = str(uuid.uuid4())
        while True:
            if self.stop_at and time.time() > self.stop_at:
                with self.lock:
                    self.errors.append("join %s still unanswered at the end" % key)
                return
            t0 = time.time()
            try:
                st, hdr, body = srv.request("POST", "/v1/campaigns/%d/participations" % cid,
                                            {"quantity": qty}, token=token,
                                            headers={"Idempotency-Key": key})
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.errors.append("%s: %r after %.1f s" % (srv.name, e, time.time() - t0))
                return
            now = time.time()
            if st == 503:
                with self.lock:
                    self.unavailable += 1
                time.sleep(0.05)
                continue
            with self.lock:
                if st == 201:
                    p = json.loads(body)
                    prev = self.acked.get(p["id"])
                    assert prev is None or prev == (cid, cust, qty), (prev, p)
                    self.acked[p["id"]] = (cid, cust, qty)
                    self.ack_times.append(now)
                elif st == 409:
                    code = json.loads(body)["error"]["code"]
                    self.refused[code] = self.refused.get(code, 0) + 1
                else:
                    self.errors.append("%s: %d %s" % (srv.name, st, body[:200]))
                self.done += 1
            return

    def worker(self, idx):
        srv = self.servers[idx % len(self.servers)]
        while True:
            item = self.take()
            if item is None:
                return
            self.run_one(srv, item)

    def start(self):
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(THREADS)]
        for t in self.threads:
            t.start()

    def join(self, timeout):
        self.stop_at = time.time() + timeout
        for t in self.threads:
            t.join(max(0.1, self.stop_at + REQUEST_TIMEOUT - time.time()))
        assert not any(t.is_alive() for t in self.threads), "storm threads hang"


def main():
    cl = Clusters()
    servers = []
    failures = []
    try:
        cl.start()
        subprocess.run([BIN, "migrate"], check=True, capture_output=True, cwd=ROOT,
                       env=dict(os.environ, GROUPBUYD_DATABASE_URL=cl.url(cl.p1)))
        db = cl.connect(cl.p1)
        did, owner, camps, customers = seed(db)
        _, settled_cid = seed_succeeded_campaign(db, 30, distributor_id=did)
        url = cl.multi_url()
        s1 = Server("s1", url)
        s2 = Server("s2", url, read_url=cl.url(cl.p2))
        servers = [s1, s2]
        for s in servers:
            s.start()
        log("two servers on %s" % url)

        check_read_replica(cl, s1, s2, db, did, owner, camps)

        storm = Storm(servers, camps, customers)
        t_start = time.time()
        storm.start()
        # mid-storm: a third of the joins answered, or 3 s
        wait_for("the storm to get going", lambda: storm.done >= len(storm.items) // 3
                 or time.time() - t_start > 3.0, timeout=60, step=0.01)
        with db.cursor() as cur:
            cur.execute("UPDATE campaigns SET ends_at = now() + make_interval(secs => %s)"
                        " WHERE id = %s", (DEADLINE_IN, camps["deadline"]))
        db.close()
        pm = cl.postmaster_pid()
        os.kill(pm, signal.SIGKILL)
        t_kill = time.time()
        done_at_kill = storm.done
        log("primary postmaster %d killed after %.1f s, %d of %d joins answered"
            % (pm, t_kill - t_start, done_at_kill, len(storm.items)))

        # the outage: s1 has no read pool (503, /readyz 503); s2 reads on
        # the standby
        wait_for("s1's public view to answer 503", lambda: s1.request(
            "GET", "/v1/campaigns/%d" % camps["large"])[0] == 503, timeout=OUTAGE_PAUSE)
        ready = s1.request("GET", "/readyz")[0]
        view2 = s2.request("GET", "/v1/campaigns/%d" % camps["large"])[0]
        assert ready == 503, "s1 /readyz during the outage: %d" % ready
        assert view2 == 200, "s2's public view from the replica during the outage: %d" % view2
        time.sleep(max(0.0, t_kill + OUTAGE_PAUSE - time.time()))
        cl.promote()
        t_promoted = time.time()
        log("standby promoted %.1f s after the kill" % (t_promoted - t_kill))

        newdb = cl.connect(cl.p2)
        t_closed = wait_for("the deadline campaign to close", lambda: one(
            newdb, "SELECT status <> 'open' FROM campaigns WHERE id = %s",
            (camps["deadline"],))[0] and time.time(), timeout=RECOVER_WITHIN + 5, step=0.02)
        storm.join(timeout=60)
        t_end = time.time()

        after = sorted(t for t in storm.ack_times if t > t_promoted)
        before = [t for t in storm.ack_times if t <= t_kill]
        assert after, "no join answered 201 after the promotion: the pool did not reconnect"
        t_service = after[0]
        gap = t_service - (max(before) if before else t_kill)

        # every 201 is on the new primary, and nothing else is
        with newdb.cursor() as cur:
            cur.execute("SELECT id, campaign_id, customer_id, quantity FROM participations"
                        " WHERE campaign_id = ANY(%s)", (list(camps.values()),))
            present = {r[0]: (r[1], r[2], r[3]) for r in cur.fetchall()}
        acked = storm.acked
        lost = [p for p in acked if present.get(p) != acked[p]]
        phantom = [p for p in present if p not in acked]

        log("acknowledged %d, present %d, lost %d, 503s %d, seconds without service %.2f"
            % (len(acked), len(present), len(lost), storm.unavailable, gap))
        log("refused %s; storm %.1f s; first 201 %.2f s after the promotion"
            % (json.dumps(storm.refused, sort_keys=True), t_end - t_start,
               t_service - t_promoted))

        if storm.errors:
            failures.append("%d answers other than 201/409/503 or no answer, e.g. %s"
                            % (len(storm.errors), storm.errors[:5]))
        if lost:
            failures.append("lost %d acknowledged joins, e.g. %s" % (len(lost), lost[:5]))
        if phantom:
            failures.append("%d participations never answered 201, e.g. %s"
                            % (len(phantom), phantom[:5]))
        if storm.done != len(storm.items):
            failures.append("only %d of %d joins answered" % (storm.done, len(storm.items)))
        if done_at_kill >= len(storm.items):
            failures.append("the storm was over before the kill")
        if t_service - t_promoted > RECOVER_WITHIN:
            failures.append("first 201 only %.1f s after the promotion" % (t_service - t_promoted))

        # nothing oversold; the live counters are the rows'
        with newdb.cursor() as cur:
            for name, cid in camps.items():
                cur.execute("SELECT c.status, c.live_quantity, c.max_quantity,"
                            " (SELECT coalesce(sum(quantity), 0) FROM participations p"
                            "   WHERE p.campaign_id = c.id"
                            "     AND p.status IN ('pending_deposit', 'active')),"
                            " (SELECT coalesce(sum(quantity), 0) FROM participations p"
                            "   WHERE p.campaign_id = c.id)"
                            " FROM campaigns c WHERE c.id = %s", (cid,))
                status, live, cap, live_rows, all_rows = cur.fetchone()
                if all_rows > cap or live > cap:
                    failures.append("%s oversold: %d / %d" % (name, all_rows, cap))
                if status == "open" and live != live_rows:
                    failures.append("%s: live_quantity %d, live rows %d" % (name, live, live_rows))
        if storm.refused.get("campaign_full", 0) == 0:
            failures.append("the small campaign never refused a join as full")

        # every settled campaign reconciles
        with newdb.cursor() as cur:
            cur.execute("SELECT c.id, r.difference_cents FROM campaigns c,"
                        " gb_campaign_reconcile(c.id) r WHERE c.status = 'settled'")
            settled = cur.fetchall()
        if settled_cid not in [r[0] for r in settled]:
            failures.append("the seeded succeeded campaign was not settled")
        for cid, diff in settled:
            if diff != 0:
                failures.append("campaign %d does not reconcile: %d" % (cid, diff))

        # the deadline in the outage: closed exactly once, within 1 s of the
        # service answering again
        with newdb.cursor() as cur:
            cur.execute("SELECT status, closed_at IS NOT NULL, extract(epoch FROM ends_at),"
                        " extract(epoch FROM closed_at) FROM campaigns WHERE id = %s",
                        (camps["deadline"],))
            status, closed, ends_at, closed_at = cur.fetchone()
        if not (t_kill < float(ends_at) < t_promoted):
            failures.append("the deadline did not fall in the outage (kill %.2f, ends %.2f,"
                            " promoted %.2f)" % (t_kill, ends_at, t_promoted))
        # closed_at is the closing transaction's start: after the kill, so on
        # the new primary (promote -w returns a poll after it accepts writes)
        if closed_at is not None and float(closed_at) < t_kill:
            failures.append("the deadline campaign was closed before the kill")
        with newdb.cursor() as cur:
            cur.execute("SELECT count(*) FROM outbox WHERE campaign_id = %s"
                        " AND kind IN ('campaign.succeeded', 'campaign.failed')",
                        (camps["deadline"],))
            transitions = cur.fetchone()[0]
        # "within 1 s of the service answering again" on the server's clock:
        # the close's transaction start against the first join the new
        # primary took (the test's own times add its threads' scheduling
        # under load, which is not the server's)
        with newdb.cursor() as cur:
            cur.execute("SELECT extract(epoch FROM min(created_at)) FROM participations"
                        " WHERE campaign_id = ANY(%s) AND created_at > to_timestamp(%s)",
                        (list(camps.values()), t_promoted))
            first_join = cur.fetchone()[0]
        server_lag = (float(closed_at) - float(first_join)
                      if closed_at is not None and first_join is not None else None)
        log("deadline campaign: %s, %d transition event(s), closed %.2f s after the promotion,"
            " %.2f s after the service answered again (server's clock: %s)"
            % (status, transitions, t_closed - t_promoted, t_closed - t_service,
               "n/a" if server_lag is None else "%.2f s" % server_lag))
        if status not in ("succeeded", "failed") or not closed:
            failures.append("deadline campaign is %s" % status)
        if transitions != 1:
            failures.append("deadline campaign closed %d times" % transitions)
        if first_join is None:
            failures.append("no participation created on the new primary after the promotion")
        elif server_lag is not None and server_lag > 1.0:
            failures.append("deadline campaign closed %.2f s after the new primary's first join"
                            % server_lag)
        newdb.close()

        # what the servers said
        for s in servers:
            text = s.log_text()
            if "db: primary lost" not in text:
                failures.append("%s did not log the primary lost" % s.name)
            if "db: connected to 127.0.0.1:%d (read-write) after" % cl.p2 not in text:
                failures.append("%s did not log its connection to the new primary" % s.name)
        st, _, body = s1.request("GET", "/metrics")
        metrics = body.decode()
        if st != 200 or 'groupbuyd_db_outages_total{pool="primary"} 1' not in metrics:
            failures.append("s1 /metrics does not count the outage:\n" + metrics[:2000])
    finally:
        for s in servers:
            rc = s.stop()
            if rc != 0:
                failures.append("%s exited %s:\n%s" % (s.name, rc, s.log_text()[-4000:]))
            text = s.log_text() if s.proc else ""
            for mark in SANITIZER_MARKS:
                if mark in text:
                    failures.append("sanitizer report in %s's log:\n%s" % (s.name, text[-6000:]))
        if failures:
            for s in servers:
                if s.proc:
                    print("---- %s log (tail) ----\n%s" % (s.name, s.log_text()[-3000:]))
        cl.destroy()
        for s in servers:  # FAILOVER_KEEP_LOGS=1 keeps them to read
            if not failures and not os.environ.get("FAILOVER_KEEP_LOGS") \
                    and os.path.exists(s.log_path):
                os.unlink(s.log_path)
    if failures:
        for f in failures:
            log("FAIL: " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Black-box fixtures: real PostgreSQL clusters, real groupbuyd processes.

The suite starts its own cluster (var/test-pg, rebuilt each run, fsync off:
these tests are about behaviour, not durability), migrates a template
database once, and gives each test a fresh copy of it. Servers are the
build under test ($GROUPBUYD_BIN, the asan build in `make test`); each one
logs to a file, and its teardown fails the test if the process did not exit
0 on SIGTERM or if its log holds a sanitizer report (PgBouncer's habit).

Every answer that Server.request receives on a route docs/openapi.json
documents is held to that document: its status must be one the operation
lists, and a JSON body must validate against the schema given for that
status (python3-jsonschema from Debian). A test whose answers disagree fails
at teardown, naming the operation and what to add or fix in the document.

No server fault passes silently: at each test's teardown the log lines
every server wrote during the test are read, and the test fails on an
answer with a 5xx status (the access log's line, so raw sockets count too)
unless the test names that status in @pytest.mark.expect_5xx(503, ...),
and on a line at level error unless a pattern given to
@pytest.mark.expect_log_errors(r"regex", ...) matches it.

Randomised tests take a `seed` argument: each runs once with the fixed seed
$TEST_SEED (scripts/run-api.sh sets it) and once with a fresh seed drawn
for the run; SEED=N runs only seed N. A failure prints the line that
replays it.
"""
import http.client
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import psycopg2
import pytest

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GROUPBUYD_BIN", os.path.join(ROOT, "build", "asan", "groupbuyd"))
PG = os.path.join(ROOT, "scripts", "pg.sh")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")
_db_counter = itertools.count(1)


class Cluster:
    """A private PostgreSQL cluster driven through scripts/pg.sh."""

    def __init__(self, path):
        self.path = path

    def _pg(self, cmd, dbname="postgres"):
        env = dict(os.environ, GROUPBUYD_DBNAME=dbname,
                   PG_EXTRA_CONF="fsync = off\nsynchronous_commit = off\nfull_page_writes = off",
                   PG_INITDB_OPTS="--no-sync")
        return subprocess.run([PG, cmd, self.path], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def start(self):
        self._pg("start", "groupbuyd")

    def stop(self):
        self._pg("stop")

    def url(self, dbname):
        return self._pg("url", dbname)

    def connect(self, dbname):
        conn = psycopg2.connect(self.url(dbname))
        conn.autocommit = True
        return conn

    def destroy(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        real = os.path.realpath(self.path)
        shutil.rmtree(real, ignore_errors=True)
        if os.path.islink(self.path):
            os.unlink(self.path)


def make_cluster(name):
    c = Cluster(os.path.join(ROOT, "var", name))
    c.destroy()
    c.start()
    return c


def reap_stale_clusters():
    """Stops and removes clusters left by test runs that were killed."""
    var = os.path.join(ROOT, "var")
    if not os.path.isdir(var):
        return
    for name in os.listdir(var):
        if not name.startswith("test-pg-"):
            continue
        try:
            pid = int(name.rsplit("-", 1)[1])
            os.kill(pid, 0)
            continue  # that run is alive
        except (ValueError, ProcessLookupError):
            pass
        except PermissionError:
            continue
        Cluster(os.path.join(var, name)).destroy()


@pytest.fixture(scope="session")
def cluster():
    """The suite's own cluster, one per pytest process so that two runs on
    one checkout do not trample each other."""
    reap_stale_clusters()
    c = make_cluster("test-pg-%d" % os.getpid())
    admin = c.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE gb_template")
    admin.close()
    subprocess.run([BIN, "migrate"], check=True, capture_output=True,
                   env=dict(os.environ, GROUPBUYD_DATABASE_URL=c.url("gb_template")),
                   cwd=ROOT)
    yield c
    c.destroy()


@pytest.fixture
def dbname(cluster):
    """A fresh, migrated database for one test."""
    name = "t%d_%d" % (os.getpid(), next(_db_counter))
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE %s TEMPLATE gb_template" % name)
    admin.close()
    yield name
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    admin.close()


@pytest.fixture
def db(cluster, dbname):
    """A psycopg2 connection (autocommit) to the test's database."""
    conn = cluster.connect(dbname)
    yield conn
    conn.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


OPENAPI_PATH = os.path.join(ROOT, "docs", "openapi.json")
OPENAPI_METHODS = ("get", "put", "post", "delete", "patch")


class OpenAPIConformance:
    """Matches answers to the operations of docs/openapi.json and records
    every disagreement (thread-safe: some tests send from threads)."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.routes = []
        for pattern, item in self.doc["paths"].items():
            rx = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(pattern)) + "$")
            self.routes.append((rx, pattern, item))
        # literal segments before {param} ones, as a reader would match them
        self.routes.sort(key=lambda r: r[1].count("{"))
        self.validators = {}
        self.problems = []
        self.lock = threading.Lock()

    def operation(self, method, path):
        for rx, pattern, item in self.routes:
            if rx.match(path):
                return pattern, item.get(method)
        return None, None

    def validator(self, key, schema):
        with self.lock:
            v = self.validators.get(key)
            if v is None:
                v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
                self.validators[key] = v
        return v

    def note(self, msg):
        with self.lock:
            self.problems.append(msg)

    def check(self, method, target, resp):
        path = target.split("?", 1)[0]
        m = method.lower()
        head = m == "head"
        if head:
            m = "get"
        pattern, op = self.operation(m, path)
        if op is None:
            return  # an undocumented path (404) or method (405): the route-table test covers those
        name = "%s %s" % (m.upper(), pattern)
        responses = op.get("responses", {})
        spec = responses.get(str(resp.status)) or responses.get("default")
        if spec is None:
            self.note("%s %s answered %d, a status docs/openapi.json does not list for %s: add "
                      "paths[%r][%r][\"responses\"][\"%d\"] (an error: {\"$ref\": "
                      "\"#/components/responses/...\"}). Body: %s"
                      % (method, target, resp.status, name, pattern, m, resp.status, resp.body[:300]))
            return
        if "$ref" in spec:
            spec = self.resolver.resolve(spec["$ref"])[1]
        ctype = ""
        for k, v in resp.headers.items():
            if k.lower() == "content-type":
                ctype = v.split(";")[0].strip().lower()
        if head or not resp.body or ctype != "application/json":
            return
        schema = spec.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            self.note("%s %s answered %d with JSON, but docs/openapi.json gives no "
                      "application/json schema for that status of %s" % (method, target, resp.status, name))
            return
        try:
            body = json.loads(resp.body)
        except ValueError:
            self.note("%s %s answered %d with a body that is not JSON: %r" % (method, target, resp.status, resp.body[:200]))
            return
        v = self.validator((name, resp.status), schema)
        errors = sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            self.note("%s %s answered %d with a body docs/openapi.json does not describe (%s, status %d): "
                      "at %s: %s" % (method, target, resp.status, name, resp.status,
                                     "/".join(str(p) for p in e.absolute_path) or "(top)", e.message[:400]))


OPENAPI = OpenAPIConformance(OPENAPI_PATH)


@pytest.fixture(autouse=True)
def openapi_conformance(request):
    """Fails a test whose answers disagree with docs/openapi.json, or whose
    servers answered a 5xx or logged an error the test did not expect."""
    start = len(OPENAPI.problems)
    yield
    with OPENAPI.lock:
        found = OPENAPI.problems[start:]
    if found:
        pytest.fail("answers that docs/openapi.json does not describe:\n" + "\n".join(found[:10]))
    faults = server_faults(request.node)
    if faults:
        pytest.fail(faults)


# A line of the server's log: "2026-11-26T19:52:57.123Z LEVEL message"; the
# access log's message is "METHOD /path STATUS 1.234ms request-id ...".
_LOG_LINE = re.compile(r"^\S+Z (\w+)\s+(.*)$")
_ACCESS = re.compile(r"^([A-Z]+) (\S+) (\d{3}) [0-9.]+ms ")
# The client id of the readiness probes Server.start sends.
START_PROBE = "conftest-start-probe"
# Every Server made in this pytest process, to read what each logged
# during a test (module-scoped servers outlive a test).
SERVERS = []


def server_faults(node):
    """What the servers logged since the test started that it did not ask
    for: 5xx answers not named in expect_5xx, error lines no pattern of
    expect_log_errors matches. Returns the failure message or ""."""
    allowed = set()
    for m in node.iter_markers("expect_5xx"):
        allowed.update(m.args)
    patterns = [re.compile(p) for m in node.iter_markers("expect_log_errors") for p in m.args]
    problems = []
    for s in list(SERVERS):
        stopped = s.proc is not None and s.proc.poll() is not None
        text = s.log_since(s.log_seen)
        s.log_seen += len(text.encode("utf-8", "surrogateescape"))
        if stopped:
            SERVERS.remove(s)  # all read; start() puts it back
        for line in text.splitlines():
            m = _LOG_LINE.match(line)
            if not m:
                continue
            level, msg = m.groups()
            a = _ACCESS.match(msg)
            if a and msg.endswith(" client-id " + START_PROBE):
                continue
            if a and a.group(3).startswith("5") and int(a.group(3)) not in allowed:
                problems.append("%s: %s" % (s.name, line))
            elif level == "error" and not any(p.search(msg) for p in patterns):
                problems.append("%s: %s" % (s.name, line))
    if not problems:
        return ""
    return ("the server answered 5xx or logged an error that this test does not expect "
            "(a test that provokes one names it: @pytest.mark.expect_5xx(503) or "
            "@pytest.mark.expect_log_errors(r\"...\")):\n" + "\n".join(problems[:20]))


def pytest_configure(config):
    config.addinivalue_line("markers", "expect_5xx(*statuses): the 5xx statuses this test "
                            "provokes on purpose (any other fails it)")
    config.addinivalue_line("markers", "expect_log_errors(*patterns): regular expressions "
                            "for the error lines this test provokes on purpose")
    config.addinivalue_line("markers", "slow: a measurement, not a behaviour: "
                            "left out of the functional suite (make slow runs them)")


def pytest_collection_modifyitems(config, items):
    """Measurements (@pytest.mark.slow) run only when asked for with -m
    (make slow): the functional suite checks behaviour."""
    if config.option.markexpr:
        return
    keep = [i for i in items if i.get_closest_marker("slow") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


# ---------------------------------------------------------------- seeds

def _fixed_seed():
    v = os.environ.get("TEST_SEED")
    return int(v) if v else None


FRESH_SEED = random.SystemRandom().randrange(1 << 31)


def pytest_generate_tests(metafunc):
    """A test with a `seed` argument runs with $TEST_SEED and a fresh seed,
    or with $SEED alone."""
    if "seed" not in metafunc.fixturenames:
        return
    if os.environ.get("SEED"):
        seeds = [int(os.environ["SEED"])]
    else:
        seeds = [s for s in (_fixed_seed(), FRESH_SEED) if s is not None]
    metafunc.parametrize("seed", seeds, ids=["seed=%d" % s for s in seeds])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    seed = getattr(item, "callspec", None) and item.callspec.params.get("seed")
    if rep.failed and seed is not None:
        rep.sections.append(("seed", "replay this run: SEED=%d scripts/run-api.sh %s"
                             % (seed, item.nodeid.split("[")[0])))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def error_code(self):
        return self.json["error"]["code"]

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Server:
    """One groupbuyd process on its own port."""

    def __init__(self, tmp_path, url, env=None, config=None, name="server"):
        self.port = free_port()
        self.log_path = os.path.join(str(tmp_path), "%s-%d.log" % (name, self.port))
        self.env = dict(os.environ)
        self.env.update({
            "GROUPBUYD_DATABASE_URL": url,
            "GROUPBUYD_LISTEN": "127.0.0.1:%d" % self.port,
            "GROUPBUYD_LOG_LEVEL": "info",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        })
        self.env.update(env or {})
        self.args = [BIN]
        if config is not None:
            path = os.path.join(str(tmp_path), "%s-%d.conf" % (name, self.port))
            with open(path, "w") as f:
                f.write(config)
            self.args += ["-c", path]
        self.args.append("serve")
        self.proc = None
        self.name = "%s-%d" % (name, self.port)
        self.log_seen = 0
        SERVERS.append(self)

    def start(self, wait_ready=True):
        if self not in SERVERS:
            SERVERS.append(self)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        path = "/readyz" if wait_ready else "/healthz"
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("server exited %s:\n%s" % (self.proc.returncode, self.log_text()))
            try:
                # tagged: a 503 while the pool connects is not the test's
                if self.request("GET", path, timeout=2,
                                headers={"X-Request-Id": START_PROBE}).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("server not up in 30 s:\n" + self.log_text())

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_since(self, offset):
        """The whole lines logged from byte offset on (a line still being
        written waits for the next read)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return ""
        end = data.rfind(b"\n") + 1
        return data[:end].decode("utf-8", "surrogateescape")

    def request(self, method, path, body=None, token=None, headers=None, timeout=30, raw_body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        try:
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            out = Response(resp.status, dict(resp.getheaders()), resp.read())
            OPENAPI.check(method, path, out)
            return out
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Stops the process; returns its exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("server did not exit within %d s of %s" % (timeout, sig))
        finally:
            self.log.close()

    def check_clean(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            assert mark not in text, "sanitizer report in server log:\n" + text[-6000:]


@pytest.fixture
def make_server(tmp_path, cluster, request):
    """Factory: make_server(dbname, env=..., config=...) -> started Server.
    Every server is stopped with SIGTERM at teardown, must exit 0 and leave
    a log without sanitizer reports."""
    servers = []

    def make(db, env=None, config=None, start=True, wait_ready=True, url=None):
        s = Server(tmp_path, url or cluster.url(db), env=env, config=config,
                   name="server%d" % len(servers))
        servers.append(s)
        if start:
            s.start(wait_ready=wait_ready)
        return s

    yield make
    failures = []
    for s in servers:
        if s.proc is None:
            continue
        rc = s.stop()
        if rc != 0:
            failures.append("server exited %s:\n%s" % (rc, s.log_text()[-6000:]))
        try:
            s.check_clean()
        except AssertionError as e:
            failures.append(str(e))
    if failures:
        pytest.fail("\n".join(failures))


@pytest.fixture
def server(make_server, dbname):
    return make_server(dbname)

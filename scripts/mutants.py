#!/usr/bin/python3
"""make mutants: one-line mutations of the rules that matter, each of which
the tests must catch.

Each mutant below changes one line of one file (the text `old`, found
exactly once, becomes `new`), and names the tests that should fail. The
script copies the checkout to build/mutants/tree (sources, and the ASan
objects so that a mutant rebuilds only its file), checks that those tests
pass there unmutated, then for each mutant: applies it, rebuilds, runs its
tests (API tests stop at the first failure; unit tests are the binary),
and puts the line back. A mutant is killed when its tests fail, survived
when they pass: a survivor is a rule no test holds, and the missing test
is added in the same change as the mutant. A mutant whose `old` text is no
longer in its file is stale: the code moved, so the mutant moves with it.

    make mutants                      every mutant (20-40 minutes)
    MUTANTS=pickup-lock,ssrf make mutants   only those
    MUTANTS_DIR=build/mutants2 ...    a second copy and log (two runs at once)
    BASELINE=0 make mutants           skip the unmutated run (on a busy
                                      machine, when the suite is known green):
                                      each kill's first failure is then in
                                      the log, to be read as the mutant's
    scripts/mutants.py --list         the table of mutants, without running

The table printed at the end (Markdown) is the run's record. Exit status:
0 when every mutant was killed, 1 otherwise. Not part of `make test`.
"""
import os
import shutil
import subprocess
import sys
import time
from collections import namedtuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# MUTANTS_DIR: another copy and log, so that two runs can go at once
WORK = os.environ.get("MUTANTS_DIR") or os.path.join(ROOT, "build", "mutants")
TREE = os.path.join(WORK, "tree")
Mutant = namedtuple("Mutant", "name why path old new tests")


def api(*args):
    return ("api",) + args


def unit(binary):
    return ("unit", binary)


MUTANTS = [
    # ------------------------------------------------------------ prices
    Mutant("tier-boundary",
           "a count at a tier's threshold pays the tier below (>= becomes >)",
           "schema/functions/pricing.sql",
           "SELECT width_bucket(greatest(p_count, 1), p_thresholds)",
           "SELECT width_bucket(greatest(p_count - 1, 1), p_thresholds)",
           [api("tests/api/schema/test_pricing.py")]),
    Mutant("threshold-reached",
           "the threshold (成团) needs one participant more than min_participants",
           "schema/functions/pricing.sql",
           "SELECT p_participants >= p_min_participants",
           "SELECT p_participants > p_min_participants",
           [api("tests/api/schema/test_pricing.py")]),
    Mutant("close-counts-pending",
           "the close counts participations still waiting for their deposit",
           "schema/functions/transitions.sql",
           "      INTO n_active, q_active\n      FROM participations\n"
           "     WHERE campaign_id = c.id AND status = 'active';",
           "      INTO n_active, q_active\n      FROM participations\n"
           "     WHERE campaign_id = c.id AND status IN ('active', 'pending_deposit');",
           [api("tests/api/engine/test_scheduler.py")]),
    Mutant("close-late",
           "campaigns close two seconds after ends_at, not within one",
           "schema/functions/transitions.sql",
           "    IF NOT FOUND OR c.status <> 'open' OR c.ends_at > now() THEN",
           "    IF NOT FOUND OR c.status <> 'open' OR c.ends_at > now() - interval '2 s' THEN",
           [api("tests/api/engine/test_scheduler.py")]),
    Mutant("deposit-band-edge",
           "a score equal to a band's min_score falls to the band below",
           "server/domain/pricing.c",
           "if (bands[i].min_score <= score &&",
           "if (bands[i].min_score < score &&",
           [unit("domain/test_pricing")]),
    Mutant("deposit-ceil",
           "the deposit rounds down instead of up",
           "server/lib/money.c",
           "    if (p % 100 > 0)\n        q++;",
           "    if (p % 100 > 100)\n        q++;",
           [unit("lib/test_money"), api("tests/api/shop/test_joins.py", "-k", "deposit")]),
    # ------------------------------------------------------------ joins
    Mutant("oversell-guard",
           "a join may take one unit past max_quantity",
           "schema/functions/join.sql",
           "SELECT CASE WHEN p_live_q + p_quantity > p_max_quantity THEN 'campaign_full'",
           "SELECT CASE WHEN p_live_q + p_quantity > p_max_quantity + 1 THEN 'campaign_full'",
           # (the CHECK campaigns_no_oversell still answers campaign_full
           # through the API: the function's edge is held by its table test)
           [api("tests/api/schema/test_join_room.py", "tests/api/shop/test_joins.py",
                "tests/api/shop/test_join_batch.py")]),
    Mutant("pending-share",
           "the units that may wait for a deposit round up, not down",
           "schema/functions/join.sql",
           "SELECT greatest(floor(p_max_quantity::numeric * p_share_bp / 10000)::bigint,",
           "SELECT greatest(ceil(p_max_quantity::numeric * p_share_bp / 10000)::bigint,",
           [api("tests/api/schema/test_join_room.py", "tests/api/shop/test_join_pending.py")]),
    Mutant("stock-check",
           "publishing accepts a max_quantity one above the stock",
           "schema/functions/stock.sql",
           "       AND p.stock - p.reserved - p.committed >= p_units;",
           "       AND p.stock - p.reserved - p.committed >= p_units - 1;",
           [api("tests/api/admin/test_stock.py")]),
    # ------------------------------------------------------------ money
    Mutant("commission-rounding",
           "basis points round half down instead of half up",
           "schema/functions/settle.sql",
           "+ ((p_amount % 10000) * p_bp + 5000) / 10000 $$;",
           "+ ((p_amount % 10000) * p_bp + 4999) / 10000 $$;",
           [api("tests/api/finance/test_settlement_rules.py")]),
    Mutant("settle-once",
           "a campaign that has a settlement is settled again",
           "schema/functions/settle.sql",
           "       OR EXISTS (SELECT 1 FROM settlements WHERE campaign_id = c.id)",
           "       OR false",
           [api("tests/api/finance/test_settlement_rules.py",
                "tests/api/finance/test_settlement.py")]),
    Mutant("after-sales-cap",
           "staff may refund one cent more than was paid less refunded",
           "schema/functions/aftersales.sql",
           "    SELECT * INTO m FROM gb_participation_money(a.participation_id);\n"
           "    IF p_amount > m.paid_cents - m.refunded_cents THEN",
           "    SELECT * INTO m FROM gb_participation_money(a.participation_id);\n"
           "    IF p_amount > m.paid_cents - m.refunded_cents + 1 THEN",
           [api("tests/api/admin/test_fulfilment.py", "-k", "after_sales")]),
    Mutant("webhook-tolerance",
           "payment webhooks signed ten minutes ago are accepted",
           "server/lib/crypto.h",
           "#define CRYPTO_WEBHOOK_TOLERANCE_SECONDS 300",
           "#define CRYPTO_WEBHOOK_TOLERANCE_SECONDS 3000",
           [api("tests/api/shop/test_payments.py")]),
    Mutant("idempotency-body",
           "a key reused with another body replays the first answer",
           "server/engine/idem.c",
           "\"SELECT request_sha256 = decode($4, 'hex'), response_status,\"",
           # (the parameter stays in use: without it the statement fails
           # to prepare, a 503 that would kill the mutant for the wrong reason)
           "\"SELECT request_sha256 = decode($4, 'hex') OR true, response_status,\"",
           [api("tests/api/shop/test_payments.py", "tests/api/identity/test_identity.py",
                "-k", "idempotency or idempotent")]),
    # ------------------------------------------------------------ reliability
    Mutant("reliability-withdrawal",
           "a withdrawal counts as much as a default",
           "server/domain/reliability.c",
           "    .weight_withdrawn = 0.5,",
           "    .weight_withdrawn = 1.0,",
           [unit("domain/test_reliability")]),
    Mutant("reliability-prior",
           "a newcomer starts from a prior of 2, not 3",
           "server/domain/reliability.c",
           "    .prior_alpha_base = 3.0,",
           "    .prior_alpha_base = 2.0,",
           [unit("domain/test_reliability")]),
    # ------------------------------------------------------------ fulfilment
    Mutant("pickup-lock",
           "five wrong pickup codes lock the order for 15 seconds, not 15 minutes",
           "schema/functions/orders.sql",
           "THEN now() + interval '15 minutes' END,",
           "THEN now() + interval '15 seconds' END,",
           [api("tests/api/admin/test_fulfilment.py", "-k", "lock")]),
    Mutant("pickup-wrong-codes",
           "the lock comes at the sixth wrong code",
           "schema/functions/orders.sql",
           "    outcome := CASE WHEN o.pickup_failures + 1 >= 5 THEN 'locked'",
           "    outcome := CASE WHEN o.pickup_failures + 1 >= 6 THEN 'locked'",
           [api("tests/api/admin/test_fulfilment.py", "-k", "lock")]),
    Mutant("pickup-code-uniform",
           "every 32-bit sample becomes a code (a plain modulo: biased)",
           "server/domain/fulfil.c",
           "        if (v >= FULFIL_SAMPLE_LIMIT)",
           "        if (v > UINT32_MAX - 1)",
           [unit("domain/test_fulfil")]),
    Mutant("role-ship",
           "the operator may no longer ship an order",
           "server/api/routes.c",
           "    {EVHTTP_REQ_POST, \"/v1/admin/orders/{id}/ship\", fulfilment_ship,\n"
           "     OWNER | ACCESS_OPERATOR},",
           "    {EVHTTP_REQ_POST, \"/v1/admin/orders/{id}/ship\", fulfilment_ship,\n"
           "     OWNER},",
           [api("tests/api/identity/test_authz.py", "-k", "ship")]),
    Mutant("role-approve",
           "finance may approve a refund",
           "server/api/routes.c",
           "    {EVHTTP_REQ_POST, \"/v1/admin/after-sales/{id}/approve\", aftersales_approve,\n"
           "     OWNER | ACCESS_OPERATOR},",
           "    {EVHTTP_REQ_POST, \"/v1/admin/after-sales/{id}/approve\", aftersales_approve,\n"
           "     STAFF},",
           [api("tests/api/identity/test_authz.py", "-k", "approve")]),
    Mutant("tenant-order",
           "an order is found by id alone, whoever's it is",
           "schema/functions/orders.sql",
           "     WHERE distributor_id = p_distributor_id AND id = p_order_id FOR UPDATE;\n"
           "    IF NOT FOUND THEN\n        outcome := 'not_found';\n        RETURN;\n"
           "    END IF;\n    IF o.status <> 'ready_for_pickup' THEN",
           "     WHERE id = p_order_id FOR UPDATE;\n"
           "    IF NOT FOUND THEN\n        outcome := 'not_found';\n        RETURN;\n"
           "    END IF;\n    IF o.status <> 'ready_for_pickup' THEN",
           # (the handler reads the order scoped first: the API answers 404
           # either way, so the function's scoping has its own test)
           [api("tests/api/schema/test_order_tenancy.py"),
            api("tests/api/identity/test_authz.py", "-k", "pickup")]),
    # ------------------------------------------------------------ webhooks
    Mutant("webhook-order",
           "a participation's later event may be delivered before its earlier one",
           "schema/functions/webhooks.sql",
           "                               AND x.participation_id = d.participation_id AND x.id < d.id))",
           "                               AND x.participation_id = d.participation_id AND x.id > d.id))",
           [api("tests/api/admin/test_webhooks.py")]),
    Mutant("ssrf-loopback",
           "127.0.0.0/8 counts as a public address",
           "server/domain/webhook_rules.c",
           "    if (b0 == 127)",
           "    if (b0 == 128)",
           [unit("domain/test_webhook_rules"),
            api("tests/api/admin/test_webhooks.py", "-k", "ssrf")]),
    Mutant("ssrf-resolved",
           "a host that resolves to an internal address is accepted",
           "server/out/webhook_target.c",
           "        if (c != WEBHOOK_ADDR_PUBLIC && !l->allowed) {",
           "        if (c == WEBHOOK_ADDR_RESERVED && !l->allowed) {",
           [api("tests/api/admin/test_webhooks.py", "-k", "ssrf")]),
    # ------------------------------------------------------------ identity
    Mutant("login-throttle",
           "the login throttle lets an eleventh failure through",
           "schema/functions/identity.sql",
           "    IF n >= 10 THEN",
           "    IF n >= 11 THEN",
           [api("tests/api/identity/test_identity.py", "-k", "throttle or rate")]),
]


def run(cmd, cwd=TREE, env=None, log=None):
    out = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    if log is not None:
        with open(log, "a") as f:
            f.write("$ %s\n%s\n" % (" ".join(cmd), out.stdout))
    return out.returncode, out.stdout


SKIP = {"build", "var", "node_modules", ".git"}


def sync(src, dst, top=True):
    """dst becomes a copy of src (mtimes kept; unchanged files left alone;
    at the top, build/, var/, node_modules/ and .git skipped)."""
    os.makedirs(dst, exist_ok=True)
    names = set(os.listdir(src)) - (SKIP if top else set())
    for name in set(os.listdir(dst)) - names - (SKIP if top else set()):
        p = os.path.join(dst, name)
        if os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)
        else:
            os.unlink(p)
    for name in names:
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.islink(s):
            if os.path.lexists(d):
                os.unlink(d)
            os.symlink(os.readlink(s), d)
        elif os.path.isdir(s):
            sync(s, d, top=False)
        else:
            a = os.stat(s)
            try:
                b = os.stat(d)
                if b.st_size == a.st_size and int(b.st_mtime) == int(a.st_mtime):
                    continue
            except FileNotFoundError:
                pass
            shutil.copy2(s, d)


def copy_tree():
    """The checkout's sources and ASan objects into TREE (mtimes kept, so
    make rebuilds only what a mutant touches)."""
    sync(ROOT, TREE)
    for part in ("asan", "tests", "tools"):
        src = os.path.join(ROOT, "build", part)
        if os.path.isdir(src):
            sync(src, os.path.join(TREE, "build", part), top=False)


def build(targets, log):
    rc, out = run(["make", "--no-print-directory", "-j2"] + targets, log=log)
    return rc == 0


def unit_target(binary):
    return "build/tests/" + binary


def run_tests(tests, log):
    """True when every test passed."""
    env = dict(os.environ, GROUPBUYD_BIN=os.path.join(TREE, "build", "asan", "groupbuyd"))
    env.pop("SEED", None)
    ok = True
    for t in tests:
        if t[0] == "unit":
            rc, _ = run([os.path.join(TREE, unit_target(t[1]))], env=env, log=log)
        else:
            rc, _ = run([os.path.join(TREE, "scripts", "run-api.sh"), "-x", "-q"]
                        + list(t[1:]), env=env, log=log)
        ok = ok and rc == 0
        if not ok:
            break  # killed: the rest need not run
    return ok


def describe(tests):
    parts = []
    for t in tests:
        if t[0] == "unit":
            parts.append("unit " + t[1])
        else:
            parts.append(" ".join(a.replace("tests/api/", "") for a in t[1:]))
    return "; ".join(parts)


def table(rows):
    lines = ["| # | mutant | what it breaks | file | tests run | result | s |",
             "|---|---|---|---|---|---|---|"]
    for i, (m, result, secs) in enumerate(rows, 1):
        lines.append("| %d | %s | %s | %s | %s | %s | %.0f |" % (
            i, m.name, m.why, m.path, describe(m.tests), result, secs))
    return "\n".join(lines)


def main():
    chosen = MUTANTS
    if os.environ.get("MUTANTS"):
        names = os.environ["MUTANTS"].split(",")
        unknown = set(names) - {m.name for m in MUTANTS}
        if unknown:
            sys.exit("mutants: unknown %s" % ", ".join(sorted(unknown)))
        chosen = [m for m in MUTANTS if m.name in names]
    if "--list" in sys.argv:
        print(table([(m, "-", 0) for m in chosen]))
        return 0
    log = os.path.join(WORK, "log.txt")
    copy_tree()
    open(log, "w").close()
    units = sorted({unit_target(t[1]) for m in chosen for t in m.tests if t[0] == "unit"})
    targets = ["build/asan/groupbuyd"] + units
    print("mutants: building the unmutated tree", flush=True)
    if not build(targets, log):
        sys.exit("mutants: the unmutated tree does not build; see " + log)
    # every test the mutants run passes unmutated: a failure is then the mutant's
    seen, baseline = set(), []
    for m in chosen:
        for t in m.tests:
            if t not in seen:
                seen.add(t)
                baseline.append(t)
    if os.environ.get("BASELINE") == "0":
        print("mutants: BASELINE=0: their tests not run on the unmutated tree", flush=True)
        baseline = []
    else:
        print("mutants: their tests on the unmutated tree", flush=True)
    for t in baseline:
        if not run_tests([t], log):
            sys.exit("mutants: %s fails without any mutant; see %s" % (describe([t]), log))
    rows = []
    for m in chosen:
        path = os.path.join(TREE, m.path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        t0 = time.time()
        if text.count(m.old) != 1:
            rows.append((m, "stale (%d matches)" % text.count(m.old), 0))
            print("mutants: %-22s stale" % m.name, flush=True)
            continue
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(m.old, m.new))
        try:
            with open(log, "a") as f:
                f.write("\n==== mutant %s\n" % m.name)
            if not build(targets, log):
                result = "build failed"
            else:
                result = "survived" if run_tests(m.tests, log) else "killed"
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        rows.append((m, result, time.time() - t0))
        print("mutants: %-22s %s (%.0f s)" % (m.name, result, time.time() - t0), flush=True)
    if not build(targets, log):
        print("mutants: the restored tree does not build; see " + log)
    print()
    print(table(rows))
    killed = sum(1 for _, r, _ in rows if r == "killed")
    print("\nmutants: %d of %d killed (log: %s)" % (killed, len(rows), log))
    return 0 if killed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())

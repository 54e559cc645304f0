"""The worked examples of docs/domain.md, to the cent, against the server.

Every number comes from the document: the set-up (prices, tiers, costs,
commission, who buys how much, who pays) and the figures it promises (the
deposits, the balances, each settlement line and adjustment, the totals,
what was received and refunded). The example is then played through the
API (payments through the sandbox provider; a payment window "passes" by
moving pay_by, the scheduler doing the rest) and the server's figures must
be the document's. When the document changes, this test follows it; when a
sentence it reads is rewritten beyond its patterns, it fails naming the
sentence.
"""
import os
import re
import time

import pytest

from conftest import ROOT
from helpers import *  # noqa: F401,F403
from campaign_helpers import OMIT, create_product, open_campaign
from payment_helpers import PAY_ENV

DOMAIN = os.path.join(ROOT, "docs", "domain.md")
ENV = dict(PAY_ENV, GROUPBUYD_PAYMENT_SANDBOX="1")
WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# A column of the document's settlement tables -> the field of a line.
COLUMNS = {"gross": "gross_cents", "forfeited": "forfeited_cents",
           "commission": "commission_cents", "manufacturer": "manufacturer_cents",
           "leader": "leader_commission_cents", "leader commission": "leader_commission_cents",
           "distributor net": "distributor_net_cents", "net": "distributor_net_cents"}


def document():
    with open(DOMAIN, encoding="utf-8") as f:
        return f.read()


def section(text, heading):
    """The text under a heading (up to the next heading of any level)."""
    m = re.search(r"^#+ %s\s*$(.*?)(?=^#+ |\Z)" % re.escape(heading), text, re.M | re.S)
    assert m, "docs/domain.md has no heading %r" % heading
    return m.group(1)


def find(pattern, text, what, flags=0):
    m = re.search(pattern, text, flags)
    assert m, "docs/domain.md: %s not found (pattern %r) in:\n%s" % (what, pattern, text[:600])
    return m


def cents(s):
    """'68.00' -> 6800."""
    whole, _, frac = s.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def last_int(cell):
    """The figure a cell ends with: '(680 × 500 + 5000) div 10000 = 34' -> 34,
    '**−2837**' -> -2837."""
    cell = cell.replace("−", "-").replace("*", "").replace(",", "")
    nums = re.findall(r"-?\d+", cell)
    assert nums, "no figure in table cell %r" % cell
    return int(nums[-1])


def tables(text):
    """The markdown tables of text: lists of rows (cells stripped), the
    header first, the separator row dropped."""
    out, cur = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                cur.append(cells)
        elif cur:
            out.append(cur)
            cur = []
    return out


def wait(pred, what, timeout=30):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.time() < deadline, "timed out waiting for " + what
        time.sleep(0.05)


def q1(db, sql, params=()):
    with db.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def close_now(db, cid):
    with db.cursor() as cur:
        cur.execute("UPDATE campaigns SET ends_at = now() WHERE id = %s", (cid,))
        assert cur.rowcount == 1
    wait(lambda: q1(db, "SELECT status FROM campaigns WHERE id = %s", (cid,))[0] != "open",
         "the close")


def pay(srv, token, pid, amount):
    """Pays what is due now through the sandbox provider; it must be amount."""
    r = srv.post("/v1/participations/%d/payments" % pid, token=token)
    assert r.status == 201, r
    assert r.json["payment"]["amount_cents"] == amount, r
    r = srv.post("/v1/sandbox/payments/%d" % r.json["payment"]["id"],
                 {"outcome": "succeeded"}, token=token)
    assert r.status == 200 and r.json["outcome"] == "applied", r


def settlement(srv, token, cid):
    return wait(lambda: (lambda r: r.json if r.status == 200 else None)(
        srv.get("/v1/admin/settlements/%d" % cid, token=token)), "the settlement")


def reconcile(db, cid):
    return q1(db, "SELECT received_cents, refunded_cents, split_cents, difference_cents"
                  " FROM gb_campaign_reconcile(%s)", (cid,))


@pytest.fixture
def srv(make_server, dbname):
    return make_server(dbname, env=ENV, config=FAST_CONFIG)


# ---------------------------------------------------------------- settlement

def read_settlement_example():
    text = section(document(), "A worked example, to the cent")
    intro = text.split("|", 1)[0]
    ex = {}
    ex["list"] = cents(find(r"list price\s+([\d.]+)", intro, "the list price").group(1))
    ex["cost"] = cents(find(r"cost price\s+([\d.]+)", intro, "the cost price").group(1))
    tiers_text = find(r"tiers\s+(.*?),\s+at least", intro, "the tiers", re.S).group(1)
    ex["tiers"] = []
    for thr, price, cost in re.findall(
            r"(\d+)\s*→\s*([\d.]+)(?:\s*\((?:cost\s*)?([\d.]+)\))?", tiers_text):
        tier = {"threshold": int(thr), "unit_price_cents": cents(price)}
        if cost:
            tier["cost_price_cents"] = cents(cost)
        ex["tiers"].append(tier)
    assert len(ex["tiers"]) >= 2, tiers_text
    ex["min"] = int(find(r"at least\s+(\d+)\s+participants", intro, "the threshold").group(1))
    ex["bp"] = int(find(r"commission\s+(\d+)\s*bp", intro, "the commission").group(1))
    deposits, lines = [t for t in tables(text)][:2]
    assert [h.split(":")[0].strip() for h in deposits[0][:2]] == ["shopper", "units"], deposits[0]
    ex["buyers"] = [(row[0], int(row[1]), last_int(row[2])) for row in deposits[1:]]
    head = [h.lower() for h in lines[0]]
    assert head[0] == "line", head
    unknown = [h for h in head[1:] if h not in COLUMNS]
    assert not unknown, "test_domain_examples.py: map the column(s) %s of the settlement " \
        "table to a field of a settlement line in COLUMNS" % unknown
    ex["columns"] = [COLUMNS[h] for h in head[1:]]
    ex["lines"], ex["totals"] = [], None
    for row in lines[1:]:
        figures = [last_int(c) for c in row[1:]]
        if "total" in row[0].lower():
            ex["totals"] = figures
            continue
        label = row[0]
        name = label.split()[0]
        status = find(r"\b(paid|defaulted)\b", label, "the status of line %r" % label).group(1)
        ex["lines"].append((name, status, figures))
    assert ex["totals"] is not None, "the settlement table has no totals row"
    balances = find(r"Balances due are (.*?)\.\s", text, "the balances", re.S).group(1)
    ex["balances"] = {}
    names = [b[0] for b in ex["buyers"]]
    for part in re.split(r",\s*", balances.replace("\n", " ")):
        for name in names:
            if name in part:
                ex["balances"][name] = last_int(part.replace("each", ""))
    assert set(ex["balances"]) == set(names), (balances, ex["balances"])
    received = find(r"Received\s+([\d\s+]+?)\s*=\s*(\d+),\s*refunded\s+(\d+)", text,
                    "what was received and refunded")
    ex["received"], ex["refunded"] = int(received.group(2)), int(received.group(3))
    return ex


def test_settlement_worked_example(srv, db):
    ex = read_settlement_example()
    t = new_tenant(srv)
    with db.cursor() as cur:  # the platform sets it at creation; the example's rate
        cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s", (ex["bp"], t.id))
        assert cur.rowcount == 1
    units = sum(u for _, u, _ in ex["buyers"])
    prod = create_product(srv, t.token, list_price_cents=ex["list"],
                          cost_price_cents=ex["cost"], stock=1000)
    # no deposit_policy: the default one, which the example relies on
    c = open_campaign(srv, t.token, prod["id"], tiers=ex["tiers"], min_participants=ex["min"],
                      max_quantity=100, per_customer_limit=units,
                      deposit_policy=OMIT)
    cid = c["id"]
    people = {}
    for name, n, deposit in ex["buyers"]:
        p = new_customer(srv, display_name=name)
        tok = customer_token(srv, p.login)
        r = srv.post("/v1/campaigns/%d/participations" % cid, {"quantity": n}, token=tok)
        assert r.status == 201, r
        assert r.json["deposit_cents"] == deposit, (name, r.json)
        people[name] = (tok, r.json["id"])
    for name, n, deposit in ex["buyers"]:
        pay(srv, people[name][0], people[name][1], deposit)
    close_now(db, cid)
    for name, (tok, pid) in people.items():
        r = srv.get("/v1/participations/%d" % pid, token=tok)
        assert r.status == 200, r
        assert r.json["amount_due_cents"] == ex["balances"][name], (name, r.json)
    status = {name: st for name, st, _ in ex["lines"]}
    for name, (tok, pid) in people.items():
        if status[name] == "paid":
            pay(srv, tok, pid, ex["balances"][name])
    with db.cursor() as cur:  # the defaulters' payment window passes
        for name, (tok, pid) in people.items():
            if status[name] == "defaulted":
                cur.execute("UPDATE participations SET pay_by = now() - interval '1 second'"
                            " WHERE id = %s", (pid,))
                assert cur.rowcount == 1
    s = settlement(srv, t.token, cid)
    by_pid = {l["participation_id"]: l for l in s["lines"]}
    assert len(by_pid) == len(ex["lines"])
    for name, st, figures in ex["lines"]:
        line = by_pid[people[name][1]]
        assert line["status"] == st, (name, line)
        got = [line[f] for f in ex["columns"]]
        assert got == figures, "%s: the server's %s, the document's %s (%s)" % (
            name, got, figures, ex["columns"])
    assert [s["totals"][f] for f in ex["columns"]] == ex["totals"], (s["totals"], ex["totals"])
    assert reconcile(db, cid) == (ex["received"], ex["refunded"],
                                  ex["received"] - ex["refunded"], 0)


# ---------------------------------------------------------------- adjustment

def read_adjustment_example():
    text = section(document(), "Fulfilment and after-sales")
    para = find(r"Worked example:(.*?)It reconciles", text, "the after-sales worked example",
                re.S).group(1).replace("\n", " ").replace("−", "-")
    before, after = para.split("After settlement", 1)
    ex = {}
    m = find(r"line of (\d+) units at ([\d.]+)", before, "the line's units and price")
    ex["units"], ex["price"] = int(m.group(1)), cents(m.group(2))
    ex["cost"] = cents(find(r"cost ([\d.]+)", before, "the cost").group(1))
    ex["bp"] = round(float(find(r"commission ([\d.]+) %", before, "the commission rate")
                           .group(1)) * 100)
    ex["leader_bp"] = round(float(find(r"leader ([\d.]+) %", before, "the leader's rate")
                                  .group(1)) * 100)
    figures = before.split(":", 1)[1]
    ex["line"] = {
        "gross_cents": ex["units"] * ex["price"],
        "commission_cents": int(find(r"commission (-?\d+)", figures, "the commission").group(1)),
        "leader_commission_cents": int(find(r"leader (-?\d+)", figures, "the leader's").group(1)),
        "manufacturer_cents": int(find(r"manufacturer (-?\d+)", figures,
                                       "the manufacturer's").group(1)),
        "distributor_net_cents": int(find(r"net [^=]*= (-?\d+)", figures, "the net").group(1)),
    }
    word = find(r"returns (\w+) units?", after, "the units returned").group(1)
    ex["returned"] = WORDS.get(word) or int(word)
    ex["refund"] = cents(find(r"gets ([\d.]+) back", after, "the refund").group(1))
    adj = after.split("adjustment is", 1)[1]
    ex["adjustment"] = {
        "gross_cents": int(find(r"gross (-?\d+)", adj, "the adjustment's gross").group(1)),
        "commission_cents": int(find(r"commission (-?\d+)", adj, "its commission").group(1)),
        "leader_commission_cents": int(find(r"leader (-?\d+)", adj, "its leader's").group(1)),
        "manufacturer_cents": int(find(r"manufacturer (-?\d+)", adj, "its manufacturer's")
                                  .group(1)),
        "distributor_net_cents": int(find(r"net [^=]*= (-?\d+)", adj, "its net").group(1)),
    }
    m = find(r"Received (\d+), refunded (\d+); split [^=]*= (\d+)", adj, "the reconciliation")
    ex["reconcile"] = (int(m.group(1)), int(m.group(2)), int(m.group(3)), 0)
    return ex


def test_after_sales_worked_example(srv, db):
    ex = read_adjustment_example()
    t = new_tenant(srv)
    with db.cursor() as cur:
        cur.execute("UPDATE distributors SET commission_bp = %s WHERE id = %s", (ex["bp"], t.id))
        assert cur.rowcount == 1
    r = srv.post("/v1/admin/pickup-points",
                 {"name": "自提点", "address": "幸福路 1 号", "leader_name": "王团长",
                  "leader_phone": "13900000001", "commission_bp": ex["leader_bp"]},
                 token=t.token)
    assert r.status == 201, r
    point = r.json["id"]
    prod = create_product(srv, t.token, list_price_cents=ex["price"],
                          cost_price_cents=ex["cost"], stock=1000)
    c = open_campaign(srv, t.token, prod["id"], fulfilment="pickup", pickup_point_ids=[point],
                      tiers=[{"threshold": 1, "unit_price_cents": ex["price"]}],
                      min_participants=1, max_quantity=100, per_customer_limit=ex["units"],
                      deposit_policy=[{"min_score": 0, "deposit_percent": 0}])
    cid = c["id"]
    p = new_customer(srv)
    tok = customer_token(srv, p.login)
    r = srv.post("/v1/campaigns/%d/participations" % cid,
                 {"quantity": ex["units"], "pickup_point_id": point}, token=tok)
    assert r.status == 201, r
    pid = r.json["id"]
    close_now(db, cid)
    pay(srv, tok, pid, ex["units"] * ex["price"])
    s = settlement(srv, t.token, cid)
    (line,) = s["lines"]
    assert {k: line[k] for k in ex["line"]} == ex["line"], (line, ex["line"])
    # picked up, then the after-sales request and its approval
    r = srv.post("/v1/admin/campaigns/%d/orders/ready" % cid, {"pickup_point_id": point},
                 token=t.token)
    assert r.status == 201 and r.json == {"updated": 1}, r
    (order,) = srv.get("/v1/me/orders", token=tok).json["items"]
    r = srv.post("/v1/admin/orders/%d/pickup" % order["id"],
                 {"pickup_code": order["pickup_code"]}, token=t.token)
    assert r.status == 200 and r.json["status"] == "picked_up", r
    r = srv.post("/v1/orders/%d/after-sales" % order["id"],
                 {"reason": "破损", "quantity": ex["returned"], "amount_cents": ex["refund"]},
                 token=tok)
    assert r.status == 201, r
    r = srv.post("/v1/admin/after-sales/%d/approve" % r.json["id"],
                 {"amount_cents": ex["refund"], "returned_quantity": ex["returned"]},
                 token=t.token)
    assert r.status == 200 and r.json["status"] == "approved", r
    s = settlement(srv, t.token, cid)
    (adj,) = s["adjustments"]
    assert {k: adj[k] for k in ex["adjustment"]} == ex["adjustment"], (adj, ex["adjustment"])
    assert reconcile(db, cid) == ex["reconcile"]


# ---------------------------------------------------------------- the parsers

def test_the_examples_are_read_whole():
    """What the parsers read is consistent in itself, so that a rewritten
    sentence cannot quietly drop a figure: the lines add up to the totals,
    the deposits to what was received before the close."""
    ex = read_settlement_example()
    assert len(ex["lines"]) == len(ex["buyers"])
    for k in range(len(ex["columns"])):
        assert sum(f[k] for _, _, f in ex["lines"]) == ex["totals"][k], ex["columns"][k]
    adj = read_adjustment_example()
    assert adj["adjustment"]["gross_cents"] == -adj["refund"]
    assert adj["reconcile"][1] == adj["refund"]

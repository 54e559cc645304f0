"""Migration 015 on a database that already has products, campaigns,
orders, after-sales and settlements (schema/015_stock.sql): the buckets of
every product are counted from its rows, stock loses what was already
shipped and is raised (with an audit line) where that falls below what is
held.

The database is first migrated with the schema as it was before 015
(`git archive` of BEFORE_015, the commit this branch started from), filled
through SQL the way that schema's paths leave rows, then migrated with the
checkout's schema.
"""
import json
import os
import subprocess

import pytest

from conftest import BIN, ROOT

BEFORE_015 = "04bdb7cc6988f3abdd566a7d91bf538deb770164"
ADDRESS = json.dumps({"name": "n", "phone": "13900000000", "region": "r", "line": "l"})


def migrate(url, schema_dir, tmp_path):
    conf = tmp_path / "migrate.conf"
    conf.write_text("schema_dir = %s\n" % schema_dir)
    subprocess.run([BIN, "-c", str(conf), "migrate"], check=True, capture_output=True,
                   env=dict(os.environ, GROUPBUYD_DATABASE_URL=url), cwd=ROOT)


def one(cur, sql, params=()):
    cur.execute(sql, params)
    return cur.fetchone()


def campaign(cur, did, product, status, max_quantity):
    return one(cur, "INSERT INTO campaigns (distributor_id, product_id, title, status,"
                    " starts_at, ends_at, tier_basis, tiers, min_participants, max_quantity,"
                    " per_customer_limit, deposit_policy, final_unit_price_cents, closed_at)"
                    " VALUES (%s, %s, 'M', %s, now() - interval '2 days',"
                    " now() + CASE WHEN %s = 'open' THEN interval '1 day'"
                    "              ELSE interval '-1 day' END, 'participants',"
                    " '[{\"threshold\": 1, \"unit_price_cents\": 5000}]', 1, %s, %s, '[]',"
                    " CASE WHEN %s = 'open' THEN NULL ELSE 5000 END,"
                    " CASE WHEN %s = 'open' THEN NULL ELSE now() END) RETURNING id",
               (did, product, status, status, max_quantity, max_quantity, status, status))[0]


def participation(cur, did, cid, status, quantity):
    """A participation as the close left it (joined active, then moved)."""
    cust = one(cur, "INSERT INTO customers (login, password_hash, display_name) VALUES"
                    " ('m' || nextval('customers_id_seq') || '@example.com', 'x', 'M')"
                    " RETURNING id")[0]
    pid = one(cur, "INSERT INTO participations (distributor_id, campaign_id, customer_id,"
                   " quantity, status, score_at_join, p_complete_at_join, deposit_percent,"
                   " deposit_cents, unit_price_cents, address) VALUES (%s, %s, %s, %s,"
                   " 'active', 60, 0.6, 0, 0, 5000, %s) RETURNING id",
              (did, cid, cust, quantity, ADDRESS))[0]
    cur.execute("UPDATE participations SET status = %s WHERE id = %s", (status, pid))
    return pid, cust


def test_migration_counts_the_buckets_of_existing_rows(cluster, tmp_path):
    old = tmp_path / "before"
    old.mkdir()
    archive = subprocess.run(["git", "-C", ROOT, "archive", BEFORE_015, "schema"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
    name = "mig015_%d" % os.getpid()
    admin = cluster.connect("postgres")
    with admin.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        cur.execute("CREATE DATABASE %s" % name)
    admin.close()
    try:
        migrate(cluster.url(name), old / "schema", tmp_path)
        db = cluster.connect(name)
        with db.cursor() as cur:
            assert one(cur, "SELECT count(*) FROM information_schema.columns"
                            " WHERE table_name = 'products' AND column_name = 'reserved'") == (0,)
            did = one(cur, "INSERT INTO distributors (name, commission_bp) VALUES ('M', 500)"
                           " RETURNING id")[0]
            staff = one(cur, "INSERT INTO staff (distributor_id, login, password_hash, role)"
                             " VALUES (%s, 'mig@example.com', 'x', 'owner') RETURNING id",
                        (did,))[0]
            prods = {}
            for sku, stock in (("OVERSOLD", 10), ("PLENTY", 100), ("SETTLED", 50)):
                prods[sku] = one(cur, "INSERT INTO products (distributor_id, sku, name,"
                                      " list_price_cents, cost_price_cents, stock) VALUES"
                                      " (%s, %s, 'P', 9900, 4500, %s) RETURNING id",
                                 (did, sku, stock))[0]
            # OVERSOLD: one open campaign of 6, and a closed one whose buyers
            # await payment (2), took delivery of 3 (1 came back through
            # after-sales), wait for their order (1) and defaulted (1)
            campaign(cur, did, prods["OVERSOLD"], "open", 6)
            b = campaign(cur, did, prods["OVERSOLD"], "succeeded", 8)
            participation(cur, did, b, "awaiting_payment", 2)
            shipped, cust = participation(cur, did, b, "paid", 3)
            participation(cur, did, b, "paid", 1)
            participation(cur, did, b, "defaulted", 1)
            order = one(cur, "UPDATE orders SET status = 'delivered', carrier = 'C',"
                             " tracking_no = 'T', completed_at = now()"
                             " WHERE participation_id = %s RETURNING id", (shipped,))[0]
            cur.execute("INSERT INTO after_sales (distributor_id, order_id, participation_id,"
                        " campaign_id, customer_id, reason, quantity, amount_cents, status,"
                        " approved_cents, returned_quantity, decided_by, decided_at)"
                        " VALUES (%s, %s, %s, %s, %s, 'r', 1, 5000, 'approved', 5000, 1,"
                        " %s, now())", (did, order, shipped, b, cust, staff))
            # PLENTY: a scheduled campaign, well within its stock
            campaign(cur, did, prods["PLENTY"], "scheduled", 40)
            # SETTLED: a settled campaign whose 3 units were delivered, and
            # one that sold none
            for cost, lines in ((4000, [2, 1]), (None, [])):
                s = campaign(cur, did, prods["SETTLED"], "settled", 5)
                cur.execute("INSERT INTO settlements (campaign_id, distributor_id,"
                            " unit_price_cents, commission_bp, lines, quantity, gross_cents,"
                            " forfeited_cents, commission_cents, manufacturer_cents,"
                            " distributor_net_cents, received_cents, refunded_cents)"
                            " VALUES (%s, %s, 5000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)", (s, did))
                for q in lines:
                    pid, c = participation(cur, did, s, "paid", q)
                    cur.execute("UPDATE orders SET status = 'delivered', carrier = 'C',"
                                " tracking_no = 'T', completed_at = now()"
                                " WHERE participation_id = %s", (pid,))
                    cur.execute("INSERT INTO settlement_lines (participation_id, campaign_id,"
                                " distributor_id, customer_id, status, quantity,"
                                " unit_price_cents, gross_cents, forfeited_cents,"
                                " commission_cents, manufacturer_cents, distributor_net_cents)"
                                " VALUES (%s, %s, %s, %s, 'paid', %s, 5000, %s, 0, 0, %s, %s)",
                                (pid, s, did, c, q, 5000 * q, cost * q, (5000 - cost) * q))
                cur.execute("UPDATE settlements x SET lines = t.n, quantity = t.q,"
                            " gross_cents = t.g, manufacturer_cents = t.m,"
                            " distributor_net_cents = t.d, received_cents = t.g"
                            " FROM (SELECT count(*)::int n, coalesce(sum(quantity), 0) q,"
                            "       coalesce(sum(gross_cents), 0) g,"
                            "       coalesce(sum(manufacturer_cents), 0) m,"
                            "       coalesce(sum(distributor_net_cents), 0) d"
                            "       FROM settlement_lines WHERE campaign_id = %s) t"
                            " WHERE x.campaign_id = %s", (s, s))
        db.close()

        migrate(cluster.url(name), os.path.join(ROOT, "schema"), tmp_path)

        db = cluster.connect(name)
        with db.cursor() as cur:
            got = {}
            for sku, pid in prods.items():
                got[sku] = one(cur, "SELECT stock, reserved, committed, sold, stock_version"
                                    " FROM products WHERE id = %s", (pid,))
                assert one(cur, "SELECT * FROM gb_stock_expected(%s)", (pid,)) == got[sku][1:4]
            assert got == {
                # held 6 + 3 = 9 > 10 - 2 shipped and kept: raised to 9
                "OVERSOLD": (9, 6, 3, 2, 2),
                "PLENTY": (100, 40, 0, 0, 1),
                # 3 units delivered out of 50
                "SETTLED": (47, 0, 0, 3, 2),
            }, got
            cur.execute("SELECT entity_id, actor, staff_id, before->>'stock', after->>'stock'"
                        " FROM audit_log WHERE action = 'stock' ORDER BY entity_id")
            assert cur.fetchall() == [
                (prods["OVERSOLD"], "migration:015", None, "10", "9"),
                (prods["SETTLED"], "migration:015", None, "50", "47")]
            # from here the schema holds the buckets itself
            with pytest.raises(Exception) as e:
                cur.execute("UPDATE products SET reserved = 10 WHERE id = %s",
                            (prods["OVERSOLD"],))
            assert e.value.diag.constraint_name == "products_stock_held"
        db.close()
    finally:
        admin = cluster.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        admin.close()

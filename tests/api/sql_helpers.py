"""Rows written straight into a test database, for the tests that call the
schema's functions through SQL (the `db` fixture: a fresh database, an
autocommit psycopg2 connection). Set-up only: what is under test is the
function the test then calls.
"""
import itertools
import json

_seq = itertools.count(1)


def sql_tenant(cur, commission_bp=500):
    """A distributor and its owner: (distributor id, staff id)."""
    cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('SQL test', %s)"
                " RETURNING id", (commission_bp,))
    did = cur.fetchone()[0]
    cur.execute("INSERT INTO staff (distributor_id, login, password_hash, role)"
                " VALUES (%s, %s, 'x', 'owner') RETURNING id",
                (did, "owner%d.%d@example.com" % (did, next(_seq))))
    return did, cur.fetchone()[0]


def sql_product(cur, did, stock=100, cost=5100, list_price=9900):
    cur.execute("INSERT INTO products (distributor_id, sku, name, list_price_cents,"
                " cost_price_cents, stock) VALUES (%s, %s, 'SQL widget', %s, %s, %s)"
                " RETURNING id", (did, "SQL-%d" % next(_seq), list_price, cost, stock))
    return cur.fetchone()[0]


def sql_customer(cur):
    cur.execute("INSERT INTO customers (login, password_hash, display_name)"
                " VALUES (%s, 'x', 'SQL shopper') RETURNING id",
                ("shopper%d@example.com" % next(_seq),))
    return cur.fetchone()[0]


def sql_campaign(cur, did, product, status="draft", max_quantity=10,
                 starts_in="-1 hour", ends_in="1 day", tiers=((1, 8900),),
                 final_price=None, fulfilment="delivery", points=()):
    """A campaign of product (its times relative to now, as intervals)."""
    cur.execute(
        "INSERT INTO campaigns (distributor_id, product_id, title, status, starts_at,"
        " ends_at, tier_basis, tiers, min_participants, max_quantity,"
        " per_customer_limit, deposit_policy, final_unit_price_cents, fulfilment,"
        " pickup_point_ids, closed_at)"
        " VALUES (%s, %s, 'SQL campaign', %s, now() + %s::interval,"
        " now() + %s::interval, 'participants', %s, 1, %s, %s,"
        " '[{\"min_score\": 0, \"deposit_percent\": 10}]', %s, %s, %s::bigint[],"
        " CASE WHEN %s IN ('succeeded', 'settled') THEN now() END) RETURNING id",
        (did, product, status, starts_in, ends_in,
         json.dumps([{"threshold": n, "unit_price_cents": p} for n, p in tiers]),
         max_quantity, max_quantity, final_price, fulfilment, list(points), status))
    cid = cur.fetchone()[0]
    sql_stock_sync(cur, product)
    return cid


def sql_one(cur, query, params=()):
    cur.execute(query, params)
    return cur.fetchone()


def sql_audit(cur, entity):
    """The audit lines of entity, oldest first: (action, entity_id, staff_id,
    actor, before, after, request_id)."""
    cur.execute("SELECT action, entity_id, staff_id, actor, before, after, request_id"
                " FROM audit_log WHERE entity = %s ORDER BY id", (entity,))
    return cur.fetchall()


def sql_stock_sync(cur, product):
    """Set-up only: the product's stock buckets made to say what the rows
    written straight into the database say (gb_stock_expected), as the
    functions that move units would have left them; stock raised to cover
    what is held when it does not."""
    cur.execute("UPDATE products p SET reserved = e.reserved, committed = e.committed,"
                " sold = e.sold, stock = greatest(p.stock, e.reserved + e.committed)"
                " FROM gb_stock_expected(%s) e WHERE p.id = %s", (product, product))


def sql_stock_sync_campaign(cur, campaign):
    """sql_stock_sync for the product of campaign: set-ups that write
    campaigns, participations or orders straight into the database call it
    after them, before any server path moves the product's units."""
    cur.execute("SELECT product_id FROM campaigns WHERE id = %s", (campaign,))
    sql_stock_sync(cur, cur.fetchone()[0])

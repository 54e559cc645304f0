"""References without foreign keys (schema/009_join_cost.sql,
functions/references.sql): participations and outbox events point at
customers, campaigns and distributors without a foreign key (a key checks
and locks the parent on every join). Deleting or truncating a parent that is
still referenced fails as ON DELETE RESTRICT did; an unreferenced one goes.
"""
import psycopg2
import pytest

from helpers import *  # noqa: F401,F403
from join_helpers import *  # noqa: F401,F403


def _fails_23503(db, sql, params=()):
    """sql fails with foreign_key_violation; run in a transaction that is
    rolled back whatever happens (a TRUNCATE that got through would empty
    the suite's database)."""
    with db.cursor() as cur:
        cur.execute("BEGIN")
        try:
            with pytest.raises(psycopg2.Error) as e:
                cur.execute(sql, params)
        finally:
            cur.execute("ROLLBACK")
    assert e.value.pgcode == "23503", e.value


def _goes_without(db, table, trigger, sql, params=()):
    """With the guard trigger disabled (in a transaction rolled back), sql
    succeeds: the guard, not another foreign key, is what refuses it."""
    with db.cursor() as cur:
        cur.execute("BEGIN")
        try:
            cur.execute("ALTER TABLE %s DISABLE TRIGGER %s" % (table, trigger))
            cur.execute(sql, params)
            assert cur.rowcount >= 1
        finally:
            cur.execute("ROLLBACK")


def test_referenced_parents_cannot_be_deleted(app, db):
    t = new_tenant(app)
    cid = make_campaign(app, db, t)
    shopper, idle = db_customers(db, 2)
    assert join(app, shopper.token, cid).status == 201
    gone = "DELETE FROM sessions WHERE customer_id = %s; DELETE FROM customers WHERE id = %s"
    _fails_23503(db, gone, (shopper.id, shopper.id))
    _goes_without(db, "customers", "customers_restrict_delete", gone, (shopper.id, shopper.id))
    _fails_23503(db, "DELETE FROM campaigns WHERE id = %s", (cid,))
    _goes_without(db, "campaigns", "campaigns_restrict_delete",
                  "DELETE FROM campaigns WHERE id = %s", (cid,))
    # CASCADE follows the foreign keys that remain, not the participations
    _fails_23503(db, "TRUNCATE campaigns CASCADE")
    with db.cursor() as cur:
        cur.execute("SELECT count(*) FROM participations WHERE customer_id = %s",
                    (shopper.id,))
        assert cur.fetchone()[0] == 1
        # a customer nothing points at still goes (its sessions first)
        cur.execute("DELETE FROM sessions WHERE customer_id = %s", (idle.id,))
        cur.execute("DELETE FROM customers WHERE id = %s", (idle.id,))
        assert cur.rowcount == 1


def test_a_distributor_with_events_cannot_be_deleted(db):
    with db.cursor() as cur:
        cur.execute("INSERT INTO distributors (name, commission_bp) VALUES ('refs', 0)"
                    " RETURNING id")
        did = cur.fetchone()[0]
        cur.execute("INSERT INTO outbox (distributor_id, kind) VALUES (%s, 'test.ref')"
                    " RETURNING id", (did,))
        eid = cur.fetchone()[0]
    _fails_23503(db, "DELETE FROM distributors WHERE id = %s", (did,))
    _goes_without(db, "distributors", "distributors_restrict_delete",
                  "DELETE FROM distributors WHERE id = %s", (did,))
    with db.cursor() as cur:
        cur.execute("DELETE FROM outbox WHERE id = %s", (eid,))
        cur.execute("DELETE FROM distributors WHERE id = %s", (did,))
        assert cur.rowcount == 1


def test_a_named_pickup_point_cannot_be_deleted(app, db):
    """A participation names its pickup point without a foreign key
    (schema/019_pickup_reference.sql): the guard refuses deleting a point
    still named, and only it; a point nobody named goes."""
    t = new_tenant(app)
    cid = make_campaign(app, db, t)
    shopper, = db_customers(db, 1)
    assert join(app, shopper.token, cid).status == 201
    with db.cursor() as cur:
        points = []
        for name in ("named", "unnamed"):
            cur.execute("INSERT INTO pickup_points (distributor_id, name, address, leader_name,"
                        " leader_phone, commission_bp) VALUES (%s, %s, 'addr', 'leader', '1', 0)"
                        " RETURNING id", (t.distributor["id"], name))
            points.append(cur.fetchone()[0])
        named, unnamed = points
        cur.execute("UPDATE participations SET pickup_point_id = %s WHERE campaign_id = %s",
                    (named, cid))
        assert cur.rowcount == 1
    gone = "DELETE FROM pickup_points WHERE id = %s"
    _fails_23503(db, gone, (named,))
    _goes_without(db, "pickup_points", "pickup_points_restrict_delete", gone, (named,))
    _fails_23503(db, "TRUNCATE pickup_points CASCADE")
    with db.cursor() as cur:
        cur.execute(gone, (unnamed,))
        assert cur.rowcount == 1

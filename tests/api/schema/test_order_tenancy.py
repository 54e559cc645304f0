"""An order's transitions find it within the caller's distributor only
(schema/functions/orders.sql). The handlers read the order scoped first,
so through the API another distributor's id is 404 before the function
runs: the function's own scoping is held here, where it runs."""
import os
import sys

from sql_helpers import sql_one, sql_tenant

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "finance"))
from test_settlement_rules import settled_pickup_sale  # noqa: E402  (a picked-up order)


def test_another_distributors_order_is_not_found_and_unchanged(db):
    with db.cursor() as cur:
        ids = settled_pickup_sale(cur)
        other, _ = sql_tenant(cur, 750)
        before = sql_one(cur, "SELECT row_to_json(o)::text FROM orders o WHERE id = %s",
                         (ids["order"],))[0]
        for call, args in (
                ("gb_order_pickup(%s, 0, %s, %s, true)", (other, ids["order"], bytes(32))),
                ("gb_order_ship(%s, %s, 'SF', 'T1')", (other, ids["order"])),
                ("gb_order_deliver(%s, %s)", (other, ids["order"]))):
            assert sql_one(cur, "SELECT outcome FROM " + call, args)[0] == "not_found", call
        assert sql_one(cur, "SELECT row_to_json(o)::text FROM orders o WHERE id = %s",
                       (ids["order"],))[0] == before

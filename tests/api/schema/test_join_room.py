"""The join's room, tested where it runs (schema/functions/join.sql): the
cap (gb_join_room_refusal) and the bound on units pending a deposit
(gb_join_pending_bound). The cap is also a CHECK (campaigns_no_oversell)
that answers campaign_full through the API, so the function's own edge is
held here: the API alone would not see it move by one."""
import pytest


def one(db, sql, args):
    with db.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


# live_q, pending_q, quantity, pending_add, max_quantity, bound -> refusal
@pytest.mark.parametrize("live, pending, quantity, pending_add, cap, bound, refusal", [
    (0, 0, 1, 0, 1, 0, None),              # the only unit
    (9, 0, 1, 0, 10, 0, None),             # exactly to the cap
    (10, 0, 1, 0, 10, 0, "campaign_full"),  # one past it
    (8, 0, 3, 0, 10, 0, "campaign_full"),
    (0, 0, 11, 0, 10, 0, "campaign_full"),
    (5, 2, 1, 1, 10, 3, None),              # pending exactly to the bound
    (5, 3, 1, 1, 10, 3, "pending_full"),    # one pending past it
    (5, 3, 1, 0, 10, 3, None),              # paid joins ignore the bound
    (10, 3, 1, 1, 10, 3, "campaign_full"),  # the cap is looked at first
])
def test_room_refusal_table(db, live, pending, quantity, pending_add, cap, bound, refusal):
    assert one(db, "SELECT gb_join_room_refusal(%s, %s, %s, %s, %s, %s)",
               (live, pending, quantity, pending_add, cap, bound)) == refusal


# max_quantity, max_pending_share_bp, per_customer_limit -> bound
@pytest.mark.parametrize("cap, share_bp, per_customer, bound", [
    (100, 2500, 1, 25),   # exact
    (10, 2500, 1, 2),     # 2.5 rounds down
    (7, 5000, 1, 3),      # 3.5 rounds down
    (99, 3333, 1, 32),    # 32.9967 rounds down
    (10, 2500, 5, 5),     # never below one largest join
    (10, 0, 1, 1),
    (10, 10000, 1, 10),
])
def test_pending_bound_table(db, cap, share_bp, per_customer, bound):
    assert one(db, "SELECT gb_join_pending_bound(%s, %s, %s)",
               (cap, share_bp, per_customer)) == bound

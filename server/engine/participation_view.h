/*
 * participation_view.h - a participation as the API answers it, to the
 * shopper (joins, reads, withdrawal) and to the distributor's staff (a
 * campaign's participations, with each customer's score).
 */
#ifndef GROUPBUYD_PARTICIPATION_VIEW_H
#define GROUPBUYD_PARTICIPATION_VIEW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct req;
struct db_result;

/* The price columns that follow a participation's JSON, for participations
 * p joined with their campaigns c. */
#define PARTICIPATION_VIEW_PRICE_COLS                             \
    " c.status IN ('scheduled', 'open') AND c.closed_at IS NULL," \
    " c.tiers::text, c.tier_basis, c.live_participants, c.live_quantity"

/* The participation JSON text at (row, col) of res, followed by the
 * columns live_price (bool), tiers, tier_basis, live_participants,
 * live_quantity. While live_price, the current unit price at the live
 * counters plus (add_participants, add_quantity) replaces the trailing
 * null. extra (may be NULL) is appended as more keys, e.g. "\"score\":80".
 * NULL when the stored data cannot be read (the caller answers 500 with
 * participation_view_unreadable). */
char *participation_view_text(struct req *r, const PGresult *res, int row,
                              int col, int64_t add_participants,
                              int64_t add_quantity, const char *extra);

/* 500: the campaign's stored tiers cannot be read. */
void participation_view_unreadable(struct req *r);

/* Replies {"items", "next_after"} from the rows (id, participation JSON,
 * the price columns) of a statement that fetched limit + 1, or the
 * statement's error. staff: the rows then carry the customer's VIP level
 * and history (gb_customer_history) after the price columns, each item
 * gets the customer's "score", and no row at all means no such campaign
 * (404); one row with a null id is a campaign without (further)
 * participations. */
void participation_view_reply_list(struct req *r, const struct db_result *res,
                                   int64_t limit, bool staff);

#endif

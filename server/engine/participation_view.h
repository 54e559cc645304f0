/*
 * participation_view.h - a participation as the API answers it, to the
 * shopper (joins, reads, withdrawal) and to the distributor's staff (a
 * campaign's participations, with each customer's score). The object is
 * SQL's (gb_participation_view, functions/participations.sql: its
 * unit_price_cents the current price while the campaign is open, the
 * final one after; the join's answer is built the same way by
 * gb_join_batches).
 */
#ifndef GROUPBUYD_PARTICIPATION_VIEW_H
#define GROUPBUYD_PARTICIPATION_VIEW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct req;
struct db_result;

/* The participation column, for participations p joined with their
 * campaigns c. */
#define PARTICIPATION_VIEW_COL " gb_participation_view(p, c)::text"

/* The participation JSON text at (row, col) of res, in r's arena; NULL
 * when the column is null (the caller answers 500 with
 * participation_view_unreadable). */
char *participation_view_text(struct req *r, const PGresult *res, int row,
                              int col);

/* 500: the campaign's stored data cannot be read. */
void participation_view_unreadable(struct req *r);

/* Replies {"items", "next_after"} from the rows (id, PARTICIPATION_VIEW_COL)
 * of a statement that fetched limit + 1, or the statement's error. staff:
 * the rows then carry the customer's VIP level, history
 * (gb_customer_history) and the distributor's model parameters
 * (gb_reliability_params), each item gets the customer's "score" (added to
 * the parsed object with cJSON), and no row at all means no such campaign
 * (404); one row with a null id is a campaign without (further)
 * participations. */
void participation_view_reply_list(struct req *r, const struct db_result *res,
                                   int64_t limit, bool staff);

#endif

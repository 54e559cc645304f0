/*
 * campaign_view.h - a campaign as the API answers it, to staff and to the
 * public: one column of JSON, built whole by SQL with its "progress"
 * (gb_campaign_view, gb_campaign_public_view, gb_campaign_staff_view in
 * functions/campaigns.sql; the progress in functions/pricing.sql).
 */
#ifndef GROUPBUYD_CAMPAIGN_VIEW_H
#define GROUPBUYD_CAMPAIGN_VIEW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct req;

/* The column every campaign reply is built from, for a campaigns value C;
 * VIEW is gb_campaign_view (staff) or gb_campaign_public_view (public). */
#define CAMPAIGN_VIEW_COL(VIEW, C) VIEW "(" C ")::text"

/* The campaign object of one row (its column col), in r's arena; NULL when
 * the column is null. */
char *campaign_view_text(struct req *r, PGresult *res, int row, int col);

/* 500: the campaign's stored data is inconsistent. */
void campaign_view_bad_data(struct req *r);

/* Replies one campaign (row 0, column col), through the idempotent section
 * when idem. */
void campaign_view_reply_one(struct req *r, int status, PGresult *res, int col,
                             bool idem);

/* Replies {"items", "next_after"} from rows (id, CAMPAIGN_VIEW_COL) of a
 * statement that fetched limit + 1. */
void campaign_view_reply_list(struct req *r, PGresult *res, int64_t limit);

#endif

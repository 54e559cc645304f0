/*
 * campaign_view.h - a campaign as the API answers it, to staff and to the
 * public: the JSON built by SQL with its "progress" member spliced in.
 */
#ifndef GROUPBUYD_CAMPAIGN_VIEW_H
#define GROUPBUYD_CAMPAIGN_VIEW_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

struct req;

/* The columns every campaign reply is built from, for a campaigns value C
 * and its gb_campaign_counted K; JSON is the object function. */
#define CAMPAIGN_VIEW_COLS(JSON, C, K)                                  \
    JSON "(" C ")::text, (" C ").tiers::text, (" C ").tier_basis, " K   \
         ".participants, " K ".quantity, (" C ").min_participants, (" C \
         ").max_quantity"
#define CAMPAIGN_VIEW_NCOLS 7

/* The campaign object of one row (columns from col as CAMPAIGN_VIEW_COLS)
 * with progress and the extra members (",\"k\":v" text; NULL: none), in
 * r's arena; NULL when the stored data is inconsistent. */
char *campaign_view_text(struct req *r, PGresult *res, int row, int col,
                         const char *extra);

/* 500: the campaign's stored data is inconsistent. */
void campaign_view_bad_data(struct req *r);

/* Replies one campaign (row 0, columns from col), through the idempotent
 * section when idem. */
void campaign_view_reply_one(struct req *r, int status, PGresult *res, int col,
                             bool idem);

/* Replies {"items", "next_after"} from rows (id, CAMPAIGN_VIEW_COLS...) of
 * a statement that fetched limit + 1. */
void campaign_view_reply_list(struct req *r, PGresult *res, int64_t limit);

#endif

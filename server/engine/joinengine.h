/*
 * joinengine.h - the one join decision, as the server drives it: below the
 * handlers (api/shop/joins.c) and the batcher (joinbatch), above the pure
 * pricing and reliability modules.
 *
 * Every join, coalesced or with an Idempotency-Key, goes the same two
 * statements (schema/functions/join.sql):
 *   1. the read (gb_join_batch_reads): per join, the campaign's first
 *      tier's price, deposit policy, version and per-customer limit, the
 *      customer's VIP level with the campaign's distributor and their
 *      history;
 *   2. C scores each customer and prices the deposit (score -> deposit
 *      band -> amounts: joinengine_price);
 *   3. the decision (gb_join_batches): open by the database clock, at the
 *      version read, per-customer limit, minimum score, one live
 *      participation, the cap, the bound on units pending a deposit; the
 *      accepted rows are inserted with their outbox rows.
 * The SQL is the one place where a join is accepted or refused, and where
 * its answer is priced (functions/pricing.sql); C decides nothing but the
 * score and the deposit. A coalesced join sends many joins
 * in each statement (joinbatch.c); a join with an Idempotency-Key sends a
 * batch of one inside the transaction that claims and stores its key
 * (api/shop/joins.c), so its stored answer commits with its insert.
 *
 * The score adapter (a row of gb_customer_history -> reliability) is here
 * too: the staff's customer view and /v1/me show the score a join would
 * use.
 */
#ifndef GROUPBUYD_JOINENGINE_H
#define GROUPBUYD_JOINENGINE_H

#include <event2/buffer.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/pricing.h"
#include "domain/reliability.h"

struct req;

/* The read: $1 campaign ids, $2 customer ids (bigint[] literals, one
 * element per join), $3 the configured half life. Columns: see
 * JOINENGINE_READ_*; the last is the join's 1-based position. No row for
 * a join whose campaign does not exist or is a draft or cancelled. */
extern struct db_stmt joinengine_read_stmt;
#define JOINENGINE_READ_VIP     5 /* the VIP level; the history follows */
#define JOINENGINE_READ_HISTORY 6
#define JOINENGINE_READ_PARAMS  14 /* the distributor's own parameters */

/* The decision: eleven arrays, one element per join (JOINENGINE_DECIDE_
 * ARRAYS, filled by joinengine_decide_add). One row out per join: o_ord
 * (its 1-based position), o_reason (NULL when accepted), then the
 * participation JSON, priced by SQL (functions/pricing.sql).
 * joinengine_decide_stmt is for a statement that commits by itself
 * (joinbatch.c): its transaction does not notify the live streams, the
 * caller announces the campaigns after the commit (livenotify.h).
 * joinengine_decide_keyed_stmt runs inside a longer transaction (the
 * idempotency key's) and announces the change at that commit. */
extern struct db_stmt joinengine_decide_stmt;
extern struct db_stmt joinengine_decide_keyed_stmt;
#define JOINENGINE_DECIDE_ARRAYS 11
#define JOINENGINE_DECIDE_JSON   2 /* column of the participation JSON */

/* The campaign as a join reads it (columns 1-4 of the read). */
struct joinengine_campaign {
    int64_t first_price_cents; /* the first tier's: the deposit's base */
    struct pricing_deposit_band bands[PRICING_MAX_BANDS];
    size_t nbands;
    int version;
    int64_t per_customer_limit;
};

/* One join on its way to the decision. */
struct joinengine_join {
    int64_t campaign, customer, quantity;
    /* The fulfilment choice: a pickup point id (0: none named)
     * and a delivery address as JSON object text (NULL: none), owned by
     * the request; the decision checks them against the campaign. */
    int64_t pickup_point;
    const char *address;
    /* The share code the join names (NULL: none), owned by the request;
     * the decision records its sharer or refuses it (share_code_invalid). */
    const char *share_code;
    int version; /* of the campaign, as read */
    struct reliability_result score;
    int64_t deposit_percent, deposit_cents;
};

enum joinengine_status {
    JOINENGINE_ACCEPTED,   /* res row holds the participation */
    JOINENGINE_REFUSED,    /* reason: an error code of the join */
    JOINENGINE_NOT_FOUND,  /* no such (joinable) campaign */
    JOINENGINE_CHANGED,    /* the campaign changed since the read */
    JOINENGINE_UNREADABLE, /* stored price or policy cannot be read */
    JOINENGINE_INTERNAL,   /* score or deposit could not be computed */
    JOINENGINE_DB_ERROR,   /* db holds the failure */
};

struct joinengine_outcome {
    enum joinengine_status status;
    const char *reason;         /* REFUSED */
    int score;                  /* the score the join was priced at */
    const PGresult *res;        /* ACCEPTED: the decision's result */
    int row;                    /* its row */
    const struct db_result *db; /* DB_ERROR */
};

/* Reads a deposit policy (jsonb text of the campaign) into bands[]
 * (PRICING_MAX_BANDS); false when it is not a valid policy. */
bool joinengine_parse_bands(const char *text,
                            struct pricing_deposit_band *bands, size_t *n)
    __attribute__((warn_unused_result));

/* Reads the campaign of row of the read; false when its first price or
 * its policy cannot be read. */
bool joinengine_campaign_read(const PGresult *res, int row,
                              struct joinengine_campaign *c)
    __attribute__((warn_unused_result));

/* Scores the history in columns col..col+7 of row (count and decayed
 * weight per kind: completed, withdrawn, defaulted, deposit_expired) with
 * params and vip_level. counts (may be NULL) receives the number of events
 * per kind, indexed by enum reliability_event_kind. False when the row or
 * the VIP level is out of range. */
bool joinengine_history_score(const struct reliability_params *params,
                              const PGresult *res, int row, int col,
                              int vip_level, struct reliability_result *out,
                              int64_t *counts)
    __attribute__((warn_unused_result));

/* The parameters a distributor's scores use, from cell (row, col): its
 * adopted set (a float8[] of the seven, functions/reliability.sql), or
 * defaults (the configured ones) when the cell is NULL. False when the
 * cell is not seven valid parameters. */
bool joinengine_params_cell(const struct reliability_params *defaults,
                            const PGresult *res, int row, int col,
                            struct reliability_params *out)
    __attribute__((warn_unused_result));

/* The C side of the decision for j (campaign, customer, quantity set):
 * scores the customer from row of the read, with the distributor's own
 * parameters when it adopted some (column JOINENGINE_READ_PARAMS) and
 * else params, and prices the deposit of the band the score falls in. A
 * quantity over the per-customer limit is not priced (deposit 0): the decision
 * refuses it first. False when the score or the deposit cannot be computed. */
bool joinengine_price(const struct reliability_params *params,
                      const struct joinengine_campaign *c, const PGresult *res,
                      int row, struct joinengine_join *j)
    __attribute__((warn_unused_result));

/* The configured half life in days, as a statement parameter. */
const char *joinengine_half_life_param(struct req *r);

/* Array literals for statement parameters: n buffers opened with "{",
 * then closed and taken as malloc'd strings (the caller frees them). */
void joinengine_arrays_open(struct evbuffer **e, int n);
void joinengine_arrays_close(struct evbuffer **e, char **out, int n);

/* Appends j to the decision's parameter arrays e[JOINENGINE_DECIDE_ARRAYS]
 * (opened with "{"; *first true before the first join). */
void joinengine_decide_add(struct evbuffer *const *e,
                           const struct joinengine_join *j, bool *first);

/* The outcome of row of the decision's result (status ACCEPTED, REFUSED,
 * NOT_FOUND or CHANGED). */
void joinengine_outcome_row(const PGresult *res, int row,
                            struct joinengine_outcome *o);

/* The refusal a failed decision statement stands for (a unique or check
 * violation of the schema's own guards, in a race no lock prevents), or
 * NULL for any other failure. */
const char *joinengine_error_reason(const struct db_result *res);

#endif

/*
 * joinform.h - what a join asks, the join's read of it and how a refusal
 * of the join's decision is answered, shared by the join (joins.c) and the
 * waitlist (waitlist.c), which queues the same request and is decided by
 * the same rules. Not a handler.
 */
#ifndef GROUPBUYD_JOINFORM_H
#define GROUPBUYD_JOINFORM_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db/db.h"
#include "engine/joinengine.h"
#include "lib/json.h"

struct req;

/* Reads what the customer r->who.id asks of the campaign r->params[0]:
 * the body {quantity, pickup_point_id?, address?, share_code?} into j
 * (set whole: campaign, customer and those four; the rest zero). False
 * once r is answered: the body is not a JSON object, or 400 naming the
 * field that is wrong. */
bool joinform_read(struct req *r, struct joinengine_join *j)
    __attribute__((warn_unused_result));

/* Sends the join's read (joinengine_read_stmt) for j alone, on the
 * statement path of r's idempotent work (req_exec); cb is called with r.
 * When it cannot be sent, r is answered 503 and cb is not called. */
void joinform_send_read(struct req *r, const struct joinengine_join *j,
                        db_result_cb *cb);

/* The one row of that read (res, in cb), or NULL once r is answered: the
 * database's failure, or 404 when no campaign of the id can be joined
 * (none, a draft or cancelled). */
const PGresult *joinform_read_row(struct req *r, const struct db_result *res)
    __attribute__((warn_unused_result));

/* The share code a join may name, 8..32 letters of the codes' alphabet
 * (lib/crypto.h: a share link's code); NULL when absent. A malformed one
 * fails jf naming "share_code" (400, as a code of no share is). */
const char *joinform_share_code(struct jfields *jf);

/* Answers a refusal of the join's decision (functions/join.sql reasons:
 * campaign_not_open, per_customer_limit, reliability_too_low (with the
 * score), already_joined, campaign_full, pending_full, a fulfilment
 * refusal, share_code_invalid) in the contract's error envelope. */
void joinform_reply_refusal(struct req *r, const char *reason, int score);

#endif

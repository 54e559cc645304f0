/*
 * joinform.h - what a join asks and how a refusal of the join's decision
 * is answered, shared by the join (joins.c) and the waitlist (waitlist.c),
 * which queues the same request and is decided by the same rules. Not a
 * handler.
 */
#ifndef GROUPBUYD_JOINFORM_H
#define GROUPBUYD_JOINFORM_H

#include "lib/json.h"

struct req;

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

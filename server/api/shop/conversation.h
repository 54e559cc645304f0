/*
 * conversation.h - how the opening of a conversation with the distributor
 * is answered, shared by asking a question (questions.c) and opening a
 * complaint (complaints.c): both are one call of a function of
 * schema/functions/conversations.sql that answers (outcome, body,
 * retry_s) under the same per-customer hourly budget. Not a handler.
 */
#ifndef GROUPBUYD_CONVERSATION_H
#define GROUPBUYD_CONVERSATION_H

#include <stdbool.h>

#include "db/db.h"

struct req;

/* Answers res, the row of gb_question_ask or gb_complaint_open, when it
 * holds the database's failure, 'ok' (201 with the body, stored with the
 * request's idempotency key) or 'rate_limited' (429 with Retry-After:
 * "At most per_hour <what> an hour"), and returns true. False leaves r
 * unanswered, for the caller's own outcomes (column 0 of res). */
bool conversation_reply_opened(struct req *r, const struct db_result *res,
                               const char *what, int per_hour)
    __attribute__((warn_unused_result));

#endif

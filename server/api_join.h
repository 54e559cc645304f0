/*
 * api_join.h - the reliability score of a customer as the handlers show it
 * (join, staff views, /v1/me), from a row of gb_customer_history; the
 * campaign parsing and the reply that coalesced joins (joinbatch) share.
 */
#ifndef GROUPBUYD_API_JOIN_H
#define GROUPBUYD_API_JOIN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reliability.h"

struct req;

/* The configured half life in days, as a statement parameter. */
const char *join_half_life_param(struct req *r);

/* Scores the history in columns col..col+7 of row (count and decayed
 * weight per kind: completed, withdrawn, defaulted, deposit_expired) with
 * the configured parameters and vip_level. counts (may be NULL) receives
 * the number of events per kind, indexed by enum reliability_event_kind.
 * False when the row or the VIP level is out of range. */
bool join_history_score(struct req *r, const PGresult *res, int row, int col,
                        int vip_level, struct reliability_result *out,
                        int64_t *counts) __attribute__((warn_unused_result));

struct pricing_tier;
struct pricing_deposit_band;
struct joinbatch_outcome;

/* Reads a tiers array / a deposit policy (jsonb text of the campaign) into
 * tiers[] (PRICING_MAX_TIERS) / bands[] (PRICING_MAX_BANDS); false when it
 * is not a valid ladder / policy. */
bool join_parse_tiers(const char *text, struct pricing_tier *tiers, size_t *n)
    __attribute__((warn_unused_result));
bool join_parse_bands(const char *text, struct pricing_deposit_band *bands,
                      size_t *n) __attribute__((warn_unused_result));

/* Answers a join decided by a batch (joinbatch.h's reply callback). */
void api_join_batch_reply(struct req *r, const struct joinbatch_outcome *o);

#endif

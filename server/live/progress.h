/*
 * progress.h - a campaign's "progress" member (participants, quantity,
 * remaining, current price, next tier), as the public view and the live
 * stream (sse.c) both show it.
 */
#ifndef GROUPBUYD_PROGRESS_H
#define GROUPBUYD_PROGRESS_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* Bytes that always suffice for progress_member's text. */
#define PROGRESS_MEMBER_MAX 512

/* The "progress" member ("\"progress\":{...}") of row `row` of a result
 * whose columns from col + 1 are the tiers, tier_basis, participants,
 * quantity, min_participants and max_quantity (col itself is not read),
 * into buf; false when the stored data is inconsistent. */
bool progress_member(PGresult *res, int row, int col, char *buf, size_t cap)
    __attribute__((warn_unused_result));

#endif

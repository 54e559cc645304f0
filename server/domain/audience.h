/*
 * audience.h - the ranking of a campaign's audience (API.md "Audience and
 * invitations", DESIGN.md step 3): best prospects first, by whether they
 * bought the same product before, then p_complete, then the most recent
 * activity, and the reason shown for each. Pure: the handler reads the
 * candidates and scores them (reliability.h).
 */
#ifndef GROUPBUYD_AUDIENCE_H
#define GROUPBUYD_AUDIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct audience_entry {
    int64_t customer_id;
    bool bought_product_before;
    double p_complete;
    double last_active; /* epoch seconds of the latest participation */
    int64_t completed;
    int score;
    int row; /* the caller's own index */
};

/* qsort comparator: best prospect first; ties by customer id, so that the
 * order is total and stable across calls. */
int audience_compare(const void *a, const void *b);

/* The reason in words, e.g. "bought this product before; p_complete 0.91;
 * 3 completed". */
void audience_reason(const struct audience_entry *e, char *out, size_t len);

#endif

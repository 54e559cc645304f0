/*
 * test_audience.c - audience.h: the prospect order (a table of pairs and
 * one sorted list) and the reason text.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/audience.h"
#include "unit.h"

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

struct pair_case {
    struct audience_entry a, b;
    int want; /* sign of audience_compare(a, b) */
};

static const struct pair_case pairs[] = {
    /* the same product bought before beats a better p_complete */
    {{1, true, 0.50, 100, 0, 0, 0}, {2, false, 0.99, 200, 0, 0, 0}, -1},
    {{1, false, 0.99, 200, 0, 0, 0}, {2, true, 0.50, 100, 0, 0, 0}, 1},
    /* then p_complete */
    {{1, false, 0.70, 100, 0, 0, 0}, {2, false, 0.80, 100, 0, 0, 0}, 1},
    /* then the most recent activity */
    {{1, true, 0.80, 300, 0, 0, 0}, {2, true, 0.80, 200, 0, 0, 0}, -1},
    /* then the id, for a total order */
    {{5, false, 0.80, 200, 0, 0, 0}, {4, false, 0.80, 200, 0, 0, 0}, 1},
    {{4, false, 0.80, 200, 0, 0, 0}, {4, false, 0.80, 200, 0, 0, 0}, 0},
};

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

int main(void)
{
    for (size_t i = 0; i < N_ELEMS(pairs); i++)
        CHECK_MSG(sign(audience_compare(&pairs[i].a, &pairs[i].b)) ==
                      pairs[i].want,
                  "pair %zu", i);
    struct audience_entry list[] = {
        {10, false, 0.60, 50, 0, 0, 0}, {11, true, 0.40, 10, 0, 0, 0},
        {12, false, 0.90, 40, 0, 0, 0}, {13, true, 0.95, 5, 0, 0, 0},
        {14, false, 0.90, 90, 0, 0, 0},
    };
    qsort(list, N_ELEMS(list), sizeof list[0], audience_compare);
    const int64_t want[] = {13, 11, 14, 12, 10};
    for (size_t i = 0; i < N_ELEMS(want); i++)
        CHECK_MSG(list[i].customer_id == want[i], "position %zu: %lld", i,
                  (long long)list[i].customer_id);
    char buf[128];
    struct audience_entry e = {1, true, 0.914, 0, 3, 91, 0};
    audience_reason(&e, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "bought this product before; p_complete 0.91; 3 "
                          "completed") == 0,
              "%s", buf);
    e.bought_product_before = false;
    e.completed = 0;
    e.p_complete = 0.755;
    audience_reason(&e, buf, sizeof buf);
    CHECK_MSG(strcmp(buf, "p_complete 0.76; 0 completed") == 0 ||
                  strcmp(buf, "p_complete 0.75; 0 completed") == 0,
              "%s", buf);
    return unit_summary("audience");
}

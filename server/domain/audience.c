/*
 * audience.c - the audience's order and reasons (audience.h).
 */
#include "domain/audience.h"

#include <stdio.h>

int audience_compare(const void *a, const void *b)
{
    const struct audience_entry *x = a, *y = b;
    if (x->bought_product_before != y->bought_product_before)
        return x->bought_product_before ? -1 : 1;
    if (x->p_complete != y->p_complete)
        return x->p_complete > y->p_complete ? -1 : 1;
    if (x->last_active != y->last_active)
        return x->last_active > y->last_active ? -1 : 1;
    if (x->customer_id != y->customer_id)
        return x->customer_id < y->customer_id ? -1 : 1;
    return 0;
}

void audience_reason(const struct audience_entry *e, char *out, size_t len)
{
    snprintf(out, len, "%sp_complete %.2f; %lld completed",
             e->bought_product_before ? "bought this product before; " : "",
             e->p_complete, (long long)e->completed);
}

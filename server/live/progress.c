/*
 * progress.c - a campaign's "progress" member, computed by the pricing
 * module from the stored tiers and the counted participants and quantity
 * (gb_campaign_counted). It lives below the handlers because the live
 * stream (sse.c) sends the same member the campaign views answer.
 */
#include "live/progress.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/pricing.h"
#include "lib/json.h"

/* Strict decimal integer of a result cell. */
static bool progress_cell_int(PGresult *res, int row, int col, int64_t *out)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *s = PQgetvalue(res, row, col);
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Reads a stored tier ladder (JSON text); false when it is not valid. */
static bool progress_tiers_parse(const char *text, struct pricing_tier *tiers,
                                 size_t *n)
{
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    size_t i = 0;
    bool ok = cJSON_IsArray(arr);
    for (const cJSON *e = ok ? arr->child : NULL; ok && e != NULL;
         e = e->next, i++) {
        ok = i < PRICING_MAX_TIERS &&
             json_item_int(json_get(e, "threshold"), 1, JSON_MAX_SAFE_INT,
                           &tiers[i].threshold) &&
             json_item_int(json_get(e, "unit_price_cents"), 1,
                           JSON_MAX_SAFE_INT, &tiers[i].unit_price_cents);
    }
    cJSON_Delete(arr);
    if (!ok ||
        pricing_tiers_validate(tiers, i, INT64_MAX, NULL) != PRICING_TIERS_OK)
        return false;
    *n = i;
    return true;
}

bool progress_member(PGresult *res, int row, int col, char *buf, size_t cap)
{
    struct pricing_tier tiers[PRICING_MAX_TIERS];
    size_t n;
    enum pricing_basis basis;
    int64_t parts, qty, minp, maxq;
    if (!progress_tiers_parse(PQgetvalue(res, row, col + 1), tiers, &n) ||
        !pricing_basis_from_name(PQgetvalue(res, row, col + 2), &basis) ||
        !progress_cell_int(res, row, col + 3, &parts) || parts < 0 ||
        !progress_cell_int(res, row, col + 4, &qty) || qty < 0 ||
        !progress_cell_int(res, row, col + 5, &minp) ||
        !progress_cell_int(res, row, col + 6, &maxq))
        return false;
    struct pricing_progress p;
    pricing_progress_compute(tiers, n, basis, parts, qty, minp, maxq, &p);
    char next[128] = "null";
    if (p.has_next_tier)
        snprintf(next, sizeof next,
                 "{\"threshold\":%lld,\"unit_price_cents\":%lld,"
                 "\"needed\":%lld}",
                 (long long)p.next_tier.threshold,
                 (long long)p.next_tier.unit_price_cents,
                 (long long)p.next_tier_needed);
    int len = snprintf(buf, cap,
                       "\"progress\":{\"participants\":%lld,\"quantity\":%lld,"
                       "\"remaining_quantity\":%lld,"
                       "\"current_unit_price_cents\":%lld,\"next_tier\":%s,"
                       "\"threshold_reached\":%s}",
                       (long long)p.participants, (long long)p.quantity,
                       (long long)p.remaining_quantity,
                       (long long)p.current_unit_price_cents, next,
                       p.threshold_reached ? "true" : "false");
    return len > 0 && (size_t)len < cap;
}

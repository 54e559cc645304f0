/*
 * joinengine.c - the join decision's C side (see joinengine.h): the
 * campaign row and the history read into the pricing and reliability
 * modules, the decision's parameters and its answers.
 */
#include "engine/joinengine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "lib/json.h"

struct db_stmt joinengine_read_stmt = DB_STMT(
    "join_batches_read", "SELECT * FROM gb_join_batch_reads($1, $2, $3)", 3);

struct db_stmt joinengine_decide_stmt =
    DB_STMT("join_batches_write",
            "SELECT * FROM gb_join_batches($1, $2, $3, $4, $5, $6, $7, $8,"
            " $9, $10, $11, false)",
            11);

struct db_stmt joinengine_decide_keyed_stmt =
    DB_STMT("join_batches_write_keyed",
            "SELECT * FROM gb_join_batches($1, $2, $3, $4, $5, $6, $7, $8,"
            " $9, $10, $11, true)",
            11);

/* Columns of the history (gb_customer_history): count, weight per kind. */
static const enum reliability_event_kind joinengine_history_kinds[] = {
    RELIABILITY_COMPLETED, RELIABILITY_WITHDRAWN, RELIABILITY_DEFAULTED,
    RELIABILITY_DEPOSIT_EXPIRED};

bool joinengine_parse_bands(const char *text,
                            struct pricing_deposit_band *bands, size_t *n)
{
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    bool ok = arr != NULL && cJSON_IsArray(arr);
    size_t i = 0;
    const cJSON *it;
    if (ok) {
        cJSON_ArrayForEach(it, arr)
        {
            if (i >= PRICING_MAX_BANDS ||
                !json_item_int(json_get(it, "min_score"), 0, 100,
                               &bands[i].min_score) ||
                !json_item_int(json_get(it, "deposit_percent"), 0, 100,
                               &bands[i].deposit_percent)) {
                ok = false;
                break;
            }
            i++;
        }
    }
    cJSON_Delete(arr);
    *n = i;
    return ok && pricing_bands_validate(bands, i, NULL) == PRICING_BANDS_OK;
}

bool joinengine_campaign_read(const PGresult *res, int row,
                              struct joinengine_campaign *c)
{
    const char *price = PQgetvalue(res, row, 1);
    char *end;
    errno = 0;
    c->first_price_cents = strtoll(price, &end, 10);
    if (PQgetisnull(res, row, 1) || errno != 0 || end == price ||
        *end != '\0' || c->first_price_cents < 1 ||
        !joinengine_parse_bands(PQgetvalue(res, row, 2), c->bands, &c->nbands))
        return false;
    c->version = atoi(PQgetvalue(res, row, 3));
    c->per_customer_limit = strtoll(PQgetvalue(res, row, 4), NULL, 10);
    return true;
}

bool joinengine_history_score(const struct reliability_params *params,
                              const PGresult *res, int row, int col,
                              int vip_level, struct reliability_result *out,
                              int64_t *counts)
{
    struct reliability_tally tally;
    reliability_tally_init(&tally);
    for (int i = 0; i < RELIABILITY_EVENT_KINDS; i++) {
        int64_t n = strtoll(PQgetvalue(res, row, col + 2 * i), NULL, 10);
        double w = strtod(PQgetvalue(res, row, col + 2 * i + 1), NULL);
        if (w > (double)n) /* rounding of the sum; no event weighs > 1 */
            w = (double)n;
        if (!reliability_tally_add_group(&tally, joinengine_history_kinds[i], n,
                                         w))
            return false;
        if (counts)
            counts[joinengine_history_kinds[i]] = n;
    }
    return reliability_score_tally(params, vip_level, &tally, out);
}

bool joinengine_params_cell(const struct reliability_params *defaults,
                            const PGresult *res, int row, int col,
                            struct reliability_params *out)
{
    if (PQgetisnull(res, row, col)) {
        *out = *defaults;
        return true;
    }
    const char *s = PQgetvalue(res, row, col);
    double v[RELIABILITY_PARAMS];
    if (*s++ != '{')
        return false;
    for (int i = 0; i < RELIABILITY_PARAMS; i++) {
        char *end;
        errno = 0;
        v[i] = strtod(s, &end);
        if (end == s || errno != 0 ||
            *end != (i + 1 < RELIABILITY_PARAMS ? ',' : '}'))
            return false;
        s = end + 1;
    }
    if (*s != '\0')
        return false;
    reliability_params_from_array(v, out);
    return reliability_params_validate(out, NULL);
}

bool joinengine_price(const struct reliability_params *params,
                      const struct joinengine_campaign *c, const PGresult *res,
                      int row, struct joinengine_join *j)
{
    j->version = c->version;
    j->deposit_cents = 0;
    j->deposit_percent = 0;
    int vip = atoi(PQgetvalue(res, row, JOINENGINE_READ_VIP));
    struct reliability_params own;
    if (!joinengine_params_cell(params, res, row, JOINENGINE_READ_PARAMS,
                                &own) ||
        !joinengine_history_score(&own, res, row, JOINENGINE_READ_HISTORY, vip,
                                  &j->score, NULL))
        return false;
    /* Refused by the decision before anything else; its deposit might not
     * even be representable. */
    if (j->quantity > c->per_customer_limit)
        return true;
    return pricing_deposit_for_score(c->first_price_cents, c->bands, c->nbands,
                                     j->score.score, j->quantity,
                                     &j->deposit_cents, &j->deposit_percent);
}

const char *joinengine_half_life_param(struct req *r)
{
    return req_printf(r, "%.17g", r->srv->cfg->reliability.half_life_days);
}

void joinengine_arrays_open(struct evbuffer **e, int n)
{
    for (int f = 0; f < n; f++) {
        e[f] = evbuffer_new();
        if (e[f] == NULL)
            abort(); /* as req_alloc: no way to answer without memory */
        evbuffer_add(e[f], "{", 1);
    }
}

void joinengine_arrays_close(struct evbuffer **e, char **out, int n)
{
    for (int f = 0; f < n; f++) {
        evbuffer_add(e[f], "}", 2); /* with the NUL */
        size_t len = evbuffer_get_length(e[f]);
        out[f] = malloc(len);
        if (out[f] == NULL)
            abort();
        evbuffer_remove(e[f], out[f], len);
        evbuffer_free(e[f]);
    }
}

/* An element of a text[] literal: NULL, or quoted with " and \ escaped. */
static void joinengine_text_element(struct evbuffer *e, const char *sep,
                                    const char *text)
{
    if (text == NULL) {
        evbuffer_add_printf(e, "%sNULL", sep);
        return;
    }
    evbuffer_add_printf(e, "%s\"", sep);
    for (const char *s = text; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            evbuffer_add(e, "\\", 1);
        evbuffer_add(e, s, 1);
    }
    evbuffer_add(e, "\"", 1);
}

void joinengine_decide_add(struct evbuffer *const *e,
                           const struct joinengine_join *j, bool *first)
{
    const char *sep = *first ? "" : ",";
    *first = false;
    evbuffer_add_printf(e[0], "%s%lld", sep, (long long)j->campaign);
    evbuffer_add_printf(e[1], "%s%d", sep, j->version);
    evbuffer_add_printf(e[2], "%s%lld", sep, (long long)j->customer);
    evbuffer_add_printf(e[3], "%s%lld", sep, (long long)j->quantity);
    evbuffer_add_printf(e[4], "%s%d", sep, j->score.score);
    evbuffer_add_printf(e[5], "%s%.17g", sep, j->score.p_complete);
    evbuffer_add_printf(e[6], "%s%lld", sep, (long long)j->deposit_percent);
    evbuffer_add_printf(e[7], "%s%lld", sep, (long long)j->deposit_cents);
    if (j->pickup_point > 0)
        evbuffer_add_printf(e[8], "%s%lld", sep, (long long)j->pickup_point);
    else
        evbuffer_add_printf(e[8], "%sNULL", sep);
    joinengine_text_element(e[9], sep, j->address);
    joinengine_text_element(e[10], sep, j->share_code);
}

void joinengine_outcome_row(const PGresult *res, int row,
                            struct joinengine_outcome *o)
{
    o->res = NULL;
    o->reason = NULL;
    if (PQgetisnull(res, row, 1)) {
        o->status = JOINENGINE_ACCEPTED;
        o->res = res;
        o->row = row;
        return;
    }
    const char *reason = PQgetvalue(res, row, 1);
    if (strcmp(reason, "not_found") == 0) {
        o->status = JOINENGINE_NOT_FOUND;
    } else if (strcmp(reason, "changed") == 0) {
        o->status = JOINENGINE_CHANGED;
    } else {
        o->status = JOINENGINE_REFUSED;
        o->reason = reason;
    }
}

const char *joinengine_error_reason(const struct db_result *res)
{
    if (res->status != DB_SQL_ERROR)
        return NULL;
    if (db_is_unique_violation(res)) /* participations_one_live */
        return "already_joined";
    if (strcmp(res->sqlstate, "23514") == 0 && res->message &&
        strstr(res->message, "campaigns_no_oversell"))
        return "campaign_full";
    return NULL;
}

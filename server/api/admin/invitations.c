/*
 * invitations.c - the audience of a campaign, invitations and the
 * invitation report (API.md "Audience and invitations", owner and
 * operator).
 *
 * The candidates are read with their histories in one statement
 * (gb_audience_candidates, at the distributor's half-life); each is scored
 * here by the reliability model with the distributor's parameters (the
 * same code as the join's), those below the campaign's min_score are
 * left out, and the rest ranked by audience.h. What an item shows is the
 * distributor's own (the customer's login masked, its completed count and
 * the reason from this distributor's campaigns); the score alone uses the
 * whole history. An invitation list is
 * checked against the same rule before anything is written: an id outside
 * the audience is a 400 naming it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "domain/audience.h"
#include "engine/idem.h"
#include "engine/joinengine.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define AUDIENCE_LIMIT_DEFAULT 50
#define AUDIENCE_LIMIT_MAX     200
#define INVITATIONS_MAX        1000

/* Columns of gb_audience_candidates. */
enum {
    COL_MIN_SCORE,
    COL_CUSTOMER_ID,
    COL_CUSTOMER,
    COL_BOUGHT,
    COL_LAST_ACTIVE,
    COL_VIP,
    COL_OWN_COMPLETED,           /* completed in this distributor's campaigns */
    COL_HISTORY,                 /* the whole history, for the score only */
    COL_PARAMS = COL_HISTORY + 8 /* the distributor's parameters */
};

static struct db_stmt audience_read = DB_STMT(
    "audience_candidates",
    "SELECT a.*, gb_reliability_params($1)"
    "  FROM gb_audience_candidates($1, $2, gb_reliability_half_life($1, $3),"
    "                              $4::bigint[]) a",
    4);

struct audience_state {
    int64_t limit;
    int64_t *ids; /* invitations: the ids asked for */
    size_t nids;
};

/* Scores the rows; fills entries with the audience (min_score and above).
 * Returns the count, or -1 when a history cannot be scored. */
static int invitations_audience_build(struct req *r, PGresult *pg,
                                      struct audience_entry *entries)
{
    int n = 0;
    int min_score = atoi(PQgetvalue(pg, 0, COL_MIN_SCORE));
    struct reliability_params params;
    if (!joinengine_params_cell(&r->srv->cfg->reliability, pg, 0, COL_PARAMS,
                                &params))
        return -1;
    for (int i = 0; i < PQntuples(pg); i++) {
        if (PQgetisnull(pg, i, COL_CUSTOMER_ID))
            continue;
        struct reliability_result score;
        if (!joinengine_history_score(&params, pg, i, COL_HISTORY,
                                      atoi(PQgetvalue(pg, i, COL_VIP)), &score,
                                      NULL))
            return -1;
        if (score.score < min_score)
            continue;
        struct audience_entry *e = &entries[n++];
        e->customer_id = strtoll(PQgetvalue(pg, i, COL_CUSTOMER_ID), NULL, 10);
        e->bought_product_before = PQgetvalue(pg, i, COL_BOUGHT)[0] == 't';
        e->p_complete = score.p_complete;
        e->last_active = strtod(PQgetvalue(pg, i, COL_LAST_ACTIVE), NULL);
        e->completed = strtoll(PQgetvalue(pg, i, COL_OWN_COMPLETED), NULL, 10);
        e->score = score.score;
        e->row = i;
    }
    return n;
}

/* The scored customers of the audience read (res), in r's arena, their
 * number in *n; NULL once r is answered (a database error, no such
 * campaign, a history that cannot be scored). */
static struct audience_entry *
invitations_audience_entries(struct req *r, const struct db_result *res, int *n)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return NULL;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return NULL;
    }
    struct audience_entry *entries =
        req_alloc(r, sizeof *entries * (size_t)PQntuples(pg));
    *n = invitations_audience_build(r, pg, entries);
    if (*n < 0) {
        req_reply_error(r, 500, "internal", NULL,
                        "A customer's history cannot be scored.");
        return NULL;
    }
    return entries;
}

static void invitations_audience_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct audience_state *st = r->state;
    int n;
    struct audience_entry *entries = invitations_audience_entries(r, res, &n);
    if (entries == NULL)
        return;
    PGresult *pg = res->res;
    qsort(entries, (size_t)n, sizeof *entries, audience_compare);
    cJSON *out = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(out, "items");
    for (int i = 0; i < n && i < st->limit; i++) {
        const struct audience_entry *e = &entries[i];
        char reason[160];
        audience_reason(e, reason, sizeof reason);
        cJSON *it = cJSON_CreateObject();
        cJSON_AddItemToObject(
            it, "customer",
            cJSON_CreateRaw(PQgetvalue(pg, e->row, COL_CUSTOMER)));
        json_add_int(it, "score", e->score);
        cJSON_AddNumberToObject(it, "p_complete", e->p_complete);
        cJSON_AddBoolToObject(it, "bought_product_before",
                              e->bought_product_before);
        json_add_int(it, "completed", e->completed);
        cJSON_AddStringToObject(it, "reason", reason);
        cJSON_AddItemToArray(items, it);
    }
    req_reply_json(r, 200, out);
}

/* GET /v1/admin/campaigns/{id}/audience?limit= (owner, operator) ->
 * {items: [{customer, score, p_complete, bought_product_before, completed,
 * reason}]} | 400 limit | 404 */
void invitations_audience(struct req *r)
{
    struct audience_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    st->limit = AUDIENCE_LIMIT_DEFAULT;
    const char *limit = req_query(r, "limit");
    if (limit) {
        char *end;
        long long v = strtoll(limit, &end, 10);
        if (*limit == '\0' || *end || v < 1 || v > AUDIENCE_LIMIT_MAX) {
            req_reply_error(r, 400, "invalid_field", "limit",
                            "limit must be an integer from 1 to 200.");
            return;
        }
        st->limit = v;
    }
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            joinengine_half_life_param(r), NULL};
    if (!req_query_db(r, &audience_read, params, invitations_audience_cb))
        return;
}

/* ------------------------------------------------------------ invitations */

static struct db_stmt invite = DB_STMT(
    "campaign_invite", "SELECT gb_campaign_invite($1, $2, $3::bigint[])", 3);

static const char *invitations_ids_param(struct req *r, const int64_t *ids,
                                         size_t n)
{
    size_t cap = 3 + n * 21;
    char *s = req_alloc(r, cap);
    size_t used = 0;
    s[used++] = '{';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(s + used, cap - used, "%s%lld", i ? "," : "",
                                 (long long)ids[i]);
    snprintf(s + used, cap - used, "}");
    return s;
}

static void invitations_invited_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    char body[64];
    snprintf(body, sizeof body, "{\"invited\":%s}", PQgetvalue(res->res, 0, 0));
    idem_reply_text(r, 201, body);
}

static void invitations_run(struct req *r)
{
    struct audience_state *st = r->state;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            invitations_ids_param(r, st->ids, st->nids)};
    if (!req_exec(r, &invite, params, invitations_invited_cb))
        return;
}

static int invitations_cmp_id(const void *a, const void *b)
{
    const struct audience_entry *x = a, *y = b;
    return (x->customer_id > y->customer_id) -
           (x->customer_id < y->customer_id);
}

static void invitations_checked_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct audience_state *st = r->state;
    int n;
    struct audience_entry *entries = invitations_audience_entries(r, res, &n);
    if (entries == NULL)
        return;
    qsort(entries, (size_t)n, sizeof *entries, invitations_cmp_id);
    for (size_t i = 0; i < st->nids; i++) {
        struct audience_entry key = {.customer_id = st->ids[i]};
        if (bsearch(&key, entries, (size_t)n, sizeof *entries,
                    invitations_cmp_id) == NULL) {
            req_reply_error(r, 400, "invalid_field", "customer_ids",
                            "Customer %lld is not in this campaign's "
                            "audience.",
                            (long long)st->ids[i]);
            return;
        }
    }
    invitations_run(r);
}

/* The check and the insert run in the idempotent section (the key's
 * transaction when there is one), so that a replay gets the first answer
 * even after the invited customers joined and left the audience. */
static void invitations_check_run(struct req *r)
{
    struct audience_state *st = r->state;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            joinengine_half_life_param(r),
                            invitations_ids_param(r, st->ids, st->nids)};
    if (!req_exec(r, &audience_read, params, invitations_checked_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/invitations {customer_ids: [..]} (owner,
 * operator) -> 201 {invited} | 400 (an id outside the audience, named) |
 * 404 */
void invitations_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct audience_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    static const char *const fields[] = {"customer_ids", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    const cJSON *ids =
        jfields_array(&jf, "customer_ids", true, 1, INVITATIONS_MAX);
    if (jfields_ok(&jf) && ids) {
        size_t n = (size_t)cJSON_GetArraySize(ids);
        st->ids = req_alloc(r, sizeof *st->ids * n);
        for (const cJSON *c = ids->child; c; c = c->next) {
            int64_t v;
            if (!json_item_int(c, 1, INT64_MAX, &v)) {
                jfields_fail(&jf, "customer_ids",
                             "customer_ids must hold customer ids.");
                break;
            }
            st->ids[st->nids++] = v;
        }
    }
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, invitations_check_run);
}

/* ------------------------------------------------------------ report */

static struct db_stmt invitation_report = DB_STMT(
    "invitation_report",
    "SELECT x::text FROM gb_invitation_report($1, $2) x WHERE x IS NOT NULL",
    2);

/* GET /v1/admin/reports/invitations?campaign_id= (owner, operator) ->
 * {invited, joined, completed, conversion} | 400 | 404 */
void invitations_report(struct req *r)
{
    const char *cid = req_query(r, "campaign_id");
    char *end = NULL;
    long long v = cid ? strtoll(cid, &end, 10) : 0;
    if (cid == NULL || *cid == '\0' || *end || v < 1) {
        req_reply_error(r, 400, "invalid_field", "campaign_id",
                        "campaign_id must be a campaign id.");
        return;
    }
    const char *params[] = {req_tenant_param(r), req_printf(r, "%lld", v)};
    req_one_row(r, &invitation_report, params);
}

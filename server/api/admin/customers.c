/*
 * customers.c - distributor staff list and search their customers, look up
 * one (its reliability and its history with the distributor) and set
 * their VIP level.
 *
 * Customers are platform-wide accounts, but a distributor's staff see only
 * the customers who have taken part in one of its campaigns
 * (gb_customer_visible, for the lookup and the VIP change): any other id
 * answers 404, like another tenant's rows (a distributor cannot probe the
 * platform's customer base by id). What they see is the distributor's own
 * (functions/customers.sql, "Privacy between distributors"): the login
 * masked, the event counts and the history from its own campaigns. The
 * score is the one a join would use: the customer's history with every
 * distributor, the VIP prior and the model parameters of the caller's
 * distributor (its own when it adopted some: joinengine_params_cell);
 * only the figure shows. A VIP change is audited with the level before
 * and after (gb_customer_vip_set).
 */
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "domain/login.h"
#include "engine/account.h"
#include "engine/joinengine.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define CUSTOMER_HISTORY_ITEMS "20" /* the latest participations shown */

/* Columns: the customer, the VIP level, the whole history for the score
 * (COL_HISTORY, 8 columns, decayed at the distributor's half-life), the
 * distributor's own event counts (one per kind, in reliability_event_kind
 * order), its own latest participations and its model parameters. */
enum { COL_CUSTOMER, COL_VIP, COL_HISTORY, COL_OWN_EVENTS = COL_HISTORY + 8 };
#define COL_OWN_HISTORY (COL_OWN_EVENTS + RELIABILITY_EVENT_KINDS)
#define COL_PARAMS      (COL_OWN_HISTORY + 1)

static struct db_stmt customer_get = DB_STMT(
    "staff_customer_get",
    "SELECT gb_customer_staff_json(cu)::text, coalesce(v.vip_level, 0), h.*,"
    "       e.completed, e.withdrawn, e.defaulted, e.deposit_expired,"
    "       gb_customer_own_history($1, cu.id, " CUSTOMER_HISTORY_ITEMS
    ")::text, gb_reliability_params($1)"
    "  FROM customers cu"
    "  LEFT JOIN customer_vip v ON v.distributor_id = $1"
    "        AND v.customer_id = cu.id"
    " CROSS JOIN gb_customer_history(cu.id,"
    "                                gb_reliability_half_life($1, $3)) h"
    " CROSS JOIN gb_customer_own_events($1, cu.id) e"
    " WHERE cu.id = $2 AND gb_customer_visible($1, cu.id)",
    3);

static struct db_stmt customer_vip_set =
    DB_STMT("staff_customer_vip_set",
            "SELECT gb_customer_vip_set($1, $2, $3, $4, $5)", 5);

static void customers_got_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such customer.");
        return;
    }
    int vip = atoi(PQgetvalue(pg, 0, COL_VIP));
    struct reliability_result score;
    struct reliability_params params;
    if (!joinengine_params_cell(&r->srv->cfg->reliability, pg, 0, COL_PARAMS,
                                &params) ||
        !joinengine_history_score(&params, pg, 0, COL_HISTORY, vip, &score,
                                  NULL)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The customer's history cannot be scored.");
        return;
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddItemToObject(out, "customer",
                          cJSON_CreateRaw(PQgetvalue(pg, 0, COL_CUSTOMER)));
    cJSON *rel = cJSON_AddObjectToObject(out, "reliability");
    json_add_int(rel, "score", score.score);
    cJSON_AddNumberToObject(rel, "p_complete", score.p_complete);
    json_add_int(rel, "vip_level", vip);
    cJSON *ev = cJSON_AddObjectToObject(rel, "events");
    for (int k = 0; k < RELIABILITY_EVENT_KINDS; k++)
        json_add_int(
            ev, reliability_event_kind_name((enum reliability_event_kind)k),
            strtoll(PQgetvalue(pg, 0, COL_OWN_EVENTS + k), NULL, 10));
    cJSON_AddItemToObject(out, "history",
                          cJSON_CreateRaw(PQgetvalue(pg, 0, COL_OWN_HISTORY)));
    req_reply_json(r, 200, out);
}

static void customers_lookup(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            joinengine_half_life_param(r)};
    if (!req_query_db(r, &customer_get, params, customers_got_cb))
        return;
}

/* GET /v1/admin/customers/{id} (owner, operator) -> {customer, reliability:
 * {score, p_complete, vip_level, events}, history} | 404 */
void customers_get(struct req *r)
{
    customers_lookup(r);
}

static void customers_vip_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "t") != 0) { /* not visible */
        req_reply_error(r, 404, "not_found", NULL, "No such customer.");
        return;
    }
    customers_lookup(r);
}

/* PUT /v1/admin/customers/{id}/vip {vip_level} (owner, operator) -> 200 as
 * GET | 404 */
void customers_vip_set(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const fields[] = {"vip_level", NULL};
    int64_t level = 0;
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "vip_level", true, 0, RELIABILITY_VIP_MAX, &level, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)level),
                            req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_query_db(r, &customer_vip_set, params, customers_vip_cb))
        return;
}

/* ------------------------------------------------------------- list */

#define CUSTOMER_QUERY_MAX 100 /* characters of ?q= */

static struct db_stmt customer_page = DB_STMT(
    "staff_customer_page",
    "SELECT id, item FROM gb_customer_staff_page($1, $2, $3, $4, $5)", 5);

static void customers_listed_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/admin/customers?q=&limit=&after= (owner, operator) -> {items:
 * [{customer, vip_level, participations, completed, last_joined_at}],
 * next_after} | 400 invalid_field: the distributor's customers by id, those
 * matching q (a part of the display name, the login, or the id) when
 * given */
void customers_list(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *q = req_query(r, "q");
    if (q != NULL && *q == '\0')
        q = NULL;
    if (q != NULL &&
        (strlen(q) > CUSTOMER_QUERY_MAX * 4 || !json_utf8_valid(q) ||
         json_utf8_length(q) > CUSTOMER_QUERY_MAX ||
         !json_printable(q, false))) {
        req_reply_error(r, 400, "invalid_field", "q",
                        "q must be up to 100 printable characters.");
        return;
    }
    /* a login is searched in its one spelling (domain/login.h) */
    char *login = NULL;
    if (q != NULL) {
        login = req_alloc(r, LOGIN_MAX + 1);
        if (login_normalize(q, login) == LOGIN_INVALID)
            login = NULL;
    }
    const char *params[] = {req_tenant_param(r), after, limit1, q, login};
    if (!req_query_db(r, &customer_page, params, customers_listed_cb))
        return;
}

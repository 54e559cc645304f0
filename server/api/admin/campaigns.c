/*
 * campaigns.c - a distributor's campaigns, the staff side: create, list,
 * view (with stats and forecast), publish and cancel. PATCH is
 * campaign_edit.c; the body creation takes is read and checked by
 * campaign_form.c.
 *
 * Every campaign reply is the campaign's JSON built whole by SQL, with its
 * "progress" (engine/campaign_view.h); the staff view's "stats" too. Its
 * "forecast" (forecast module over p_complete_at_join of the live
 * participations) is added to the parsed object with cJSON. Every write is
 * a function of functions/campaigns.sql (gb_campaign_create, _publish,
 * _cancel_audited), which records its audit line in the write's
 * transaction.
 *
 * Decisions where the documents are silent (also in functions/campaigns.sql):
 *  - an unknown or foreign product_id is 400 invalid_field "product_id";
 *  - publish when ends_at has passed, or the product's available stock
 *    (stock - reserved - committed) < max_quantity: 409 invalid_state
 *    (field "ends_at" for the first, "max_quantity" for the second).
 *    Publishing reserves max_quantity of the product's stock
 *    (gb_campaign_publish, functions/stock.sql).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "api/admin/campaign_form.h"
#include "domain/forecast.h"
#include "engine/campaign_view.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

static const char *campaigns_int_text(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* ------------------------------------------------------------ create */

struct campaign_create {
    struct campaign_form in;
    int64_t limit; /* page size, for lists */
};

static struct db_stmt campaign_product =
    DB_STMT("campaign_product",
            "SELECT p.list_price_cents,"
            "       gb_pickup_points_usable($1, $3::bigint[])"
            "  FROM products p"
            " WHERE p.distributor_id = $1 AND p.id = $2",
            3);

static struct db_stmt campaign_insert = DB_STMT(
    "campaign_insert",
    "SELECT " CAMPAIGN_VIEW_COL(
        "gb_campaign_view",
        "n") "  FROM gb_campaign_create($1, $2, $3, $4, $5, $6, $7, $8, $9,"
             "                          $10, $11, $12, $13, $14, $15, $16,"
             "                          $17, $18, $19, $20, $21) n",
    21);

static void campaigns_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status == DB_SQL_ERROR && strcmp(res->sqlstate, "23503") == 0) {
        req_reply_error(r, 400, "invalid_field", "product_id",
                        "No such product.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    campaign_view_reply_one(r, 201, res->res, 0, true);
}

static void campaigns_create_run(struct req *r)
{
    struct campaign_create *st = r->state;
    const char *params[21];
    params[0] = req_tenant_param(r);
    campaign_form_params(r, &st->in, params + 1);
    campaign_form_params_fulfil(r, &st->in, params + 15);
    params[19] = campaigns_int_text(r, r->who.id);
    params[20] = r->id;
    if (!req_exec(r, &campaign_insert, params, campaigns_inserted_cb))
        return;
}

static void campaigns_product_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_create *st = r->state;
    int64_t list_price;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1 ||
        !campaign_form_cell_int(res->res, 0, 0, &list_price)) {
        req_reply_error(r, 400, "invalid_field", "product_id",
                        "No such product.");
        return;
    }
    struct jfields jf;
    jfields_init(&jf, r->json);
    campaign_form_check_price(&jf, &st->in, list_price);
    if (jfields_ok(&jf) && strcmp(PQgetvalue(res->res, 0, 1), "t") != 0)
        jfields_fail(&jf, "pickup_point_ids",
                     "pickup_point_ids must name active pickup points of "
                     "this distributor");
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, campaigns_create_run);
}

/* POST /v1/admin/campaigns {product_id, title, description?, starts_at,
 * ends_at, tier_basis, tiers, min_participants, max_quantity,
 * per_customer_limit?, deposit_policy?, min_score?, deposit_window_seconds?,
 * payment_window_seconds?} (owner, operator) -> 201 campaign (draft) |
 * 400 invalid_field */
void campaigns_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct campaign_create *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    struct jfields jf;
    jfields_init(&jf, body);
    campaign_form_read(&jf, &st->in, true);
    if (jfields_ok(&jf)) {
        campaign_form_defaults(&st->in);
        campaign_form_check(&jf, &st->in);
    }
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            campaigns_int_text(r, st->in.product_id),
                            campaign_form_points_param(r, &st->in)};
    if (!req_query_db(r, &campaign_product, params, campaigns_product_cb))
        return;
}

/* ------------------------------------------------------------ publish */

/* The outcome, the status of the campaign found, and the campaign. */
static struct db_stmt campaign_publish =
    DB_STMT("campaign_publish",
            "SELECT p.outcome, (p.campaign).status, " CAMPAIGN_VIEW_COL(
                "gb_campaign_view",
                "p.campaign") "  FROM gb_campaign_publish($1, $2, $3, $4) p",
            4);

static void campaigns_published_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    const char *outcome = PQgetvalue(pg, 0, 0);
    if (strcmp(outcome, "published") == 0)
        campaign_view_reply_one(r, 200, pg, 2, true);
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
    else if (strcmp(outcome, "not_draft") == 0)
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Only a draft can be published; this campaign is %s.",
                        PQgetvalue(pg, 0, 1));
    else if (strcmp(outcome, "ended") == 0)
        req_reply_error(r, 409, "invalid_state", "ends_at",
                        "ends_at has passed; set a later one first.");
    else /* understocked */
        req_reply_error(r, 409, "invalid_state", "max_quantity",
                        "Not enough available stock: the product's stock "
                        "less what its other campaigns hold is below "
                        "max_quantity.");
}

static void campaigns_publish_run(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaigns_int_text(r, r->params[0]),
                            campaigns_int_text(r, r->who.id), r->id};
    if (!req_exec(r, &campaign_publish, params, campaigns_published_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/publish [{}] (owner, operator) -> 200
 * campaign (scheduled, or open when starts_at <= now) | 400 invalid_json,
 * invalid_field | 404 | 409 invalid_state */
void campaigns_publish(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, campaigns_publish_run);
}

/* ------------------------------------------------------------ cancel */

static struct db_stmt campaign_cancel = DB_STMT(
    "campaign_cancel",
    "SELECT gb_campaign_cancel_audited($1::bigint, $2::bigint, $3::bigint, $4)",
    4);

static struct db_stmt campaign_get_plain =
    DB_STMT("campaign_get_plain",
            "SELECT " CAMPAIGN_VIEW_COL("gb_campaign_view",
                                        "c") "  FROM campaigns c"
                                             " WHERE c.distributor_id = $1"
                                             "   AND c.id = $2",
            2);

static void campaigns_cancel_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    campaign_view_reply_one(r, 200, res->res, 0, true);
}

static void campaigns_cancelled_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (strcmp(outcome, "cancelled") != 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Only a draft, scheduled or open campaign can be "
                        "cancelled.");
        return;
    }
    const char *params[] = {req_tenant_param(r),
                            campaigns_int_text(r, r->params[0])};
    if (!req_exec(r, &campaign_get_plain, params, campaigns_cancel_read_cb))
        return;
}

static void campaigns_cancel_run(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaigns_int_text(r, r->params[0]),
                            campaigns_int_text(r, r->who.id), r->id};
    if (!req_exec(r, &campaign_cancel, params, campaigns_cancelled_cb))
        return;
}

/* POST /v1/admin/campaigns/{id}/cancel [{}] (owner, operator) -> 200
 * campaign (cancelled, deposits refunded) | 400 invalid_json,
 * invalid_field | 404 | 409 invalid_state */
void campaigns_cancel(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, campaigns_cancel_run);
}

/* ------------------------------------------------------------ reads */

static const char *const campaign_statuses[] = {
    "draft",  "scheduled", "open",    "succeeded",
    "failed", "cancelled", "settled", NULL};

static struct db_stmt campaign_list = DB_STMT(
    "campaign_list",
    "SELECT c.id, " CAMPAIGN_VIEW_COL(
        "gb_campaign_view", "c") "  FROM campaigns c"
                                 " WHERE c.distributor_id = $1"
                                 "   AND c.id > $2"
                                 "   AND ($4::text IS NULL OR c.status = $4)"
                                 " ORDER BY c.id LIMIT $3",
    4);

static void campaigns_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct campaign_create *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    campaign_view_reply_list(r, res->res, st->limit);
}

/* GET /v1/admin/campaigns?status= (staff) -> {items, next_after} */
void campaigns_list(struct req *r)
{
    const char *limit1, *after;
    struct campaign_create *st = req_alloc(r, sizeof *st);
    r->state = st;
    if (!req_page(r, &limit1, &after, &st->limit))
        return;
    const char *status = req_query(r, "status");
    bool known = status == NULL;
    for (size_t i = 0; !known && campaign_statuses[i] != NULL; i++)
        known = strcmp(status, campaign_statuses[i]) == 0;
    if (!known) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be one of draft, scheduled, open, "
                        "succeeded, failed, cancelled, settled.");
        return;
    }
    const char *params[] = {req_tenant_param(r), after, limit1, status};
    if (!req_query_db(r, &campaign_list, params, campaigns_list_cb))
        return;
}

/* Columns: the staff view (functions/campaigns.sql), the participants
 * counted, min_participants, the live participations' p_complete_at_join
 * (array text or NULL) and the status. */
static struct db_stmt campaign_get =
    DB_STMT("campaign_get",
            "SELECT gb_campaign_staff_view(c)::text, k.participants,"
            "       c.min_participants,"
            "       (SELECT array_agg(p.p_complete_at_join ORDER BY p.id)"
            "          FROM participations p WHERE p.campaign_id = c.id"
            "           AND p.status IN ('pending_deposit', 'active'))::text,"
            "       c.status"
            "  FROM campaigns c, LATERAL gb_campaign_counted(c) k"
            " WHERE c.distributor_id = $1 AND c.id = $2",
            2);

/* The forecast's two figures: over the live participations'
 * p_complete_at_join (array text "{0.75,0.6}" or NULL) while the campaign
 * can still change; a closed campaign's outcome is known (1 or 0, the
 * participants counted). False on bad data or no memory. */
static bool campaigns_forecast(PGresult *res, double *expected, double *prob)
{
    int64_t minp, counted;
    const char *status = PQgetvalue(res, 0, 4);
    if (!campaign_form_cell_int(res, 0, 2, &minp) ||
        !campaign_form_cell_int(res, 0, 1, &counted))
        return false;
    *expected = 0;
    *prob = 0;
    if (strcmp(status, "succeeded") == 0 || strcmp(status, "settled") == 0) {
        *expected = (double)counted;
        *prob = 1;
    } else if (strcmp(status, "failed") != 0 &&
               strcmp(status, "cancelled") != 0 && !PQgetisnull(res, 0, 3)) {
        const char *s = PQgetvalue(res, 0, 3);
        size_t cap = 1;
        for (const char *q = s; *q; q++)
            cap += *q == ',';
        double *p = malloc(cap * sizeof *p);
        if (p == NULL)
            return false;
        size_t n = 0;
        bool ok = *s == '{';
        for (const char *q = s + 1; ok && *q != '}'; n++) {
            char *end = NULL;
            if (n < cap)
                p[n] = strtod(q, &end);
            ok = end != NULL && end != q && (*end == ',' || *end == '}');
            if (ok)
                q = *end == ',' ? end + 1 : end;
        }
        ok = ok && forecast_expected_participants(p, n, expected) &&
             forecast_success_probability(p, n, minp, prob);
        free(p);
        return ok;
    }
    return true;
}

/* A number as the forecast has always been printed (%.15g). */
static cJSON *campaigns_figure(double v)
{
    char text[32];
    snprintf(text, sizeof text, "%.15g", v);
    return cJSON_CreateRaw(text);
}

/* The staff view SQL built with the "forecast" member added: parsed,
 * added with cJSON, printed (json_print_exact keeps SQL's numbers as they
 * were written). NULL when the view is missing or unreadable, or no
 * memory. */
static char *campaigns_view_with_forecast(struct req *r, PGresult *res,
                                          double expected, double prob)
{
    const char *view = PQgetvalue(res, 0, 0);
    struct json_parse_error err;
    cJSON *obj = PQgetisnull(res, 0, 0)
                     ? NULL
                     : json_parse_strict(view, strlen(view), &err);
    cJSON *forecast = cJSON_CreateObject();
    char *out = NULL;
    if (cJSON_IsObject(obj) && forecast != NULL &&
        cJSON_AddItemToObject(forecast, "expected_participants",
                              campaigns_figure(expected)) &&
        cJSON_AddItemToObject(forecast, "success_probability",
                              campaigns_figure(prob)) &&
        cJSON_AddItemToObject(obj, "forecast", forecast)) {
        forecast = NULL; /* obj's */
        char *text = json_print_exact(obj);
        if (text != NULL)
            out = req_strdup(r, text);
        cJSON_free(text);
    }
    cJSON_Delete(forecast);
    cJSON_Delete(obj);
    return out;
}

static void campaigns_get_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    double expected, prob;
    if (!campaigns_forecast(res->res, &expected, &prob)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast could not be computed.");
        return;
    }
    char *text = campaigns_view_with_forecast(r, res->res, expected, prob);
    if (text == NULL) {
        campaign_view_bad_data(r);
        return;
    }
    req_reply_raw(r, 200, "application/json", text, strlen(text));
}

/* GET /v1/admin/campaigns/{id} (staff) -> campaign with progress, stats,
 * forecast | 404 */
void campaigns_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            campaigns_int_text(r, r->params[0])};
    if (!req_query_db(r, &campaign_get, params, campaigns_get_cb))
        return;
}

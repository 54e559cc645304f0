/*
 * campaigns.c - a distributor's campaigns, the staff side: create, list,
 * view (with stats and forecast), publish and cancel. PATCH is
 * campaign_edit.c; the body creation takes is read and checked by
 * campaign_form.c.
 *
 * Every campaign reply is the campaign's JSON built whole by SQL, with its
 * "progress" (engine/campaign_view.h); the staff view's "stats" too. Its
 * "forecast" (engine/campaign_forecast.h: the people in and those still to
 * come; null once the campaign closed) is added to the parsed object with
 * cJSON, computed on the worker pool when the campaign is large. Every
 * write is
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
#include "engine/campaign_forecast.h"
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

/* Columns: the staff view (functions/campaigns.sql), then the forecast's
 * inputs (gb_forecast_inputs, functions/forecast.sql). */
static struct db_stmt campaign_get =
    DB_STMT("campaign_get",
            "SELECT gb_campaign_staff_view(c)::text, f.*"
            "  FROM campaigns c, LATERAL gb_forecast_inputs(c) f"
            " WHERE c.distributor_id = $1 AND c.id = $2",
            2);

/* The staff view SQL built with the "forecast" member added: parsed,
 * added with cJSON, printed (json_print_exact keeps SQL's numbers as they
 * were written). NULL when the view is unreadable, or no memory. */
static char *campaigns_view_with_forecast(struct req *r, const char *view,
                                          const struct campaign_forecast *f)
{
    struct json_parse_error err;
    cJSON *obj = json_parse_strict(view, strlen(view), &err);
    cJSON *forecast = campaign_forecast_json(f);
    char *out = NULL;
    if (cJSON_IsObject(obj) && forecast != NULL &&
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

static void campaigns_forecast_done(struct campaign_forecast *f, bool cancelled,
                                    void *arg)
{
    struct req *r = arg;
    const char *view = r->state;
    if (cancelled) {
        campaign_forecast_free(f);
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down; retry.");
        return;
    }
    if (!f->closed && !f->ok) {
        campaign_forecast_free(f);
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast could not be computed.");
        return;
    }
    char *text = campaigns_view_with_forecast(r, view, f);
    campaign_forecast_free(f);
    if (text == NULL) {
        campaign_view_bad_data(r);
        return;
    }
    req_reply_raw(r, 200, "application/json", text, strlen(text));
}

static void campaigns_get_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1 || PQgetisnull(res->res, 0, 0)) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    struct campaign_forecast *f = campaign_forecast_new();
    if (f == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    if (!campaign_forecast_read(f, res->res, 0, 1, &r->srv->cfg->reliability)) {
        campaign_forecast_free(f);
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast's inputs cannot be read.");
        return;
    }
    r->state = req_strdup(r, PQgetvalue(res->res, 0, 0));
    if (!campaign_forecast_start(r->srv->work, f, campaigns_forecast_done, r)) {
        campaign_forecast_free(f);
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many forecasts at once; retry shortly.");
    }
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

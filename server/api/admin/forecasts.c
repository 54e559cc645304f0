/*
 * forecasts.c - the ladder planner (API.md "Forecast, ladder planning and
 * model refit"; DESIGN.md "Ladder planning"): the forecast of a campaign
 * that need not exist yet, before the distributor's audience, so that the
 * staged prices can be set knowing what each tier is likely to bring.
 * Nothing is written.
 *
 * The body is a campaign's, read by campaign_form.c as creation reads it
 * (every field checked the same way), plus "audience_size". The planner
 * needs less than creation: product_id, starts_at, ends_at, tiers and
 * min_participants; tier_basis defaults to participants; without
 * max_quantity nothing caps the joins. The tiers are checked against the
 * product's list price as creation checks them, and the margin is taken
 * against each tier's cost (its cost_price_cents, else the product's cost
 * price), the cost settlement would pay at that tier.
 *
 * The audience is audience_size when given, else the distributor's
 * customers not below min_score, scored with its own model
 * (functions/forecast.sql, gb_forecast_audience). The model runs on the
 * worker pool when the audience must be scored customer by customer
 * (engine/campaign_forecast.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "api/admin/campaign_form.h"
#include "engine/campaign_forecast.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

/* A given audience_size is at most this (a distributor's customers). */
#define FORECASTS_AUDIENCE_MAX INT64_C(100000000)

struct forecasts_plan {
    struct campaign_form in;
    int64_t audience; /* given, or -1 */
};

/* Columns: the product's list and cost prices, the distributor's history
 * (gb_forecast_history, 8 columns), its parameters, and when asked ($5)
 * the audience counted and its histories (gb_forecast_audience). No row:
 * no such product of the distributor. */
static struct db_stmt plan_read = DB_STMT(
    "forecast_plan_read",
    "SELECT p.list_price_cents, p.cost_price_cents, h.*,"
    "       gb_reliability_params($1), a.customers, a.histories"
    "  FROM products p CROSS JOIN gb_forecast_history($1) h"
    "  LEFT JOIN LATERAL (SELECT * FROM gb_forecast_audience($1, $3, $4)"
    "                      WHERE $5::boolean) a ON true"
    " WHERE p.distributor_id = $1 AND p.id = $2",
    5);
#define PLAN_COL_HISTORY  2
#define PLAN_COL_PARAMS   10
#define PLAN_COL_AUDIENCE 11

static void forecasts_plan_done(struct campaign_forecast *f, bool cancelled,
                                void *arg)
{
    struct req *r = arg;
    if (cancelled) {
        campaign_forecast_free(f);
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down; retry.");
        return;
    }
    cJSON *out = f->ok ? campaign_forecast_plan_json(f) : NULL;
    campaign_forecast_free(f);
    if (out == NULL) {
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast could not be computed.");
        return;
    }
    req_reply_json(r, 200, out);
}

static void forecasts_plan_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct forecasts_plan *st = r->state;
    const struct campaign_form *in = &st->in;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    int64_t list_price, cost_price;
    if (PQntuples(pg) != 1 || !campaign_form_cell_int(pg, 0, 0, &list_price) ||
        !campaign_form_cell_int(pg, 0, 1, &cost_price)) {
        req_reply_error(r, 400, "invalid_field", "product_id",
                        "No such product.");
        return;
    }
    struct jfields jf;
    jfields_init(&jf, r->json);
    campaign_form_check_price(&jf, in, list_price);
    if (!req_fields_ok(r, &jf))
        return;
    struct campaign_forecast *f = campaign_forecast_new();
    if (f == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    f->ntiers = in->ntiers;
    for (size_t t = 0; t < in->ntiers; t++)
        f->tiers[t] = (struct forecast_tier){
            in->tiers[t].threshold, in->tiers[t].unit_price_cents,
            in->tiers[t].has_cost ? in->tiers[t].cost_price_cents : cost_price};
    f->min_participants = in->min_participants;
    f->max_quantity = in->has_max_quantity ? in->max_quantity : 0;
    f->per_customer_limit = in->per_customer_limit;
    f->quantity_basis = in->basis == PRICING_BASIS_QUANTITY;
    f->min_score = in->min_score;
    if (!campaign_forecast_plan_read(f, pg, 0, PLAN_COL_HISTORY,
                                     PLAN_COL_PARAMS, PLAN_COL_AUDIENCE,
                                     st->audience, &r->srv->cfg->reliability)) {
        campaign_forecast_free(f);
        req_reply_error(r, 500, "internal", NULL,
                        "The forecast's inputs cannot be read.");
        return;
    }
    if (!campaign_forecast_start(r->srv->work, f, forecasts_plan_done, r)) {
        campaign_forecast_free(f);
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "Too many forecasts at once; retry shortly.");
    }
}

/* The fields the planner needs beyond what campaign_form_read checks. */
static void forecasts_plan_check(struct jfields *jf, struct campaign_form *in)
{
    static const struct {
        const char *name;
        size_t offset;
    } required[] = {
        {"product_id", offsetof(struct campaign_form, has_product_id)},
        {"starts_at", offsetof(struct campaign_form, has_starts_at)},
        {"ends_at", offsetof(struct campaign_form, has_ends_at)},
        {"tiers", offsetof(struct campaign_form, has_tiers)},
        {"min_participants",
         offsetof(struct campaign_form, has_min_participants)},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (jfields_ok(jf) &&
            !*(const bool *)((const char *)in + required[i].offset))
            jfields_fail(jf, required[i].name, "\"%s\" is required",
                         required[i].name);
    if (!jfields_ok(jf))
        return;
    if (!in->has_basis)
        in->basis = PRICING_BASIS_PARTICIPANTS;
    /* without a cap, the checks across fields see the largest one */
    struct campaign_form checked = *in;
    if (!in->has_max_quantity)
        checked.max_quantity = PRICING_QUANTITY_MAX;
    campaign_form_defaults(&checked);
    campaign_form_check(jf, &checked);
    in->per_customer_limit = checked.per_customer_limit;
    in->min_score = checked.min_score;
}

/* POST /v1/admin/forecasts/ladder {a campaign's body: product_id,
 * starts_at, ends_at, tiers, min_participants, and optionally the rest,
 * audience_size?} (owner, operator) -> 200 {expected_participants,
 * expected_quantity, success_probability, tier_probabilities,
 * expected_final_unit_price_cents, expected_revenue_cents,
 * expected_margin_cents, audience_size, basis, ...} | 400 invalid_field */
void forecasts_ladder(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct forecasts_plan *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    st->audience = -1;
    r->state = st;
    /* audience_size is the planner's own: taken out before the campaign's
     * fields are read (which refuse any other) */
    cJSON *aud = cJSON_DetachItemFromObjectCaseSensitive(body, "audience_size");
    if (aud != NULL) {
        bool ok = json_item_int(aud, 0, FORECASTS_AUDIENCE_MAX, &st->audience);
        cJSON_Delete(aud);
        if (!ok) {
            req_reply_error(r, 400, "invalid_field", "audience_size",
                            "audience_size must be an integer from 0 to "
                            "100000000");
            return;
        }
    }
    struct jfields jf;
    jfields_init(&jf, body);
    campaign_form_read(&jf, &st->in, false);
    if (jfields_ok(&jf))
        forecasts_plan_check(&jf, &st->in);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {
        req_tenant_param(r),
        req_printf(r, "%lld", (long long)st->in.product_id),
        req_printf(r, "%.17g", r->srv->cfg->reliability.half_life_days),
        req_printf(r, "%lld", (long long)st->in.min_score),
        st->audience < 0 ? "true" : "false"};
    if (!req_query_db(r, &plan_read, params, forecasts_plan_read_cb))
        return;
}

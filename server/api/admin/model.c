/*
 * model.c - a distributor's reliability model (API.md "Forecast, ladder
 * planning and model refit"; DESIGN.md "Refit"): the refit, which fits the
 * parameters to the distributor's own history and answers them beside the
 * ones in force, scored on the newest fifth of its closed campaigns (it
 * changes nothing), and the parameters themselves, which its owner adopts
 * (PUT), reads (GET) or drops for the server's configured defaults
 * (DELETE). Owner only: the model decides every customer's deposit.
 *
 * Adopted parameters apply to that distributor only, wherever its scores
 * are computed (the join's deposit, the staff's customer, participations
 * and audience, the forecast: functions/reliability.sql); every change is
 * an audit line with the sets before and after (gb_reliability_params_set).
 * The refit runs on the worker pool (engine/refit.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "engine/refit.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

/* An adopted parameter is at most this (the table holds the same bound). */
#define MODEL_PARAM_MAX 1e9

/* ------------------------------------------------------------ refit */

static struct db_stmt refit_read_stmt =
    DB_STMT("model_refit_read",
            "SELECT d.*, gb_reliability_params($1)"
            "  FROM gb_reliability_refit_data($1) d",
            1);

static void model_refit_done(struct refit *f, bool cancelled, void *arg)
{
    struct req *r = arg;
    if (cancelled) {
        refit_free(f);
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is shutting down; retry.");
        return;
    }
    cJSON *out = f->ok ? refit_json(f) : NULL;
    refit_free(f);
    if (out == NULL) {
        req_reply_error(r, 500, "internal", NULL,
                        "The model could not be fitted.");
        return;
    }
    req_reply_json(r, 200, out);
}

static void model_refit_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    struct refit *f =
        PQntuples(res->res) == 1
            ? refit_read(res->res, 0, 0, 5, &r->srv->cfg->reliability)
            : NULL;
    if (f == NULL) {
        req_reply_error(r, 500, "internal", NULL,
                        "The history cannot be read.");
        return;
    }
    char why[256];
    if (refit_shortage(f, why, sizeof why) != NULL) {
        refit_free(f);
        req_reply_error(r, 409, "invalid_state", NULL, "%s", why);
        return;
    }
    if (!refit_start(r->srv->work, f, model_refit_done, r)) {
        refit_free(f);
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The server is busy; retry shortly.");
    }
}

/* POST /v1/admin/reliability/refit [{}] (owner) -> 200 {current,
 * proposed, holdout, training} | 409 invalid_state (not enough history) */
void model_refit(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_tenant_param(r)};
    if (!req_query_db(r, &refit_read_stmt, params, model_refit_read_cb))
        return;
}

/* ------------------------------------------------------------ parameters */

static struct db_stmt params_get_stmt = DB_STMT(
    "model_params_get", "SELECT gb_reliability_params_view($1)::text", 1);

static struct db_stmt params_set_stmt =
    DB_STMT("model_params_set",
            "SELECT v::text"
            "  FROM gb_reliability_params_set($1, $2::float8[], $3, $4) v",
            4);

/* SQL's view with "defaults" (the configured set) and "parameters" (the
 * set in force) and "source" added. */
static void model_params_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    const char *view = PQgetvalue(pg, 0, 0);
    struct json_parse_error err;
    cJSON *obj = json_parse_strict(view, strlen(view), &err);
    /* the view's own "adopted": a column beside it, read in the same
     * statement as a PUT's write, would not see that write */
    const cJSON *a = cJSON_IsObject(obj) ? json_get(obj, "adopted") : NULL;
    bool adopted = cJSON_IsObject(a);
    cJSON *defaults = refit_params_json(&r->srv->cfg->reliability);
    cJSON *in_force = NULL;
    if (cJSON_IsObject(obj)) {
        in_force = adopted ? cJSON_Duplicate(a, true)
                           : refit_params_json(&r->srv->cfg->reliability);
    }
    if (!cJSON_IsObject(obj) || defaults == NULL || in_force == NULL ||
        !cJSON_AddItemToObject(obj, "defaults", defaults)) {
        cJSON_Delete(defaults);
        cJSON_Delete(in_force);
        cJSON_Delete(obj);
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    cJSON_AddItemToObject(obj, "parameters", in_force);
    json_add_str(obj, "source", adopted ? "adopted" : "defaults");
    char *text = json_print_exact(obj);
    cJSON_Delete(obj);
    if (text == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    req_reply_raw(r, 200, "application/json", req_strdup(r, text),
                  strlen(text));
    cJSON_free(text);
}

/* GET /v1/admin/reliability/parameters (owner) -> 200 {parameters,
 * source, adopted, previous, defaults, adopted_at, adopted_by} */
void model_params_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r)};
    if (!req_query_db(r, &params_get_stmt, params, model_params_cb))
        return;
}

/* PUT /v1/admin/reliability/parameters {"parameters": {the seven}} (owner)
 * -> 200 as GET | 400 invalid_field */
void model_params_put(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    static const char *const top[] = {"parameters", NULL};
    static const char *const names[] = {
        "half_life_days",      "prior_alpha_base",
        "prior_alpha_per_vip", "prior_beta",
        "weight_withdrawn",    "weight_deposit_expired",
        "weight_defaulted",    NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, top);
    const cJSON *set = jfields_object(&jf, "parameters", true);
    double v[RELIABILITY_PARAMS];
    if (set != NULL && jfields_ok(&jf)) {
        struct jfields pf;
        jfields_init(&pf, set);
        jfields_only(&pf, names);
        for (int i = 0; i < RELIABILITY_PARAMS && jfields_ok(&pf); i++) {
            const char *name = reliability_param_names[i];
            const cJSON *n = json_get(set, name);
            if (n == NULL)
                jfields_fail(&pf, name, "parameters.%s is required", name);
            else if (!cJSON_IsNumber(n) || !(n->valuedouble > 0.0) ||
                     !(n->valuedouble <= MODEL_PARAM_MAX))
                jfields_fail(&pf, name,
                             "parameters.%s must be a number above 0 and at "
                             "most 1e9",
                             name);
            else
                v[i] = n->valuedouble;
        }
        if (!req_fields_ok(r, &pf))
            return;
    }
    if (!req_fields_ok(r, &jf))
        return;
    const char *arr =
        req_printf(r, "{%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g}", v[0], v[1],
                   v[2], v[3], v[4], v[5], v[6]);
    const char *params[] = {req_tenant_param(r), arr,
                            req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_query_db(r, &params_set_stmt, params, model_params_cb))
        return;
}

/* DELETE /v1/admin/reliability/parameters (owner) -> 200 as GET: the
 * configured defaults again (the set dropped kept as "previous") */
void model_params_delete(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_tenant_param(r), NULL,
                            req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_query_db(r, &params_set_stmt, params, model_params_cb))
        return;
}

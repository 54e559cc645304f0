/*
 * webhooks.c - the owner's webhook endpoints and their delivery log
 * (API.md "Outbound webhooks").
 *
 * A URL is checked at create and at patch (webhook_target.h: https, or
 * http to an allow-listed host; every address the host resolves to must be
 * public unless the host is allow-listed) before anything is written; the
 * relay checks it again at each delivery, since a name may resolve
 * elsewhere later. The host as the relay connects to it (ASCII) is kept
 * with the endpoint: the per-host rate counts by it. A distributor has at
 * most webhooks.max_endpoints endpoints. The secret is made here, returned once
 * by the create, and stored as the payment webhook secret is (README). Deleting
 * an endpoint deletes its deliveries: nothing more is sent to it.
 */
#include <string.h>

#include "api/admin/admin.h"
#include "app.h"
#include "domain/webhook_rules.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/crypto.h"
#include "lib/json.h"
#include "out/webhook_relay.h"
#include "out/webhook_target.h"

#define WEBHOOK_URL_MAX         2048
#define WEBHOOK_EVENTS_MAX      64
#define WEBHOOK_DESCRIPTION_MAX 500

struct endpoint_body {
    const char *url, *host, *description, *events_json;
    bool has_url, has_description, has_enabled, enabled;
    struct webhook_lookup *lookup;
    idem_run *then;
};

static void webhooks_cleanup(struct req *r)
{
    struct endpoint_body *b = r->state;
    if (b && b->lookup) {
        webhook_lookup_cancel(b->lookup);
        b->lookup = NULL;
    }
}

/* Reads url / events / description / enabled; events are validated and
 * kept as JSON text for the statement. */
static bool webhooks_fields(struct req *r, struct endpoint_body *b, bool create)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return false;
    static const char *const create_fields[] = {"url", "events", "description",
                                                NULL};
    static const char *const patch_fields[] = {"url", "events", "description",
                                               "enabled", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, create ? create_fields : patch_fields);
    jfields_str(&jf, "url", create, 1, WEBHOOK_URL_MAX, &b->url, &b->has_url);
    const cJSON *events =
        jfields_array(&jf, "events", create, 1, WEBHOOK_EVENTS_MAX);
    jfields_str(&jf, "description", false, 0, WEBHOOK_DESCRIPTION_MAX,
                &b->description, &b->has_description);
    if (!create)
        jfields_bool(&jf, "enabled", false, &b->enabled, &b->has_enabled);
    if (jfields_ok(&jf) && events) {
        for (const cJSON *e = events->child; e; e = e->next) {
            if (!cJSON_IsString(e) ||
                !webhook_event_pattern_valid(e->valuestring)) {
                jfields_fail(&jf, "events",
                             "events must be event types of the API, "
                             "families such as \"participation.*\", or "
                             "\"*\"");
                break;
            }
        }
        if (jfields_ok(&jf)) {
            char *text = cJSON_PrintUnformatted(events);
            if (text) {
                b->events_json = req_strdup(r, text);
                cJSON_free(text);
            }
            if (b->events_json == NULL)
                jfields_fail(&jf, "events", "events cannot be read");
        }
    }
    if (jfields_ok(&jf) && b->has_description &&
        !json_printable(b->description, true))
        jfields_fail(&jf, "description",
                     "description must not hold control characters");
    if (jfields_ok(&jf) && b->has_url && !json_printable(b->url, false))
        jfields_fail(&jf, "url", "url must not hold control characters");
    return req_fields_ok(r, &jf);
}

static void webhooks_target_cb(void *arg, const struct webhook_target *t,
                               const char *error)
{
    struct req *r = arg;
    struct endpoint_body *b = r->state;
    b->lookup = NULL;
    if (t == NULL) {
        req_reply_error(r, 400, "invalid_field", "url", "%s", error);
        return;
    }
    b->host = req_strdup(r, t->host);
    idem_begin(r, b->then);
}

/* Checks the URL (when given) and then runs `then` idempotently. */
static void webhooks_check_then(struct req *r, struct endpoint_body *b,
                                idem_run *then)
{
    b->then = then;
    if (!b->has_url) {
        idem_begin(r, then);
        return;
    }
    r->cleanup = webhooks_cleanup;
    /* the callback may have run, answered and freed r already (a numeric
     * host, a refusal): r is touched again only for a pending lookup */
    struct webhook_lookup *l = webhook_target_check(
        webhook_relay_dns(app_of(r)->webhooks), b->url,
        r->srv->cfg->webhook_allow_hosts, webhooks_target_cb, r);
    if (l != NULL)
        b->lookup = l;
}

/* ------------------------------------------------------------ create */

static struct db_stmt endpoint_insert =
    DB_STMT("webhook_endpoint_insert",
            "SELECT gb_webhook_endpoint_create($1, $2, $3, $4, $5, $6, $7, $8, "
            "$9)::text",
            9);

static void webhooks_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQgetisnull(res->res, 0, 0)) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "A distributor has at most %d webhook endpoints: "
                        "delete one first.",
                        r->srv->cfg->webhook_max_endpoints);
        return;
    }
    webhook_relay_poke(app_of(r)->webhooks);
    idem_reply_text(r, 201, PQgetvalue(res->res, 0, 0));
}

static void webhooks_create_run(struct req *r)
{
    struct endpoint_body *b = r->state;
    /* "whsec_" and 32 random bytes: the receiver's HMAC key */
    char hex[65];
    if (!crypto_random_hex(hex, 32)) {
        req_reply_error(r, 503, "unavailable", NULL,
                        "No randomness for a secret; retry later.");
        return;
    }
    const char *params[] = {
        req_tenant_param(r),
        b->url,
        b->host,
        b->events_json,
        b->has_description ? b->description : NULL,
        req_printf(r, "whsec_%s", hex),
        req_printf(r, "%lld", (long long)r->who.id),
        r->id,
        req_printf(r, "%d", r->srv->cfg->webhook_max_endpoints)};
    if (!req_exec(r, &endpoint_insert, params, webhooks_inserted_cb))
        return;
}

/* POST /v1/admin/webhooks {url, events, description?} (owner) -> 201
 * endpoint with its secret | 400 invalid_field (url refused: scheme,
 * host, address) | 409 invalid_state (webhooks.max_endpoints reached) */
void webhooks_create(struct req *r)
{
    struct endpoint_body *b = req_alloc(r, sizeof *b);
    memset(b, 0, sizeof *b);
    r->state = b;
    if (!webhooks_fields(r, b, true))
        return;
    webhooks_check_then(r, b, webhooks_create_run);
}

/* ------------------------------------------------------------ read */

static struct db_stmt endpoint_list = DB_STMT(
    "webhook_endpoint_list",
    "SELECT w.id, gb_webhook_endpoint_json(w)::text FROM webhook_endpoints w"
    " WHERE w.distributor_id = $1 AND w.id > $2 ORDER BY w.id LIMIT $3",
    3);

static struct db_stmt endpoint_get =
    DB_STMT("webhook_endpoint_get",
            "SELECT gb_webhook_endpoint_json(w)::text FROM webhook_endpoints w"
            " WHERE w.distributor_id = $1 AND w.id = $2",
            2);

/* GET /v1/admin/webhooks (owner) -> {items, next_after} */
void webhooks_list(struct req *r)
{
    req_tenant_list(r, &endpoint_list);
}

/* GET /v1/admin/webhooks/{id} (owner) -> endpoint | 404 */
void webhooks_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    req_one_row(r, &endpoint_get, params);
}

/* ------------------------------------------------------------ patch */

static struct db_stmt endpoint_update = DB_STMT(
    "webhook_endpoint_update",
    "SELECT w::text"
    "  FROM gb_webhook_endpoint_update($1, $2, $3, $4, $5, $6, $7, $8, $9) w",
    9);

static void webhooks_updated_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such webhook endpoint.");
        return;
    }
    webhook_relay_poke(app_of(r)->webhooks);
    idem_reply_text(r, 200, PQgetvalue(res->res, 0, 0));
}

static void webhooks_update_run(struct req *r)
{
    struct endpoint_body *b = r->state;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            b->has_url ? b->url : NULL,
                            b->has_url ? b->host : NULL,
                            b->events_json,
                            b->has_description ? b->description : NULL,
                            b->has_enabled ? (b->enabled ? "true" : "false")
                                           : NULL,
                            req_printf(r, "%lld", (long long)r->who.id),
                            r->id};
    if (!req_exec(r, &endpoint_update, params, webhooks_updated_cb))
        return;
}

/* PATCH /v1/admin/webhooks/{id} {url?, events?, description?, enabled?}
 * (owner) -> 200 endpoint | 400 | 404 */
void webhooks_update(struct req *r)
{
    struct endpoint_body *b = req_alloc(r, sizeof *b);
    memset(b, 0, sizeof *b);
    r->state = b;
    if (!webhooks_fields(r, b, false))
        return;
    webhooks_check_then(r, b, webhooks_update_run);
}

/* ------------------------------------------------------------ delete */

static struct db_stmt endpoint_delete =
    DB_STMT("webhook_endpoint_delete",
            "SELECT gb_webhook_endpoint_delete($1, $2, $3, $4)", 4);

static void webhooks_deleted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "t") != 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such webhook endpoint.");
        return;
    }
    req_reply_raw(r, 204, NULL, NULL, 0);
}

/* DELETE /v1/admin/webhooks/{id} (owner) -> 204 | 404; its deliveries,
 * pending ones included, go with it */
void webhooks_delete(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_query_db(r, &endpoint_delete, params, webhooks_deleted_cb))
        return;
}

/* ------------------------------------------------------------ deliveries */

static struct db_stmt deliveries_page = DB_STMT(
    "webhook_deliveries_page",
    "SELECT id, item FROM gb_webhook_deliveries_page($1, $2, $3, $4, $5)", 5);

struct deliveries_state {
    int64_t limit;
};

static void webhooks_deliveries_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct deliveries_state *st = r->state;
    if (res->status == DB_SQL_ERROR && strcmp(res->sqlstate, "P0002") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such webhook endpoint.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, st->limit);
}

/* GET /v1/admin/webhooks/{id}/deliveries?status=&after=&limit= (owner) ->
 * {items, next_after} | 400 (status) | 404 */
void webhooks_deliveries(struct req *r)
{
    struct deliveries_state *st = req_alloc(r, sizeof *st);
    r->state = st;
    const char *limit1, *after;
    if (!req_page(r, &limit1, &after, &st->limit))
        return;
    const char *status = req_query(r, "status");
    if (status && strcmp(status, "pending") != 0 &&
        strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be pending, delivered or failed.");
        return;
    }
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            status, after, limit1};
    if (!req_query_db(r, &deliveries_page, params, webhooks_deliveries_cb))
        return;
}

static struct db_stmt delivery_retry =
    DB_STMT("webhook_delivery_retry", "SELECT gb_webhook_retry($1, $2, $3)", 3);

static void webhooks_retried_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *v = PQgetvalue(res->res, 0, 0);
    if (strcmp(v, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such delivery.");
        return;
    }
    if (strcmp(v, "invalid_state") == 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "This delivery was delivered already.");
        return;
    }
    webhook_relay_poke(app_of(r)->webhooks);
    req_reply_raw(r, 202, "application/json", v, strlen(v));
}

/* POST /v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry (owner) ->
 * 202 delivery (due at once) | 404 | 409 invalid_state (delivered) */
void webhooks_retry(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->params[1])};
    if (!req_query_db(r, &delivery_retry, params, webhooks_retried_cb))
        return;
}

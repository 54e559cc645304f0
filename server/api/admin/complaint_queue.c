/*
 * complaint_queue.c - the staff's queue of complaints about their
 * campaigns and orders (投诉): oldest first with their age, replies the
 * customer reads (GET /v1/me/complaints), and the resolution. Each step
 * is an audit line (schema/functions/conversations.sql).
 */
#include <string.h>

#include "api/admin/admin.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define REPLY_MAX_CHARS 2000
#define NOTE_MAX_CHARS  1000

static struct db_stmt complaints_queue_stmt =
    DB_STMT("complaints_queue",
            "SELECT id, item FROM gb_complaints_queue($1, $4, $2, $3)", 4);

static void complaint_queue_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/admin/complaints?status=open|resolved&limit=&after= (owner,
 * operator) -> {items: [complaint + customer, age_seconds, replies],
 * next_after}, oldest first */
void complaint_queue_list(struct req *r)
{
    const char *status = req_query(r, "status");
    if (status != NULL && strcmp(status, "open") != 0 &&
        strcmp(status, "resolved") != 0) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be open or resolved.");
        return;
    }
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_tenant_param(r), after, limit1, status};
    if (!req_query_db(r, &complaints_queue_stmt, params,
                      complaint_queue_list_cb))
        return;
}

/* The outcome of a reply or a resolution: ok_status with the body, 404,
 * or 409 invalid_state (resolved already). */
static void complaint_queue_outcome(struct req *r, const struct db_result *res,
                                    int ok_status)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        idem_reply_text(r, ok_status, PQgetvalue(res->res, 0, 1));
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such complaint.");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The complaint is resolved already.");
}

static void complaint_queue_replied_cb(const struct db_result *res, void *arg)
{
    complaint_queue_outcome(arg, res, 201);
}

static void complaint_queue_resolved_cb(const struct db_result *res, void *arg)
{
    complaint_queue_outcome(arg, res, 200);
}

static struct db_stmt complaint_reply_stmt =
    DB_STMT("complaint_reply",
            "SELECT outcome, body::text FROM gb_complaint_reply($1, $2, $3, "
            "$4, $5)",
            5);

static void complaint_queue_reply_run(struct req *r)
{
    const char *params[] = {
        req_tenant_param(r), req_printf(r, "%lld", (long long)r->params[0]),
        r->state, req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_exec(r, &complaint_reply_stmt, params, complaint_queue_replied_cb))
        return;
}

/* POST /v1/admin/complaints/{id}/reply {body} (owner, operator) -> 201
 * reply | 400 | 404 | 409 invalid_state (resolved) */
void complaint_queue_reply(struct req *r)
{
    char *body = req_json_text(r, REPLY_MAX_CHARS);
    if (body == NULL)
        return; /* answered, and r is gone */
    r->state = body;
    idem_begin(r, complaint_queue_reply_run);
}

static struct db_stmt complaint_resolve_stmt =
    DB_STMT("complaint_resolve",
            "SELECT outcome, body::text FROM gb_complaint_resolve($1, $2, $3, "
            "$4, $5)",
            5);

/* POST /v1/admin/complaints/{id}/resolve {note} (owner, operator) -> 200
 * complaint (resolved) | 400 | 404 | 409 invalid_state (resolved already) */
void complaint_queue_resolve(struct req *r)
{
    cJSON *json = req_json_object(r);
    if (json == NULL)
        return;
    static const char *const fields[] = {"note", NULL};
    const char *note = "";
    struct jfields jf;
    jfields_init(&jf, json);
    jfields_only(&jf, fields);
    jfields_str(&jf, "note", false, 0, NOTE_MAX_CHARS, &note, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {
        req_tenant_param(r), req_printf(r, "%lld", (long long)r->params[0]),
        note, req_printf(r, "%lld", (long long)r->who.id), r->id};
    if (!req_query_db(r, &complaint_resolve_stmt, params,
                      complaint_queue_resolved_cb))
        return;
}

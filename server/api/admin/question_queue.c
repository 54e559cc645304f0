/*
 * question_queue.c - the staff's queue of questions on their campaigns
 * (咨询): oldest first with their age, and the answer, public when staff
 * choose (shown on the campaign's page, api/shop/questions.c). Answering
 * again replaces the answer; every answer is an audit line with the
 * question before and after (schema/functions/conversations.sql).
 */
#include <stdlib.h>
#include <string.h>

#include "api/admin/admin.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define ANSWER_MAX_CHARS 2000

static struct db_stmt questions_queue_stmt =
    DB_STMT("questions_queue",
            "SELECT id, item FROM gb_questions_queue($1, $4, $5::bigint, $2, "
            "$3)",
            5);

static void question_queue_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/admin/questions?status=open|answered&campaign_id=&limit=&after=
 * (owner, operator) -> {items: [question + customer, age_seconds],
 * next_after}, oldest first */
void question_queue_list(struct req *r)
{
    const char *status = req_query(r, "status");
    if (status != NULL && strcmp(status, "open") != 0 &&
        strcmp(status, "answered") != 0) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be open or answered.");
        return;
    }
    const char *cid = req_query(r, "campaign_id");
    if (cid != NULL) {
        char *end = NULL;
        long long v = strtoll(cid, &end, 10);
        if (*cid == '\0' || *end != '\0' || v < 1 || v > JSON_MAX_SAFE_INT) {
            req_reply_error(r, 400, "invalid_field", "campaign_id",
                            "campaign_id must be a campaign id.");
            return;
        }
        cid = req_printf(r, "%lld", v);
    }
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_tenant_param(r), after, limit1, status, cid};
    if (!req_query_db(r, &questions_queue_stmt, params, question_queue_list_cb))
        return;
}

static struct db_stmt question_answer_stmt =
    DB_STMT("question_answer",
            "SELECT outcome, body::text FROM gb_question_answer($1, $2, $3, "
            "$4, $5, $6)",
            6);

static void question_queue_answered_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (strcmp(PQgetvalue(res->res, 0, 0), "ok") == 0)
        req_reply_row_json(r, 200, res->res, 1);
    else
        req_reply_error(r, 404, "not_found", NULL, "No such question.");
}

/* POST /v1/admin/questions/{id}/answer {body, public} (owner, operator) ->
 * 200 question (answered; again: the answer replaced) | 400 | 404 */
void question_queue_answer(struct req *r)
{
    cJSON *json = req_json_object(r);
    if (json == NULL)
        return;
    static const char *const fields[] = {"body", "public", NULL};
    const char *body = NULL;
    bool pub = false;
    struct jfields jf;
    jfields_init(&jf, json);
    jfields_only(&jf, fields);
    jfields_str(&jf, "body", true, 1, ANSWER_MAX_CHARS, &body, NULL);
    jfields_bool(&jf, "public", true, &pub, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            body,
                            pub ? "true" : "false",
                            req_printf(r, "%lld", (long long)r->who.id),
                            r->id};
    if (!req_query_db(r, &question_answer_stmt, params,
                      question_queue_answered_cb))
        return;
}

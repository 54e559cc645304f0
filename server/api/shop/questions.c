/*
 * questions.c - questions on a campaign (咨询), the shopper's side: asking
 * (at most QUESTIONS_PER_HOUR an hour per customer), the campaign's
 * answered public questions (no auth, newest first, askers' names masked)
 * and the shopper's own. Staff answer in api/admin/question_queue.c; the
 * rules are in schema/functions/conversations.sql.
 *
 * Bodies are stored as sent (1..1000 characters); every client shows them
 * as text.
 */
#include "api/shop/conversation.h"
#include "api/shop/shop.h"
#include "engine/idem.h"
#include "http/reply.h"
#include "http/request.h"
#include "lib/json.h"

#define QUESTIONS_PER_HOUR 10
#define QUESTION_MAX_CHARS 1000

static struct db_stmt question_ask_stmt =
    DB_STMT("question_ask",
            "SELECT outcome, body::text, retry_s FROM gb_question_ask($1, $2,"
            " $3, $4)",
            4);

static void questions_asked_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (conversation_reply_opened(r, res, "questions", QUESTIONS_PER_HOUR))
        return;
    req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
}

static void questions_create_run(struct req *r)
{
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id),
                            req_printf(r, "%lld", (long long)r->params[0]),
                            r->state, req_printf(r, "%d", QUESTIONS_PER_HOUR)};
    if (!req_exec(r, &question_ask_stmt, params, questions_asked_cb))
        return;
}

/* POST /v1/campaigns/{id}/questions {body} (customer) -> 201 question
 * (open) | 400 | 404 (no such campaign, or a draft) | 429 rate_limited */
void questions_create(struct req *r)
{
    char *body = req_json_text(r, QUESTION_MAX_CHARS);
    if (body == NULL)
        return; /* answered, and r is gone */
    r->state = body;
    idem_begin(r, questions_create_run);
}

/* ---------------------------------------------------------------- public */

/* One row with a null id when the campaign is public but has no (further)
 * answered public question; no row when it is not public. */
static struct db_stmt questions_public_stmt = DB_STMT_URGENT(
    "questions_public",
    "SELECT q.id, q.item FROM campaigns c"
    "  LEFT JOIN LATERAL gb_questions_public(c.id, $2, $3) q ON true"
    " WHERE c.id = $1 AND c.status <> 'draft'",
    3);

static void questions_public_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (PQgetisnull(pg, 0, 0)) {
        static const char empty[] = "{\"items\":[],\"next_after\":null}";
        req_reply_raw(r, 200, "application/json", empty, sizeof empty - 1);
        return;
    }
    req_reply_list(r, pg, *(int64_t *)r->state);
}

/* GET /v1/campaigns/{id}/questions?limit=&after= (no auth) -> {items:
 * [{id, body, asked_by, asked_at, answer, answered_at}], next_after},
 * newest first: after= takes next_after, the questions older than it |
 * 404 */
void questions_list_public(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                            after, limit1};
    if (!req_query_db_read(r, &questions_public_stmt, params,
                           questions_public_cb))
        return;
}

/* ---------------------------------------------------------------- mine */

static struct db_stmt questions_mine_stmt = DB_STMT(
    "questions_mine", "SELECT id, item FROM gb_my_questions($1, $2, $3)", 3);

/* GET /v1/me/questions (customer) -> {items: [question + campaign_title],
 * next_after}, answered or not */
void questions_list_mine(struct req *r)
{
    req_own_list(r, &questions_mine_stmt);
}

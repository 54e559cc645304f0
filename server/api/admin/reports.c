/*
 * reports.c - what staff read about the business rather than act on:
 * the event feed over the outbox and the reliability calibration report.
 *
 * Event feed. SMS, call-centre and webhook senders follow the outbox with
 * ?after=<the last id they received>. The order is the order in which rows
 * became safe to read, not the id order: ids from a sequence commit out of
 * order, so the feed only returns rows whose writing transaction is older
 * than every transaction still running, sorted by (transaction id, row
 * id). A row that commits later therefore always sorts after everything
 * the reader has seen: the feed never skips a row (functions/feed.sql explains
 * the horizon). next_after is the cursor for the next call: the last id
 * returned, or the caller's own after when nothing new is ready; "more"
 * says a full page is waiting. Owner and operator only: the items carry
 * customers' contacts, which finance does not otherwise see.
 *
 * Calibration report. p_complete at join against what happened, over the
 * distributor's succeeded and settled campaigns, in ten buckets with the
 * Brier score (gb_reliability_report in functions/reports.sql holds the rule).
 * Owner and operator, like the reliability look-up it evaluates.
 *
 * Both are single statements built in SQL; the handlers only page and
 * wrap.
 */
#include <string.h>

#include "api/admin/admin.h"
#include "http/reply.h"
#include "http/request.h"

static struct db_stmt feed_page =
    DB_STMT("reports_feed_page",
            "SELECT id, item FROM gb_outbox_feed($1, $2, $3::int)", 3);

static struct db_stmt reliability_report =
    DB_STMT("reports_reliability", "SELECT gb_reliability_report($1)::text", 1);

struct feed_state {
    int64_t limit;
    const char *after;
};

static void reports_events_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct feed_state *st = r->state;
    if (res->status == DB_SQL_ERROR && strcmp(res->sqlstate, "22023") == 0 &&
        res->message && strstr(res->message, "outbox_feed: bad after")) {
        req_reply_error(r, 400, "invalid_field", "after",
                        "after must be 0 or the id of an event this feed "
                        "returned.");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    int n = PQntuples(res->res);
    bool more = n > st->limit;
    if (more)
        n = (int)st->limit;
    cJSON *out = cJSON_CreateObject();
    cJSON *items = cJSON_AddArrayToObject(out, "items");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(items,
                             cJSON_CreateRaw(PQgetvalue(res->res, i, 1)));
    const char *next = n > 0 ? PQgetvalue(res->res, n - 1, 0) : st->after;
    cJSON_AddItemToObject(out, "next_after", cJSON_CreateRaw(next));
    cJSON_AddBoolToObject(out, "more", more);
    req_reply_json(r, 200, out);
}

/* GET /v1/admin/events?after=&limit= (owner, operator) -> {items,
 * next_after, more} | 400 invalid_field (after not a returned id) */
void reports_events(struct req *r)
{
    struct feed_state *st = req_alloc(r, sizeof *st);
    const char *limit1;
    if (!req_page(r, &limit1, &st->after, &st->limit))
        return;
    r->state = st;
    const char *params[] = {req_tenant_param(r), st->after, limit1};
    if (!req_query_db(r, &feed_page, params, reports_events_cb))
        return;
}

static void reports_reliability_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_row_json(r, 200, res->res, 0);
}

/* GET /v1/admin/reports/reliability (owner, operator) -> {buckets:
 * [{predicted_from, predicted_to, count, mean_predicted, observed_rate}],
 * brier_score, outcomes} */
void reports_reliability(struct req *r)
{
    const char *params[] = {req_tenant_param(r)};
    if (!req_query_db(r, &reliability_report, params, reports_reliability_cb))
        return;
}

/*
 * catalog.c - what a shopper sees of campaigns: the public list, one
 * campaign (with its progress) and the live stream of its progress. Drafts
 * and cancelled campaigns are not public (404); settled ones show as
 * succeeded.
 *
 * Campaigns are answered as engine/campaign_view.h answers them, the
 * public JSON with its progress built by SQL (gb_campaign_public_view). The
 * one-campaign view is served through the view cache (live/viewcache.h): the
 * hot view of a busy campaign costs one query per window, not one per shopper.
 * The streams are live/sse.c's; the handlers only hand the request over,
 * the many-campaign one with its list read (live/progress.h).
 */
#include <stdint.h>
#include <string.h>

#include "api/shop/shop.h"
#include "engine/campaign_view.h"
#include "http/reply.h"
#include "http/request.h"
#include "live/progress.h"
#include "live/sse.h"
#include "live/viewcache.h"

static const char *catalog_int_text(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

static struct db_stmt campaign_public_list =
    DB_STMT("campaign_public_list",
            "SELECT c.id, " CAMPAIGN_VIEW_COL(
                "gb_campaign_public_view",
                "c") "  FROM campaigns c"
                     " WHERE c.status = ANY ($1::text[]) AND c.id > $2"
                     " ORDER BY c.id LIMIT $3",
            3);

static struct db_stmt campaign_public_get = DB_STMT_URGENT(
    "campaign_public_get",
    "SELECT " CAMPAIGN_VIEW_COL(
        "gb_campaign_public_view",
        "c") "  FROM campaigns c"
             " WHERE c.id = $1"
             "   AND c.status IN ('scheduled', 'open', 'succeeded', 'failed',"
             "                    'settled')",
    1);

static void catalog_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    campaign_view_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/campaigns?status= (public: scheduled, open, succeeded, failed;
 * default all four; settled ones show as succeeded) -> {items, next_after}
 * | 400 invalid_field status */
void catalog_list(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    r->state = limit;
    if (!req_page(r, &limit1, &after, limit))
        return;
    const char *status = req_query(r, "status");
    const char *set = NULL;
    if (status == NULL)
        set = "{scheduled,open,succeeded,failed,settled}";
    else if (strcmp(status, "scheduled") == 0 || strcmp(status, "open") == 0 ||
             strcmp(status, "failed") == 0)
        set = req_printf(r, "{%s}", status);
    else if (strcmp(status, "succeeded") == 0)
        set = "{succeeded,settled}";
    if (set == NULL) {
        req_reply_error(r, 400, "invalid_field", "status",
                        "status must be one of scheduled, open, succeeded, "
                        "failed.");
        return;
    }
    const char *params[] = {set, after, limit1};
    if (!req_query_db_read(r, &campaign_public_list, params, catalog_list_cb))
        return;
}

/* Answers r with what the view query got (200: text; else an error). */
static void catalog_answer(struct req *r, const struct db_result *res,
                           const char *text)
{
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (text == NULL) {
        campaign_view_bad_data(r);
        return;
    }
    req_reply_raw(r, 200, "application/json", text, strlen(text));
}

static void catalog_get_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    char *text = NULL;
    if (res->status == DB_OK && PQntuples(res->res) == 1)
        text = campaign_view_text(r, res->res, 0, 0);
    /* the requests that waited for this query first: r's reply frees
     * what they wait on */
    viewcache_done(r, res, text, catalog_answer);
    catalog_answer(r, res, text);
}

/* GET /v1/campaigns/{id} (public) -> public campaign with progress | 404
 * (also for draft and cancelled) */
void catalog_get(struct req *r)
{
    const char *text;
    size_t len;
    switch (viewcache_lookup(r, r->params[0], &text, &len)) {
    case VIEWCACHE_HIT:
        req_reply_raw(r, 200, "application/json", text, len);
        return;
    case VIEWCACHE_JOINED:
        return; /* answered with the query in flight */
    case VIEWCACHE_MISS:
        break;
    }
    const char *params[] = {catalog_int_text(r, r->params[0])};
    if (!req_query_db_read(r, &campaign_public_get, params, catalog_get_cb))
        return; /* answered (and freed) */
    viewcache_sent(r);
}

/* GET /v1/campaigns/{id}/events (public) -> 200 text/event-stream of
 * "progress" and "status" events | 204 (the client saw the end) | 404 |
 * 503 (shutting down, too many streams) */
void catalog_events(struct req *r)
{
    sse_open(r, r->params[0]);
}

/* GET /v1/campaigns/events?ids=7,9,12 (public; 1 to 50 campaigns) ->
 * 200 text/event-stream: the state of each, then one event per change of
 * any, the id a cursor of the whole stream | 204 (the client saw every
 * end) | 400 invalid_field ids | 404 naming a campaign that is not public |
 * 503 (shutting down, too many streams) */
void catalog_events_many(struct req *r)
{
    int64_t ids[PROGRESS_MAX_IDS];
    int n;
    switch (
        progress_ids_parse(req_query(r, "ids"), ids, PROGRESS_MAX_IDS, &n)) {
    case PROGRESS_IDS_OK:
        sse_open_many(r, ids, n);
        return;
    case PROGRESS_IDS_TOO_MANY:
        req_reply_error(r, 400, "invalid_field", "ids",
                        "ids lists at most %d campaigns.", PROGRESS_MAX_IDS);
        return;
    case PROGRESS_IDS_MALFORMED:
        break;
    }
    req_reply_error(r, 400, "invalid_field", "ids",
                    "ids must be campaign ids separated by commas.");
}

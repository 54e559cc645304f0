/*
 * settlements.c - finance reads settlements (owner, finance).
 *
 * Settlements are written by the scheduler (gb_settle_due in
 * schema/functions/settle.sql); there is no endpoint that triggers one. The
 * JSON is built by SQL (gb_settlement_json, gb_settlement_full_json) so ids and
 * amounts reach the client exactly; this file only validates the query and
 * scopes every statement to the caller's distributor ($1), so another
 * distributor's campaign ids answer 404.
 *
 * Period of the list (the documents are silent): `from` inclusive, `to`
 * exclusive, on settled_at, both RFC 3339 with an offset and both
 * optional, so consecutive months [m, m+1) never share or lose a
 * settlement. Pages follow the list convention (?limit=, ?after= on
 * campaign_id, ascending). A malformed bound is 400 invalid_field naming
 * it; from >= to is an empty list, not an error. The bounds are parsed
 * in C by period.c, for the list and the CSV export alike, and reach SQL
 * as timestamptz parameters in UTC.
 *
 * A settlement answers two totals (gb_settlement_json): "totals", the
 * figures now (after-sales adjustments and the live ledger included), and
 * "settled_totals", the figures at settled_at. The adjustments of a period
 * (GET /v1/admin/settlement-adjustments) are dated at their approval, as
 * the CSV export dates them, so that a period's settlements at settlement
 * plus its adjustments are exactly the rows of that period's CSV.
 */
#include "api/finance/finance.h"
#include "api/finance/period.h"
#include "http/reply.h"
#include "http/request.h"

static struct db_stmt settlement_list = DB_STMT(
    "settlement_list",
    "SELECT s.campaign_id, gb_settlement_json(s)::text FROM settlements s"
    " WHERE s.distributor_id = $1 AND s.campaign_id > $2"
    "   AND ($4::timestamptz IS NULL OR s.settled_at >= $4::timestamptz)"
    "   AND ($5::timestamptz IS NULL OR s.settled_at < $5::timestamptz)"
    " ORDER BY s.campaign_id LIMIT $3",
    5);

static struct db_stmt settlement_get =
    DB_STMT("settlement_get",
            "SELECT gb_settlement_full_json(s)::text FROM settlements s"
            " WHERE s.distributor_id = $1 AND s.campaign_id = $2",
            2);

struct settlement_list_state {
    int64_t limit;
};

static void settlements_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct settlement_list_state *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, st->limit);
}

/* GET /v1/admin/settlements?from=&to=&limit=&after= (owner, finance) ->
 * {items, next_after} | 400 invalid_field */
void settlements_list(struct req *r)
{
    struct settlement_list_state *st = req_alloc(r, sizeof *st);
    const char *limit1, *after, *from, *to;
    r->state = st;
    if (!req_page(r, &limit1, &after, &st->limit) ||
        !period_bound(r, "from", &from, NULL) ||
        !period_bound(r, "to", &to, NULL))
        return;
    const char *params[] = {req_tenant_param(r), after, limit1, from, to};
    if (!req_query_db(r, &settlement_list, params, settlements_list_cb))
        return;
}

static void settlements_got_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such settlement.");
        return;
    }
    req_reply_row_json(r, 200, res->res, 0);
}

/* GET /v1/admin/settlements/{campaign_id} (owner, finance) -> {campaign_id,
 * settled_at, unit_price_cents, lines, totals} | 404 */
void settlements_get(struct req *r)
{
    const char *params[] = {req_tenant_param(r),
                            req_printf(r, "%lld", (long long)r->params[0])};
    if (!req_query_db(r, &settlement_get, params, settlements_got_cb))
        return;
}

static struct db_stmt adjustment_list = DB_STMT(
    "settlement_adjustment_list",
    "SELECT a.id, gb_settlement_adjustment_item_json(a)::text"
    "  FROM settlement_adjustments a"
    " WHERE a.distributor_id = $1 AND a.id > $2"
    "   AND ($4::timestamptz IS NULL OR a.adjusted_at >= $4::timestamptz)"
    "   AND ($5::timestamptz IS NULL OR a.adjusted_at < $5::timestamptz)"
    " ORDER BY a.id LIMIT $3",
    5);

/* GET /v1/admin/settlement-adjustments?from=&to=&limit=&after= (owner,
 * finance) -> {items, next_after} | 400 invalid_field: the adjustment
 * lines approved in the period, each with its campaign's title and
 * settlement date */
void settlements_adjustments(struct req *r)
{
    struct settlement_list_state *st = req_alloc(r, sizeof *st);
    const char *limit1, *after, *from, *to;
    r->state = st;
    if (!req_page(r, &limit1, &after, &st->limit) ||
        !period_bound(r, "from", &from, NULL) ||
        !period_bound(r, "to", &to, NULL))
        return;
    const char *params[] = {req_tenant_param(r), after, limit1, from, to};
    if (!req_query_db(r, &adjustment_list, params, settlements_list_cb))
        return;
}

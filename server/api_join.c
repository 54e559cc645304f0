/*
 * api_join.c - shoppers join and withdraw; participations for shoppers and
 * staff.
 *
 * A join is two statements. The first reads the campaign (tiers, deposit
 * policy, limit, version), the customer's history aggregated per kind and
 * the VIP level the campaign's distributor gave them; C then computes the
 * score (reliability module) and the deposit (pricing module). The second
 * decides everything in one statement: it locks the campaign row, checks
 * that the campaign is open by the database clock, the per-customer limit,
 * the minimum score, that the customer holds no live participation and
 * that the units fit, and only then inserts the participation and its
 * outbox rows. The schema refuses an oversell by itself as well (the
 * counter trigger and campaigns_no_oversell, participations_one_live): a
 * violation of either is answered with the same 409 as the check. When the
 * campaign's version moved between the two statements (staff edited it),
 * the join starts over once from the read, so the deposit is never priced
 * from tiers or a policy that no longer hold.
 *
 * That is the path of a join with an Idempotency-Key: its answer is stored
 * in the transaction of its own insert, so it keeps a transaction of its
 * own. Every other join is coalesced with the concurrent joins of its
 * campaign (joinbatch.c, gb_join_batches in schema/functions/join.sql): the
 * same reads and the same checks in the same order, decided for a whole batch
 * in one transaction; api_join_batch_reply answers each join of it.
 *
 * A withdrawal is gb_participation_withdraw (functions/participations.sql): one
 * transaction that locks the campaign then the participation, as the close
 * does.
 *
 * unit_price_cents of a participation is the final price once the campaign
 * closed (SQL); while it is open the current price, computed here from the
 * tiers and the live counters with the pricing module and written into the
 * JSON that SQL built (gb_participation_json puts that key last, null).
 *
 * History: a customer's events of all distributors count (a default
 * anywhere is a signal), with the VIP prior of the distributor at hand.
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_join.h"
#include "http.h"
#include "idem.h"
#include "joinbatch.h"
#include "json.h"
#include "pricing.h"
#include "reliability.h"

/* Columns of the history (gb_customer_history): count, weight per kind. */
static const enum reliability_event_kind join_history_kinds[] = {
    RELIABILITY_COMPLETED, RELIABILITY_WITHDRAWN, RELIABILITY_DEFAULTED,
    RELIABILITY_DEPOSIT_EXPIRED};

const char *join_half_life_param(struct req *r)
{
    return req_printf(r, "%.17g", r->srv->cfg->reliability.half_life_days);
}

bool join_history_score(struct req *r, const PGresult *res, int row, int col,
                        int vip_level, struct reliability_result *out,
                        int64_t *counts)
{
    struct reliability_tally tally;
    reliability_tally_init(&tally);
    for (int i = 0; i < RELIABILITY_EVENT_KINDS; i++) {
        int64_t n = strtoll(PQgetvalue(res, row, col + 2 * i), NULL, 10);
        double w = strtod(PQgetvalue(res, row, col + 2 * i + 1), NULL);
        if (w > (double)n) /* rounding of the sum; no event weighs > 1 */
            w = (double)n;
        if (!reliability_tally_add_group(&tally, join_history_kinds[i], n, w))
            return false;
        if (counts)
            counts[join_history_kinds[i]] = n;
    }
    return reliability_score_tally(&r->srv->cfg->reliability, vip_level, &tally,
                                   out);
}

/* Reads a tiers array (jsonb text from the campaign) into tiers[]; false
 * when it is not a valid ladder. */
bool join_parse_tiers(const char *text, struct pricing_tier *tiers, size_t *n)
{
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    bool ok = arr != NULL && cJSON_IsArray(arr);
    size_t i = 0;
    const cJSON *it;
    if (ok) {
        cJSON_ArrayForEach(it, arr)
        {
            if (i >= PRICING_MAX_TIERS ||
                !json_item_int(json_get(it, "threshold"), 1, JSON_MAX_SAFE_INT,
                               &tiers[i].threshold) ||
                !json_item_int(json_get(it, "unit_price_cents"), 1,
                               JSON_MAX_SAFE_INT, &tiers[i].unit_price_cents)) {
                ok = false;
                break;
            }
            i++;
        }
    }
    cJSON_Delete(arr);
    *n = i;
    return ok && pricing_tiers_validate(tiers, i, INT64_MAX, NULL) ==
                     PRICING_TIERS_OK;
}

/* Reads a deposit policy (jsonb text) into bands[]; false when invalid. */
bool join_parse_bands(const char *text, struct pricing_deposit_band *bands,
                      size_t *n)
{
    struct json_parse_error err;
    cJSON *arr = json_parse_strict(text, strlen(text), &err);
    bool ok = arr != NULL && cJSON_IsArray(arr);
    size_t i = 0;
    const cJSON *it;
    if (ok) {
        cJSON_ArrayForEach(it, arr)
        {
            if (i >= PRICING_MAX_BANDS ||
                !json_item_int(json_get(it, "min_score"), 0, 100,
                               &bands[i].min_score) ||
                !json_item_int(json_get(it, "deposit_percent"), 0, 100,
                               &bands[i].deposit_percent)) {
                ok = false;
                break;
            }
            i++;
        }
    }
    cJSON_Delete(arr);
    *n = i;
    return ok && pricing_bands_validate(bands, i, NULL) == PRICING_BANDS_OK;
}

/* The participation JSON text at (row, col) of res, followed by the
 * columns live_price (bool), tiers, tier_basis, live_participants,
 * live_quantity. While live_price, the current unit price at the live
 * counters plus (add_participants, add_quantity) replaces the trailing
 * null. extra (may be NULL) is appended as more keys, e.g. "\"score\":80".
 * NULL when the stored data cannot be read (the caller answers 500). */
static char *join_participation_text(struct req *r, const PGresult *res,
                                     int row, int col, int64_t add_participants,
                                     int64_t add_quantity, const char *extra)
{
    const char *json = PQgetvalue(res, row, col);
    size_t len = strlen(json);
    char *out;
    if (strcmp(PQgetvalue(res, row, col + 1), "t") == 0) {
        static const char tail[] = "\"unit_price_cents\" : null}";
        size_t tl = sizeof tail - 1;
        struct pricing_tier tiers[PRICING_MAX_TIERS];
        size_t n;
        enum pricing_basis basis;
        if (len < tl || strcmp(json + len - tl, tail) != 0 ||
            !join_parse_tiers(PQgetvalue(res, row, col + 2), tiers, &n) ||
            !pricing_basis_from_name(PQgetvalue(res, row, col + 3), &basis))
            return NULL;
        int64_t participants =
            strtoll(PQgetvalue(res, row, col + 4), NULL, 10) + add_participants;
        int64_t quantity =
            strtoll(PQgetvalue(res, row, col + 5), NULL, 10) + add_quantity;
        if (participants < 0 || quantity < 0)
            return NULL;
        int64_t price = pricing_unit_price(
            tiers, n, pricing_count(basis, participants, quantity));
        out =
            req_printf(r, "%.*s%lld}", (int)(len - 5), json, (long long)price);
    } else {
        out = req_strdup(r, json);
    }
    if (extra != NULL) {
        len = strlen(out);
        out = req_printf(r, "%.*s, %s}", (int)(len - 1), out, extra);
    }
    return out;
}

static void join_reply_unreadable(struct req *r)
{
    req_reply_error(r, 500, "internal", NULL,
                    "The campaign's stored tiers cannot be read.");
}

/* ---------------------------------------------------------------- join */

struct join_state {
    int64_t campaign_id;
    int64_t quantity;
    int attempts;
    const char *version;
    struct pricing_tier tiers[PRICING_MAX_TIERS];
    size_t ntiers;
    struct reliability_result score;
    int64_t deposit_percent, deposit_cents;
};

static struct db_stmt join_read =
    DB_STMT("join_read",
            "SELECT c.status, c.tiers::text, c.deposit_policy::text, c.version,"
            "       c.per_customer_limit, coalesce(v.vip_level, 0), h.*"
            "  FROM campaigns c"
            "  LEFT JOIN customer_vip v ON v.distributor_id = c.distributor_id"
            "        AND v.customer_id = $2"
            " CROSS JOIN gb_customer_history($2, $3) h"
            " WHERE c.id = $1 AND c.status NOT IN ('draft', 'cancelled')",
            3);

static struct db_stmt join_insert = DB_STMT(
    "join_insert",
    "WITH c AS MATERIALIZED ("
    "  SELECT id, distributor_id, status, starts_at, ends_at,"
    "         per_customer_limit, max_quantity, min_score, live_participants,"
    "         live_quantity, version, deposit_window_seconds, tiers, tier_basis"
    "    FROM campaigns WHERE id = $1 FOR UPDATE),"
    " d AS MATERIALIZED ("
    "  SELECT c.*, CASE"
    "    WHEN c.version <> $4::int THEN 'changed'"
    "    WHEN c.status <> 'open' OR now() < c.starts_at OR now() >= c.ends_at"
    "      THEN 'campaign_not_open'"
    "    WHEN $3::bigint > c.per_customer_limit THEN 'per_customer_limit'"
    "    WHEN $5::int < c.min_score THEN 'reliability_too_low'"
    "    WHEN EXISTS (SELECT 1 FROM participations x"
    "                  WHERE x.campaign_id = c.id AND x.customer_id = $2"
    "                    AND x.status IN ('pending_deposit', 'active'))"
    "      THEN 'already_joined'"
    "    WHEN c.live_quantity + $3::bigint > c.max_quantity"
    "      THEN 'campaign_full'"
    "    END AS reason FROM c),"
    " p AS ("
    "  INSERT INTO participations (distributor_id, campaign_id, customer_id,"
    "         quantity, status, score_at_join, p_complete_at_join,"
    "         deposit_percent, deposit_cents, deposit_due_by)"
    "  SELECT d.distributor_id, d.id, $2, $3,"
    "         CASE WHEN $8::bigint = 0 THEN 'active' ELSE 'pending_deposit' "
    "END,"
    "         $5, $6, $7, $8,"
    "         CASE WHEN $8::bigint > 0"
    "           THEN now() + make_interval(secs => d.deposit_window_seconds)"
    "         END"
    "    FROM d WHERE d.reason IS NULL RETURNING *),"
    " o AS ("
    "  INSERT INTO outbox (distributor_id, kind, customer_id, campaign_id,"
    "                      participation_id, payload)"
    "  SELECT p.distributor_id, k.kind, p.customer_id, p.campaign_id, p.id,"
    "         jsonb_build_object('quantity', p.quantity,"
    "                            'deposit_cents', p.deposit_cents,"
    "                            'deposit_due_by', gb_ts(p.deposit_due_by))"
    "    FROM p CROSS JOIN (VALUES ('joined'), ('deposit_due')) k (kind)"
    "   WHERE k.kind = 'joined' OR p.deposit_cents > 0)"
    " SELECT d.reason, (SELECT gb_participation_json(p)::text FROM p), true,"
    "        d.tiers::text, d.tier_basis, d.live_participants, d.live_quantity"
    "   FROM d",
    8);

static void join_read_start(struct req *r);

static void join_reply_reason(struct req *r, const char *reason)
{
    struct join_state *st = r->state;
    if (st == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
        return;
    }
    if (strcmp(reason, "campaign_not_open") == 0)
        req_reply_error(r, 409, "campaign_not_open", NULL,
                        "The campaign is not open for joining.");
    else if (strcmp(reason, "per_customer_limit") == 0)
        req_reply_error(r, 409, "per_customer_limit", "quantity",
                        "The quantity is over the campaign's per-customer "
                        "limit.");
    else if (strcmp(reason, "reliability_too_low") == 0)
        req_reply_error(r, 403, "reliability_too_low", NULL,
                        "Your reliability score %d is below the campaign's "
                        "minimum.",
                        st->score.score);
    else if (strcmp(reason, "already_joined") == 0)
        req_reply_error(r, 409, "already_joined", NULL,
                        "You already take part in this campaign.");
    else if (strcmp(reason, "campaign_full") == 0)
        req_reply_error(r, 409, "campaign_full", "quantity",
                        "Not enough units are left for this quantity.");
    else
        req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
}

static void join_inserted_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct join_state *st = r->state;
    if (db_is_unique_violation(res)) { /* participations_one_live */
        join_reply_reason(r, "already_joined");
        return;
    }
    if (res->status == DB_SQL_ERROR && strcmp(res->sqlstate, "23514") == 0 &&
        res->message && strstr(res->message, "campaigns_no_oversell")) {
        join_reply_reason(r, "campaign_full");
        return;
    }
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (!PQgetisnull(res->res, 0, 0)) {
        const char *reason = PQgetvalue(res->res, 0, 0);
        if (strcmp(reason, "changed") == 0) {
            if (st->attempts < 2) {
                join_read_start(r);
                return;
            }
            req_add_header(r, "Retry-After", "1");
            req_reply_error(r, 503, "unavailable", NULL,
                            "The campaign changed while joining; retry.");
            return;
        }
        join_reply_reason(r, reason);
        return;
    }
    char *text =
        join_participation_text(r, res->res, 0, 1, 1, st->quantity, NULL);
    if (text == NULL) {
        join_reply_unreadable(r);
        return;
    }
    r->srv->joins_accepted++;
    r->srv->join_units_accepted += (uint64_t)st->quantity;
    idem_reply_text(r, 201, text);
}

static void join_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct join_state *st = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    if (PQntuples(pg) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (strcmp(PQgetvalue(pg, 0, 0), "open") != 0) {
        join_reply_reason(r, "campaign_not_open");
        return;
    }
    struct pricing_deposit_band bands[PRICING_MAX_BANDS];
    size_t nbands;
    if (!join_parse_tiers(PQgetvalue(pg, 0, 1), st->tiers, &st->ntiers) ||
        !join_parse_bands(PQgetvalue(pg, 0, 2), bands, &nbands)) {
        join_reply_unreadable(r);
        return;
    }
    st->version = req_strdup(r, PQgetvalue(pg, 0, 3));
    if (st->quantity > strtoll(PQgetvalue(pg, 0, 4), NULL, 10)) {
        join_reply_reason(r, "per_customer_limit");
        return;
    }
    int vip = atoi(PQgetvalue(pg, 0, 5));
    if (!join_history_score(r, pg, 0, 6, vip, &st->score, NULL) ||
        !pricing_deposit_for_score(st->tiers, st->ntiers, bands, nbands,
                                   st->score.score, st->quantity,
                                   &st->deposit_cents, &st->deposit_percent)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The deposit could not be computed.");
        return;
    }
    const char *params[] = {
        req_printf(r, "%lld", (long long)st->campaign_id),
        req_printf(r, "%lld", (long long)r->who.id),
        req_printf(r, "%lld", (long long)st->quantity),
        st->version,
        req_printf(r, "%d", st->score.score),
        req_printf(r, "%.17g", st->score.p_complete),
        req_printf(r, "%lld", (long long)st->deposit_percent),
        req_printf(r, "%lld", (long long)st->deposit_cents)};
    if (!req_exec(r, &join_insert, params, join_inserted_cb))
        return;
}

static void join_read_start(struct req *r)
{
    struct join_state *st = r->state;
    st->attempts++;
    const char *params[] = {req_printf(r, "%lld", (long long)st->campaign_id),
                            req_printf(r, "%lld", (long long)r->who.id),
                            join_half_life_param(r)};
    if (!req_exec(r, &join_read, params, join_read_cb))
        return;
}

void api_join_batch_reply(struct req *r, const struct joinbatch_outcome *o)
{
    struct join_state *st = r->state;
    st->score.score = o->score;
    switch (o->status) {
    case JOINBATCH_ACCEPTED: {
        char *text = join_participation_text(r, o->res, o->row, 2, 0, 0, NULL);
        if (text == NULL) {
            join_reply_unreadable(r);
            return;
        }
        r->srv->joins_accepted++;
        r->srv->join_units_accepted += (uint64_t)st->quantity;
        req_reply_raw(r, 201, "application/json", text, strlen(text));
        return;
    }
    case JOINBATCH_REFUSED:
        join_reply_reason(r, o->reason);
        return;
    case JOINBATCH_NOT_FOUND:
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    case JOINBATCH_CHANGED:
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The campaign changed while joining; retry.");
        return;
    case JOINBATCH_UNREADABLE:
        join_reply_unreadable(r);
        return;
    case JOINBATCH_INTERNAL:
        req_reply_error(r, 500, "internal", NULL,
                        "The deposit could not be computed.");
        return;
    case JOINBATCH_DB_ERROR:
        req_reply_db_error(r, o->db);
        return;
    }
    req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
}

/* POST /v1/campaigns/{id}/participations {quantity} (customer) -> 201
 * participation | 404 | 409 campaign_not_open, per_customer_limit,
 * already_joined, campaign_full | 403 reliability_too_low */
void api_join_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct join_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    st->campaign_id = r->params[0];
    r->state = st;
    static const char *const fields[] = {"quantity", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "quantity", true, 1, JSON_MAX_SAFE_INT, &st->quantity,
                NULL);
    if (!req_fields_ok(r, &jf))
        return;
    if (req_header(r, "Idempotency-Key") == NULL && r->srv->joins != NULL)
        joinbatch_submit(r->srv->joins, r, st->campaign_id, st->quantity);
    else
        idem_begin(r, join_read_start); /* stored answers: one at a time */
}

/* ---------------------------------------------------------------- reads */

#define JOIN_PRICE_COLS                                           \
    " c.status IN ('scheduled', 'open') AND c.closed_at IS NULL," \
    " c.tiers::text, c.tier_basis, c.live_participants, c.live_quantity"

static struct db_stmt part_get =
    DB_STMT("participation_get",
            "SELECT gb_participation_json(p)::text," JOIN_PRICE_COLS
            "  FROM participations p JOIN campaigns c ON c.id = p.campaign_id"
            " WHERE p.id = $1 AND p.customer_id = $2",
            2);

static struct db_stmt part_list_mine =
    DB_STMT("participation_list_mine",
            "SELECT p.id, gb_participation_json(p)::text," JOIN_PRICE_COLS
            "  FROM participations p JOIN campaigns c ON c.id = p.campaign_id"
            " WHERE p.customer_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
            3);

/* Columns: id, participation JSON, the price columns, then (staff) the VIP
 * level and the history; one row with a null id when the campaign has no
 * participation after $2. */
static struct db_stmt part_list_campaign = DB_STMT(
    "participation_list_campaign",
    "SELECT p.id, gb_participation_json(p)::text," JOIN_PRICE_COLS
    ",      coalesce(v.vip_level, 0), h.*"
    "  FROM campaigns c"
    "  LEFT JOIN participations p ON p.campaign_id = c.id AND p.id > $2"
    "  LEFT JOIN customer_vip v ON v.distributor_id = c.distributor_id"
    "        AND v.customer_id = p.customer_id"
    "  LEFT JOIN LATERAL gb_customer_history(p.customer_id, $5) h ON true"
    " WHERE c.distributor_id = $1 AND c.id = $4"
    " ORDER BY p.id LIMIT $3",
    5);

static void part_get_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    if (PQntuples(res->res) != 1) {
        req_reply_error(r, 404, "not_found", NULL, "No such participation.");
        return;
    }
    char *text = join_participation_text(r, res->res, 0, 0, 0, 0, NULL);
    if (text == NULL) {
        join_reply_unreadable(r);
        return;
    }
    idem_reply_text(r, 200, text);
}

/* GET /v1/participations/{id} (customer, own only) -> participation | 404 */
void api_participation_get(struct req *r)
{
    const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->who.id)};
    if (!req_query_db(r, &part_get, params, part_get_cb))
        return;
}

struct join_list {
    int64_t limit;
    bool staff; /* rows carry the history: add "score" */
};

static void part_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct join_list *jl = r->state;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    PGresult *pg = res->res;
    int n = PQntuples(pg);
    if (jl->staff && n == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    }
    if (n > 0 && PQgetisnull(pg, 0, 0))
        n = 0; /* a campaign without (further) participations */
    bool more = n > jl->limit;
    if (more)
        n = (int)jl->limit;
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        req_reply_error(r, 500, "internal", NULL, "Out of memory.");
        return;
    }
    evbuffer_add_printf(b, "{\"items\":[");
    for (int i = 0; i < n; i++) {
        const char *extra = NULL;
        if (jl->staff) {
            struct reliability_result score;
            if (!join_history_score(r, pg, i, 8, atoi(PQgetvalue(pg, i, 7)),
                                    &score, NULL)) {
                evbuffer_free(b);
                join_reply_unreadable(r);
                return;
            }
            extra = req_printf(r, "\"score\" : %d", score.score);
        }
        char *text = join_participation_text(r, pg, i, 1, 0, 0, extra);
        if (text == NULL) {
            evbuffer_free(b);
            join_reply_unreadable(r);
            return;
        }
        evbuffer_add_printf(b, "%s%s", i ? "," : "", text);
    }
    if (more)
        evbuffer_add_printf(b, "],\"next_after\":%s}",
                            PQgetvalue(pg, n - 1, 0));
    else
        evbuffer_add_printf(b, "],\"next_after\":null}");
    size_t len = evbuffer_get_length(b);
    char *text = req_alloc(r, len + 1);
    evbuffer_remove(b, text, len);
    text[len] = '\0';
    evbuffer_free(b);
    req_reply_raw(r, 200, "application/json", text, len);
}

/* GET /v1/me/participations (customer) -> {items, next_after} */
void api_participation_list_mine(struct req *r)
{
    const char *limit1, *after;
    struct join_list *jl = req_alloc(r, sizeof *jl);
    memset(jl, 0, sizeof *jl);
    if (!req_page(r, &limit1, &after, &jl->limit))
        return;
    r->state = jl;
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id), after,
                            limit1};
    if (!req_query_db(r, &part_list_mine, params, part_list_cb))
        return;
}

/* GET /v1/admin/campaigns/{id}/participations (owner, operator, finance)
 * -> {items: [participation + "score"], next_after} | 404 */
void api_campaign_participations(struct req *r)
{
    const char *limit1, *after;
    struct join_list *jl = req_alloc(r, sizeof *jl);
    memset(jl, 0, sizeof *jl);
    jl->staff = true;
    if (!req_page(r, &limit1, &after, &jl->limit))
        return;
    r->state = jl;
    const char *params[] = {req_tenant_param(r), after, limit1,
                            req_printf(r, "%lld", (long long)r->params[0]),
                            join_half_life_param(r)};
    if (!req_query_db(r, &part_list_campaign, params, part_list_cb))
        return;
}

/* ---------------------------------------------------------------- withdraw */

static struct db_stmt withdraw_stmt = DB_STMT(
    "participation_withdraw", "SELECT gb_participation_withdraw($1, $2)", 2);

static void withdraw_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such participation.");
    } else if (strcmp(outcome, "campaign_not_open") == 0) {
        req_reply_error(r, 409, "campaign_not_open", NULL,
                        "The campaign is no longer open: withdrawing is "
                        "over.");
    } else if (strcmp(outcome, "invalid_state") == 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "Only a pending or active participation can be "
                        "withdrawn.");
    } else {
        const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                                req_printf(r, "%lld", (long long)r->who.id)};
        if (!req_exec(r, &part_get, params, part_get_cb))
            return;
    }
}

static void withdraw_run(struct req *r)
{
    const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->who.id)};
    if (!req_exec(r, &withdraw_stmt, params, withdraw_cb))
        return;
}

/* POST /v1/participations/{id}/withdraw (customer, own only) -> 200
 * participation (withdrawn) | 404 | 409 campaign_not_open, invalid_state */
void api_participation_withdraw(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, withdraw_run);
}

/*
 * api_join.c - shoppers join and withdraw; participations for shoppers and
 * staff. A thin HTTP adapter over the join decision (joinengine.h).
 *
 * Every join goes the same read, the same C pricing and the same SQL
 * decision. A join without an Idempotency-Key is coalesced with the
 * concurrent joins of its campaign (joinbatch.c). A join with one sends a
 * batch of one through the same two statements inside the transaction
 * that claims its key (idem.c), so the stored answer commits with the
 * insert; a campaign edited between the read and the decision is read
 * again once, then answered 503. api_join_batch_reply answers both.
 *
 * A withdrawal is gb_participation_withdraw: one transaction that locks
 * the campaign then the participation, as the close does.
 *
 * unit_price_cents of a participation is the final price once the campaign
 * closed (SQL); while it is open the current price, computed here from the
 * tiers and the live counters with the pricing module and written into the
 * JSON that SQL built (gb_participation_json puts that key last, null).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_join.h"
#include "app.h"
#include "domain/pricing.h"
#include "domain/reliability.h"
#include "engine/idem.h"
#include "engine/joinbatch.h"
#include "engine/joinengine.h"
#include "http/request.h"
#include "lib/json.h"

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
            !joinengine_parse_tiers(PQgetvalue(res, row, col + 2), tiers, &n) ||
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
    int attempts;
    struct joinengine_join j;
};

static void join_reply_reason(struct req *r, const char *reason, int score)
{
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
                        score);
    else if (strcmp(reason, "already_joined") == 0)
        req_reply_error(r, 409, "already_joined", NULL,
                        "You already take part in this campaign.");
    else if (strcmp(reason, "campaign_full") == 0)
        req_reply_error(r, 409, "campaign_full", "quantity",
                        "Not enough units are left for this quantity.");
    else if (strcmp(reason, "pickup_point_required") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This campaign is picked up: name one of its "
                        "pickup_points.");
    else if (strcmp(reason, "pickup_point_invalid") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This pickup point is not one of the campaign's.");
    else if (strcmp(reason, "pickup_point_not_taken") == 0)
        req_reply_error(r, 400, "invalid_field", "pickup_point_id",
                        "This campaign is delivered: it takes no pickup "
                        "point.");
    else if (strcmp(reason, "address_not_taken") == 0)
        req_reply_error(r, 400, "invalid_field", "address",
                        "This campaign is picked up: it takes no address.");
    else if (strcmp(reason, "pending_full") == 0) /* the bound on deposits */
        req_reply_error(r, 409, "campaign_full", "quantity",
                        "The units this campaign holds for deposits not yet "
                        "paid are taken; retry once deposits are paid or "
                        "expire.");
    else
        req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
}

void api_join_batch_reply(struct req *r, const struct joinengine_outcome *o)
{
    struct join_state *st = r->state;
    switch (o->status) {
    case JOINENGINE_ACCEPTED: {
        char *text = join_participation_text(
            r, o->res, o->row, JOINENGINE_DECIDE_JSON, 0, 0, NULL);
        if (text == NULL) {
            join_reply_unreadable(r);
            return;
        }
        app_of(r)->joins_accepted++;
        app_of(r)->join_units_accepted += (uint64_t)st->j.quantity;
        idem_reply_text(r, 201, text); /* stored with a key, then sent */
        return;
    }
    case JOINENGINE_REFUSED:
        join_reply_reason(r, o->reason, o->score);
        return;
    case JOINENGINE_NOT_FOUND:
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
        return;
    case JOINENGINE_CHANGED:
        req_add_header(r, "Retry-After", "1");
        req_reply_error(r, 503, "unavailable", NULL,
                        "The campaign changed while joining; retry.");
        return;
    case JOINENGINE_UNREADABLE:
        join_reply_unreadable(r);
        return;
    case JOINENGINE_INTERNAL:
        req_reply_error(r, 500, "internal", NULL,
                        "The deposit could not be computed.");
        return;
    case JOINENGINE_DB_ERROR:
        req_reply_db_error(r, o->db);
        return;
    }
    req_reply_error(r, 500, "internal", NULL, "Unknown join outcome.");
}

/* The keyed join: a batch of one on the idempotency transaction. */
static void join_keyed_read(struct req *r);

static void join_keyed_decided_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct join_state *st = r->state;
    struct joinengine_outcome o = {.status = JOINENGINE_INTERNAL,
                                   .score = st->j.score.score};
    if (res->status != DB_OK) {
        o.reason = joinengine_error_reason(res);
        o.status = o.reason ? JOINENGINE_REFUSED : JOINENGINE_DB_ERROR;
        o.db = res;
    } else if (PQntuples(res->res) == 1) {
        joinengine_outcome_row(res->res, 0, &o);
    }
    if (o.status == JOINENGINE_CHANGED && st->attempts < 2) {
        join_keyed_read(r); /* staff edited it since the read */
        return;
    }
    api_join_batch_reply(r, &o);
}

static void join_keyed_read_cb(const struct db_result *res, void *arg)
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
    struct joinengine_campaign c;
    if (!joinengine_campaign_read(pg, 0, &c)) {
        join_reply_unreadable(r);
        return;
    }
    if (!joinengine_price(&r->srv->cfg->reliability, &c, pg, 0, &st->j)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The deposit could not be computed.");
        return;
    }
    struct evbuffer *e[JOINENGINE_DECIDE_ARRAYS];
    char *arrays[JOINENGINE_DECIDE_ARRAYS];
    const char *params[JOINENGINE_DECIDE_ARRAYS];
    bool first = true;
    joinengine_arrays_open(e, JOINENGINE_DECIDE_ARRAYS);
    joinengine_decide_add(e, &st->j, &first);
    joinengine_arrays_close(e, arrays, JOINENGINE_DECIDE_ARRAYS);
    for (int f = 0; f < JOINENGINE_DECIDE_ARRAYS; f++) {
        params[f] = req_strdup(r, arrays[f]);
        free(arrays[f]);
    }
    if (!req_exec(r, &joinengine_decide_keyed_stmt, params,
                  join_keyed_decided_cb))
        return;
}

static void join_keyed_read(struct req *r)
{
    struct join_state *st = r->state;
    st->attempts++;
    const char *params[] = {req_printf(r, "{%lld}", (long long)st->j.campaign),
                            req_printf(r, "{%lld}", (long long)st->j.customer),
                            joinengine_half_life_param(r)};
    if (!req_exec(r, &joinengine_read_stmt, params, join_keyed_read_cb))
        return;
}

/* POST /v1/campaigns/{id}/participations {quantity, pickup_point_id?,
 * address?} (customer) -> 201 participation | 400 invalid_field (a pickup
 * campaign's point missing or not its own, the other kind's field) | 404 |
 * 409 campaign_not_open, per_customer_limit, already_joined,
 * campaign_full | 403 reliability_too_low */
void api_join_create(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct join_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    st->j.campaign = r->params[0];
    st->j.customer = r->who.id;
    r->state = st;
    static const char *const fields[] = {"quantity", "pickup_point_id",
                                         "address", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "quantity", true, 1, JSON_MAX_SAFE_INT, &st->j.quantity,
                NULL);
    jfields_int(&jf, "pickup_point_id", false, 1, JSON_MAX_SAFE_INT,
                &st->j.pickup_point, NULL);
    const cJSON *address = jfields_object(&jf, "address", false);
    if (address != NULL && jfields_ok(&jf))
        st->j.address = api_address_read(r, &jf, address);
    if (!req_fields_ok(r, &jf))
        return;
    if (req_header(r, "Idempotency-Key") == NULL && app_of(r)->joins != NULL)
        joinbatch_submit(app_of(r)->joins, r, st->j.campaign, st->j.quantity,
                         st->j.pickup_point, st->j.address);
    else
        idem_begin(r, join_keyed_read); /* stored answers: one at a time */
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
            if (!joinengine_history_score(&r->srv->cfg->reliability, pg, i, 8,
                                          atoi(PQgetvalue(pg, i, 7)), &score,
                                          NULL)) {
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
                            joinengine_half_life_param(r)};
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

/*
 * joins.c - shoppers join, read their participations and withdraw. A thin
 * HTTP adapter over the join decision (joinengine.h).
 *
 * Every join goes the same read, the same C pricing of the deposit and the
 * same SQL decision. A join without an Idempotency-Key is coalesced with the
 * concurrent joins of its campaign (joinbatch.c). A join with one sends a
 * batch of one through the same two statements inside the transaction
 * that claims its key (idem.c), so the stored answer commits with the
 * insert; a campaign edited between the read and the decision is read
 * again once, then answered 503. joins_batch_reply answers both.
 *
 * A withdrawal is gb_participation_withdraw: one transaction that locks
 * the campaign then the participation, as the close does.
 *
 * Every participation is answered as engine/participation_view.h builds it
 * (with its current price while the campaign is open).
 */
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/shop/joinform.h"
#include "api/shop/shop.h"
#include "app.h"
#include "engine/idem.h"
#include "engine/joinbatch.h"
#include "engine/joinengine.h"
#include "engine/participation_view.h"
#include "engine/promote.h"
#include "http/reply.h"
#include "http/request.h"

/* ---------------------------------------------------------------- join */

struct join_state {
    int attempts;
    struct joinengine_join j;
};

void joins_batch_reply(struct req *r, const struct joinengine_outcome *o)
{
    struct join_state *st = r->state;
    switch (o->status) {
    case JOINENGINE_ACCEPTED: {
        char *text =
            participation_view_text(r, o->res, o->row, JOINENGINE_DECIDE_JSON);
        if (text == NULL) {
            participation_view_unreadable(r);
            return;
        }
        app_of(r)->joins_accepted++;
        app_of(r)->join_units_accepted += (uint64_t)st->j.quantity;
        idem_reply_text(r, 201, text); /* stored with a key, then sent */
        return;
    }
    case JOINENGINE_REFUSED:
        joinform_reply_refusal(r, o->reason, o->score);
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
        participation_view_unreadable(r);
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
static void joins_keyed_read(struct req *r);

static void joins_keyed_decided_cb(const struct db_result *res, void *arg)
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
        joins_keyed_read(r); /* staff edited it since the read */
        return;
    }
    joins_batch_reply(r, &o);
}

static void joins_keyed_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct join_state *st = r->state;
    const PGresult *pg = joinform_read_row(r, res);
    if (pg == NULL)
        return;
    struct joinengine_campaign c;
    if (!joinengine_campaign_read(pg, 0, &c)) {
        participation_view_unreadable(r);
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
                  joins_keyed_decided_cb))
        return;
}

static void joins_keyed_read(struct req *r)
{
    struct join_state *st = r->state;
    st->attempts++;
    joinform_send_read(r, &st->j, joins_keyed_read_cb);
}

/* POST /v1/campaigns/{id}/participations {quantity, pickup_point_id?,
 * address?, share_code?} (customer) -> 201 participation | 400
 * invalid_field (a pickup campaign's point missing or not its own, the
 * other kind's field, a share code of no share of the campaign) | 404 |
 * 409 campaign_not_open, per_customer_limit, already_joined,
 * campaign_full | 403 reliability_too_low */
void joins_create(struct req *r)
{
    struct join_state *st = req_alloc(r, sizeof *st);
    memset(st, 0, sizeof *st);
    r->state = st;
    if (!joinform_read(r, &st->j))
        return;
    if (req_header(r, "Idempotency-Key") == NULL && app_of(r)->joins != NULL)
        joinbatch_submit(app_of(r)->joins, r, st->j.campaign, st->j.quantity,
                         st->j.pickup_point, st->j.address, st->j.share_code);
    else
        idem_begin(r, joins_keyed_read); /* stored answers: one at a time */
}

/* ---------------------------------------------------------------- reads */

static struct db_stmt part_get =
    DB_STMT("participation_get",
            "SELECT" PARTICIPATION_VIEW_COL
            "  FROM participations p JOIN campaigns c ON c.id = p.campaign_id"
            " WHERE p.id = $1 AND p.customer_id = $2",
            2);

static struct db_stmt part_list_mine =
    DB_STMT("participation_list_mine",
            "SELECT p.id," PARTICIPATION_VIEW_COL
            "  FROM participations p JOIN campaigns c ON c.id = p.campaign_id"
            " WHERE p.customer_id = $1 AND p.id > $2 ORDER BY p.id LIMIT $3",
            3);

static void joins_get_cb(const struct db_result *res, void *arg)
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
    char *text = participation_view_text(r, res->res, 0, 0);
    if (text == NULL) {
        participation_view_unreadable(r);
        return;
    }
    idem_reply_text(r, 200, text);
}

/* GET /v1/participations/{id} (customer, own only) -> participation | 404 */
void joins_get(struct req *r)
{
    const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->who.id)};
    if (!req_query_db(r, &part_get, params, joins_get_cb))
        return;
}

static void joins_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    participation_view_reply_list(r, res, *(int64_t *)r->state, false);
}

/* GET /v1/me/participations (customer) -> {items, next_after} */
void joins_list_mine(struct req *r)
{
    const char *limit1, *after;
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id), after,
                            limit1};
    if (!req_query_db(r, &part_list_mine, params, joins_list_cb))
        return;
}

/* ---------------------------------------------------------------- withdraw */

static struct db_stmt withdraw_stmt = DB_STMT(
    "participation_withdraw", "SELECT gb_participation_withdraw($1, $2)", 2);

static void joins_withdraw_cb(const struct db_result *res, void *arg)
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
        /* units freed: the waitlist's, if anyone waits (engine/promote.h) */
        promote_kick(app_of(r)->promote);
        const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                                req_printf(r, "%lld", (long long)r->who.id)};
        if (!req_exec(r, &part_get, params, joins_get_cb))
            return;
    }
}

static void joins_withdraw_run(struct req *r)
{
    const char *params[] = {req_printf(r, "%lld", (long long)r->params[0]),
                            req_printf(r, "%lld", (long long)r->who.id)};
    if (!req_exec(r, &withdraw_stmt, params, joins_withdraw_cb))
        return;
}

/* POST /v1/participations/{id}/withdraw (customer, own only) -> 200
 * participation (withdrawn) | 404 | 409 campaign_not_open, invalid_state */
void joins_withdraw(struct req *r)
{
    if (!req_json_none(r))
        return;
    idem_begin(r, joins_withdraw_run);
}

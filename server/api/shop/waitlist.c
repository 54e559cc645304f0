/*
 * waitlist.c - the waitlist of a full campaign (篇5), the shopper's side:
 * queueing, the shopper's entries, leaving. The rules are in
 * schema/functions/waitlist.sql; engine/promote.h promotes the entries.
 *
 * An entry asks what a join asks (joinform.h) and is checked now by the
 * join's own rules that do not depend on the room, the customer scored as
 * for a join (the join's read, engine/joinengine.h), so that nobody waits
 * for what would be refused; the promotion decides again, through the one
 * join decision. A new entry while units are free holds them and wakes
 * this process's promoter.
 */
#include <string.h>

#include "api/shop/joinform.h"
#include "api/shop/shop.h"
#include "app.h"
#include "engine/idem.h"
#include "engine/joinengine.h"
#include "engine/promote.h"
#include "http/reply.h"
#include "http/request.h"

struct waitlist_in {
    struct joinengine_join j;
};

static struct db_stmt waitlist_join_stmt =
    DB_STMT("waitlist_join",
            "SELECT outcome, body::text FROM gb_waitlist_join($1, $2, $3, $4,"
            " $5, $6, $7)",
            7);

static void waitlist_joined_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct waitlist_in *in = r->state;
    if (res->status != DB_OK) {
        if (db_is_unique_violation(res)) /* a concurrent entry of theirs */
            req_reply_error(r, 409, "duplicate", NULL,
                            "You already wait for this campaign.");
        else
            req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0) {
        promote_kick(app_of(r)->promote); /* units may be free now */
        idem_reply_text(r, 201, PQgetvalue(res->res, 0, 1));
    } else if (strcmp(outcome, "not_found") == 0) {
        req_reply_error(r, 404, "not_found", NULL, "No such campaign.");
    } else if (strcmp(outcome, "duplicate") == 0) {
        req_reply_error(r, 409, "duplicate", NULL,
                        "You already wait for this campaign.");
    } else if (strcmp(outcome, "invalid_state") == 0) {
        req_reply_error(r, 409, "invalid_state", NULL,
                        "You already take part in this campaign.");
    } else {
        joinform_reply_refusal(r, outcome, in->j.score.score);
    }
}

static void waitlist_read_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    struct waitlist_in *in = r->state;
    const PGresult *pg = joinform_read_row(r, res);
    if (pg == NULL)
        return;
    struct joinengine_campaign c;
    if (!joinengine_campaign_read(pg, 0, &c) ||
        !joinengine_price(&r->srv->cfg->reliability, &c, pg, 0, &in->j)) {
        req_reply_error(r, 500, "internal", NULL,
                        "The reliability score could not be computed.");
        return;
    }
    const char *params[] = {
        req_printf(r, "%lld", (long long)in->j.customer),
        req_printf(r, "%lld", (long long)in->j.campaign),
        req_printf(r, "%lld", (long long)in->j.quantity),
        req_printf(r, "%d", in->j.score.score),
        in->j.pickup_point > 0
            ? req_printf(r, "%lld", (long long)in->j.pickup_point)
            : NULL,
        in->j.address,
        in->j.share_code};
    if (!req_exec(r, &waitlist_join_stmt, params, waitlist_joined_cb))
        return;
}

static void waitlist_create_run(struct req *r)
{
    struct waitlist_in *in = r->state;
    joinform_send_read(r, &in->j, waitlist_read_cb);
}

/* POST /v1/campaigns/{id}/waitlist {quantity, pickup_point_id?, address?,
 * share_code?} (customer) -> 201 entry (waiting, with its position) | 400
 * (as a join) | 403 reliability_too_low | 404 | 409 campaign_not_open,
 * per_customer_limit, duplicate (waiting already), invalid_state (a live
 * participation already) */
void waitlist_create(struct req *r)
{
    struct waitlist_in *in = req_alloc(r, sizeof *in);
    r->state = in;
    if (!joinform_read(r, &in->j))
        return;
    idem_begin(r, waitlist_create_run);
}

/* ---------------------------------------------------------------- mine */

static struct db_stmt waitlist_mine_stmt = DB_STMT(
    "waitlist_mine", "SELECT id, item FROM gb_my_waitlist($1, $2, $3)", 3);

/* GET /v1/me/waitlist (customer) -> {items: [entry + campaign_title],
 * next_after} */
void waitlist_list_mine(struct req *r)
{
    req_own_list(r, &waitlist_mine_stmt);
}

/* ---------------------------------------------------------------- leave */

static struct db_stmt waitlist_leave_stmt =
    DB_STMT("waitlist_leave",
            "SELECT outcome, body::text FROM gb_waitlist_leave($1, $2)", 2);

static void waitlist_left_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    const char *outcome = PQgetvalue(res->res, 0, 0);
    if (strcmp(outcome, "ok") == 0)
        req_reply_row_json(r, 200, res->res, 1);
    else if (strcmp(outcome, "not_found") == 0)
        req_reply_error(r, 404, "not_found", NULL, "No such waitlist entry.");
    else
        req_reply_error(r, 409, "invalid_state", NULL,
                        "The entry no longer waits (promoted, skipped, left "
                        "or expired).");
}

/* DELETE /v1/waitlist/{id} (customer, own only) -> 200 entry (left) | 404 |
 * 409 invalid_state (not waiting) */
void waitlist_leave(struct req *r)
{
    if (!req_json_none(r))
        return;
    const char *params[] = {req_printf(r, "%lld", (long long)r->who.id),
                            req_printf(r, "%lld", (long long)r->params[0])};
    if (!req_query_db(r, &waitlist_leave_stmt, params, waitlist_left_cb))
        return;
}

/*
 * api_aftersales.c - after-sales requests (售后, issue 13): the customer
 * asks for money back on a delivered or picked-up order; staff approve (a
 * refund, and an adjustment line when the campaign has settled) or reject.
 *
 * Each step is one SQL function (functions/aftersales.sql) that takes the
 * locks, checks the state and the amounts, and writes the ledger, outbox
 * and adjustment rows in the same transaction; this file validates input
 * and engine/order.c maps the function's outcome to the contract. Creating a
 * request and approving one (money moves) go through the Idempotency-Key
 * machinery.
 *
 * Decisions where the documents are silent: the customer's request is
 * capped like the approval (amount at most paid less refunded, quantity at
 * most the order's; else 400); a request's quantity may be 0 (money back
 * without a return, e.g. a damaged item kept); rejecting takes an optional
 * note (up to 1000 characters).
 */
#include <string.h>

#include "api/api.h"
#include "domain/pricing.h"
#include "engine/idem.h"
#include "engine/order.h"
#include "http/http.h"
#include "lib/json.h"

struct aftersales_in {
    const char *reason;
    int64_t quantity, amount;
};

static struct aftersales_in *aftersales_state(struct req *r)
{
    struct aftersales_in *in = req_alloc(r, sizeof *in);
    memset(in, 0, sizeof *in);
    r->state = in;
    return in;
}

static const char *aftersales_int(struct req *r, int64_t v)
{
    return req_printf(r, "%lld", (long long)v);
}

/* The step's answer: the approval names its units "returned_quantity". */
static void aftersales_approved_cb(const struct db_result *res, void *arg)
{
    order_aftersales_reply(arg, res, 200, "returned_quantity");
}

static void aftersales_rejected_cb(const struct db_result *res, void *arg)
{
    order_aftersales_reply(arg, res, 200, "quantity");
}

static const char *const aftersales_statuses[] = {"pending", "approved",
                                                  "rejected", NULL};

static struct db_stmt aftersales_list =
    DB_STMT("aftersales_list",
            "SELECT a.id, gb_after_sales_json(a)::text FROM after_sales a"
            " WHERE a.distributor_id = $1 AND a.id > $2"
            "   AND ($4::text IS NULL OR a.status = $4)"
            " ORDER BY a.id LIMIT $3",
            4);

static void aftersales_list_cb(const struct db_result *res, void *arg)
{
    struct req *r = arg;
    if (res->status != DB_OK) {
        req_reply_db_error(r, res);
        return;
    }
    req_reply_list(r, res->res, *(int64_t *)r->state);
}

/* GET /v1/admin/after-sales?status= (owner, operator, finance) ->
 * {items, next_after} */
void api_aftersales_list(struct req *r)
{
    const char *status = req_query(r, "status"), *limit1, *after;
    if (status != NULL) {
        bool known = false;
        for (int i = 0; aftersales_statuses[i] != NULL; i++)
            known = known || strcmp(status, aftersales_statuses[i]) == 0;
        if (!known) {
            req_reply_error(r, 400, "invalid_field", "status",
                            "status must be pending, approved or rejected.");
            return;
        }
    }
    int64_t *limit = req_alloc(r, sizeof *limit);
    if (!req_page(r, &limit1, &after, limit))
        return;
    r->state = limit;
    const char *params[] = {req_tenant_param(r), after, limit1, status};
    if (!req_query_db(r, &aftersales_list, params, aftersales_list_cb))
        return;
}

static struct db_stmt aftersales_approve =
    DB_STMT("aftersales_approve",
            "SELECT outcome, body::text FROM gb_after_sales_approve($1, $2, "
            "$3, $4, $5)",
            5);

static void aftersales_approve_run(struct req *r)
{
    struct aftersales_in *in = r->state;
    const char *params[] = {
        req_tenant_param(r), aftersales_int(r, r->params[0]),
        aftersales_int(r, in->amount), aftersales_int(r, in->quantity),
        aftersales_int(r, r->who.id)};
    if (!req_exec(r, &aftersales_approve, params, aftersales_approved_cb))
        return;
}

/* POST /v1/admin/after-sales/{id}/approve {amount_cents, returned_quantity}
 * (owner, operator) -> 200 request (approved) | 400 (over paid less
 * refunded, or more units than the order's) | 404 | 409 invalid_state (not
 * pending) */
void api_aftersales_approve(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    struct aftersales_in *in = aftersales_state(r);
    static const char *const fields[] = {"amount_cents", "returned_quantity",
                                         NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_int(&jf, "amount_cents", true, 1, JSON_MAX_SAFE_INT, &in->amount,
                NULL);
    jfields_int(&jf, "returned_quantity", true, 0, PRICING_QUANTITY_MAX,
                &in->quantity, NULL);
    if (!req_fields_ok(r, &jf))
        return;
    idem_begin(r, aftersales_approve_run);
}

static struct db_stmt aftersales_reject = DB_STMT(
    "aftersales_reject",
    "SELECT outcome, body::text FROM gb_after_sales_reject($1, $2, $3, $4)", 4);

/* POST /v1/admin/after-sales/{id}/reject {note?} (owner, operator) -> 200
 * request (rejected) | 404 | 409 invalid_state (not pending) */
void api_aftersales_reject(struct req *r)
{
    cJSON *body = req_json_object(r);
    if (body == NULL)
        return;
    const char *note = NULL;
    static const char *const fields[] = {"note", NULL};
    struct jfields jf;
    jfields_init(&jf, body);
    jfields_only(&jf, fields);
    jfields_str(&jf, "note", false, 0, 1000, &note, NULL);
    if (jfields_ok(&jf) && note != NULL && !json_printable(note, true))
        jfields_fail(&jf, "note", "note must not hold control characters");
    if (!req_fields_ok(r, &jf))
        return;
    const char *params[] = {req_tenant_param(r),
                            aftersales_int(r, r->params[0]), note,
                            aftersales_int(r, r->who.id)};
    if (!req_query_db(r, &aftersales_reject, params, aftersales_rejected_cb))
        return;
}

/*
 * aftersales.c - the staff's after-sales queue (售后): the requests
 * customers made (api/shop/orders.c), approved (a refund, and an
 * adjustment line when the campaign has settled) or rejected.
 *
 * Each step is one SQL function (functions/aftersales.sql) that takes the
 * locks, checks the state and the amounts, and writes the ledger, outbox
 * and adjustment rows in the same transaction; this file validates input
 * and engine/order.c maps the function's outcome to the contract. An
 * approval (money moves) goes through the Idempotency-Key machinery.
 *
 * Decisions where the documents are silent: rejecting takes an optional
 * note (up to 1000 characters).
 */
#include <string.h>

#include "api/admin/admin.h"
#include "domain/pricing.h"
#include "engine/idem.h"
#include "engine/order.h"
#include "http/reply.h"
#include "http/request.h"
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

static struct db_stmt aftersales_list_stmt =
    DB_STMT("aftersales_list_stmt",
            "SELECT a.id, (gb_after_sales_json(a)::jsonb || jsonb_build_object("
            "         'customer', gb_customer_staff_json(k),"
            "         'campaign_title', c.title))::text"
            "  FROM after_sales a JOIN customers k ON k.id = a.customer_id"
            "  JOIN campaigns c ON c.id = a.campaign_id"
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
void aftersales_list(struct req *r)
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
    if (!req_query_db(r, &aftersales_list_stmt, params, aftersales_list_cb))
        return;
}

static struct db_stmt aftersales_approve_stmt =
    DB_STMT("aftersales_approve_stmt",
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
    if (!req_exec(r, &aftersales_approve_stmt, params, aftersales_approved_cb))
        return;
}

/* POST /v1/admin/after-sales/{id}/approve {amount_cents, returned_quantity}
 * (owner, operator) -> 200 request (approved) | 400 (over paid less
 * refunded, or more units than the order's) | 404 | 409 invalid_state (not
 * pending) */
void aftersales_approve(struct req *r)
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

static struct db_stmt aftersales_reject_stmt = DB_STMT(
    "aftersales_reject_stmt",
    "SELECT outcome, body::text FROM gb_after_sales_reject($1, $2, $3, $4)", 4);

/* POST /v1/admin/after-sales/{id}/reject {note?} (owner, operator) -> 200
 * request (rejected) | 404 | 409 invalid_state (not pending) */
void aftersales_reject(struct req *r)
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
    if (!req_query_db(r, &aftersales_reject_stmt, params,
                      aftersales_rejected_cb))
        return;
}
